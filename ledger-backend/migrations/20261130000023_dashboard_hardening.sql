-- The dashboard's sign-in throttling counts an attempt before its password or code is checked, so parallel
-- guesses cannot all pass the count; a session opens only for a member of its merchant; and the API role reads
-- of users only what the team page shows.

-- Records an attempt for an address's hash and answers how many there were within `recent`, this one included.
-- A successful attempt is taken back with `dashboard_sign_in_succeeded`.
CREATE FUNCTION dashboard_sign_in_attempt(hash bytea, recent interval) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS
    $$
    BEGIN
        -- One address's tries one after another (until this statement's transaction ends): a try made at the same
        -- moment as another counts it, so parallel guesses cannot all see a count under the limit.
        PERFORM pg_advisory_xact_lock(hashtextextended(encode(hash, 'hex'), 0));
        INSERT INTO sign_in_failures (email_hash) VALUES (hash);
        RETURN (SELECT count(*) FROM sign_in_failures WHERE email_hash = hash AND failed_at > now() - recent);
    END
    $$;

CREATE FUNCTION dashboard_sign_in_succeeded(hash bytea) RETURNS void
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS
    $$ DELETE FROM sign_in_failures WHERE ctid = (
           SELECT ctid FROM sign_in_failures WHERE email_hash = hash ORDER BY failed_at DESC LIMIT 1) $$;

-- Only a member of the merchant gets a session in it.
DROP FUNCTION dashboard_session_open(bytea, text, text, text, boolean);
CREATE FUNCTION dashboard_session_open(hash bytea, member text, merchant text, csrf text, is_verified boolean)
    RETURNS boolean
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS
    $$ WITH opened AS (
           INSERT INTO dashboard_sessions (token_hash, user_id, merchant_id, csrf_token, verified)
           SELECT hash, member, merchant, csrf, is_verified
           WHERE EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = member AND m.merchant_id = merchant)
           RETURNING 1)
       SELECT EXISTS (SELECT 1 FROM opened) $$;

DO $$
DECLARE
    f text;
BEGIN
    FOREACH f IN ARRAY ARRAY[
        'dashboard_sign_in_attempt(bytea, interval)', 'dashboard_sign_in_succeeded(bytea)',
        'dashboard_session_open(bytea, text, text, text, boolean)'] LOOP
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO paygate_api, paygate_jobs', f);
    END LOOP;
END
$$;

-- The team page shows a member's address; their password hash and second factor stay with the functions.
REVOKE SELECT ON users FROM paygate_api;
GRANT SELECT (id, email, created_at) ON users TO paygate_api;

-- Every dashboard request reads its session: touch it (restart its idle time) at most once a minute, not on every
-- page, so reading a page writes nothing most of the time.
CREATE OR REPLACE FUNCTION dashboard_session(hash bytea, idle interval, absolute interval)
    RETURNS TABLE (user_id text, email text, merchant_id text, merchant_name text, role text, mode text,
                   csrf_token text, verified boolean, live_enabled boolean, has_totp boolean)
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS
    $$ WITH live AS (
           SELECT s.* FROM dashboard_sessions s
           WHERE s.token_hash = hash AND s.revoked_at IS NULL
             AND s.last_seen_at > now() - idle AND s.created_at > now() - absolute),
       touched AS (
           UPDATE dashboard_sessions s SET last_seen_at = now() FROM live l
           WHERE s.token_hash = l.token_hash AND l.last_seen_at < now() - interval '1 minute')
       SELECT l.user_id, u.email, l.merchant_id, x.name, m.role, l.mode, l.csrf_token, l.verified,
              x.live_enabled_at IS NOT NULL, u.totp_secret IS NOT NULL
       FROM live l JOIN users u ON u.id = l.user_id
       JOIN memberships m ON m.user_id = l.user_id AND m.merchant_id = l.merchant_id
       JOIN merchants x ON x.id = l.merchant_id $$;
