-- Charges, their processor attempts and refunds.
--
-- Partitioning: the ids are ULIDs (paygate_core::id) whose leading characters encode the creation
-- time, so range partitions over `id` are time partitions. The primary key stays `id` alone and a
-- lookup by id prunes to one partition. The maintenance job creates each month's partition ahead of
-- time (db::partitions); the DEFAULT partition only exists so that a missed job degrades to a slower
-- table instead of failed inserts, and a test asserts it stays empty in normal operation.
--
-- A charge is `pending` while its authorization is at the processor: that status is itself the
-- in-flight marker for authorize.
--
-- The CHECKs repeat the state machine's invariants (paygate_core::charge) as a second line of defence:
-- refunded ≤ captured ≤ authorized ≤ amount, always.

CREATE TABLE charges (
    id                        text COLLATE "C" NOT NULL CHECK (id ~ '^ch_[0-9a-z]{26}$'),
    merchant_id               text NOT NULL,
    mode                      text NOT NULL CHECK (mode IN ('test', 'live')),
    status                    text NOT NULL CHECK (status IN ('pending', 'authorized', 'captured',
                                  'partially_refunded', 'refunded', 'failed', 'voided', 'expired')),
    currency                  text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    amount                    bigint NOT NULL CHECK (amount BETWEEN 1 AND 999999999999),
    amount_authorized         bigint NOT NULL DEFAULT 0,
    amount_captured           bigint NOT NULL DEFAULT 0,
    amount_refunded           bigint NOT NULL DEFAULT 0,
    capture                   boolean NOT NULL,
    source                    text NOT NULL,
    -- What may be kept about a card outside the vault: brand, BIN, last 4, expiry, keyed fingerprint.
    card_brand                text,
    card_bin                  text CHECK (card_bin ~ '^[0-9]{6}$'),
    card_last4                text CHECK (card_last4 ~ '^[0-9]{4}$'),
    card_exp_month            smallint CHECK (card_exp_month BETWEEN 1 AND 12),
    card_exp_year             smallint,
    card_fingerprint          text CHECK (card_fingerprint ~ '^[0-9a-f]{32}$'),
    description               text CHECK (length(description) <= 1000),
    statement_descriptor      text CHECK (length(statement_descriptor) <= 22),
    metadata                  jsonb NOT NULL DEFAULT '{}',
    failure_code              text,
    failure_message           text,
    processor                 text,
    processor_reference       text,
    idempotency_key           text,
    -- Set (with a committed attempt row) while a capture or void is at the processor, so that racing
    -- operations, the expiry job and a crash all see it; cleared when the outcome is applied, or by
    -- the recovery job after asking the processor. Not a lifecycle state: the status is unchanged.
    pending_operation         text CHECK (pending_operation IN ('capture', 'void')),
    authorization_expires_at  timestamptz,
    created_at                timestamptz NOT NULL DEFAULT now(),
    updated_at                timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id),
    CONSTRAINT charges_amounts_ordered CHECK (
        0 <= amount_refunded AND amount_refunded <= amount_captured
        AND amount_captured <= amount_authorized AND amount_authorized <= amount)
) PARTITION BY RANGE (id);
CREATE TABLE charges_default PARTITION OF charges DEFAULT;
-- Listing a merchant's charges newest first, by mode; the id is the time order.
CREATE INDEX charges_merchant ON charges (merchant_id, mode, id);
-- The expiry and recovery jobs look only at the few charges still open.
CREATE INDEX charges_open ON charges (authorization_expires_at) WHERE status = 'authorized';
CREATE INDEX charges_pending ON charges (id) WHERE status = 'pending';

-- One row per call to a processor for a charge (authorize, capture, void, refund), so that an answer
-- that was neither success nor failure is never lost: the recovery job asks the processor about it.
CREATE TABLE charge_attempts (
    id                   text COLLATE "C" NOT NULL CHECK (id ~ '^att_[0-9a-z]{26}$'),
    charge_id            text COLLATE "C" NOT NULL,
    merchant_id          text NOT NULL,
    mode                 text NOT NULL CHECK (mode IN ('test', 'live')),
    operation            text NOT NULL CHECK (operation IN ('authorize', 'capture', 'void', 'refund')),
    amount               bigint NOT NULL CHECK (amount BETWEEN 0 AND 999999999999),
    outcome              text NOT NULL CHECK (outcome IN ('started', 'succeeded', 'failed', 'unknown')),
    processor            text NOT NULL,
    processor_reference  text,
    response_code        text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    finished_at          timestamptz,
    PRIMARY KEY (id)
) PARTITION BY RANGE (id);
CREATE TABLE charge_attempts_default PARTITION OF charge_attempts DEFAULT;
CREATE INDEX charge_attempts_charge ON charge_attempts (charge_id, id);
CREATE INDEX charge_attempts_unresolved ON charge_attempts (id) WHERE outcome IN ('started', 'unknown');

CREATE TABLE refunds (
    id                   text COLLATE "C" NOT NULL CHECK (id ~ '^re_[0-9a-z]{26}$'),
    charge_id            text COLLATE "C" NOT NULL,
    merchant_id          text NOT NULL,
    mode                 text NOT NULL CHECK (mode IN ('test', 'live')),
    status               text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    currency             text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    amount               bigint NOT NULL CHECK (amount BETWEEN 1 AND 999999999999),
    reason               text CHECK (reason IN ('duplicate', 'fraudulent', 'requested_by_customer')),
    metadata             jsonb NOT NULL DEFAULT '{}',
    failure_code         text,
    processor_reference  text,
    idempotency_key      text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id)
) PARTITION BY RANGE (id);
CREATE TABLE refunds_default PARTITION OF refunds DEFAULT;
CREATE INDEX refunds_merchant ON refunds (merchant_id, mode, id);
CREATE INDEX refunds_charge ON refunds (charge_id, id);

-- The backend's own deduplication (DESIGN.md §5): even if the edge loses its idempotency record, a
-- retried request finds the object created the first time. `fingerprint` is the SHA-256 of method,
-- path and body; a different request under the same key is refused. Not partitioned: rows expire
-- (expires_at) and the maintenance job deletes them, so the table stays small and the key unique.
CREATE TABLE idempotency_records (
    merchant_id   text NOT NULL,
    mode          text NOT NULL CHECK (mode IN ('test', 'live')),
    key           text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    fingerprint   text NOT NULL CHECK (fingerprint ~ '^[0-9a-f]{64}$'),
    object_type   text NOT NULL CHECK (object_type IN ('charge', 'refund')),
    object_id     text COLLATE "C" NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    PRIMARY KEY (merchant_id, mode, key)
);
CREATE INDEX idempotency_records_expiry ON idempotency_records (expires_at);
