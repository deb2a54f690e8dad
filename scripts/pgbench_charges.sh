#!/usr/bin/env bash
# The ceiling for the HTTP charges benchmark: ledger-backend/benches/charge_path.sql (the SQL of one
# create + capture) under pgbench on a migrated database, for 1,000 merchants and for one hot merchant;
# then the lean reference (ledger-backend/benches/lean_charge.sql) the same way, side by side, and the lean reference
# in the four commits a processor between us and the money requires (lean_charge_four_commits.sql).
#
# `pgbench_charges.sh breakdown` instead splits that ceiling into its costs, in one run, for 1,000 merchants:
# the path as sent (and an earlier version of it, PGBENCH_BEFORE); the same statements one call per database
# transaction (charge_path_one_call.sql: the most fewer round trips could gain); then, one after the other on
# that, without row-level security, without the CHECK constraints, the ledger's integrity triggers,
# ledger_entries' foreign keys, the secondary indexes of the tables written and the next months' partitions;
# and the lean reference. Each removal is made only in the
# throwaway database, to measure what the schema's guarantees cost; none of them is a proposal.
# Needs DATABASE_URL (a server where it may create `paygate_pgbench`); run by scripts/bench.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DATABASE_URL:?DATABASE_URL must point at a PostgreSQL server}"
mode=${1:-ceiling}
clients=${BENCH_CONCURRENCY:-32}
seconds=${PGBENCH_SECONDS:-20}
# The backend's connections use generic plans (db::connect); PGBENCH_PLAN_CACHE_MODE=auto compares custom ones.
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
CREATE TABLE bench_merchants (n int PRIMARY KEY, id text NOT NULL, sandbox text NOT NULL);
INSERT INTO bench_merchants SELECT n, bench_id('acct'), bench_id('pa') FROM generate_series(1, 1000) AS n;
-- The script runs as paygate_api, as the backend does; it picks its merchant before taking that role.
GRANT SELECT ON bench_merchants TO paygate_api;
INSERT INTO merchants (id, name) SELECT id, 'Shop ' || n FROM bench_merchants;
INSERT INTO processor_accounts (id, merchant_id, mode, connector, display_name)
    SELECT sandbox, id, 'test', 'sandbox', 'Sandbox' FROM bench_merchants;
INSERT INTO merchant_pricing (merchant_id, currency, basis_points, fixed_minor) SELECT id, '*', 290, 30 FROM bench_merchants;
INSERT INTO ledger_accounts (merchant_id, mode, currency, kind)
    SELECT m.id, 'test', 'EUR', k FROM bench_merchants m,
        unnest('{authorization_receivable,authorization_payable,processor_receivable,merchant_pending,fee_revenue}'::text[]) AS k;
SQL

# The lean reference (ledger-backend/benches/lean_charge.sql): its own minimal tables, beside ours.
psql -q "$db" <<'SQL'
CREATE SCHEMA lean;
CREATE TABLE lean.accounts (id bigserial PRIMARY KEY, merchant int NOT NULL, kind text NOT NULL, UNIQUE (merchant, kind));
CREATE TABLE lean.idempotency (merchant int NOT NULL, key text NOT NULL, charge_id bigint, PRIMARY KEY (merchant, key));
CREATE TABLE lean.charges (id bigserial PRIMARY KEY, merchant int NOT NULL, amount bigint NOT NULL CHECK (amount > 0),
    currency text NOT NULL, status text NOT NULL, pending_operation text, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE lean.entries (charge_id bigint NOT NULL REFERENCES lean.charges, line smallint NOT NULL,
    account_id bigint NOT NULL REFERENCES lean.accounts, amount bigint NOT NULL, PRIMARY KEY (charge_id, line));
CREATE TABLE lean.outbox (id bigserial PRIMARY KEY, merchant int NOT NULL, type text NOT NULL, payload jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now());
INSERT INTO lean.accounts (merchant, kind) SELECT n, k FROM generate_series(1, 1000) AS n, unnest('{receivable,payable}'::text[]) AS k;
-- The whole captured charge, idempotent on (merchant, key): a retry answers the first charge's id.
CREATE FUNCTION lean.captured_charge(p_merchant int, p_key text, p_amount bigint) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    charge bigint;
    receivable bigint;
    payable bigint;
BEGIN
    INSERT INTO lean.idempotency (merchant, key) VALUES (p_merchant, p_key) ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        SELECT charge_id INTO charge FROM lean.idempotency WHERE merchant = p_merchant AND key = p_key;
        RETURN charge;
    END IF;
    INSERT INTO lean.charges (merchant, amount, currency, status) VALUES (p_merchant, p_amount, 'EUR', 'captured')
        RETURNING id INTO charge;
    SELECT max(id) FILTER (WHERE kind = 'receivable'), max(id) FILTER (WHERE kind = 'payable')
        INTO receivable, payable
        FROM (SELECT id, kind FROM lean.accounts WHERE merchant = p_merchant FOR KEY SHARE) AS locked;
    INSERT INTO lean.entries (charge_id, line, account_id, amount)
        VALUES (charge, 0, receivable, p_amount), (charge, 1, payable, -p_amount);
    UPDATE lean.idempotency SET charge_id = charge WHERE merchant = p_merchant AND key = p_key;
    INSERT INTO lean.outbox (merchant, type, payload)
        VALUES (p_merchant, 'charge.captured', jsonb_build_object('id', charge, 'amount', p_amount));
    RETURN charge;
END;
$$;
-- The same charge in the four durable steps a processor between us and the money requires
-- (lean_charge_four_commits.sql): recorded before the authorization is asked, its outcome, the capture's claim
-- before the capture is asked, its outcome. Still no tenancy, audit, attempts, fee or hold postings.
CREATE FUNCTION lean.recorded(p_merchant int, p_key text, p_amount bigint) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    charge bigint;
BEGIN
    INSERT INTO lean.idempotency (merchant, key) VALUES (p_merchant, p_key) ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        SELECT charge_id INTO charge FROM lean.idempotency WHERE merchant = p_merchant AND key = p_key;
        RETURN charge;
    END IF;
    INSERT INTO lean.charges (merchant, amount, currency, status) VALUES (p_merchant, p_amount, 'EUR', 'pending')
        RETURNING id INTO charge;
    UPDATE lean.idempotency SET charge_id = charge WHERE merchant = p_merchant AND key = p_key;
    RETURN charge;
END;
$$;
CREATE FUNCTION lean.authorized(p_charge bigint) RETURNS void LANGUAGE sql AS $$
    WITH moved AS (UPDATE lean.charges SET status = 'authorized' WHERE id = p_charge AND status = 'pending'
                   RETURNING merchant, amount)
    INSERT INTO lean.outbox (merchant, type, payload)
        SELECT merchant, 'charge.authorized', jsonb_build_object('id', p_charge, 'amount', amount) FROM moved;
$$;
CREATE FUNCTION lean.claimed(p_charge bigint) RETURNS void LANGUAGE sql AS $$
    UPDATE lean.charges SET pending_operation = 'capture'
        WHERE id = p_charge AND status = 'authorized' AND pending_operation IS NULL;
$$;
CREATE FUNCTION lean.captured(p_merchant int, p_charge bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    captured bigint;
    receivable bigint;
    payable bigint;
BEGIN
    UPDATE lean.charges SET status = 'captured', pending_operation = NULL
        WHERE id = p_charge AND pending_operation = 'capture' RETURNING amount INTO captured;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    SELECT max(id) FILTER (WHERE kind = 'receivable'), max(id) FILTER (WHERE kind = 'payable')
        INTO receivable, payable
        FROM (SELECT id, kind FROM lean.accounts WHERE merchant = p_merchant FOR KEY SHARE) AS locked;
    INSERT INTO lean.entries (charge_id, line, account_id, amount)
        VALUES (p_charge, 0, receivable, captured), (p_charge, 1, payable, -captured);
    INSERT INTO lean.outbox (merchant, type, payload)
        VALUES (p_merchant, 'charge.captured', jsonb_build_object('id', p_charge, 'amount', captured));
END;
$$;
SQL

# Operations per second of one script: tps of `pgbench -f <script>` (one transaction = one create + capture).
# A script is named as in ledger-backend/benches/ (`charge_path`), or by its path (`/tmp/before.sql`).
ops() {
  local script=$1 merchants=$2 out file
  file="ledger-backend/benches/$script.sql"
  [[ $script == *.sql ]] && file=$script
  out=$(PGOPTIONS="-c plan_cache_mode=${PGBENCH_PLAN_CACHE_MODE:-force_generic_plan}" pgbench -n -M prepared -c "$clients" -j 2 \
        -T "$seconds" -D merchants="$merchants" -f "$file" "$db" 2>&1) || { echo "$out" >&2; exit 1; }
  # A script that mirrors our path must capture what it creates: a mirror whose conditional statements stopped
  # matching (a version, a status) would write less and look faster. At most one charge per client may be caught
  # mid-script when the run ends.
  local open
  open=$(psql -qAtX "$db" -c "SELECT count(*) FROM charges WHERE status <> 'captured'")
  if [ "$open" -gt "$clients" ]; then
    echo "$script left $open charges uncaptured: it no longer does what the backend does" >&2
    exit 1
  fi
  printf '%.0f | %s' "$(echo "$out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p')" "$(echo "$out" | sed -n 's/^latency average = \(.*\)$/\1/p')"
}

if [ "$mode" = breakdown ]; then
  psql -q "$db" -v ON_ERROR_STOP=1 -f ledger-backend/benches/charge_path_one_call_functions.sql
  # The tables one create + capture writes.
  written="'charges','charge_attempts','idempotency_records','audit_log','events','ledger_transactions','ledger_entries','seen_requests'"
  ddl() { psql -qAtX "$db" -c "$1" | psql -qX "$db" -v ON_ERROR_STOP=1 >/dev/null; }
  echo "| what (1,000 merchants, $clients clients, ${seconds} s each) | ops/s | latency avg |"
  echo "|---|---:|---:|"
  echo "| the path as the backend sends it (charge_path.sql: 10 statements, 12 round trips) | $(ops charge_path 1000) |"
  # An earlier version of the path, side by side in the same run: PGBENCH_BEFORE=<its charge_path.sql>, e.g.
  # `git show <commit>:ledger-backend/benches/charge_path.sql > /tmp/before.sql`.
  if [ -n "${PGBENCH_BEFORE:-}" ]; then
    echo "| the path before (\`${PGBENCH_BEFORE}\`) | $(ops "$PGBENCH_BEFORE" 1000) |"
  fi
  echo "| the same statements, one call per transaction (7 round trips) | $(ops charge_path_one_call 1000) |"
  psql -qX "$db" -c "CREATE OR REPLACE FUNCTION one_call_scope(m text) RETURNS void LANGUAGE sql AS \$\$
      SELECT set_config('paygate.merchant_id', m, true), set_config('paygate.mode', 'test', true); \$\$"
  echo "| … as the owner, without row-level security | $(ops charge_path_one_call 1000) |"
  psql -qX "$db" -c "CREATE OR REPLACE FUNCTION one_call_scope(m text) RETURNS void LANGUAGE sql AS \$\$
      SELECT set_config('role', 'paygate_api', true), set_config('paygate.merchant_id', m, true),
             set_config('paygate.mode', 'test', true); \$\$"
  ddl "SELECT format('ALTER TABLE %s DROP CONSTRAINT %I;', conrelid::regclass, conname) FROM pg_constraint
       WHERE contype = 'c' AND conrelid::regclass::text IN ($written) AND NOT coninhcount > 0"
  echo "| … with row-level security again, without the CHECK constraints | $(ops charge_path_one_call 1000) |"
  ddl "SELECT 'DROP TRIGGER ledger_transaction_balanced ON ledger_transactions; DROP TRIGGER ledger_entries_written_with_transaction ON ledger_entries;'"
  echo "| … and without the ledger's integrity triggers (balanced at commit, entries written with their transaction) | $(ops charge_path_one_call 1000) |"
  ddl "SELECT format('ALTER TABLE %s DROP CONSTRAINT %I;', conrelid::regclass, conname) FROM pg_constraint
       WHERE contype = 'f' AND conrelid::regclass::text IN ($written) AND conparentid = 0"
  echo "| … and without the foreign keys of the tables written | $(ops charge_path_one_call 1000) |"
  ddl "SELECT format('DROP INDEX %s;', x.indexrelid::regclass) FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid
       WHERE c.relname IN ($written) AND NOT x.indisprimary AND NOT x.indisunique"
  echo "| … and without their secondary indexes | $(ops charge_path_one_call 1000) |"
  ddl "SELECT format('ALTER TABLE %s DETACH PARTITION %s;', i.inhparent::regclass, i.inhrelid::regclass)
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
       WHERE p.relname IN ($written) AND p.relkind = 'p' AND c.relname ~ '_[0-9]{4}_[0-9]{2}$'
         AND c.relname <> p.relname || to_char(now(), '_YYYY_MM')"
  echo "| … and with only this month's partition and the default one | $(ops charge_path_one_call 1000) |"
  echo "| the lean reference (lean_charge.sql: one call, one transaction) | $(ops lean_charge 1000) |"
  echo "| the lean reference in four commits (lean_charge_four_commits.sql: as a processor between us and the money requires) | $(ops lean_charge_four_commits 1000) |"
else
  echo "| script | scenario | ops/s | latency avg | clients |"
  echo "|---|---|---:|---:|---:|"
  for script in charge_path lean_charge lean_charge_four_commits; do
    for merchants in 1000 1; do
      label=$([ "$merchants" = 1 ] && echo "one hot merchant" || echo "1,000 merchants")
      case $script in
        lean_charge) what="lean reference (one call)" ;;
        lean_charge_four_commits) what="lean reference in four commits" ;;
        *) what="our path's SQL (as paygate_api)" ;;
      esac
      echo "| $what | $label | $(ops "$script" "$merchants") | $clients |"
    done
  done
fi
psql -q "$DATABASE_URL" -c "DROP DATABASE IF EXISTS paygate_pgbench WITH (FORCE)"
