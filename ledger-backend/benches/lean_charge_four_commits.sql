-- pgbench script: the lean reference (lean_charge.sql) in the four durable transactions that a processor between
-- us and the money requires, as our path has them: the charge recorded under its key before the authorization
-- is asked (so a crash while asking loses nothing), the authorization's outcome, the capture's claim before the
-- capture is asked, and the capture's outcome with its balanced two-entry transfer and event. Each SELECT is its
-- own transaction and commit. It has none of our path's tenancy, audit, attempts, fee line, hold postings or
-- partitions, so its rate is the most four commits per operation allow on this machine, whatever the rows.
-- Set up by scripts/pgbench_charges.sh (functions lean.recorded, lean.authorized, lean.claimed, lean.captured).
\set n random(1, :merchants)
SELECT lean.recorded(:n, md5(random()::text), 2500) AS charge \gset
SELECT lean.authorized(:charge);
SELECT lean.claimed(:charge);
SELECT lean.captured(:n, :charge);
