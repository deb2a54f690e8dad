-- pgbench script: the lean reference. A minimal idempotent captured charge, written for the benchmark
-- (issue 19) and nothing else: an idempotency row, the charge, a balanced two-entry ledger transfer between
-- the merchant's account rows (locked as our foreign keys lock them), and one outbox event, in one PL/pgSQL
-- call and one durable transaction. It has no tenancy, audit, attempts, authorization step, fee line,
-- partitions or processor, so the ratio of our path to it is what all of that costs. Set up by
-- scripts/pgbench_charges.sh (schema `lean`, function `lean.captured_charge`).
\set n random(1, :merchants)
SELECT lean.captured_charge(:n, md5(random()::text), 2500);
