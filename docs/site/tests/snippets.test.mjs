// Runs every snippet of the documentation's guides against a whole local stack (edge on workerd, backend,
// PostgreSQL, sandbox acquirer, fake processors, webhook worker), page by page, as docs/site/README.md
// describes: a page's `sh` blocks in one bash session, `js,node` with Node, `js,browser` in headless Chromium,
// `python` with the repository's venv. A snippet that fails, or an error snippet that answers another code,
// fails its page's test.
import { test, before, after } from 'node:test';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startStack, startHttpServer } from '../../../edge-api/tests/helpers.mjs';
import { launchChromium } from '../../../examples/shop/tests/chromium.mjs';
import { handWrittenPages, pageSnippets } from './markdown.mjs';

const siteDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const rootDir = path.resolve(siteDir, '../..');
const workDir = path.join(process.env.CARGO_TARGET_DIR ?? path.join(rootDir, 'target'), 'docs-snippets');
const BLOCK_TIMEOUT_MS = 90_000;
const PAGES = handWrittenPages(path.join(siteDir, 'src'));

let stack;
let browser;
before(async () => {
  fs.rmSync(workDir, { recursive: true, force: true });
  // Each page tokenizes a few cards from one client address; the per-address limit is for shoppers.
  stack = await startStack({ worker: true, vars: { RATE_LIMIT_TOKENS_PER_IP: '1000/60' } });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

const freePort = () => new Promise((resolve) => {
  const server = net.createServer().listen(0, '127.0.0.1', () => {
    const { port } = server.address();
    server.close(() => resolve(port));
  });
});

/// A bash session that keeps its variables from one block to the next, as a reader's terminal does.
function startShell(cwd, env) {
  const child = spawn('bash', ['--noprofile', '--norc'], { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (chunk) => { stdout += chunk; });
  child.stderr.on('data', (chunk) => { stdout += chunk; });
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  child.stdin.write('set -euo pipefail\n');
  return {
    /// Runs the block in `file`; resolves to its output, or rejects with it if the block failed.
    async run(file, { expect }) {
      const marker = `__snippet_done_${crypto.randomBytes(6).toString('hex')}__`;
      const curl = expect ? 'curl() { command curl "$@"; }' : 'curl() { command curl --fail-with-body "$@"; }';
      // The environment is written before the marker, so it is complete when the marker is seen.
      child.stdin.write(`${curl}\nsource ${file} > ${file}.out 2>&1\nenv -0 > ${file}.env\necho ${marker}\n`);
      const done = new Promise((resolve) => {
        const poll = setInterval(() => stdout.includes(marker) && (clearInterval(poll), resolve('done')), 50);
        exited.then(() => (clearInterval(poll), resolve('exited')));
        setTimeout(() => (clearInterval(poll), resolve('timeout')), BLOCK_TIMEOUT_MS);
      });
      const how = await done;
      const output = fs.existsSync(`${file}.out`) ? fs.readFileSync(`${file}.out`, 'utf8') : '';
      if (how !== 'done') throw new Error(`the block ${how === 'timeout' ? 'timed out' : 'failed'}:\n${output}${stdout}`);
      return { output, env: Object.fromEntries(fs.readFileSync(`${file}.env`, 'utf8').split('\0').filter(Boolean).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)])) };
    },
    close: () => child.kill('SIGKILL'),
  };
}

/// Runs `command args` to its end; rejects with its output unless it exits 0.
function runToEnd(command, args, options) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => { output += chunk; });
    child.stderr.on('data', (chunk) => { output += chunk; });
    const timer = setTimeout(() => child.kill('SIGKILL'), BLOCK_TIMEOUT_MS);
    child.on('exit', (code) => {
      clearTimeout(timer);
      code === 0 ? resolve(output) : reject(new Error(`exit ${code}:\n${output}`));
    });
  });
}

/// The last problem code in `output`, if any.
function lastCode(output) {
  const codes = [...output.matchAll(/"code"\s*:\s*"([a-z_]+)"/g)].map((m) => m[1]);
  return codes.at(-1);
}

/// Serves `html` with `module` as its script and `@paygate/js` mapped to the built package; plays the
/// shopper: types the test card, fills the page's other fields, presses its first button, and expects a token.
async function runInBrowser(t, html, module) {
  const sdk = fs.readFileSync(path.join(rootDir, 'npm/dist/paygate.mjs'));
  const page = `<!DOCTYPE html><html><head><meta charset="utf-8">
<script type="importmap">{"imports":{"@paygate/js":"/paygate.mjs"}}</script></head>
<body>${html}<script type="module" src="/snippet.mjs"></script></body></html>`;
  const server = await startHttpServer((req, res) => {
    const [type, body] = req.url === '/paygate.mjs' ? ['text/javascript', sdk]
      : req.url === '/snippet.mjs' ? ['text/javascript', module]
        : req.url === '/' ? ['text/html', page] : [null, null];
    // The browser's own favicon request is no error of the page.
    if (req.url === '/favicon.ico') return res.writeHead(204).end();
    if (!type) return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': type }).end(body);
  });
  const tab = await browser.context.newPage();
  const errors = [];
  tab.on('pageerror', (error) => errors.push(error.message));
  tab.on('console', (message) => message.type() === 'error' && errors.push(message.text()));
  try {
    const token = tab.waitForResponse((r) => r.url().endsWith('/v1/tokens') && r.request().method() === 'POST', { timeout: 30_000 });
    token.catch(() => {}); // awaited below; a failure before then is reported instead of this one
    await tab.goto(server.url);
    const frame = tab.frameLocator('iframe[src*="/elements/v1/card.html"]').first();
    await frame.locator('#pg-number').waitFor({ timeout: 20_000 });
    const year = String((new Date().getFullYear() + 3) % 100).padStart(2, '0');
    await frame.locator('#pg-number').pressSequentially('4242424242424242');
    await frame.locator('#pg-expiry').pressSequentially(`12 / ${year}`);
    await frame.locator('#pg-cvc').pressSequentially('123');
    if (await frame.locator('#pg-postal').count()) await frame.locator('#pg-postal').pressSequentially('10115');
    for (const input of await tab.locator('input:visible').all()) {
      if (!(await input.inputValue())) await input.fill('Amal Haddad');
    }
    await tab.locator('button:visible').first().click();
    const answer = await token;
    t.assert.equal(answer.status(), 201, `the page's tokenize answered ${answer.status()}: ${await answer.text()}`);
    await tab.waitForTimeout(300);
    t.assert.deepEqual(errors, [], 'the page logged errors');
  } finally {
    await tab.close();
    server.close();
  }
}

for (const page of PAGES) {
  test(`the snippets of ${page} run`, async (t) => {
    const snippets = pageSnippets(fs.readFileSync(path.join(siteDir, 'src', page), 'utf8'));
    const dir = path.join(workDir, page.replace(/[/.]/g, '_'));
    fs.mkdirSync(dir, { recursive: true });
    // The page runs in a folder like a shop's project: `@paygate/js` installed from its tarball (the demo shop's).
    fs.symlinkSync(path.join(rootDir, 'examples/shop/node_modules'), path.join(dir, 'node_modules'));
    const { keys } = stack.newMerchant();
    const port = await freePort();
    let env = {
      ...process.env,
      PAYGATE_API: stack.edge.url,
      PAYGATE_PK_TEST: keys.pkTest,
      PAYGATE_SK_TEST: keys.skTest,
      STRIPE_FAKE_KEY: stack.stripe.key,
      CHECKOUT_FAKE_KEY: stack.checkout.key,
      PORT: String(port),
      WEBHOOK_LOG: path.join(dir, 'webhooks.log'),
    };
    const localize = (text) => text
      .replaceAll('127.0.0.1:4343', `127.0.0.1:${port}`)
      .replaceAll('http://127.0.0.1:8787', stack.edge.url)
      .replaceAll('pk_test_…', keys.pkTest);
    const shell = startShell(dir, env);
    const background = [];
    let html = '';
    try {
      for (const [i, snippet] of snippets.entries()) {
        const where = `${page}:${snippet.line} (${snippet.info})`;
        const file = path.join(dir, `block-${i}`);
        if (snippet.flags.includes('norun')) {
          t.assert.ok(!(snippet.lang === 'sh' && /\bcurl\b/.test(snippet.code)), `${where}: a curl snippet must run`);
          t.diagnostic(`not run: ${where}`);
          continue;
        }
        const code = localize(snippet.code);
        if (snippet.lang === 'html') {
          html = code;
        } else if (snippet.lang === 'sh') {
          const expect = snippet.flags.find((f) => f.startsWith('expect='))?.slice('expect='.length);
          fs.writeFileSync(file, code);
          const result = await shell.run(file, { expect }).catch((error) => { throw new Error(`${where}: ${error.message}`); });
          env = { ...env, ...result.env };
          if (expect) t.assert.equal(lastCode(result.output), expect, `${where} should answer ${expect}:\n${result.output}`);
        } else if (snippet.lang === 'js' && snippet.flags.includes('browser')) {
          await runInBrowser(t, html, code);
        } else if (snippet.lang === 'js' && snippet.flags.includes('node')) {
          // Under the repository, so its node_modules (standardwebhooks) resolve.
          fs.writeFileSync(`${file}.mjs`, code);
          if (snippet.flags.includes('background')) {
            const child = spawn(process.execPath, [`${file}.mjs`], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
            const output = [];
            child.stdout.on('data', (c) => output.push(c.toString()));
            child.stderr.on('data', (c) => output.push(c.toString()));
            background.push({ child, output, where });
            await new Promise((resolve) => setTimeout(resolve, 500));
            t.assert.equal(child.exitCode, null, `${where} stopped at once:\n${output.join('')}`);
          } else {
            await runToEnd(process.execPath, [`${file}.mjs`], { cwd: dir, env }).catch((e) => { throw new Error(`${where}: ${e.message}`); });
          }
        } else if (snippet.lang === 'python') {
          fs.writeFileSync(`${file}.py`, code);
          await runToEnd(path.join(rootDir, '.venv/bin/python'), [`${file}.py`], { cwd: dir, env })
            .catch((e) => { throw new Error(`${where}: ${e.message}`); });
        } else if (snippet.lang === 'js') {
          throw new Error(`${where}: a js block says where it runs: js,node or js,browser (or norun, with a reason)`);
        }
      }
      for (const { child, output, where } of background) {
        t.assert.equal(child.exitCode, null, `${where} stopped before the page ended:\n${output.join('')}`);
      }
    } finally {
      shell.close();
      for (const { child } of background) child.kill('SIGKILL');
    }
  });
}
