#!/usr/bin/env bash
# `make test`: installs what is missing, then runs every test in the repository and ends with a
# pass/fail summary. Steps keep going after a failure so one run shows every problem; the exit code is
# non-zero if any step failed. DATABASE_URL, when set, replaces the project-local test cluster.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
. scripts/lib.sh
. scripts/pg.sh

./scripts/install.sh || { echo "install failed" >&2; exit 1; }
tool_env
mkdir -p artifacts

results=()
failed=0
# run_step <name> <command...>: runs one step, records its outcome and duration.
run_step() {
  local name=$1 start rc
  shift
  step "$name"
  start=$(date +%s)
  "$@"
  rc=$?
  local took=$(( $(date +%s) - start ))
  if [ $rc -eq 0 ]; then
    results+=("PASS  ${took}s  $name")
  else
    results+=("FAIL  ${took}s  $name (exit $rc)")
    failed=1
  fi
}

started_pg=""
if [ -z "${DATABASE_URL:-}" ]; then
  step "test PostgreSQL cluster"
  # Throwaway data: durability settings off for speed. Every test creates and drops its own database.
  # pg_stat_statements counts the statements of the charge path (tests/api/statements.rs).
  DATABASE_URL=$(pg_ensure pg-test 54330 "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_preload_libraries=pg_stat_statements") || exit 1
  started_pg=pg-test
fi
export DATABASE_URL
cleanup() { [ -n "$started_pg" ] && pg_stop "$started_pg"; }
trap cleanup EXIT

# Core's edge-only feature (Apple Pay tokens) is tested here too: the edge itself builds for wasm32 only.
NATIVE=(--workspace --exclude paygate-sdk --exclude paygate-edge --features paygate-core/applepay)

# The repository explains itself: nothing in it points at files outside it (a design note, a toolchain page).
run_step "the repository stands alone (no reference outside it)" bash -c '! git grep -nI "\.\.[/]shared"'
run_step "format (cargo fmt --check)" cargo fmt --all --check
run_step "lint (cargo clippy, warnings are errors)" cargo clippy "${NATIVE[@]}" --all-targets -q -- -D warnings
run_step "unit and integration tests (core, ledger backend on PostgreSQL)" cargo test "${NATIVE[@]}" -q --no-fail-fast
run_step "docs site: pages generated from the code, mdBook build (a warning fails it)" ./scripts/build_docs.sh
run_step "the public and the backend's OpenAPI documents validate (openapi-spec-validator)" bash -c \
  '"$CARGO_TARGET_DIR/debug/paygate-docs" --backend-openapi "$CARGO_TARGET_DIR/openapi-backend.json" &&
   .venv/bin/openapi-spec-validator docs/site/src/reference/openapi.json "$CARGO_TARGET_DIR/openapi-backend.json"'
run_step "core builds for wasm32" cargo build -p paygate-core --target wasm32-unknown-unknown --release -q
run_step "Standard Webhooks interop with the Python reference library" \
  .venv/bin/python core/interop/standard_webhooks_interop.py
run_step "SDK in headless Chromium (wasm-bindgen-test)" \
  bash -c 'cd sdk && wasm-pack --log-level warn test --headless --chrome --release'
run_step "edge and SDK lint (clippy for wasm32, warnings are errors)" \
  cargo clippy -p paygate-edge -p paygate-sdk --target wasm32-unknown-unknown --all-targets -q -- -D warnings
run_step "edge unit tests (vault cipher, key parsing)" cargo test -p paygate-edge --lib -q
run_step "browser build (card and Apple Pay elements, npm package, demo shop install)" ./scripts/build_browser.sh
run_step "edge worker build (worker-build)" bash -c 'cd edge-api && worker-build --release >/dev/null'
run_step "npm package: loader, types, tarball (node --test)" node --test npm/tests/
run_step "edge on workerd; demo shop, dashboard and the docs' snippets in Chromium; the docs' links (node --test)" \
  node --test edge-api/tests/ examples/shop/tests/ ledger-backend/tests/browser/ docs/site/tests/

printf '\n\033[1m==> summary\033[0m\n'
printf '  %s\n' "${results[@]}"
if [ $failed -eq 0 ]; then
  printf '\n\033[32mALL PASSED\033[0m\n'
else
  printf '\n\033[31mFAILED\033[0m\n'
fi
exit $failed
