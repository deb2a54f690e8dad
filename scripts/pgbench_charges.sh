#!/usr/bin/env bash
# The ceiling for the HTTP charges benchmark: ledger-backend/benches/charge_path.sql (the SQL of one
# create + capture) under pgbench on a migrated database, for 1,000 merchants and for one hot merchant.
# Needs DATABASE_URL (a server where it may create `paygate_pgbench`); run by scripts/bench.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DATABASE_URL:?DATABASE_URL must point at a PostgreSQL server}"
clients=${BENCH_CONCURRENCY:-32}
seconds=${PGBENCH_SECONDS:-20}
base=${DATABASE_URL%/*}
db="$base/paygate_pgbench"

psql -q "$DATABASE_URL" -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS paygate_pgbench WITH (FORCE)" -c "CREATE DATABASE paygate_pgbench"
DATABASE_URL=$db cargo run -q --release -p paygate-ledger --bin paygate-ledger -- migrate >/dev/null
psql -q "$db" <<'SQL'
-- Ids shaped like ours (prefix, 10 characters of millisecond time, 16 random), so rows land in the
-- month's partition as the backend's do.
CREATE FUNCTION bench_id(prefix text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    alphabet constant text := '0123456789abcdefghjkmnpqrstvwxyz';
    ms bigint := (extract(epoch FROM clock_timestamp()) * 1000)::bigint;
    out text := '';
BEGIN
    FOR i IN REVERSE 9..0 LOOP
        out := out || substr(alphabet, ((ms >> (i * 5)) & 31)::int + 1, 1);
    END LOOP;
    FOR i IN 1..16 LOOP
        out := out || substr(alphabet, (random() * 31)::int + 1, 1);
    END LOOP;
    RETURN prefix || '_' || out;
END;
$$;
CREATE TABLE bench_merchants (n int PRIMARY KEY, id text NOT NULL);
INSERT INTO bench_merchants SELECT n, bench_id('acct') FROM generate_series(1, 1000) AS n;
INSERT INTO merchants (id, name) SELECT id, 'Shop ' || n FROM bench_merchants;
INSERT INTO merchant_pricing (merchant_id, currency, basis_points, fixed_minor) SELECT id, '*', 290, 30 FROM bench_merchants;
INSERT INTO ledger_accounts (merchant_id, mode, currency, kind)
    SELECT m.id, 'test', 'EUR', k FROM bench_merchants m,
        unnest('{authorization_receivable,authorization_payable,processor_receivable,merchant_pending,fee_revenue}'::text[]) AS k;
SQL

echo "| scenario | ops/s (create + capture) | latency avg | clients |"
echo "|---|---|---|---|"
for merchants in 1000 1; do
  label=$([ "$merchants" = 1 ] && echo "one hot merchant" || echo "1,000 merchants")
  out=$(PGOPTIONS="-c plan_cache_mode=force_generic_plan" pgbench -n -M prepared -c "$clients" -j 2 -T "$seconds" \
        -D merchants="$merchants" -f ledger-backend/benches/charge_path.sql "$db" 2>&1) || { echo "$out" >&2; exit 1; }
  tps=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
  lat=$(echo "$out" | sed -n 's/^latency average = \(.*\)$/\1/p')
  printf '| %s | %.0f | %s | %s |\n' "$label" "$tps" "$lat" "$clients"
done
psql -q "$DATABASE_URL" -c "DROP DATABASE IF EXISTS paygate_pgbench WITH (FORCE)"
