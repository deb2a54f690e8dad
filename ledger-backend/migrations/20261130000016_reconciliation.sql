-- Reconciliation: each imported row matched to the charge or refund it belongs to (or found to be an exception),
-- runs with their counts, exceptions as data an operator works, settlement booked once per report row, payouts.

-- The last run that reconciled a report (NULL: none yet). What it decided for each row is not written back to
-- the row (a million updates); its exceptions say what did not match, its postings what was booked.
ALTER TABLE settlement_reports ADD COLUMN last_run_id text COLLATE "C";

-- A processor's payment id finds its charge (processor webhooks and report rows both ask).
CREATE INDEX charges_processor_reference ON charges (processor_account_id, processor_reference)
    WHERE processor_reference IS NOT NULL;
CREATE INDEX refunds_processor_reference ON refunds (processor_reference) WHERE processor_reference IS NOT NULL;

CREATE TABLE reconciliation_runs (
    id                    text COLLATE "C" NOT NULL PRIMARY KEY CHECK (id ~ '^rrun_[0-9a-z]{26}$'),
    merchant_id           text NOT NULL,
    mode                  text NOT NULL CHECK (mode IN ('test', 'live')),
    processor_account_id  text COLLATE "C" NOT NULL,
    report_id             text COLLATE "C" REFERENCES settlement_reports (id),
    -- Captures and refunds older than this less the processor's settlement window are due in a report.
    as_of                 timestamptz NOT NULL,
    rows_matched          integer NOT NULL DEFAULT 0,
    -- Exceptions found by this run, per category ({"amount_mismatch": 2, ...}).
    exceptions            jsonb NOT NULL DEFAULT '{}',
    started_at            timestamptz NOT NULL DEFAULT now(),
    finished_at           timestamptz
);
CREATE INDEX reconciliation_runs_merchant ON reconciliation_runs (merchant_id, mode, id);
ALTER TABLE reconciliation_runs ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON reconciliation_runs USING (merchant_id = paygate_merchant() AND mode = paygate_mode());
GRANT SELECT, INSERT, UPDATE ON reconciliation_runs TO paygate_api, paygate_jobs;

CREATE TABLE reconciliation_exceptions (
    id                    text COLLATE "C" NOT NULL PRIMARY KEY CHECK (id ~ '^rexc_[0-9a-z]{26}$'),
    merchant_id           text NOT NULL,
    mode                  text NOT NULL CHECK (mode IN ('test', 'live')),
    processor_account_id  text COLLATE "C" NOT NULL,
    category              text NOT NULL CHECK (category IN ('missing_in_processor', 'missing_in_ledger',
                              'amount_mismatch', 'currency_mismatch', 'status_mismatch', 'duplicate',
                              'fee_variance', 'payout_mismatch', 'unknown_row_type')),
    -- What it is about, the same in every run that finds it: `row:<row key>`, `charge:<id>`, `refund:<id>`,
    -- `payout:<id>`.
    subject               text COLLATE "C" NOT NULL CHECK (length(subject) BETWEEN 1 AND 300),
    charge_id             text COLLATE "C",
    refund_id             text COLLATE "C",
    report_id             text COLLATE "C",
    line                  bigint,
    currency              text CHECK (currency ~ '^[A-Z]{3}$'),
    expected_amount       bigint,
    actual_amount         bigint,
    detail                text NOT NULL CHECK (length(detail) BETWEEN 1 AND 500),
    -- A digest of what decided it (amounts, statuses, rows): a resolved exception is reopened only when it changes.
    inputs                text NOT NULL,
    state                 text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'acknowledged', 'resolved')),
    note                  text CHECK (length(note) <= 1000),
    resolved_by           text CHECK (length(resolved_by) <= 200),
    resolved_at           timestamptz,
    -- The correcting journal entry made when it was resolved, if any.
    ledger_transaction_id text COLLATE "C",
    first_run_id          text COLLATE "C" NOT NULL,
    last_run_id           text COLLATE "C" NOT NULL,
    opened_at             timestamptz NOT NULL DEFAULT now(),
    last_seen_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (processor_account_id, category, subject)
);
CREATE INDEX reconciliation_exceptions_merchant ON reconciliation_exceptions (merchant_id, mode, id);
ALTER TABLE reconciliation_exceptions ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON reconciliation_exceptions USING (merchant_id = paygate_merchant() AND mode = paygate_mode());
GRANT SELECT, INSERT, UPDATE ON reconciliation_exceptions TO paygate_api, paygate_jobs;
