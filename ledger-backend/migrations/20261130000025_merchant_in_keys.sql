-- merchant_id in every key of the tables that grow with traffic (and of the per-merchant tables colocated with
-- them), so that each can later be distributed by merchant_id on Citus, where a primary, unique or foreign key
-- must contain the distribution column. Two growing tables had no merchant column (ledger_entries,
-- webhook_attempts): they get merchant_id and mode, copied from the row their row-level security policy used to
-- look up, and that policy becomes the plain scope test of every other table (Citus refuses a policy with a
-- subquery).
--
-- Every key keeps its old columns first and gets merchant_id appended, so every lookup by id (and the 0024
-- checks, which look up by ledger transaction id) keeps its index prefix; a partitioned table's key keeps its
-- partition key. No index is added: each rebuilt key replaces its old index, under the same name.
--
-- NOT COMPATIBLE WITH THE CODE BEFORE IT: the narrow keys are gone and the new columns are NOT NULL without a
-- default, so this ships together with the code that (a) passes merchant_id and mode when inserting into
-- ledger_entries (domain/journal.rs ENTRIES) and webhook_attempts (jobs/webhook_delivery.rs finish), and (b) names
-- merchant_id in the ON CONFLICT column lists of ledger_entries (journal.rs), webhook_attempts (webhook_delivery.rs),
-- processor_events (processors/events.rs), settlement_reports (settlement/import.rs), reconciliation_exceptions
-- (settlement/matching.rs), settlement_postings (settlement/booking.rs, twice) and payouts (booking.rs); likewise
-- tests/api/schema.rs, tests/api/row_security.rs and benches/charge_path*.sql. Stop the old instances, migrate,
-- then start the new build.
--
-- Constraint names kept (code and tests name them): ledger_accounts_identity (untouched), charges_amounts_ordered
-- and every other CHECK (untouched), the 0024 triggers ledger_transaction_balanced and
-- ledger_entries_written_with_transaction (their functions now look up by the whole key, step 8), every *_pkey, *_key and *_fkey rebuilt below under its old
-- name (ledger_entries_account_id_currency_fkey: an entry in a currency its account does not hold is still refused
-- by a "foreign key" error).
--
-- Cost: every key below is rebuilt and the five foreign keys between these tables are validated by a full scan
-- (PostgreSQL 15 refuses NOT VALID foreign keys on partitioned tables); ledger_entries and webhook_attempts are
-- rewritten once by the backfill. ACCESS EXCLUSIVE on all of them for the duration: a maintenance window.

SET LOCAL lock_timeout = '10s';

-- All locks up front, in one order (referenced tables before those referencing them).
LOCK TABLE ledger_accounts, ledger_transactions, ledger_entries, charges, charge_attempts, refunds, audit_log, events,
           webhook_endpoints, webhook_deliveries, webhook_attempts, processor_events, settlement_reports,
           settlement_rows, settlement_row_errors, reconciliation_runs, reconciliation_exceptions,
           settlement_postings, payouts, apple_pay_domains, saved_views
    IN ACCESS EXCLUSIVE MODE;

---------------------------------------------------------------------------------------------------------------------
-- 1. The foreign keys that depend on keys rebuilt below; recreated with merchant_id, same names, in step 6.
--    (No other foreign key points at charges, refunds, events, webhook_deliveries or any other growing table.)
---------------------------------------------------------------------------------------------------------------------
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_transaction_id_fkey;            -- → ledger_transactions_pkey
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_account_id_currency_fkey;       -- → ledger_accounts_id_currency
ALTER TABLE settlement_rows DROP CONSTRAINT settlement_rows_report_id_fkey;               -- → settlement_reports_pkey
ALTER TABLE settlement_row_errors DROP CONSTRAINT settlement_row_errors_report_id_fkey;   -- → settlement_reports_pkey
ALTER TABLE reconciliation_runs DROP CONSTRAINT reconciliation_runs_report_id_fkey;       -- → settlement_reports_pkey

---------------------------------------------------------------------------------------------------------------------
-- 2. ledger_entries: merchant_id and mode, from the entry's account (the row the old policy looked up). The
--    primary key and the balance index are dropped before the backfill (which then writes the heap alone) and
--    rebuilt after it.
--    The balance index gains merchant_id and mode as INCLUDE columns, with the same key: the new policy reads
--    both, and without them a balance (balance.rs, a sum over the merchant's accounts' entries, under row-level
--    security) could no longer be answered from the index alone. Still one index; its entries grow by the two
--    columns.
---------------------------------------------------------------------------------------------------------------------
ALTER TABLE ledger_entries
    ADD COLUMN merchant_id text,
    ADD COLUMN mode text CHECK (mode IN ('test', 'live'));
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_pkey;
DROP INDEX ledger_entries_account;

-- The backfill is an UPDATE, which ledger_entries_immutable (0004) refuses: disabled for this statement only (on
-- the partitioned table, which recurses to its partitions). Nothing else can write meanwhile: the table is locked,
-- and the migration is one transaction.
ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_immutable;
UPDATE ledger_entries e SET merchant_id = a.merchant_id, mode = a.mode
  FROM ledger_accounts a
 WHERE a.id = e.account_id;
ALTER TABLE ledger_entries ENABLE TRIGGER ledger_entries_immutable;

-- The new foreign key to ledger_transactions also asserts that an entry's account and its transaction belong to
-- the same merchant. Say so clearly if the data disagrees, instead of failing inside ADD CONSTRAINT.
DO $$
DECLARE
    crossed bigint;
BEGIN
    SELECT count(*) INTO crossed
      FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id
     WHERE t.merchant_id <> e.merchant_id;
    IF crossed > 0 THEN
        RAISE EXCEPTION '% ledger entries post to an account of another merchant than their transaction''s', crossed;
    END IF;
END
$$;

-- (Every entry found its account: the old foreign key to ledger_accounts guaranteed it.)
ALTER TABLE ledger_entries ALTER COLUMN merchant_id SET NOT NULL, ALTER COLUMN mode SET NOT NULL;
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_pkey PRIMARY KEY (transaction_id, line, merchant_id);
CREATE INDEX ledger_entries_account ON ledger_entries (account_id) INCLUDE (amount, merchant_id, mode);

---------------------------------------------------------------------------------------------------------------------
-- 3. webhook_attempts: merchant_id and mode, from the delivery (the row the old policy looked up).
--    There is no foreign key to webhook_deliveries, and deleting an endpoint deletes its pending deliveries
--    (domain/webhooks/endpoints.rs), so attempts may be orphans: the old policy never showed them (it required
--    their delivery), no query reaches them, and no merchant can be given to them. They are deleted here, counted
--    in a NOTICE.
---------------------------------------------------------------------------------------------------------------------
ALTER TABLE webhook_attempts
    ADD COLUMN merchant_id text,
    ADD COLUMN mode text CHECK (mode IN ('test', 'live'));
ALTER TABLE webhook_attempts DROP CONSTRAINT webhook_attempts_pkey;

UPDATE webhook_attempts w SET merchant_id = d.merchant_id, mode = d.mode
  FROM webhook_deliveries d
 WHERE d.id = w.delivery_id;

DO $$
DECLARE
    orphans bigint;
BEGIN
    DELETE FROM webhook_attempts WHERE merchant_id IS NULL;
    GET DIAGNOSTICS orphans = ROW_COUNT;
    IF orphans > 0 THEN
        RAISE NOTICE 'deleted % webhook attempts whose delivery no longer exists', orphans;
    END IF;
END
$$;

ALTER TABLE webhook_attempts ALTER COLUMN merchant_id SET NOT NULL, ALTER COLUMN mode SET NOT NULL;
-- Partitioned by delivery_id, which stays first. Also the arbiter of jobs/webhook_delivery.rs's
-- ON CONFLICT (delivery_id, attempt, merchant_id).
ALTER TABLE webhook_attempts ADD CONSTRAINT webhook_attempts_pkey PRIMARY KEY (delivery_id, attempt, merchant_id);

---------------------------------------------------------------------------------------------------------------------
-- 4. The other growing tables. On a partitioned table ADD PRIMARY KEY recurses: each monthly and DEFAULT
--    partition gets its own index (the old ones go with the old constraint).
---------------------------------------------------------------------------------------------------------------------
-- Partitioned by RANGE (id).
ALTER TABLE charges DROP CONSTRAINT charges_pkey, ADD CONSTRAINT charges_pkey PRIMARY KEY (id, merchant_id);
ALTER TABLE charge_attempts DROP CONSTRAINT charge_attempts_pkey,
    ADD CONSTRAINT charge_attempts_pkey PRIMARY KEY (id, merchant_id);
ALTER TABLE refunds DROP CONSTRAINT refunds_pkey, ADD CONSTRAINT refunds_pkey PRIMARY KEY (id, merchant_id);
-- Also the target of ledger_entries_transaction_id_fkey (step 6).
ALTER TABLE ledger_transactions DROP CONSTRAINT ledger_transactions_pkey,
    ADD CONSTRAINT ledger_transactions_pkey PRIMARY KEY (id, merchant_id);
ALTER TABLE audit_log DROP CONSTRAINT audit_log_pkey, ADD CONSTRAINT audit_log_pkey PRIMARY KEY (id, merchant_id);
ALTER TABLE events DROP CONSTRAINT events_pkey, ADD CONSTRAINT events_pkey PRIMARY KEY (id, merchant_id);
ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_pkey,
    ADD CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (id, merchant_id);

-- Not partitioned. A unique key that an ON CONFLICT names by its columns is rebuilt in place with merchant_id
-- appended (same name); the statement names merchant_id too from now on.
-- processor_events: bigint identity id; the unique key is the arbiter of domain/processors/events.rs.
ALTER TABLE processor_events DROP CONSTRAINT processor_events_pkey,
    ADD CONSTRAINT processor_events_pkey PRIMARY KEY (id, merchant_id),
    DROP CONSTRAINT processor_events_processor_account_id_event_id_key,
    ADD CONSTRAINT processor_events_processor_account_id_event_id_key
        UNIQUE (processor_account_id, event_id, merchant_id);
-- settlement_reports: target of three foreign keys (step 6); the unique key is the arbiter of settlement/import.rs.
ALTER TABLE settlement_reports DROP CONSTRAINT settlement_reports_pkey,
    ADD CONSTRAINT settlement_reports_pkey PRIMARY KEY (id, merchant_id),
    DROP CONSTRAINT settlement_reports_processor_account_id_format_sha256_key,
    ADD CONSTRAINT settlement_reports_processor_account_id_format_sha256_key
        UNIQUE (processor_account_id, format, sha256, merchant_id);
ALTER TABLE settlement_rows DROP CONSTRAINT settlement_rows_pkey,
    ADD CONSTRAINT settlement_rows_pkey PRIMARY KEY (report_id, line, merchant_id);
-- (Its insert has a target-less ON CONFLICT DO NOTHING, settlement/import.rs: any key will do.)
ALTER TABLE settlement_row_errors DROP CONSTRAINT settlement_row_errors_pkey,
    ADD CONSTRAINT settlement_row_errors_pkey PRIMARY KEY (report_id, line, merchant_id);
ALTER TABLE reconciliation_runs DROP CONSTRAINT reconciliation_runs_pkey,
    ADD CONSTRAINT reconciliation_runs_pkey PRIMARY KEY (id, merchant_id);
-- The unique key's name is PostgreSQL's, truncated to 63 characters; the arbiter of settlement/matching.rs.
ALTER TABLE reconciliation_exceptions DROP CONSTRAINT reconciliation_exceptions_pkey,
    ADD CONSTRAINT reconciliation_exceptions_pkey PRIMARY KEY (id, merchant_id),
    DROP CONSTRAINT reconciliation_exceptions_processor_account_id_category_sub_key,
    ADD CONSTRAINT reconciliation_exceptions_processor_account_id_category_sub_key
        UNIQUE (processor_account_id, category, subject, merchant_id);
-- The primary key is the arbiter of settlement/booking.rs (both claims).
ALTER TABLE settlement_postings DROP CONSTRAINT settlement_postings_pkey,
    ADD CONSTRAINT settlement_postings_pkey PRIMARY KEY (processor_account_id, row_key, merchant_id);
-- The unique key is the arbiter of settlement/booking.rs's DO UPDATE.
ALTER TABLE payouts DROP CONSTRAINT payouts_pkey,
    ADD CONSTRAINT payouts_pkey PRIMARY KEY (id, merchant_id),
    DROP CONSTRAINT payouts_processor_account_id_processor_payout_currency_key,
    ADD CONSTRAINT payouts_processor_account_id_processor_payout_currency_key
        UNIQUE (processor_account_id, processor_payout, currency, merchant_id);

---------------------------------------------------------------------------------------------------------------------
-- 5. Per-merchant tables that do not grow with traffic but are colocated with those that do.
---------------------------------------------------------------------------------------------------------------------
-- ledger_accounts: target of ledger_entries' foreign key (account, currency), which now also carries merchant_id
-- and mode, so an entry's copied scope (what its policy reads, step 7) is enforced equal to its account's.
-- ledger_accounts_identity (merchant_id, mode, currency, kind) is untouched: journal.rs names it.
ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_pkey,
    ADD CONSTRAINT ledger_accounts_pkey PRIMARY KEY (id, merchant_id),
    DROP CONSTRAINT ledger_accounts_id_currency,
    ADD CONSTRAINT ledger_accounts_id_currency UNIQUE (id, currency, merchant_id, mode);
-- No foreign key points at these; only their id keys change.
ALTER TABLE webhook_endpoints DROP CONSTRAINT webhook_endpoints_pkey,
    ADD CONSTRAINT webhook_endpoints_pkey PRIMARY KEY (id, merchant_id);
ALTER TABLE apple_pay_domains DROP CONSTRAINT apple_pay_domains_pkey,
    ADD CONSTRAINT apple_pay_domains_pkey PRIMARY KEY (id, merchant_id);
ALTER TABLE saved_views DROP CONSTRAINT saved_views_pkey,
    ADD CONSTRAINT saved_views_pkey PRIMARY KEY (id, merchant_id);

---------------------------------------------------------------------------------------------------------------------
-- 6. The foreign keys again, with merchant_id, same names (validated now: see the header).
---------------------------------------------------------------------------------------------------------------------
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_transaction_id_fkey
    FOREIGN KEY (transaction_id, merchant_id) REFERENCES ledger_transactions (id, merchant_id);
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_account_id_currency_fkey
    FOREIGN KEY (account_id, currency, merchant_id, mode) REFERENCES ledger_accounts (id, currency, merchant_id, mode);
ALTER TABLE settlement_rows ADD CONSTRAINT settlement_rows_report_id_fkey
    FOREIGN KEY (report_id, merchant_id) REFERENCES settlement_reports (id, merchant_id);
ALTER TABLE settlement_row_errors ADD CONSTRAINT settlement_row_errors_report_id_fkey
    FOREIGN KEY (report_id, merchant_id) REFERENCES settlement_reports (id, merchant_id);
-- report_id is nullable: MATCH SIMPLE leaves a run without a report unchecked, as before.
ALTER TABLE reconciliation_runs ADD CONSTRAINT reconciliation_runs_report_id_fkey
    FOREIGN KEY (report_id, merchant_id) REFERENCES settlement_reports (id, merchant_id);

---------------------------------------------------------------------------------------------------------------------
-- 7. Row-level security without subqueries, the form of every other merchant table (0010). The same rows as
--    before: the scope columns are copied from the row the old policy looked up, and for entries the foreign key
--    above pins them to the account's. Grants are unchanged (0010 granted the tables, so the new columns too).
---------------------------------------------------------------------------------------------------------------------
DROP POLICY tenant ON ledger_entries;
CREATE POLICY tenant ON ledger_entries USING (merchant_id = paygate_merchant() AND mode = paygate_mode());
DROP POLICY tenant ON webhook_attempts;
CREATE POLICY tenant ON webhook_attempts USING (merchant_id = paygate_merchant() AND mode = paygate_mode());

---------------------------------------------------------------------------------------------------------------------
-- 8. The ledger's two checks (0024) find a posting's rows by its whole key, merchant included, so on a sharded
--    database each runs on the shard that holds the posting. The same checks, the same errors.
---------------------------------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION ledger_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    unbalanced text;
BEGIN
    SELECT currency INTO unbalanced
    FROM ledger_entries
    WHERE transaction_id = NEW.id AND merchant_id = NEW.merchant_id
    GROUP BY currency
    HAVING sum(amount) <> 0
    LIMIT 1;
    IF unbalanced IS NOT NULL THEN
        RAISE EXCEPTION 'ledger transaction % does not balance in %', NEW.id, unbalanced
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_transaction_balanced';
    END IF;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION ledger_entries_check_written_with_transaction() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    written text;
    owner text;
BEGIN
    FOR written, owner IN SELECT DISTINCT transaction_id, merchant_id FROM new_entries LOOP
        IF NOT EXISTS (SELECT 1 FROM ledger_transactions
                       WHERE id = written AND merchant_id = owner AND written_by = pg_current_xact_id()) THEN
            RAISE EXCEPTION 'ledger entries of % must be written with it, in the database transaction that wrote it',
                written USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_entries_written_with_transaction';
        END IF;
    END LOOP;
    RETURN NULL;
END;
$$;
