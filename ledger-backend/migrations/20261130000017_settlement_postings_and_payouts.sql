-- Settlement booked: each matched report row is claimed once for the journal transaction that settled it (and
-- once for the payout that paid it out), so no row can ever post twice; and payouts, what reached the merchant's bank.

ALTER TABLE ledger_transactions DROP CONSTRAINT ledger_transactions_kind_check;
ALTER TABLE ledger_transactions ADD CONSTRAINT ledger_transactions_kind_check CHECK (kind IN ('authorization',
    'capture', 'release', 'refund', 'refund_reversal', 'settlement', 'refund_settlement', 'processor_fee', 'payout',
    -- An operator's correction, made when resolving a reconciliation exception (its exception names it).
    'adjustment'));

CREATE TABLE settlement_postings (
    processor_account_id  text COLLATE "C" NOT NULL,
    row_key               text COLLATE "C" NOT NULL,
    merchant_id           text NOT NULL,
    mode                  text NOT NULL CHECK (mode IN ('test', 'live')),
    report_id             text COLLATE "C" NOT NULL,
    line                  bigint NOT NULL,
    run_id                text COLLATE "C" NOT NULL,
    -- The journal transaction that settled the row, and the one that paid it out (once its payout is known).
    transaction_id        text COLLATE "C" NOT NULL,
    payout_transaction_id text COLLATE "C",
    posted_at             timestamptz NOT NULL DEFAULT now(),
    -- The row's report and line are not a foreign key (a million lookups per report): `paygate-ledger audit`
    -- checks that every posting has its row.
    PRIMARY KEY (processor_account_id, row_key)
);
ALTER TABLE settlement_postings ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON settlement_postings USING (merchant_id = paygate_merchant() AND mode = paygate_mode());
GRANT SELECT, INSERT ON settlement_postings TO paygate_api, paygate_jobs;

CREATE TABLE payouts (
    id                    text COLLATE "C" NOT NULL PRIMARY KEY CHECK (id ~ '^po_[0-9a-z]{26}$'),
    merchant_id           text NOT NULL,
    mode                  text NOT NULL CHECK (mode IN ('test', 'live')),
    processor_account_id  text COLLATE "C" NOT NULL,
    -- The processor's id of the payout (Stripe `po_…`, an Adyen batch, Checkout.com's payout).
    processor_payout      text COLLATE "C" NOT NULL CHECK (length(processor_payout) BETWEEN 1 AND 255),
    currency              text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    amount                bigint NOT NULL CHECK (amount BETWEEN 1 AND 999999999999),
    status                text NOT NULL CHECK (status IN ('paid', 'failed')),
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    UNIQUE (processor_account_id, processor_payout, currency)
);
CREATE INDEX payouts_merchant ON payouts (merchant_id, mode, id);
ALTER TABLE payouts ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON payouts USING (merchant_id = paygate_merchant() AND mode = paygate_mode());
GRANT SELECT, INSERT, UPDATE ON payouts TO paygate_api, paygate_jobs;
