-- Webhook endpoints and the delivery of events to them (DESIGN.md §8, invariant 5).
--
-- Fan-out is part of the outbox: when an event is written, a delivery row for every enabled endpoint of
-- that merchant and mode subscribed to its type is inserted in the same transaction (domain::journal::
-- emit). So a state change, its event and its deliveries commit together or not at all, and a delivery
-- worker only ever reads `webhook_deliveries`.

CREATE TABLE webhook_endpoints (
    id                        text COLLATE "C" PRIMARY KEY CHECK (id ~ '^we_[0-9a-z]{26}$'),
    merchant_id               text NOT NULL REFERENCES merchants (id),
    mode                      text NOT NULL CHECK (mode IN ('test', 'live')),
    url                       text NOT NULL CHECK (length(url) <= 2048),
    description               text CHECK (length(description) <= 500),
    -- Event types, or '*' for all of them.
    enabled_events            text[] NOT NULL CHECK (cardinality(enabled_events) BETWEEN 1 AND 64),
    enabled                   boolean NOT NULL DEFAULT true,
    -- The signing secret (whsec_…), needed in clear to sign; during a rotation the previous one signs too,
    -- until `previous_secret_expires_at`.
    secret                    text NOT NULL,
    previous_secret           text,
    previous_secret_expires_at timestamptz,
    disabled_reason           text CHECK (disabled_reason IN ('gone', 'failing', 'merchant')),
    -- When deliveries started failing without a success since; an endpoint failing for days is disabled.
    failing_since             timestamptz,
    created_at                timestamptz NOT NULL DEFAULT now(),
    updated_at                timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoints_merchant ON webhook_endpoints (merchant_id, mode, id);

-- One per (event, endpoint): its state and schedule. `webhook-id` on the wire is the event id, stable
-- across retries; a redelivery asked for by the merchant is a new attempt of the same row.
CREATE TABLE webhook_deliveries (
    id               text COLLATE "C" NOT NULL CHECK (id ~ '^dlv_[0-9a-z]{26}$'),
    event_id         text COLLATE "C" NOT NULL,
    endpoint_id      text COLLATE "C" NOT NULL,
    merchant_id      text NOT NULL,
    mode             text NOT NULL CHECK (mode IN ('test', 'live')),
    status           text NOT NULL CHECK (status IN ('pending', 'delivering', 'succeeded', 'failed')),
    attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    -- While `delivering`: the claim's lease; a worker that dies leaves it to expire, then the row is retried.
    locked_until     timestamptz,
    last_status_code integer,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id)
) PARTITION BY RANGE (id);
CREATE TABLE webhook_deliveries_default PARTITION OF webhook_deliveries DEFAULT;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_leased ON webhook_deliveries (locked_until) WHERE status = 'delivering';
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);

-- Every attempt, for the merchant's dashboard and for support: when, what came back, how long it took.
-- Partitioned by its delivery's id (= time), like ledger entries by their transaction's.
CREATE TABLE webhook_attempts (
    delivery_id       text COLLATE "C" NOT NULL,
    attempt           integer NOT NULL,
    attempted_at      timestamptz NOT NULL DEFAULT now(),
    status_code       integer,
    latency_ms        integer NOT NULL,
    error             text,
    response_excerpt  text CHECK (length(response_excerpt) <= 500),
    PRIMARY KEY (delivery_id, attempt)
) PARTITION BY RANGE (delivery_id);
CREATE TABLE webhook_attempts_default PARTITION OF webhook_attempts DEFAULT;
