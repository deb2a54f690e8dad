#!/usr/bin/env bash
# `make bench`: benchmarks (never tests: these machines are shared and noisy; nothing here asserts a
# time). Prints Markdown tables for BENCHMARKS.md, with the machine they ran on.
#
#   scripts/bench.sh ledger   charges through the backend's HTTP API, then the same SQL under pgbench
#   scripts/bench.sh edge     the latency the edge adds in front of the backend, and replays it serves alone
#   scripts/bench.sh webhooks deliveries/s draining a backlog, and commit-to-delivery latency
#   scripts/bench.sh sdk      bytes of the loader and each element iframe (raw, gzip, brotli), mount() → ready
#   scripts/bench.sh reconciliation  a 1,000,000-row settlement report imported and matched: rows/s, peak memory
#
# PostgreSQL runs in its own durable cluster (.local/pg-bench: fsync and synchronous_commit on, as in
# production), never the test cluster with fsync off.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
. scripts/lib.sh
. scripts/pg.sh

what=${1:-ledger}
./scripts/install.sh >/dev/null
tool_env

machine() {
  echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(free -g | awk '/Mem:/ {print $2}') GiB RAM, $(uname -sr); $("$(pg_bin)/postgres" --version)"
}

case "$what" in
  ledger)
    url=$(pg_ensure pg-bench 54331 "-c shared_buffers=512MB")
    machine
    step "HTTP: create + capture (cargo bench -p paygate-ledger --bench charges)"
    DATABASE_URL=$url cargo bench -q -p paygate-ledger --bench charges
    step "pgbench: the same SQL, without HTTP, processors or Rust (the ceiling)"
    DATABASE_URL=$url ./scripts/pgbench_charges.sh
    ;;
  edge)
    url=$(pg_ensure pg-bench 54331 "-c shared_buffers=512MB")
    machine
    step "edge: latency added over calling the backend directly (workerd via Miniflare)"
    cargo build -q --release -p paygate-ledger --bins
    (cd edge-api && worker-build --release >/dev/null)
    DATABASE_URL=$url PAYGATE_BIN_PROFILE=release node edge-api/bench/edge_latency.mjs
    ;;
  webhooks)
    url=$(pg_ensure pg-bench 54331 "-c shared_buffers=512MB")
    machine
    step "webhooks: deliveries/s and commit-to-delivery latency to a local receiver"
    DATABASE_URL=$url cargo bench -q -p paygate-ledger --bench webhooks
    ;;
  reconciliation)
    url=$(pg_ensure pg-bench 54331 "-c shared_buffers=512MB")
    machine
    step "reconciliation: a Stripe report of ${BENCH_ROWS:-1000000} rows imported and matched"
    DATABASE_URL=$url cargo bench -q -p paygate-ledger --bench reconciliation
    ;;
  sdk)
    echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(free -g | awk '/Mem:/ {print $2}') GiB RAM, $(uname -sr); $(/usr/bin/chromium --version 2>/dev/null)"
    step "browser SDK: bytes on the critical path and mount() → ready (headless Chromium, workerd)"
    ./scripts/build_browser.sh
    (cd edge-api && worker-build --release >/dev/null)
    node sdk/bench/sdk_bench.mjs
    ;;
  *)
    echo "usage: scripts/bench.sh ledger|edge|webhooks|sdk|reconciliation" >&2
    exit 2
    ;;
esac
