-- Mada, the way Saudi rules require (SAMA: domestic e-commerce card payments go over the national network).
-- A merchant's country decides whether a Mada card is a Mada transaction; a charge made on Mada rails is
-- marked, because Mada has no separate authorization, no partial capture and no void.
ALTER TABLE merchants ADD COLUMN country text CHECK (country ~ '^[A-Z]{2}$');
ALTER TABLE charges ADD COLUMN mada boolean NOT NULL DEFAULT false;

-- Processor events: the webhooks processors send us, stored once by their own event id (a redelivery is
-- acknowledged and ignored), with what applying them did. Only the fields we read are kept, never a card.
CREATE TABLE processor_events (
    id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    processor_account_id  text COLLATE "C" NOT NULL,
    merchant_id           text NOT NULL,
    mode                  text NOT NULL CHECK (mode IN ('test', 'live')),
    connector             text NOT NULL,
    event_id              text NOT NULL CHECK (length(event_id) BETWEEN 1 AND 255),
    event_type            text NOT NULL CHECK (length(event_type) BETWEEN 1 AND 100),
    -- The payment and action (or refund) the event is about, in the processor's ids and ours.
    payment_reference     text CHECK (length(payment_reference) <= 255),
    object_reference      text CHECK (length(object_reference) <= 255),
    -- applied: it changed something; ignored: nothing to do (already so, or a type we do not act on);
    -- unmatched: about a payment we do not know; deferred: it came before what it follows (recovery converges).
    outcome               text NOT NULL CHECK (outcome IN ('applied', 'ignored', 'unmatched', 'deferred')),
    detail                text CHECK (length(detail) <= 500),
    received_at           timestamptz NOT NULL DEFAULT now(),
    UNIQUE (processor_account_id, event_id)
);
CREATE INDEX processor_events_merchant ON processor_events (merchant_id, mode, id);
ALTER TABLE processor_events ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON processor_events USING (merchant_id = paygate_merchant() AND mode = paygate_mode());
-- DELETE only withdraws a claim whose applying failed, so the processor's next delivery tries again.
GRANT SELECT, INSERT, UPDATE, DELETE ON processor_events TO paygate_api, paygate_jobs;

-- A processor's webhook names only the processor account it was sent for (in its URL), before anything says
-- whose it is: the one cross-merchant question that request asks, answered here alone (like api_key_identity).
CREATE FUNCTION processor_account_scope(account text)
    RETURNS TABLE (merchant_id text, mode text, connector text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS
    $$ SELECT merchant_id, mode, connector FROM processor_accounts WHERE id = account $$;
REVOKE ALL ON FUNCTION processor_account_scope(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION processor_account_scope(text) TO paygate_api, paygate_jobs;
