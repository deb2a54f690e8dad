// The loader as shipped: src/index.mjs (readable, commented: the source of truth) minified by esbuild into
// dist/paygate.mjs, the package's entry and the CDN's file. esbuild is pinned in the workspace's
// package-lock.json, so the same source always gives the same bytes, and a version's SRI hash holds.
//
//   node npm/scripts/minify.mjs   writes npm/dist/paygate.mjs
import { buildSync } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const SOURCE = path.join(packageDir, 'src/index.mjs');
export const SHIPPED = path.join(packageDir, 'dist/paygate.mjs');

/// The minified loader's bytes. ES2020 is what every browser that runs the WebAssembly elements speaks.
export function minifiedLoader() {
  const result = buildSync({
    entryPoints: [SOURCE],
    bundle: false,
    minify: true,
    format: 'esm',
    target: 'es2020',
    legalComments: 'none',
    write: false,
    logLevel: 'error',
  });
  return Buffer.from(result.outputFiles[0].contents);
}

export function writeMinifiedLoader() {
  const bytes = minifiedLoader();
  fs.mkdirSync(path.dirname(SHIPPED), { recursive: true });
  fs.writeFileSync(SHIPPED, bytes);
  return bytes;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) writeMinifiedLoader();
