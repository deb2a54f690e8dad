-- API keys are stored only as keyed hashes (HMAC-SHA256 under a server pepper, see
-- paygate_core::signature::keyed_hash): keys carry ≥ 190 bits of randomness, so no slow hash is needed,
-- and a database leak yields nothing usable. `redacted` (sk_test_…a1B2) is for display only.
CREATE TABLE api_keys (
    id           text COLLATE "C" PRIMARY KEY CHECK (id ~ '^key_[0-9a-z]{26}$'),
    merchant_id  text NOT NULL REFERENCES merchants (id),
    mode         text NOT NULL CHECK (mode IN ('test', 'live')),
    kind         text NOT NULL CHECK (kind IN ('publishable', 'secret')),
    key_hash     text NOT NULL CHECK (key_hash ~ '^[0-9a-f]{64}$'),
    redacted     text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    CONSTRAINT api_keys_key_hash_unique UNIQUE (key_hash)
);
CREATE INDEX api_keys_merchant ON api_keys (merchant_id, mode, id);

-- Merchant pricing per currency; the row with currency '*' is the default for every other currency.
-- Zero is a valid price. A captured charge pays round_half_up(amount × bps / 10000) + fixed, capped at
-- the amount (paygate_core::ledger::Pricing).
CREATE TABLE merchant_pricing (
    merchant_id   text NOT NULL REFERENCES merchants (id),
    currency      text NOT NULL CHECK (currency = '*' OR currency ~ '^[A-Z]{3}$'),
    basis_points  integer NOT NULL CHECK (basis_points BETWEEN 0 AND 10000),
    fixed_minor   bigint NOT NULL CHECK (fixed_minor BETWEEN 0 AND 999999999999),
    PRIMARY KEY (merchant_id, currency)
);
