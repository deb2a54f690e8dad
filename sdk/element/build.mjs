// Packs the elements for delivery: each element's wasm-pack output (glue JS + WebAssembly) and stylesheet get
// content-hashed names, so the edge can cache them for a year, and its page names them with their Subresource
// Integrity hashes. One build feeds the edge's static assets and the npm package's `element/` folder, so what
// the package ships is byte for byte what the CDN serves.
//
//   node sdk/element/build.mjs <card wasm-pack out dir> <apple-pay wasm-pack out dir> <edge assets dir> <package element dir>
// The edge assets dir receives elements/v1/{card.html,card-H.css,element-H.js,element-H.wasm} (the card
// element), elements/v1/{apple-pay.html,apple-pay-H.css,apple-pay-element-H.js,apple-pay-element-H.wasm} (the
// Apple Pay element, its own WebAssembly so the card iframe never downloads it), challenge.html and its script and
// stylesheet (the 3-D Secure dialog's page) and js/{v1,<version>}/paygate.mjs
// (the minified loader, also written to npm/dist/, for shops that take it from the CDN); the package's element
// dir receives the element files.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeMinifiedLoader } from '../../npm/scripts/minify.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const [cardPkg, applePayPkg, edgeDir, packageDir] = process.argv.slice(2);
if (!cardPkg || !applePayPkg || !edgeDir || !packageDir) {
  console.error('usage: node sdk/element/build.mjs <card wasm-pack out dir> <apple-pay wasm-pack out dir> <edge assets dir> <package element dir>');
  process.exit(2);
}

const read = (file) => fs.readFileSync(file);
const shortHash = (bytes) => crypto.createHash('sha256').update(bytes).digest('hex').slice(0, 16);
export const integrity = (bytes) => `sha384-${crypto.createHash('sha384').update(bytes).digest('base64')}`;

/// One element: its page, stylesheet, glue and WebAssembly, named by content. `boot` is the Rust entry point.
/// Every element's page is `page.html`, named `page` and titled `title`.
function pack({ pkgDir, page, title, stylesheet, prefix, boot }) {
  const wasm = read(path.join(pkgDir, 'paygate_sdk_bg.wasm'));
  const wasmName = `${prefix}-${shortHash(wasm)}.wasm`;
  // The glue's own default would look for paygate_sdk_bg.wasm; start it with the hashed name, then boot.
  const glue = read(path.join(pkgDir, 'paygate_sdk.js')).toString('utf8');
  if (!glue.includes('async function __wbg_init(')) throw new Error('unexpected wasm-bindgen glue: no __wbg_init');
  if (!glue.includes(`export function ${boot}(`)) throw new Error(`the ${page} build does not export ${boot}`);
  // A start that fails (WebAssembly blocked or unreachable, the page's origin refused, an option refused)
  // tells the page, so a shop can say the element is unavailable instead of waiting. The message says only
  // that it failed, so any origin may receive it: the page's origin is exactly what may be in doubt.
  const start = `
try {
  await __wbg_init({ module_or_path: new URL('./${wasmName}', import.meta.url) });
  ${boot}();
} catch (error) {
  console.error(error);
  const id = new URLSearchParams(location.hash.slice(1)).get('id');
  if (window.parent !== window) window.parent.postMessage({ paygate: 1, id, type: 'loaderror' }, '*');
}
`;
  const js = Buffer.from(`${glue}\n${start}`);
  const jsName = `${prefix}-${shortHash(js)}.js`;
  const css = read(path.join(here, stylesheet));
  const cssName = `${path.basename(stylesheet, '.css')}-${shortHash(css)}.css`;
  const html = Buffer.from(
    read(path.join(here, 'page.html'))
      .toString('utf8')
      .replace('{{title}}', title)
      .replace('{{css}}', cssName)
      .replace('{{css_integrity}}', integrity(css))
      .replace('{{wasm}}', wasmName)
      .replace('{{js}}', jsName)
      .replace('{{js_integrity}}', integrity(js)),
  );
  return { [page]: html, [cssName]: css, [jsName]: js, [wasmName]: wasm };
}

/// A page with a plain script and no WebAssembly (the 3-D Secure dialog's relay): its own template.
function packScript({ page, script, stylesheet }) {
  const js = read(path.join(here, script));
  const jsName = `${path.basename(script, '.mjs')}-${shortHash(js)}.js`;
  const css = read(path.join(here, stylesheet));
  const cssName = `${path.basename(stylesheet, '.css')}-${shortHash(css)}.css`;
  const html = Buffer.from(
    read(path.join(here, page))
      .toString('utf8')
      .replace('{{css}}', cssName)
      .replace('{{css_integrity}}', integrity(css))
      .replace('{{js}}', jsName)
      .replace('{{js_integrity}}', integrity(js)),
  );
  return { [page]: html, [cssName]: css, [jsName]: js };
}

const files = {
  ...packScript({ page: 'challenge.html', script: 'challenge.mjs', stylesheet: 'challenge.css' }),
  ...pack({ pkgDir: cardPkg, page: 'card.html', title: 'Paygate card form', stylesheet: 'card.css', prefix: 'element', boot: 'boot' }),
  ...pack({ pkgDir: applePayPkg, page: 'apple-pay.html', title: 'Paygate Apple Pay button', stylesheet: 'apple-pay.css', prefix: 'apple-pay-element', boot: 'boot_apple_pay' }),
};
// The loader as shipped (npm/dist/paygate.mjs, minified from npm/src/index.mjs).
const loader = writeMinifiedLoader();

for (const elements of [path.join(edgeDir, 'elements/v1'), packageDir]) {
  // Old hashed files go: a deploy serves exactly one build.
  fs.rmSync(elements, { recursive: true, force: true });
  fs.mkdirSync(elements, { recursive: true });
  for (const [name, bytes] of Object.entries(files)) fs.writeFileSync(path.join(elements, name), bytes);
}
// The loader twice: a floating v1 path, and the package's version, which never changes (SRI pins it).
const { version } = JSON.parse(read(path.join(root, 'npm/package.json')));
for (const dir of ['v1', version]) {
  fs.mkdirSync(path.join(edgeDir, 'js', dir), { recursive: true });
  fs.writeFileSync(path.join(edgeDir, 'js', dir, 'paygate.mjs'), loader);
}
console.log(`elements: ${Object.keys(files).join(' ')}; loader ${integrity(loader)}`);
