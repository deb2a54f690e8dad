// The browser SDK's benchmark (not a test): the bytes on the critical path — the shop's loader and each
// element iframe's page, stylesheet, script and WebAssembly — raw, gzip and brotli; then the time from mount()
// to the `ready` event for each element in headless Chromium against the edge on workerd, with an empty cache
// (first visit) and a warm one (the content-hashed files cached). Run by `make bench WHAT=sdk`.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { startEdge } from '../../edge-api/tests/helpers.mjs';
import { launchChromium } from '../../examples/shop/tests/chromium.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const RUNS = Number(process.env.SDK_BENCH_RUNS ?? 30);

function sizes(file) {
  const bytes = fs.readFileSync(file);
  return {
    raw: bytes.length,
    gzip: zlib.gzipSync(bytes, { level: 9 }).length,
    brotli: zlib.brotliCompressSync(bytes, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
  };
}

/// The loader as shipped and as written, then each element's page, stylesheet, script and WebAssembly.
function byteTables() {
  const elements = path.join(root, 'edge-api/public/elements/v1');
  const loader = [
    ['loader as shipped (npm/dist/paygate.mjs, minified)', path.join(root, 'npm/dist/paygate.mjs')],
    ['loader source (npm/src/index.mjs, commented)', path.join(root, 'npm/src/index.mjs')],
  ].map(([name, file]) => ({ name, ...sizes(file) }));
  const tables = { loader };
  for (const page of ['card.html', 'apple-pay.html']) {
    const html = fs.readFileSync(path.join(elements, page), 'utf8');
    const named = (extension) => html.match(new RegExp(`[a-z-]+-[0-9a-f]{16}\\.${extension}`))[0];
    const rows = [
      [`${page}`, page],
      ['stylesheet', named('css')],
      ['script (wasm-bindgen glue + boot)', named('js')],
      ['WebAssembly', named('wasm')],
    ].map(([name, file]) => ({ name, ...sizes(path.join(elements, file)) }));
    const total = rows.reduce((sum, r) => ({ raw: sum.raw + r.raw, gzip: sum.gzip + r.gzip, brotli: sum.brotli + r.brotli }), { raw: 0, gzip: 0, brotli: 0 });
    rows.push({ name: 'iframe critical path (total)', ...total });
    tables[page] = rows;
  }
  return tables;
}

const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};

/// mount() → ready for an element (`options`, as a JS object literal). The Apple Pay element runs in Chromium,
/// which has no Apple Pay: its `ready` (available: false) comes once its iframe has loaded and checked.
async function mountToReady(edgeUrl, options) {
  const loader = fs.readFileSync(path.join(root, 'npm/dist/paygate.mjs'));
  const key = `pk_test_${'Bench0123456789'.repeat(3)}`;
  const page = `<!doctype html><meta charset="utf-8"><div id="card"></div><script type="module">
    import { loadPaygate } from '/paygate.mjs';
    const started = performance.now();
    const paygate = await loadPaygate('${key}', { apiBase: '${edgeUrl}', locale: 'en' });
    paygate.mount('#card', ${options}).on('ready', () => { window.mountToReadyMs = performance.now() - started; });
  </script>`;
  const shop = http.createServer((req, res) => {
    if (req.url === '/paygate.mjs') res.writeHead(200, { 'content-type': 'text/javascript' }).end(loader);
    else res.writeHead(200, { 'content-type': 'text/html' }).end(page);
  });
  await new Promise((resolve) => shop.listen(0, '127.0.0.1', resolve));
  const shopUrl = `http://127.0.0.1:${shop.address().port}/`;
  const browser = await launchChromium();
  const results = {};
  try {
    const tab = await browser.context.newPage();
    const cdp = await browser.context.newCDPSession(tab);
    for (const [name, cacheDisabled] of [['first visit (cache off)', true], ['repeat visit (cache on)', false]]) {
      await cdp.send('Network.setCacheDisabled', { cacheDisabled });
      const times = [];
      // One unmeasured load warms Chromium itself (and, for the second mode, its cache).
      for (let run = -1; run < RUNS; run++) {
        await tab.goto(shopUrl);
        const ms = await tab.waitForFunction(() => window.mountToReadyMs, null, { timeout: 10_000 }).then((h) => h.jsonValue());
        if (run >= 0) times.push(ms);
      }
      results[name] = { median: percentile(times, 50), p95: percentile(times, 95), max: Math.max(...times) };
    }
  } finally {
    await browser.close();
    shop.close();
  }
  return results;
}

const edge = await startEdge({ port: 0 });
try {
  for (const [what, rows] of Object.entries(byteTables())) {
    console.log(`\nbytes on the critical path: ${what}`);
    console.table(rows);
  }
  for (const [what, options] of [
    ['card', "{ type: 'card' }"],
    ['apple_pay', "{ type: 'apple_pay', amount: 1999, currency: 'USD', country: 'US', label: 'Bench shop' }"],
  ]) {
    console.log(`\nmount() → ready for ${what} in headless Chromium, ${RUNS} runs each (ms)`);
    const timings = await mountToReady(edge.url, options);
    console.table(Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, { median: v.median.toFixed(1), p95: v.p95.toFixed(1), max: v.max.toFixed(1) }])));
  }
} finally {
  await edge.dispose();
}
