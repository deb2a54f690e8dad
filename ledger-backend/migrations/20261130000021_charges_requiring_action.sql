-- 3-D Secure: a charge may wait for the cardholder's authentication (`requires_action`) before the processor
-- authorizes it. Nothing is booked while it waits (the ledger moves only at `authorized`).
--
-- return_reference_hash: SHA-256 of the single-use reference in the return URL the processor sends the browser
--   back to (paygate_core::authentication); written with every charge, since the URL goes out with the
--   authorization request, before anyone knows whether it will be needed. Looked up only while the charge
--   requires action (the partial index), so a used or stale reference finds nothing.
-- next_action_url: where the shopper authenticates (the processor's page), for `next_action`.
-- action_expires_at: when an authentication not completed is given up and the charge fails.
ALTER TABLE charges DROP CONSTRAINT charges_status_check;
ALTER TABLE charges ADD CONSTRAINT charges_status_check CHECK (status IN ('pending', 'requires_action', 'authorized',
    'captured', 'partially_refunded', 'refunded', 'failed', 'voided', 'expired'));
ALTER TABLE charges
    ADD COLUMN return_reference_hash bytea CHECK (octet_length(return_reference_hash) = 32),
    ADD COLUMN next_action_url text CHECK (length(next_action_url) <= 2048),
    ADD COLUMN action_expires_at timestamptz,
    ADD CONSTRAINT charges_action_only_while_required
        CHECK ((status = 'requires_action') = (next_action_url IS NOT NULL AND action_expires_at IS NOT NULL));

CREATE INDEX charges_awaiting_action ON charges (return_reference_hash) WHERE status = 'requires_action';
CREATE INDEX charges_action_due ON charges (action_expires_at) WHERE status = 'requires_action';

-- The return arrives without an API key, so without a tenant: this finds the charge a reference belongs to, and
-- only while it waits for its authentication; the caller then works inside that merchant's scope.
CREATE FUNCTION charge_awaiting_action(reference_hash bytea)
    RETURNS TABLE (id text, merchant_id text, mode text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS
    $$ SELECT id, merchant_id, mode FROM charges
       WHERE return_reference_hash = reference_hash AND status = 'requires_action' $$;
REVOKE ALL ON FUNCTION charge_awaiting_action(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION charge_awaiting_action(bytea) TO paygate_api, paygate_jobs;
