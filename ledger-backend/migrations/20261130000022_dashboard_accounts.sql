-- The merchant dashboard's people: users (an email and an argon2id password hash), their memberships of merchants
-- with a role, server-side sessions, invitations, saved charge views, and failed sign-ins for throttling.
--
-- A user is not one merchant's row: one person may belong to several merchants, and signing in happens before any
-- merchant is known. So the API role (paygate_api, row-level security) reaches users, sessions and sign-in
-- failures only through the SECURITY DEFINER functions below, each answering one question by something only the
-- caller can hold (an email whose password the caller then checks, a session token's hash, an invitation token's
-- hash). Memberships, invitations and saved views belong to a merchant and have its row-level security.

CREATE TABLE users (
    id text PRIMARY KEY,
    email text NOT NULL UNIQUE CHECK (length(email) BETWEEN 3 AND 254 AND email = lower(email)),
    password_hash text NOT NULL CHECK (length(password_hash) BETWEEN 1 AND 512),
    -- The TOTP second factor's secret, sealed (core::sealed) like every secret at rest; NULL when not enabled.
    totp_secret bytea,
    -- The last TOTP time step accepted: a code is good once.
    totp_last_step bigint,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE memberships (
    merchant_id text NOT NULL REFERENCES merchants (id),
    user_id text NOT NULL REFERENCES users (id),
    role text NOT NULL CHECK (role IN ('owner', 'developer', 'analyst')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (merchant_id, user_id)
);
CREATE INDEX memberships_by_user ON memberships (user_id);

-- Only the token's SHA-256 is kept: a copy of this table opens no session.
CREATE TABLE dashboard_sessions (
    token_hash bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    user_id text NOT NULL REFERENCES users (id),
    merchant_id text NOT NULL REFERENCES merchants (id),
    mode text NOT NULL DEFAULT 'test' CHECK (mode IN ('test', 'live')),
    -- Sent back with every state-changing request (a form field or the X-CSRF-Token header).
    csrf_token text NOT NULL CHECK (length(csrf_token) BETWEEN 32 AND 64),
    -- False while a user with a second factor has given only their password.
    verified boolean NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
CREATE INDEX dashboard_sessions_by_user ON dashboard_sessions (user_id) WHERE revoked_at IS NULL;

CREATE TABLE invitations (
    id text PRIMARY KEY,
    merchant_id text NOT NULL REFERENCES merchants (id),
    email text NOT NULL CHECK (length(email) BETWEEN 3 AND 254 AND email = lower(email)),
    role text NOT NULL CHECK (role IN ('developer', 'analyst')),
    token_hash bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    invited_by text NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    accepted_at timestamptz,
    revoked_at timestamptz
);
CREATE INDEX invitations_by_merchant ON invitations (merchant_id, id);

CREATE TABLE saved_views (
    id text PRIMARY KEY,
    merchant_id text NOT NULL REFERENCES merchants (id),
    mode text NOT NULL CHECK (mode IN ('test', 'live')),
    user_id text NOT NULL REFERENCES users (id),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
    -- The list's query string, as the filter form sends it.
    query text NOT NULL CHECK (length(query) <= 2000),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX saved_views_by_user ON saved_views (merchant_id, mode, user_id);

-- Failed sign-ins by the SHA-256 of the address tried (whether or not it has an account), for throttling.
CREATE TABLE sign_in_failures (
    email_hash bytea NOT NULL CHECK (length(email_hash) = 32),
    failed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sign_in_failures_recent ON sign_in_failures (email_hash, failed_at);

-- When the edge last looked a key up, for the key list ("last used"); written at most once a minute per key.
ALTER TABLE api_keys ADD COLUMN last_used_at timestamptz;
CREATE FUNCTION api_key_used(hash text) RETURNS void
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS
    $$ UPDATE api_keys SET last_used_at = now()
       WHERE key_hash = hash AND revoked_at IS NULL
         AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute') $$;
REVOKE ALL ON FUNCTION api_key_used(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api_key_used(text) TO paygate_api, paygate_jobs;

-- A merchant's business profile, which the owner completes before live mode opens.
ALTER TABLE merchants
    ADD COLUMN website text CHECK (length(website) <= 2048),
    ADD COLUMN live_enabled_at timestamptz;

ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE memberships ENABLE ROW LEVEL SECURITY;
ALTER TABLE dashboard_sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE invitations ENABLE ROW LEVEL SECURITY;
ALTER TABLE saved_views ENABLE ROW LEVEL SECURITY;
ALTER TABLE sign_in_failures ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON memberships USING (merchant_id = paygate_merchant());
CREATE POLICY tenant ON invitations USING (merchant_id = paygate_merchant());
CREATE POLICY tenant ON saved_views USING (merchant_id = paygate_merchant() AND mode = paygate_mode());
-- A merchant sees the people of its own team (their emails on the team page), nobody else.
CREATE POLICY team ON users FOR SELECT USING (id IN (SELECT user_id FROM memberships));
GRANT SELECT ON users TO paygate_api, paygate_jobs;
GRANT SELECT, INSERT, UPDATE, DELETE ON memberships, invitations, saved_views TO paygate_api, paygate_jobs;
GRANT SELECT, INSERT, UPDATE, DELETE ON dashboard_sessions, sign_in_failures TO paygate_jobs;

-- Sign-up and accepting an invitation: a new user, unless the address is taken (then false).
CREATE FUNCTION dashboard_user_create(user_id text, user_email text, hash text) RETURNS boolean
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS
    $$ WITH inserted AS (
           INSERT INTO users (id, email, password_hash) VALUES (user_id, user_email, hash)
           ON CONFLICT (email) DO NOTHING RETURNING 1)
       SELECT EXISTS (SELECT 1 FROM inserted) $$;

-- Sign-in: the account of an address, for the caller to check the password against.
CREATE FUNCTION dashboard_credentials(user_email text)
    RETURNS TABLE (id text, password_hash text, totp_secret bytea, totp_last_step bigint)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS
    $$ SELECT id, password_hash, totp_secret, totp_last_step FROM users WHERE email = user_email $$;

-- The merchants a user belongs to, first joined first (where a session starts, and the merchant switcher).
CREATE FUNCTION dashboard_memberships(member text)
    RETURNS TABLE (merchant_id text, merchant_name text, role text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS
    $$ SELECT m.merchant_id, x.name, m.role FROM memberships m JOIN merchants x ON x.id = m.merchant_id
       WHERE m.user_id = member ORDER BY m.created_at, m.merchant_id $$;

CREATE FUNCTION dashboard_session_open(hash bytea, member text, merchant text, csrf text, is_verified boolean)
    RETURNS void
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS
    $$ INSERT INTO dashboard_sessions (token_hash, user_id, merchant_id, csrf_token, verified)
       VALUES (hash, member, merchant, csrf, is_verified) $$;

-- The live session of a token's hash, unless idle for longer than `idle` or older than `absolute`; touched (at
-- most once a minute, to spare the writes) so that its idle time restarts. The role is the user's in the
-- session's merchant now: a member removed from the team loses the session's access at once.
CREATE FUNCTION dashboard_session(hash bytea, idle interval, absolute interval)
    RETURNS TABLE (user_id text, email text, merchant_id text, merchant_name text, role text, mode text,
                   csrf_token text, verified boolean, live_enabled boolean, has_totp boolean)
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS
    $$ WITH live AS (
           UPDATE dashboard_sessions s SET last_seen_at = now()
           WHERE s.token_hash = hash AND s.revoked_at IS NULL
             AND s.last_seen_at > now() - idle AND s.created_at > now() - absolute
           RETURNING s.*)
       SELECT l.user_id, u.email, l.merchant_id, x.name, m.role, l.mode, l.csrf_token, l.verified,
              x.live_enabled_at IS NOT NULL, u.totp_secret IS NOT NULL
       FROM live l JOIN users u ON u.id = l.user_id
       JOIN memberships m ON m.user_id = l.user_id AND m.merchant_id = l.merchant_id
       JOIN merchants x ON x.id = l.merchant_id $$;

-- Changes what a session looks at (merchant, mode) or marks its second factor given; only a live session.
CREATE FUNCTION dashboard_session_set(hash bytea, merchant text, session_mode text, is_verified boolean)
    RETURNS boolean
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS
    $$ WITH changed AS (
           UPDATE dashboard_sessions SET merchant_id = merchant, mode = session_mode, verified = is_verified
           WHERE token_hash = hash AND revoked_at IS NULL
             AND EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = dashboard_sessions.user_id
                                                       AND m.merchant_id = merchant)
           RETURNING 1)
       SELECT EXISTS (SELECT 1 FROM changed) $$;

-- Sign-out: this session, or (`everywhere`) every session of its user.
CREATE FUNCTION dashboard_session_revoke(hash bytea, everywhere boolean) RETURNS integer
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS
    $$ WITH target AS (SELECT user_id FROM dashboard_sessions WHERE token_hash = hash),
            revoked AS (
           UPDATE dashboard_sessions s SET revoked_at = now()
           WHERE s.revoked_at IS NULL
             AND (s.token_hash = hash OR (everywhere AND s.user_id IN (SELECT user_id FROM target)))
           RETURNING 1)
       SELECT count(*)::integer FROM revoked $$;

-- Throttling: failed sign-ins of an address within `recent`, after recording one more when `failed`.
CREATE FUNCTION dashboard_sign_in_failures(hash bytea, failed boolean, recent interval) RETURNS integer
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS
    $$
    BEGIN
        IF failed THEN
            INSERT INTO sign_in_failures (email_hash) VALUES (hash);
        END IF;
        RETURN (SELECT count(*) FROM sign_in_failures WHERE email_hash = hash AND failed_at > now() - recent);
    END
    $$;

-- The second factor of a session's user: set (or clear, with NULL) the sealed TOTP secret, and spend a time step
-- once. By the session, not the user id, so that only a signed-in user changes their own.
CREATE FUNCTION dashboard_totp_set(hash bytea, secret bytea) RETURNS boolean
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS
    $$ WITH changed AS (
           UPDATE users SET totp_secret = secret, totp_last_step = NULL
           WHERE id = (SELECT user_id FROM dashboard_sessions WHERE token_hash = hash AND revoked_at IS NULL)
           RETURNING 1)
       SELECT EXISTS (SELECT 1 FROM changed) $$;
CREATE FUNCTION dashboard_totp_spend(hash bytea, step bigint) RETURNS boolean
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS
    $$ WITH spent AS (
           UPDATE users SET totp_last_step = step
           WHERE id = (SELECT user_id FROM dashboard_sessions WHERE token_hash = hash AND revoked_at IS NULL)
             AND (totp_last_step IS NULL OR totp_last_step < step)
           RETURNING 1)
       SELECT EXISTS (SELECT 1 FROM spent) $$;

-- An invitation by its token's hash, while it can still be accepted; the caller then works in its merchant.
CREATE FUNCTION dashboard_invitation(hash bytea)
    RETURNS TABLE (id text, merchant_id text, merchant_name text, email text, role text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS
    $$ SELECT i.id, i.merchant_id, x.name, i.email, i.role FROM invitations i JOIN merchants x ON x.id = i.merchant_id
       WHERE i.token_hash = hash AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > now() $$;

DO $$
DECLARE
    f text;
BEGIN
    FOREACH f IN ARRAY ARRAY[
        'dashboard_user_create(text, text, text)', 'dashboard_credentials(text)', 'dashboard_memberships(text)',
        'dashboard_session_open(bytea, text, text, text, boolean)', 'dashboard_session(bytea, interval, interval)',
        'dashboard_session_set(bytea, text, text, boolean)', 'dashboard_session_revoke(bytea, boolean)',
        'dashboard_sign_in_failures(bytea, boolean, interval)', 'dashboard_totp_set(bytea, bytea)',
        'dashboard_totp_spend(bytea, bigint)', 'dashboard_invitation(bytea)'] LOOP
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO paygate_api, paygate_jobs', f);
    END LOOP;
END
$$;
