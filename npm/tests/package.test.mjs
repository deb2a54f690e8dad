// What npm publishes: the manifest shops resolve through, the files in the tarball, and the loader's
// size budget (it is downloaded by every checkout page).
import { test } from 'node:test';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { SHIPPED, minifiedLoader } from '../scripts/minify.mjs';

const dir = fileURLToPath(new URL('../', import.meta.url));
const manifest = JSON.parse(readFileSync(`${dir}package.json`, 'utf8'));
// The loader's budget as served (gzip): dist/paygate.mjs, minified from src/index.mjs.
const LOADER_GZIP_BYTES_MAX = 5 * 1024;

test('the manifest exports one ESM entry with its types and declares no side effects', (t) => {
  t.assert.equal(manifest.name, '@paygate/js');
  t.assert.equal(manifest.type, 'module');
  t.assert.equal(manifest.sideEffects, false);
  t.assert.deepEqual(manifest.exports, { '.': { types: './src/index.d.ts', import: './dist/paygate.mjs', default: './dist/paygate.mjs' } });
  t.assert.equal(manifest.dependencies, undefined, 'the loader has no dependencies');
  const cargo = readFileSync(`${dir}../Cargo.toml`, 'utf8');
  t.assert.equal(manifest.license, /^license = "(.*)"$/m.exec(cargo)[1], 'same license as the workspace');
});

test('the tarball holds the loader (minified, and its source), its types and the README, and no tests', (t) => {
  const [pack] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
  const files = pack.files.map((f) => f.path).filter((path) => !path.startsWith('element/')).sort();
  t.assert.deepEqual(files, ['README.md', 'dist/paygate.mjs', 'package.json', 'src/index.d.ts', 'src/index.mjs']);
});

test('the loader stays within its size budget', (t) => {
  t.assert.ok(existsSync(SHIPPED), 'the loader is not built: run scripts/build_browser.sh');
  const bytes = gzipSync(readFileSync(SHIPPED), { level: 9 }).length;
  t.assert.ok(bytes <= LOADER_GZIP_BYTES_MAX, `${bytes} bytes gzipped`);
});

test('the shipped loader is the current source, minified', (t) => {
  t.assert.ok(readFileSync(SHIPPED).equals(minifiedLoader()), 'dist/paygate.mjs is stale: run scripts/build_browser.sh');
});

// Each iframe's critical path (page, stylesheet, script, WebAssembly) has a budget too: bytes are
// deterministic, unlike times, so this one is a test. Built by scripts/build_browser.sh (make test runs it first).
// Each element is its own build, so the card iframe never carries the Apple Pay code. The Apple Pay element's
// budget is tighter: it is a button, and 43 KB when its budget was set (a float parser once added 16 KB).
const IFRAME_GZIP_BYTES_MAX = { 'card.html': 60 * 1024, 'apple-pay.html': 48 * 1024 };

for (const page of Object.keys(IFRAME_GZIP_BYTES_MAX)) {
  test(`the ${page} iframe stays within its size budget`, (t) => {
    const element = `${dir}element/`;
    t.assert.ok(existsSync(`${element}${page}`), 'the element is not built: run scripts/build_browser.sh');
    const html = readFileSync(`${element}${page}`, 'utf8');
    const files = [page, ...html.match(/[a-z-]+-[0-9a-f]{16}\.(css|js|wasm)/g)];
    t.assert.equal(files.length, 4, `${page} names its stylesheet, script and WebAssembly`);
    const bytes = files.reduce((sum, file) => sum + gzipSync(readFileSync(element + file), { level: 9 }).length, 0);
    t.assert.ok(bytes <= IFRAME_GZIP_BYTES_MAX[page], `${bytes} bytes gzipped`);
  });
}
