-- Processor accounts: a merchant's accounts at the processors it routes to, one or more per mode. The
-- credentials (a Stripe secret key, ...) are sealed with PAYGATE_SECRETS_KEYS (AES-256-GCM, the key version
-- inside, the account id and owner as associated data), so the database alone never reveals them. The
-- sandbox account, every test-mode merchant's default, has no credentials.
CREATE TABLE processor_accounts (
    id                  text COLLATE "C" NOT NULL CHECK (id ~ '^pa_[0-9a-z]{26}$'),
    merchant_id         text NOT NULL REFERENCES merchants (id),
    mode                text NOT NULL CHECK (mode IN ('test', 'live')),
    connector           text NOT NULL CHECK (connector IN ('sandbox', 'stripe', 'checkout')),
    display_name        text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 100),
    credentials_sealed  jsonb,
    -- What people may see to recognise the credentials: the key's kind and last four characters.
    credentials_hint    text CHECK (length(credentials_hint) <= 40),
    settings            jsonb NOT NULL DEFAULT '{}',
    enabled             boolean NOT NULL DEFAULT true,
    -- The processor's last word that the account is not set up for what we asked (raw card data access,
    -- a revoked key); cleared when the credentials change.
    problem             text CHECK (length(problem) <= 500),
    problem_at          timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id),
    CONSTRAINT processor_accounts_credentials CHECK ((connector = 'sandbox') = (credentials_sealed IS NULL)),
    CONSTRAINT processor_accounts_sandbox_test_only CHECK (connector <> 'sandbox' OR mode = 'test')
);
CREATE INDEX processor_accounts_merchant ON processor_accounts (merchant_id, mode, id);
-- One sandbox account per merchant (made with the merchant, or at start-up for older merchants).
CREATE UNIQUE INDEX processor_accounts_one_sandbox ON processor_accounts (merchant_id) WHERE connector = 'sandbox';

ALTER TABLE processor_accounts ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON processor_accounts USING (merchant_id = paygate_merchant() AND mode = paygate_mode());
GRANT SELECT, INSERT, UPDATE ON processor_accounts TO paygate_api, paygate_jobs;

-- Every charge records the account that authorized it: capture, void, refund, expiry and recovery go back to
-- that account whatever the routing says later. NULL only on charges written before accounts existed (they
-- are the sandbox's, and start-up fills them in).
ALTER TABLE charges ADD COLUMN processor_account_id text COLLATE "C";
ALTER TABLE charges ADD COLUMN payment_method text NOT NULL DEFAULT 'card' CHECK (payment_method IN ('card'));
-- The processor's own code for a decline (its `decline_code`, response code...), beside our normalized one.
ALTER TABLE charges ADD COLUMN failure_processor_code text CHECK (length(failure_processor_code) <= 100);
ALTER TABLE charge_attempts ADD COLUMN processor_account_id text COLLATE "C";
-- `pending`: the processor accepted the request and will say later how it ended (Checkout.com's 202 for
-- captures, voids and refunds); `processor_reference` then holds its action id.
ALTER TABLE charge_attempts DROP CONSTRAINT charge_attempts_outcome_check;
ALTER TABLE charge_attempts ADD CONSTRAINT charge_attempts_outcome_check
    CHECK (outcome IN ('started', 'succeeded', 'failed', 'unknown', 'pending'));
CREATE INDEX charge_attempts_pending ON charge_attempts (id) WHERE outcome = 'pending';
-- The routing rule (its position; NULL for the default) that chose the account, on the charge for its API
-- object and on each authorize attempt.
ALTER TABLE charges ADD COLUMN routing_rule integer CHECK (routing_rule >= 0);
ALTER TABLE charge_attempts ADD COLUMN routing_rule integer CHECK (routing_rule >= 0);

-- Routing: per merchant and mode, an ordered list of rules (conditions → processor account, first match
-- wins) and a default account. Without a row, test mode routes to the merchant's sandbox account and live
-- mode has nowhere to go (the charge is refused with `processor_not_configured`). The rules are core's
-- `routing::RoutingTable` as JSON, validated before they are written.
CREATE TABLE routing_tables (
    merchant_id  text NOT NULL REFERENCES merchants (id),
    mode         text NOT NULL CHECK (mode IN ('test', 'live')),
    body         jsonb NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (merchant_id, mode)
);
ALTER TABLE routing_tables ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON routing_tables USING (merchant_id = paygate_merchant() AND mode = paygate_mode());
GRANT SELECT, INSERT, UPDATE, DELETE ON routing_tables TO paygate_api, paygate_jobs;
