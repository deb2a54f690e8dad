// Starts the built worker (edge-api/build, made by worker-build) on workerd through Miniflare, alone or
// in front of the real stack: the ledger backend and the sandbox acquirer (the binaries `cargo test`
// built) on a throwaway PostgreSQL database. Every test disposes what it started, so no workerd or
// backend process outlives the run.
import { Miniflare } from 'miniflare';
import { spawn, execFile, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const edgeDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const rootDir = path.resolve(edgeDir, '..');
const targetDir = process.env.CARGO_TARGET_DIR ?? path.join(rootDir, 'target');

export const randomHex = (bytes) => crypto.randomBytes(bytes).toString('hex');

/// Fresh secrets for one stack: what `make dev` writes to .dev.vars.
export function freshSecrets() {
  return {
    PAYGATE_EDGE_SECRET: randomHex(32),
    PAYGATE_API_KEY_PEPPER: randomHex(32),
    VAULT_DATA_KEYS: `1:${randomHex(32)}`,
    VAULT_FINGERPRINT_KEY: randomHex(32),
  };
}

/// The edge on workerd. `port: 0` also serves it over HTTP on loopback (for a backend to call back).
export async function startEdge({
  backendUrl = 'http://127.0.0.1:9',
  sandboxUrl = 'http://127.0.0.1:9',
  stripeUrl = 'http://127.0.0.1:9',
  checkoutUrl = 'http://127.0.0.1:9',
  secrets = freshSecrets(),
  vars = {},
  port,
  inMemoryObjects = false,
} = {}) {
  const logs = [];
  const collect = (stream) => stream.on('data', (chunk) => logs.push(chunk.toString()));
  const mf = new Miniflare({
    rootPath: edgeDir,
    scriptPath: 'build/index.js',
    modules: true,
    modulesRules: [
      { type: 'ESModule', include: ['**/*.js'] },
      { type: 'CompiledWasm', include: ['**/*.wasm'] },
    ],
    compatibilityDate: '2026-04-01',
    // The card element and the CDN loader (sdk/element/build.mjs); the worker runs first, as in
    // wrangler.toml, so its headers apply.
    assets: {
      directory: path.join(edgeDir, 'public'),
      binding: 'ASSETS',
      routerConfig: { invoke_user_worker_ahead_of_assets: true, has_user_worker: true },
      // Files are served under their own names: no redirect from card.html to card.
      assetConfig: { html_handling: 'none' },
    },
    bindings: {
      BACKEND_URL: backendUrl,
      SANDBOX_URL: sandboxUrl,
      PROCESSOR_TEST_HOSTS: `stripe=${stripeUrl},checkout=${checkoutUrl}`,
      PROCESSOR_LIVE_HOSTS: '',
      ...secrets,
      ...vars,
    },
    durableObjects: {
      API_KEY_CACHE: { className: 'ApiKeyCache', useSQLite: true },
      IDEMPOTENCY: { className: 'IdempotencyRecord', useSQLite: true },
      CARD_VAULT: { className: 'CardVault', useSQLite: true },
      RATE_LIMITER: { className: 'RateLimiter', useSQLite: true },
    },
    // The end-to-end benchmark keeps every object's storage in workerd's memory (lost when an idle object is
    // evicted): on disk, workerd's SQLite fails once a few thousand objects are open.
    ...(inMemoryObjects ? { unsafeEphemeralDurableObjects: true } : {}),
    handleRuntimeStdio: (stdout, stderr) => {
      collect(stdout);
      collect(stderr);
    },
    ...(port === undefined ? {} : { host: '127.0.0.1', port }),
    // A V8 inspector on loopback, for profiling the worker under a benchmark (edge-api/bench/profile.mjs).
    ...(process.env.EDGE_INSPECTOR_PORT ? { inspectorPort: Number(process.env.EDGE_INSPECTOR_PORT) } : {}),
  });
  let url;
  try {
    url = await mf.ready;
  } catch (error) {
    await mf.dispose().catch(() => {});
    throw error;
  }
  return {
    url: port === undefined ? undefined : url.origin,
    logs,
    fetch: (urlPath, init) => mf.dispatchFetch(`http://edge.test${urlPath}`, init),
    dispose: () => mf.dispose(),
  };
}

// A loopback HTTP server answering every request with `handler(req, res)`; resolves to {url, close}.
export async function startHttpServer(handler) {
  const server = http.createServer(handler);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

export async function expectProblem(t, response, status, code) {
  t.assert.equal(response.status, status);
  t.assert.equal(response.headers.get('content-type'), 'application/problem+json');
  const problem = await response.json();
  t.assert.equal(problem.code, code);
  t.assert.equal(problem.status, status);
  t.assert.equal(problem.request_id, response.headers.get('request-id'));
  return problem;
}

/// `startEdge` on a free port. Test files run in parallel, so a port found free may be taken before workerd binds
/// it: that one error is retried on another port.
async function startEdgeOnFreePort(options) {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await startEdge({ ...options, port: await freePort() });
    } catch (error) {
      if (attempt >= 5 || !String(error?.code ?? error).includes('ADDRESS_IN_USE')) throw error;
    }
  }
}

async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function binary(name) {
  // The tests use the debug build; the benchmark sets PAYGATE_BIN_PROFILE=release.
  const file = path.join(targetDir, process.env.PAYGATE_BIN_PROFILE ?? 'debug', name);
  if (!fs.existsSync(file)) {
    throw new Error(`${file} is missing: build it with cargo build -p paygate-ledger (--release for the benchmark)`);
  }
  return file;
}

async function waitFor(url, deadlineMs = 20_000) {
  const until = Date.now() + deadlineMs;
  for (;;) {
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {}
    if (Date.now() > until) throw new Error(`${url} did not come up`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/// A process of ours, its output collected; stopped with the stack.
function startProcess(file, args, env) {
  const child = spawn(file, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = [];
  child.stdout.on('data', (chunk) => output.push(chunk.toString()));
  child.stderr.on('data', (chunk) => output.push(chunk.toString()));
  return { child, output };
}

/// The whole path: edge (Miniflare, on a loopback port) → backend (`paygate-ledger serve`) → PostgreSQL,
/// with the sandbox acquirer behind the edge's vault. Resolves to the edge, the merchant's keys, a SQL
/// helper and everything's logs.
export async function startStack({ vars = {}, worker = false, stripeDown = false, inMemoryObjects = false } = {}) {
  const adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) throw new Error('DATABASE_URL must point at a PostgreSQL server (make test sets it)');
  const dbName = `paygate_edge_${randomHex(6)}`;
  const dbUrl = adminUrl.replace(/\/[^/?]*(\?|$)/, `/${dbName}$1`);
  const psql = (url, sql) => execFileSync('psql', ['-qAtX', url, '-c', sql], { encoding: 'utf8' }).trim();
  psql(adminUrl, `CREATE DATABASE "${dbName}"`);
  const secrets = freshSecrets();
  const ledger = binary('paygate-ledger');
  const common = {
    DATABASE_URL: dbUrl,
    PAYGATE_EDGE_SECRET: secrets.PAYGATE_EDGE_SECRET,
    PAYGATE_API_KEY_PEPPER: secrets.PAYGATE_API_KEY_PEPPER,
    PAYGATE_SECRETS_KEYS: `1:${randomHex(32)}`,
    RUST_LOG: 'info',
  };
  const cli = (...args) => execFileSync(ledger, args, { env: { ...process.env, ...common }, encoding: 'utf8' }).trim();
  cli('migrate');
  /// A merchant with its keys; `country` (ISO 3166-1 alpha-2) where it trades, if given.
  const newMerchant = (country) => {
    const where = country ? ['--country', country] : [];
    const merchant = cli('create-merchant', '--name', 'Edge test shop', ...where).split(/\s+/).find((w) => w.startsWith('acct_'));
    const key = (mode, kind) => cli('create-key', '--merchant', merchant, '--mode', mode, '--kind', kind).split(/\s+/).find((w) => /^(pk|sk)_/.test(w));
    return { merchant, keys: { pkTest: key('test', 'publishable'), skTest: key('test', 'secret'), skLive: key('live', 'secret'), pkLive: key('live', 'publishable') } };
  };
  const { merchant, keys } = newMerchant();

  // Everything started is stopped if the stack cannot come up: a process left behind would keep the test
  // file (and `make test`) from ever ending.
  const started = [];
  const track = (process) => {
    started.push(process);
    return process;
  };
  let sandbox, stripe, checkout, stripeKey, stripePort, stripeUrl, checkoutKey, checkoutUrl, sandboxUrl, backend, edge, backendUrl, jobs;
  try {
    const sandboxPort = await freePort();
    sandbox = track(startProcess(binary('paygate-sandbox-acquirer'), [], { SANDBOX_LISTEN_ADDR: `127.0.0.1:${sandboxPort}` }));
    sandboxUrl = `http://127.0.0.1:${sandboxPort}`;
    // The fake Stripe, with one test account allowed to send raw card data (what a Stripe merchant of ours
    // needs); `stripeDown` points the stack at a port where nothing listens instead.
    stripeKey = `sk_test_${randomHex(12)}`;
    stripePort = await freePort();
    stripe = track(startProcess(binary('paygate-fake-stripe'), [], {
      STRIPE_FAKE_LISTEN_ADDR: `127.0.0.1:${stripePort}`,
      STRIPE_FAKE_ACCOUNTS: stripeKey,
    }));
    stripeUrl = stripeDown ? 'http://127.0.0.1:9' : `http://127.0.0.1:${stripePort}`;
    // The fake Checkout.com, with one sandbox account.
    checkoutKey = `sk_sbox_${randomHex(12)}`;
    const checkoutPort = await freePort();
    checkout = track(startProcess(binary('paygate-fake-checkout'), [], {
      CHECKOUT_FAKE_LISTEN_ADDR: `127.0.0.1:${checkoutPort}`,
      CHECKOUT_FAKE_ACCOUNTS: checkoutKey,
    }));
    checkoutUrl = `http://127.0.0.1:${checkoutPort}`;
    const backendPort = await freePort();
    backendUrl = `http://127.0.0.1:${backendPort}`;
    edge = await startEdgeOnFreePort({ backendUrl, sandboxUrl, stripeUrl, checkoutUrl, secrets, vars, inMemoryObjects });
    backend = track(startProcess(ledger, ['serve'], {
      ...common,
      PAYGATE_LISTEN_ADDR: `127.0.0.1:${backendPort}`,
      PAYGATE_EDGE_URL: edge.url,
      PAYGATE_SANDBOX_URL: sandboxUrl,
      PAYGATE_STRIPE_URL: stripeUrl,
      PAYGATE_CHECKOUT_TEST_URL: checkoutUrl,
    }));
    await Promise.all([
      waitFor(`${sandboxUrl}/health`),
      waitFor(`http://127.0.0.1:${stripePort}/health`),
      waitFor(`${checkoutUrl}/health`),
      waitFor(`${backendUrl}/ready`),
    ]);
    // The background jobs, webhook delivery among them, when a test needs them.
    jobs = worker
      ? track(startProcess(ledger, ['work'], {
        ...common,
        PAYGATE_SANDBOX_URL: sandboxUrl,
        PAYGATE_STRIPE_URL: stripeUrl,
        PAYGATE_CHECKOUT_TEST_URL: checkoutUrl,
      }))
      : null;
  } catch (error) {
    for (const { child } of started) child.kill('SIGKILL');
    await edge?.dispose().catch(() => {});
    throw error;
  }
  return {
    edge,
    keys,
    merchant,
    newMerchant,
    /// The backend's command line on this stack's database, without blocking (benchmarks make many merchants).
    cli: (...args) => new Promise((resolve, reject) => execFile(ledger, args, { env: { ...process.env, ...common }, encoding: 'utf8' },
      (error, stdout) => (error ? reject(error) : resolve(stdout.trim())))),
    secrets,
    backendUrl,
    stripe: { url: `http://127.0.0.1:${stripePort}`, key: stripeKey },
    checkout: { url: checkoutUrl, key: checkoutKey },
    sql: (query) => psql(dbUrl, query),
    dump: () => execFileSync('pg_dump', ['--data-only', dbUrl], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 }),
    logs: () => ({
      backend: backend.output.join(''),
      sandbox: sandbox.output.join(''),
      stripe: stripe.output.join(''),
      checkout: checkout.output.join(''),
      edge: edge.logs.join(''),
      worker: jobs?.output.join('') ?? '',
    }),
    stop: async () => {
      await edge.dispose();
      for (const { child } of [backend, sandbox, stripe, checkout, jobs].filter(Boolean)) child.kill('SIGKILL');
      await new Promise((resolve) => setTimeout(resolve, 50));
      psql(adminUrl, `DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    },
  };
}

/// The local stand-in of Apple's Apple Pay servers (`paygate-fake-apple`): merchant validation, and tokens minted
/// with its test chain for a processing public key (`mint`), whose root is `root` (PEM).
export async function startFakeApple() {
  const port = await freePort();
  const apple = startProcess(binary('paygate-fake-apple'), [], { APPLE_FAKE_LISTEN_ADDR: `127.0.0.1:${port}` });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`${url}/health`);
  const root = await (await fetch(`${url}/_fake/root.pem`)).text();
  const mint = async (request) => {
    const answer = await fetch(`${url}/_fake/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request) });
    if (answer.status !== 200) throw new Error(`the fake Apple refused to mint: ${await answer.text()}`);
    return answer.json();
  };
  return { url, host: `127.0.0.1:${port}`, root, mint, logs: () => apple.output.join(''), stop: () => apple.child.kill('SIGKILL') };
}

/// A request to the edge with an API key; JSON in and out.
export async function call(edge, key, method, urlPath, body, headers = {}) {
  const init = { method, headers: { authorization: `Bearer ${key}`, ...headers } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['content-type'] = 'application/json';
  }
  const response = await edge.fetch(urlPath, init);
  const text = await response.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: response.status, headers: response.headers, json, text };
}

export const TEST_CARD = { number: '4242424242424242', exp_month: 12, exp_year: 2034, cvc: '123' };

/// Polls `check` (sync or async) every 50 ms until it answers something truthy, or fails naming `what`.
export async function eventually(check, what, deadlineMs = 15_000) {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
