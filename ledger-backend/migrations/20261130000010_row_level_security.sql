-- Tenancy enforced by the database itself, behind the edge (which picks the merchant and mode from the API
-- key) and the queries (which bind them): row-level security on every merchant-owned table.
--
-- Two roles, cluster-wide, created here when missing (creating a BYPASSRLS role needs a superuser; on a
-- managed database create both once beforehand, exactly like this, and grant both to the user Paygate
-- connects as; this migration then only checks that they exist):
--   paygate_api   the API's requests. No BYPASSRLS: it sees and writes only the rows of the merchant and mode
--                 in the settings `paygate.merchant_id` and `paygate.mode`, which the backend sets on each
--                 connection it hands to a request (db::connect). With no scope set it sees nothing.
--   paygate_jobs  background jobs, which work across merchants (expiry, recovery, webhook delivery, audit
--                 sealing): BYPASSRLS.
-- The tables stay owned by the migrating user; DDL (migrations, new partitions) runs as that owner.
DO $$
BEGIN
    -- Checked first: CREATE ROLE checks its privilege before whether the role exists, so a user that may
    -- not create roles must never reach it when they were created beforehand. (The inner blocks cover two
    -- migrations racing in one cluster, as parallel test runs do.)
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'paygate_api') THEN
        BEGIN
            CREATE ROLE paygate_api NOLOGIN NOBYPASSRLS;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'paygate_jobs') THEN
        BEGIN
            CREATE ROLE paygate_jobs NOLOGIN BYPASSRLS;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END;
    END IF;
    IF NOT pg_has_role(current_user, 'paygate_api', 'MEMBER') THEN
        EXECUTE format('GRANT paygate_api TO %I', current_user);
    END IF;
    IF NOT pg_has_role(current_user, 'paygate_jobs', 'MEMBER') THEN
        EXECUTE format('GRANT paygate_jobs TO %I', current_user);
    END IF;
END
$$;

-- Privileges on the tables as they are queried: the parents. A partition is reached through its parent (whose
-- privileges and policy apply); named directly it has neither, so the roles get nothing on partitions, and
-- partitions created later (db::partitions) get nothing either. A new table's migration grants its own.
GRANT USAGE ON SCHEMA public TO paygate_api, paygate_jobs;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO paygate_api, paygate_jobs;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO paygate_api, paygate_jobs;
DO $$
DECLARE
    part regclass;
BEGIN
    FOR part IN SELECT c.oid::regclass FROM pg_class c
                WHERE c.relispartition AND c.relkind IN ('r', 'p') AND c.relnamespace = 'public'::regnamespace LOOP
        EXECUTE format('REVOKE ALL ON %s FROM paygate_api, paygate_jobs', part);
    END LOOP;
END
$$;

-- The scope of the current transaction's work; NULL (matching nothing) when unset.
CREATE FUNCTION paygate_merchant() RETURNS text LANGUAGE sql STABLE AS
    $$ SELECT nullif(current_setting('paygate.merchant_id', true), '') $$;
CREATE FUNCTION paygate_mode() RETURNS text LANGUAGE sql STABLE AS
    $$ SELECT nullif(current_setting('paygate.mode', true), '') $$;

-- Tables with merchant and mode: a row is visible and writable only in its own scope.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['api_keys', 'charges', 'charge_attempts', 'refunds', 'idempotency_records',
                             'ledger_accounts', 'ledger_transactions', 'audit_log', 'events',
                             'webhook_endpoints', 'webhook_deliveries'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant ON %I USING (merchant_id = paygate_merchant() AND mode = paygate_mode())', t);
    END LOOP;
END
$$;

-- The merchant itself and its prices (one set for both modes).
ALTER TABLE merchants ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON merchants USING (id = paygate_merchant());
ALTER TABLE merchant_pricing ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON merchant_pricing USING (merchant_id = paygate_merchant());

-- Rows without their own merchant column belong to a parent that has one; the parent's policy filters the
-- subquery. Entries by their account (a scope has a handful of accounts, so this is a hashed lookup).
ALTER TABLE ledger_entries ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON ledger_entries USING (account_id IN (SELECT id FROM ledger_accounts));
ALTER TABLE webhook_attempts ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON webhook_attempts
    USING (EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.id = webhook_attempts.delivery_id));

-- The edge resolves an API key before it knows the merchant: the one question the API may ask across
-- merchants, answered by this function alone (it runs as the tables' owner, so row-level security does not
-- apply inside it), for an active key's hash only.
CREATE FUNCTION api_key_identity(hash text)
    RETURNS TABLE (id text, merchant_id text, mode text, kind text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS
    $$ SELECT id, merchant_id, mode, kind FROM api_keys WHERE key_hash = hash AND revoked_at IS NULL $$;
REVOKE ALL ON FUNCTION api_key_identity(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api_key_identity(text) TO paygate_api, paygate_jobs;
