-- Processors' settlement reports, imported: one row per report file, its rows as read (amounts already in
-- signed minor units: core::settlement), and the rows that could not be read with their line and reason.
-- Importing the same file again for the same account and format is a no-op: the content hash is part of the key.

CREATE TABLE settlement_reports (
    id                    text COLLATE "C" NOT NULL PRIMARY KEY CHECK (id ~ '^srpt_[0-9a-z]{26}$'),
    merchant_id           text NOT NULL,
    mode                  text NOT NULL CHECK (mode IN ('test', 'live')),
    processor_account_id  text COLLATE "C" NOT NULL,
    format                text NOT NULL CHECK (format IN ('stripe_itemized_3', 'adyen_settlement_details',
                              'checkout_financial_actions', 'sandbox_daily')),
    -- file: given on the CLI; upload: through the API; pull: fetched from the processor by the worker.
    source                text NOT NULL CHECK (source IN ('file', 'upload', 'pull')),
    -- The batch, payout or interval the report covers, when its source says.
    period                text CHECK (length(period) BETWEEN 1 AND 100),
    sha256                text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    rows_read             integer NOT NULL DEFAULT 0 CHECK (rows_read >= 0),
    rows_refused          integer NOT NULL DEFAULT 0 CHECK (rows_refused >= 0),
    imported_at           timestamptz NOT NULL DEFAULT now(),
    UNIQUE (processor_account_id, format, sha256)
);
CREATE INDEX settlement_reports_merchant ON settlement_reports (merchant_id, mode, id);
ALTER TABLE settlement_reports ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON settlement_reports USING (merchant_id = paygate_merchant() AND mode = paygate_mode());
GRANT SELECT, INSERT, UPDATE ON settlement_reports TO paygate_api, paygate_jobs;

CREATE TABLE settlement_rows (
    report_id             text COLLATE "C" NOT NULL REFERENCES settlement_reports (id),
    line                  bigint NOT NULL CHECK (line > 0),
    merchant_id           text NOT NULL,
    mode                  text NOT NULL CHECK (mode IN ('test', 'live')),
    processor_account_id  text COLLATE "C" NOT NULL,
    -- The processor's key for the row (a balance transaction, an action and breakdown item): twice is a duplicate.
    row_key               text COLLATE "C" NOT NULL CHECK (length(row_key) BETWEEN 1 AND 255),
    kind                  text NOT NULL CHECK (kind IN ('capture', 'capture_reversal', 'refund', 'refund_failure',
                              'dispute', 'dispute_reversal', 'fee', 'payout', 'adjustment', 'unknown')),
    raw_type              text NOT NULL CHECK (length(raw_type) BETWEEN 1 AND 100),
    -- What the cardholder paid or got back, in the payment's currency (compared with our ledger).
    presentment_amount    bigint,
    presentment_currency  text CHECK (presentment_currency ~ '^[A-Z]{3}$'),
    -- In the settlement currency: gross, the processor's fee (positive when charged) and net.
    settlement_currency   text NOT NULL CHECK (settlement_currency ~ '^[A-Z]{3}$'),
    gross                 bigint NOT NULL,
    fee                   bigint NOT NULL,
    net                   bigint NOT NULL,
    our_charge            text COLLATE "C" CHECK (length(our_charge) <= 255),
    our_refund            text COLLATE "C" CHECK (length(our_refund) <= 255),
    processor_payment     text COLLATE "C" CHECK (length(processor_payment) <= 255),
    processor_object      text COLLATE "C" CHECK (length(processor_object) <= 255),
    payout                text COLLATE "C" CHECK (length(payout) <= 255),
    occurred_at           timestamptz,
    PRIMARY KEY (report_id, line),
    CONSTRAINT settlement_rows_net CHECK (net = gross - fee),
    CONSTRAINT settlement_rows_presentment CHECK ((presentment_amount IS NULL) = (presentment_currency IS NULL))
);
CREATE INDEX settlement_rows_key ON settlement_rows (processor_account_id, row_key);
ALTER TABLE settlement_rows ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON settlement_rows USING (merchant_id = paygate_merchant() AND mode = paygate_mode());
GRANT SELECT, INSERT ON settlement_rows TO paygate_api, paygate_jobs;

-- A row that could not be read: kept with its line and why, so nothing is dropped silently.
CREATE TABLE settlement_row_errors (
    report_id    text COLLATE "C" NOT NULL REFERENCES settlement_reports (id),
    line         bigint NOT NULL CHECK (line >= 0),
    merchant_id  text NOT NULL,
    mode         text NOT NULL CHECK (mode IN ('test', 'live')),
    field        text CHECK (length(field) <= 100),
    reason       text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
    PRIMARY KEY (report_id, line)
);
ALTER TABLE settlement_row_errors ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON settlement_row_errors USING (merchant_id = paygate_merchant() AND mode = paygate_mode());
GRANT SELECT, INSERT ON settlement_row_errors TO paygate_api, paygate_jobs;
