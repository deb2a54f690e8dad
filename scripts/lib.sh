# Shared helpers for the scripts in this folder. Sourced, never run.

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

# Runs a command as root: directly when we are root, through sudo otherwise.
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# Paths of the pinned tools, so nothing falls back to downloading from GitHub (see docs/toolchain.md).
tool_env() {
  export PATH="$ROOT/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
  export WASM_BINDGEN_BIN="${CARGO_HOME:-$HOME/.cargo}/bin/wasm-bindgen"
  export WASM_OPT_BIN="$ROOT/node_modules/.bin/wasm-opt"
  export CHROMEDRIVER=/usr/bin/chromedriver
  export WRANGLER_SEND_METRICS=false
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
}
