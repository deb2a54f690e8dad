#!/usr/bin/env bash
# Builds the documentation site into target/docs-site: the generated pages first (paygate-docs, from the
# code), then mdBook. Needs the binaries of `cargo build -p paygate-docs` (built here if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
. scripts/lib.sh
tool_env
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
cargo build -q -p paygate-docs
"$TARGET/debug/paygate-docs" docs/site/src
# mdBook warns rather than fails on some faults (an unclosed HTML tag in a page): a warning is an error here.
if ! output=$(mdbook build docs/site --dest-dir "$TARGET/docs-site" 2>&1) || grep -qE "WARN|ERROR" <<<"$output"; then
  printf '%s\n' "$output" >&2
  echo "mdbook build failed or warned (above)" >&2
  exit 1
fi
test -f "$TARGET/docs-site/index.html"
