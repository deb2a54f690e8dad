-- The scheduled pull of each processor account's settlement reports (how far it has got and what it waits for),
-- and payouts the bank returned (at the end).
--
-- One row per account, made by the first pull that sees the account. Workers lease a row (`leased_until`) before
-- calling the processor, so two workers never pull one account at once; a worker that dies loses its lease when it
-- runs out. Importing is idempotent besides (by content hash), so a lost lease costs a download, never a row.
CREATE TABLE settlement_pulls (
    processor_account_id  text COLLATE "C" NOT NULL PRIMARY KEY REFERENCES processor_accounts (id),
    merchant_id           text NOT NULL,
    mode                  text NOT NULL CHECK (mode IN ('test', 'live')),
    -- Everything the processor reported before this instant has been imported (Stripe: the next interval's
    -- start; Checkout.com: the creation time of the last report imported).
    pulled_until          timestamptz NOT NULL,
    -- Checkout.com: the last report imported (reports are listed from `pulled_until` inclusive).
    last_report           text CHECK (length(last_report) <= 100),
    -- Stripe: the report run asked for and the end of its interval, until it is downloaded.
    pending_run           text CHECK (length(pending_run) <= 100),
    pending_until         timestamptz,
    due_at                timestamptz NOT NULL DEFAULT now(),
    leased_until          timestamptz,
    -- Failures in a row (the wait before the next try doubles), and the last one's reason.
    failures              integer NOT NULL DEFAULT 0,
    last_error            text CHECK (length(last_error) <= 500),
    last_pulled_at        timestamptz,
    CONSTRAINT settlement_pulls_pending CHECK ((pending_run IS NULL) = (pending_until IS NULL))
);
CREATE INDEX settlement_pulls_due ON settlement_pulls (due_at);
ALTER TABLE settlement_pulls ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON settlement_pulls USING (merchant_id = paygate_merchant() AND mode = paygate_mode());
GRANT SELECT, INSERT, UPDATE ON settlement_pulls TO paygate_api, paygate_jobs;

-- A payout the bank returned: its report row (`payout_failure`) and the journal transaction that makes the money
-- the merchant's available balance again.
ALTER TABLE settlement_rows DROP CONSTRAINT settlement_rows_kind_check;
ALTER TABLE settlement_rows ADD CONSTRAINT settlement_rows_kind_check CHECK (kind IN ('capture', 'capture_reversal',
    'refund', 'refund_failure', 'dispute', 'dispute_reversal', 'fee', 'payout', 'payout_failure', 'adjustment',
    'unknown'));
ALTER TABLE ledger_transactions DROP CONSTRAINT ledger_transactions_kind_check;
ALTER TABLE ledger_transactions ADD CONSTRAINT ledger_transactions_kind_check CHECK (kind IN ('authorization',
    'capture', 'release', 'refund', 'refund_reversal', 'settlement', 'refund_settlement', 'processor_fee', 'payout',
    'payout_failure', 'adjustment'));
