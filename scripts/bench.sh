#!/usr/bin/env bash
# `make bench`: benchmarks (never tests: these machines are shared and noisy; nothing here asserts a
# time). Prints Markdown tables for BENCHMARKS.md, with the machine they ran on.
#
#   scripts/bench.sh ledger   charges through the backend's HTTP API; end to end through the edge and straight
#                             to the release backend; then the same SQL and a lean reference under pgbench
#   scripts/bench.sh edge     the latency the edge adds in front of the backend, and replays it serves alone
#   scripts/bench.sh webhooks deliveries/s draining a backlog, and commit-to-delivery latency
#   scripts/bench.sh sdk      bytes of the loader and each element iframe (raw, gzip, brotli), mount() → ready
#   scripts/bench.sh reconciliation  a 1,000,000-row settlement report imported and matched: rows/s, peak memory
#   scripts/bench.sh ceiling  the pgbench ceiling split into its costs: round trips, row-level security,
#                             CHECKs, the ledger's triggers, foreign keys, indexes, partitions (one run)
#   scripts/bench.sh statements  where the database's time goes in one scenario of the ledger benchmark:
#                             pg_stat_statements over the scenario `BENCH_SCENARIO` names (default: the one
#                             hot merchant through row-level security), the 25 costliest statements
#                             (`BENCH_STATEMENTS` sets how many)
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
    step "end to end: create + capture through the edge on workerd and straight to the release backend"
    cargo build -q --release -p paygate-ledger -p paygate-fakes --bins
    (cd edge-api && worker-build --release >/dev/null)
    [ -d edge-api/public ] || ./scripts/build_browser.sh >/dev/null
    DATABASE_URL=$url PAYGATE_BIN_PROFILE=release node edge-api/bench/charge_path.mjs
    step "pgbench: the same SQL, without HTTP, processors or Rust (the ceiling), and the lean reference"
    DATABASE_URL=$url ./scripts/pgbench_charges.sh
    ;;
  edge)
    url=$(pg_ensure pg-bench 54331 "-c shared_buffers=512MB")
    machine
    step "edge: latency added over calling the backend directly (workerd via Miniflare)"
    cargo build -q --release -p paygate-ledger -p paygate-fakes --bins
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
  ceiling)
    url=$(pg_ensure pg-bench 54331 "-c shared_buffers=512MB")
    machine
    step "pgbench: what the ceiling of our SQL spends its time on, against the lean reference"
    DATABASE_URL=$url ./scripts/pgbench_charges.sh breakdown
    ;;
  statements)
    # A cluster of its own: the extension must be loaded at start, and it costs a little on every statement.
    url=$(pg_ensure pg-statements 54333 "-c shared_buffers=512MB -c shared_preload_libraries=pg_stat_statements")
    machine
    psql -qAtX "$url" -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null
    scenario=${BENCH_SCENARIO:-"one hot merchant, sandbox | paygate_api"}
    step "statements: the ledger benchmark's scenario \"$scenario\", measured alone"
    # The stats are reset as the scenario before it ends and read as the scenario itself ends.
    previous=""
    DATABASE_URL=$url cargo bench -q -p paygate-ledger --bench charges 2>&1 | while IFS= read -r line; do
      printf '%s\n' "$line"
      case "$line" in
        "| "*"|"*)
          if [ -n "$previous" ] && [[ $line == *"$scenario"* ]]; then
            psql -X "$url" -c "SELECT calls, round(total_exec_time::numeric, 0) AS total_ms,
                round((total_exec_time / calls)::numeric, 3) AS ms_per_call, rows,
                left(regexp_replace(query, '\s+', ' ', 'g'), 120) AS statement
              FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT ${BENCH_STATEMENTS:-25}"
          fi
          psql -qAtX "$url" -c "SELECT pg_stat_statements_reset()" >/dev/null
          previous=$line
          ;;
      esac
    done
    pg_stop pg-statements
    ;;
  *)
    echo "usage: scripts/bench.sh ledger|edge|webhooks|sdk|reconciliation|ceiling|statements" >&2
    exit 2
    ;;
esac
