#!/usr/bin/env bash
# Installs whatever the tests and the local stack need, idempotently, with the pinned versions of
# scripts/versions.env. Each step checks first and skips what is already present at the right version,
# so a second run takes seconds. Safe to run on a brand-new machine (root or not).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
. scripts/versions.env
. scripts/lib.sh

export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

need_apt=()
have_version() { # have_version <cmd> <expected substring>
  command -v "$1" >/dev/null 2>&1 && "$1" --version 2>/dev/null | grep -q -- "$2"
}

step "rust wasm32 target"
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi

step "wasm-bindgen-cli $WASM_BINDGEN_VERSION"
if ! have_version wasm-bindgen "$WASM_BINDGEN_VERSION"; then
  # Not --locked: the registry mirror here lacks a crate version that the upstream lockfile pins.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

step "wasm-pack $WASM_PACK_VERSION"
if ! have_version wasm-pack "$WASM_PACK_VERSION"; then
  cargo install wasm-pack --version "$WASM_PACK_VERSION" --locked --force
fi

step "worker-build $WORKER_BUILD_VERSION"
if ! have_version worker-build "$WORKER_BUILD_VERSION"; then
  cargo install worker-build --version "$WORKER_BUILD_VERSION" --locked --force
fi

step "mdbook $MDBOOK_VERSION"
if ! have_version mdbook "v$MDBOOK_VERSION"; then
  cargo install mdbook --version "$MDBOOK_VERSION" --locked --no-default-features --features search --force
fi

step "Debian packages (curl, jq, chromium, chromedriver, postgresql)"
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
# The docs' snippets pass ids from one call to the next with jq, as a reader would.
command -v jq >/dev/null 2>&1 || need_apt+=(jq)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need_apt+=(chromium-driver)
[ -x "/usr/lib/postgresql/$PG_MAJOR/bin/postgres" ] || need_apt+=("postgresql-$PG_MAJOR")
if [ ${#need_apt[@]} -gt 0 ]; then
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${need_apt[@]}"
fi

step "npm packages (from package-lock.json)"
# npm ci is skipped when node_modules already matches the lockfile (its hidden lockfile is newer).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

step "python venv (standardwebhooks $STANDARDWEBHOOKS_PY_VERSION, openapi-spec-validator $OPENAPI_SPEC_VALIDATOR_VERSION)"
if [ ! -x .venv/bin/python ]; then
  # Debian's own python3 needs python3-venv for this; pyenv builds have it built in.
  python3 -m venv .venv 2>/dev/null || {
    rm -rf .venv
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq python3-venv
    python3 -m venv .venv
  }
fi
if ! .venv/bin/python -c "import importlib.metadata as m; assert m.version('standardwebhooks') == '$STANDARDWEBHOOKS_PY_VERSION'" 2>/dev/null; then
  .venv/bin/pip install -q --disable-pip-version-check "standardwebhooks==$STANDARDWEBHOOKS_PY_VERSION"
fi
if ! .venv/bin/python -c "import importlib.metadata as m; assert m.version('openapi-spec-validator') == '$OPENAPI_SPEC_VALIDATOR_VERSION'" 2>/dev/null; then
  .venv/bin/pip install -q --disable-pip-version-check "openapi-spec-validator==$OPENAPI_SPEC_VALIDATOR_VERSION"
fi

step "install done"
