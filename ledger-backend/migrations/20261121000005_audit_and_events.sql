-- The audit log and the outbox of events, both written in the same database transaction as the change
-- they record.
--
-- The audit log is append-only and hash-chained. Rows are inserted unsealed (hash NULL) and a single
-- sealer (jobs::audit_seal, under an advisory lock) chains them in batches: chain_seq, prev_hash, hash =
-- SHA-256(prev_hash ‖ the row's content). Chaining at insert time would make every write in the system
-- wait for the previous one's commit; sealing shortly after keeps writes parallel and still makes any
-- later change to a sealed row, or its removal, visible to `paygate-ledger audit`.
-- The only UPDATE allowed is the sealing itself: once, on an unsealed row, touching only chain columns.

CREATE TABLE audit_log (
    id           text COLLATE "C" NOT NULL CHECK (id ~ '^aud_[0-9a-z]{26}$'),
    merchant_id  text NOT NULL,
    mode         text NOT NULL CHECK (mode IN ('test', 'live')),
    actor        text NOT NULL,
    action       text NOT NULL,
    object_type  text NOT NULL,
    object_id    text NOT NULL,
    request_id   text,
    data         jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now(),
    chain_seq    bigint,
    prev_hash    text CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
    hash         text CHECK (hash ~ '^[0-9a-f]{64}$'),
    PRIMARY KEY (id),
    CONSTRAINT audit_log_sealed_together CHECK ((chain_seq IS NULL) = (hash IS NULL) AND (hash IS NULL) = (prev_hash IS NULL))
) PARTITION BY RANGE (id);
CREATE TABLE audit_log_default PARTITION OF audit_log DEFAULT;
CREATE INDEX audit_log_unsealed ON audit_log (id) WHERE hash IS NULL;
CREATE INDEX audit_log_chain ON audit_log (chain_seq) WHERE chain_seq IS NOT NULL;
CREATE INDEX audit_log_object ON audit_log (object_id);

-- The head of the chain: one row, updated only by the sealer.
CREATE TABLE audit_chain_head (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    last_seq    bigint NOT NULL,
    last_hash   text NOT NULL CHECK (last_hash ~ '^[0-9a-f]{64}$')
);
-- The chain starts from 64 zeros.
INSERT INTO audit_chain_head (last_seq, last_hash) VALUES (0, repeat('0', 64));

CREATE FUNCTION audit_log_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.hash IS NULL AND NEW.hash IS NOT NULL
       AND (NEW.id, NEW.merchant_id, NEW.mode, NEW.actor, NEW.action, NEW.object_type, NEW.object_id,
            NEW.request_id, NEW.data, NEW.created_at)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.merchant_id, OLD.mode, OLD.actor, OLD.action, OLD.object_type, OLD.object_id,
            OLD.request_id, OLD.data, OLD.created_at) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_log_immutable BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_guard();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION reject_modification();

-- The outbox: one event per state change (DESIGN.md §7.5), written with the change. Delivery to
-- webhook endpoints reads from here at its own pace.
CREATE TABLE events (
    id           text COLLATE "C" NOT NULL CHECK (id ~ '^evt_[0-9a-z]{26}$'),
    merchant_id  text NOT NULL,
    mode         text NOT NULL CHECK (mode IN ('test', 'live')),
    type         text NOT NULL CHECK (type ~ '^[a-z_]+\.[a-z_]+$'),
    object_id    text NOT NULL,
    data         jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id)
) PARTITION BY RANGE (id);
CREATE TABLE events_default PARTITION OF events DEFAULT;
CREATE INDEX events_merchant ON events (merchant_id, mode, id);
CREATE INDEX events_object ON events (object_id);
CREATE TRIGGER events_immutable BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION reject_modification();
