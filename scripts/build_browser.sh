#!/usr/bin/env bash
# Builds what the browser runs: the card and Apple Pay elements (sdk/, wasm-pack) packed with hashed names into the
# edge's static assets (edge-api/public) and the npm package (npm/element), the package tarball
# (target/npm/paygate-js.tgz), and the demo shop's install of that tarball. Needs tool_env's PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# One WebAssembly build per element, so each iframe downloads only its own code.
for element in card apple-pay; do
  (cd sdk && wasm-pack --log-level warn build --release --target web --no-typescript --no-pack \
    --out-dir "$ROOT/target/sdk/$element" -- --no-default-features --features "$element")
done
node sdk/element/build.mjs target/sdk/card target/sdk/apple-pay edge-api/public npm/element
mkdir -p target/npm
rm -f target/npm/*.tgz
(cd npm && npm pack --silent --pack-destination ../target/npm >/dev/null)
mv target/npm/paygate-js-*.tgz target/npm/paygate-js.tgz
# The shop installs the tarball as a shop would; a stale copy must never survive a rebuild.
rm -rf examples/shop/node_modules/@paygate
(cd examples/shop && npm install --silent --no-audit --no-fund --no-package-lock)
