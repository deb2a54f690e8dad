-- The breakdown of the pgbench ceiling (scripts/pgbench_charges.sh breakdown): the 10 statements of
-- charge_path.sql, one PL/pgSQL call per database transaction and per hand-out outside one, so that a run of
-- charge_path_one_call.sql costs 7 round trips per create + capture instead of 12. It measures the most
-- that "one round trip per transaction" could gain. The statements are charge_path.sql's, written out again
-- (a pgbench script cannot define functions of its own); a SELECT whose rows the backend reads becomes PERFORM
-- or SELECT … INTO. Each call sets the scope for its transaction, as the backend's hand-out does.
CREATE FUNCTION one_call_scope(m text) RETURNS void LANGUAGE sql AS $$
    SELECT set_config('role', 'paygate_api', true), set_config('paygate.merchant_id', m, true),
           set_config('paygate.mode', 'test', true);
$$;

CREATE FUNCTION one_call_seen(m text, seen text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    -- Unscoped, as the backend's replay guard (db::unscoped).
    INSERT INTO seen_requests (digest) VALUES (seen) ON CONFLICT DO NOTHING;
END;
$$;

CREATE FUNCTION one_call_routing(m text, sandbox text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM one_call_scope(m);
    PERFORM (SELECT body FROM routing_tables WHERE merchant_id = m AND mode = 'test') AS routing,
        (SELECT country FROM merchants WHERE id = m) AS country,
        id, merchant_id, mode, connector, display_name, credentials_hint, settings, enabled, problem,
        extract(epoch FROM problem_at)::bigint AS problem_at, extract(epoch FROM created_at)::bigint AS created,
        (SELECT jsonb_build_object('pulled_until', floor(extract(epoch FROM p.pulled_until))::bigint,
            'last_pulled_at', floor(extract(epoch FROM p.last_pulled_at))::bigint,
            'next_pull_at', floor(extract(epoch FROM p.due_at))::bigint, 'failures', p.failures, 'last_error', p.last_error)
         FROM settlement_pulls p WHERE p.processor_account_id = processor_accounts.id) AS settlement_pull,
        credentials_sealed
        FROM processor_accounts WHERE merchant_id = m AND mode = 'test' ORDER BY id;
END;
$$;

CREATE FUNCTION one_call_tx1(m text, sandbox text, ch text, att1 text, aud1 text, tok text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    written bigint;
BEGIN
    PERFORM one_call_scope(m);
    WITH claimed AS (INSERT INTO idempotency_records (merchant_id, mode, key, fingerprint, object_type, object_id, expires_at)
            VALUES (m, 'test', tok, repeat('a', 64), 'charge', ch, now() + interval '1 day')
            ON CONFLICT (merchant_id, mode, key) DO NOTHING RETURNING object_id),
        charge AS (INSERT INTO charges (id, merchant_id, mode, status, currency, amount, capture, source, idempotency_key,
                processor, processor_account_id)
            SELECT ch, m, 'test', 'pending', 'EUR', 2500, false, tok, tok, 'sandbox', sandbox FROM claimed
            RETURNING *),
        attempts AS (INSERT INTO charge_attempts (id, charge_id, merchant_id, mode, operation, amount, outcome, processor,
                processor_account_id)
            SELECT att1, c.id, c.merchant_id, c.mode, 'authorize', 2500, 'started', 'sandbox', sandbox FROM charge c),
        audited AS (INSERT INTO audit_log (id, merchant_id, mode, actor, action, object_type, object_id, request_id, data)
            SELECT aud1, merchant_id, mode, 'api', 'charge.create', 'charge', id, 'req_bench', '{"amount":2500}' FROM charge)
    SELECT count(*) INTO written FROM (SELECT id, status, amount, version, NULL::bigint[] AS pricing
        FROM charge AS charges) AS recorded;
END;
$$;

CREATE FUNCTION one_call_tx2(m text, ch text, att1 text, ltx1 text, aud2 text, evt1 text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    moved_rows bigint;
    balanced int;
    notified bigint;
BEGIN
    PERFORM one_call_scope(m);
    WITH moved AS (UPDATE charges SET status = 'authorized', amount_authorized = 2500, amount_captured = 0, amount_refunded = 0,
            processor_reference = 'auth_1', pending_operation = NULL,
            authorization_expires_at = CASE WHEN 1796000000::bigint IS NOT DISTINCT FROM extract(epoch FROM authorization_expires_at)::bigint
                THEN authorization_expires_at ELSE to_timestamp(1796000000::bigint) END,
            next_action_url = NULL, action_expires_at = CASE WHEN NULL::bigint IS NOT DISTINCT FROM extract(epoch FROM action_expires_at)::bigint
                THEN action_expires_at ELSE to_timestamp(NULL::bigint) END,
            card_brand = 'visa', card_bin = '424242', card_last4 = '4242', card_exp_month = 12, card_exp_year = 2034,
            card_fingerprint = repeat('b', 32), failure_code = NULL, failure_message = NULL, failure_processor_code = NULL,
            updated_at = now()
            WHERE id = ch AND merchant_id = m AND version = 0
              AND (SELECT count(*) FROM ledger_accounts a WHERE a.merchant_id = m AND a.mode = 'test' AND a.currency = 'EUR'
                   AND a.kind = ANY('{authorization_payable,authorization_receivable}'::text[])) = 2
              AND (SELECT count(*) FROM unnest('{charge.authorized}'::text[]) AS v(type) JOIN webhook_endpoints e ON
                   e.merchant_id = m AND e.mode = 'test' AND e.enabled
                   AND (v.type = ANY(e.enabled_events) OR '*' = ANY(e.enabled_events))) <= 8
            RETURNING id),
        closed AS (UPDATE charge_attempts SET outcome = 'succeeded', processor_reference = coalesce('auth_1', processor_reference),
            response_code = NULL, finished_at = now() WHERE id = att1 AND merchant_id = m AND EXISTS (SELECT 1 FROM moved)),
        posted AS (INSERT INTO ledger_transactions (id, merchant_id, mode, kind, charge_id, refund_id)
            SELECT t.id, m, 'test', t.kind, ch, NULL FROM unnest(ARRAY[ltx1]::text[], '{authorization}'::text[]) AS t(id, kind)
            WHERE EXISTS (SELECT 1 FROM moved)),
        entries AS (INSERT INTO ledger_entries (transaction_id, line, account_id, currency, amount, merchant_id, mode)
            SELECT t.id, t.line, a.id, 'EUR', t.amount, a.merchant_id, a.mode
            FROM unnest(ARRAY[ltx1,ltx1]::text[], '{0,1}'::smallint[],
                        '{authorization_receivable,authorization_payable}'::text[],
                        '{2500,-2500}'::bigint[]) AS t(id, line, kind, amount)
            JOIN ledger_accounts a ON a.merchant_id = m AND a.mode = 'test' AND a.currency = 'EUR' AND a.kind = t.kind
            WHERE EXISTS (SELECT 1 FROM moved)
            ON CONFLICT (transaction_id, line, merchant_id) DO NOTHING
            RETURNING 1),
        audited AS (INSERT INTO audit_log (id, merchant_id, mode, actor, action, object_type, object_id, request_id, data)
            SELECT a.id, m, 'test', 'api', a.action, a.object_type, a.object_id, a.request_id, a.data
            FROM unnest(ARRAY[aud2]::text[], '{charge.authorized}'::text[], '{charge}'::text[], ARRAY[ch]::text[], '{NULL}'::text[],
                        ARRAY['{"status":"authorized"}']::jsonb[]) AS a(id, action, object_type, object_id, request_id, data)
            WHERE EXISTS (SELECT 1 FROM moved)),
        emitted AS (INSERT INTO events (id, merchant_id, mode, type, object_id, data)
            SELECT v.id, m, 'test', v.type, v.object_id, v.data
            FROM unnest(ARRAY[evt1]::text[], '{charge.authorized}'::text[], ARRAY[ch]::text[],
                        ARRAY['{"object":{"object":"charge","status":"authorized","amount":2500}}']::jsonb[]) AS v(id, type, object_id, data)
            WHERE EXISTS (SELECT 1 FROM moved)),
        delivered AS (INSERT INTO webhook_deliveries (id, event_id, endpoint_id, merchant_id, mode, status)
            SELECT ('{}'::text[])[row_number() OVER ()], v.id, e.id, m, 'test', 'pending'
            FROM unnest(ARRAY[evt1]::text[], '{charge.authorized}'::text[]) AS v(id, type) JOIN webhook_endpoints e ON
                 e.merchant_id = m AND e.mode = 'test' AND e.enabled
                 AND (v.type = ANY(e.enabled_events) OR '*' = ANY(e.enabled_events))
            WHERE EXISTS (SELECT 1 FROM moved) RETURNING 1)
    SELECT (SELECT count(*) FROM moved), 1 / ((SELECT count(*) FROM entries) = 2 OR NOT EXISTS (SELECT 1 FROM moved))::int,
        (SELECT count(*) FROM (SELECT pg_notify('paygate_webhook_deliveries_due', '') FROM delivered LIMIT 1) AS woken)
            INTO moved_rows, balanced, notified;
END;
$$;

CREATE FUNCTION one_call_tx3(m text, sandbox text, ch text, att2 text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    claimed_version bigint;
BEGIN
    PERFORM one_call_scope(m);
    PERFORM id, status, amount, version,
        (SELECT a.connector FROM processor_accounts a WHERE a.id = charges.processor_account_id
            AND a.merchant_id = charges.merchant_id AND a.mode = charges.mode),
        (SELECT a.credentials_sealed FROM processor_accounts a WHERE a.id = charges.processor_account_id
            AND a.merchant_id = charges.merchant_id AND a.mode = charges.mode),
        (SELECT ARRAY[p.basis_points::bigint, p.fixed_minor] FROM merchant_pricing p
         WHERE p.merchant_id = charges.merchant_id AND p.currency IN (charges.currency, '*')
           AND p.effective_from <= charges.created_at
         ORDER BY p.currency = '*', p.effective_from DESC LIMIT 1)
        FROM charges WHERE id = ch AND merchant_id = m AND mode = 'test';
    WITH claimed AS (UPDATE charges SET pending_operation = 'capture', updated_at = now()
            WHERE id = ch AND status = 'authorized' AND pending_operation IS NULL AND merchant_id = m
            RETURNING id, merchant_id, mode, processor, processor_account_id, version),
        attempt AS (INSERT INTO charge_attempts (id, charge_id, merchant_id, mode, operation, amount, outcome, processor,
                processor_account_id)
            SELECT att2, id, merchant_id, mode, 'capture', 2500, 'started', coalesce(processor, 'sandbox'), processor_account_id
            FROM claimed)
    SELECT version INTO claimed_version FROM claimed;
END;
$$;

CREATE FUNCTION one_call_tx4(m text, ch text, att2 text, ltx2 text, aud3 text, evt2 text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    moved_rows bigint;
    balanced int;
    notified bigint;
BEGIN
    PERFORM one_call_scope(m);
    WITH moved AS (UPDATE charges SET status = 'captured', amount_authorized = 2500, amount_captured = 2500, amount_refunded = 0,
            processor_reference = 'auth_1', pending_operation = NULL,
            authorization_expires_at = CASE WHEN NULL::bigint IS NOT DISTINCT FROM extract(epoch FROM authorization_expires_at)::bigint
                THEN authorization_expires_at ELSE to_timestamp(NULL::bigint) END,
            next_action_url = NULL, action_expires_at = CASE WHEN NULL::bigint IS NOT DISTINCT FROM extract(epoch FROM action_expires_at)::bigint
                THEN action_expires_at ELSE to_timestamp(NULL::bigint) END,
            card_brand = 'visa', card_bin = '424242', card_last4 = '4242', card_exp_month = 12, card_exp_year = 2034,
            card_fingerprint = repeat('b', 32), failure_code = NULL, failure_message = NULL, failure_processor_code = NULL,
            updated_at = now()
            WHERE id = ch AND merchant_id = m AND version = 2
              AND (SELECT count(*) FROM ledger_accounts a WHERE a.merchant_id = m AND a.mode = 'test' AND a.currency = 'EUR'
                   AND a.kind = ANY('{authorization_payable,authorization_receivable,fee_revenue,merchant_pending,processor_receivable}'::text[])) = 5
              AND (SELECT count(*) FROM unnest('{charge.captured}'::text[]) AS v(type) JOIN webhook_endpoints e ON
                   e.merchant_id = m AND e.mode = 'test' AND e.enabled
                   AND (v.type = ANY(e.enabled_events) OR '*' = ANY(e.enabled_events))) <= 8
            RETURNING id),
        closed AS (UPDATE charge_attempts SET outcome = 'succeeded', processor_reference = coalesce(NULL, processor_reference),
            response_code = NULL, finished_at = now() WHERE id = att2 AND merchant_id = m AND EXISTS (SELECT 1 FROM moved)),
        posted AS (INSERT INTO ledger_transactions (id, merchant_id, mode, kind, charge_id, refund_id)
            SELECT t.id, m, 'test', t.kind, ch, NULL FROM unnest(ARRAY[ltx2]::text[], '{capture}'::text[]) AS t(id, kind)
            WHERE EXISTS (SELECT 1 FROM moved)),
        entries AS (INSERT INTO ledger_entries (transaction_id, line, account_id, currency, amount, merchant_id, mode)
            SELECT t.id, t.line, a.id, 'EUR', t.amount, a.merchant_id, a.mode
            FROM unnest(ARRAY[ltx2,ltx2,ltx2,ltx2,ltx2]::text[], '{0,1,2,3,4}'::smallint[],
                        '{authorization_payable,authorization_receivable,processor_receivable,merchant_pending,fee_revenue}'::text[],
                        '{2500,-2500,2500,-2398,-102}'::bigint[]) AS t(id, line, kind, amount)
            JOIN ledger_accounts a ON a.merchant_id = m AND a.mode = 'test' AND a.currency = 'EUR' AND a.kind = t.kind
            WHERE EXISTS (SELECT 1 FROM moved)
            ON CONFLICT (transaction_id, line, merchant_id) DO NOTHING
            RETURNING 1),
        audited AS (INSERT INTO audit_log (id, merchant_id, mode, actor, action, object_type, object_id, request_id, data)
            SELECT a.id, m, 'test', 'api', a.action, a.object_type, a.object_id, a.request_id, a.data
            FROM unnest(ARRAY[aud3]::text[], '{charge.captured}'::text[], '{charge}'::text[], ARRAY[ch]::text[], '{NULL}'::text[],
                        ARRAY['{"status":"captured"}']::jsonb[]) AS a(id, action, object_type, object_id, request_id, data)
            WHERE EXISTS (SELECT 1 FROM moved)),
        emitted AS (INSERT INTO events (id, merchant_id, mode, type, object_id, data)
            SELECT v.id, m, 'test', v.type, v.object_id, v.data
            FROM unnest(ARRAY[evt2]::text[], '{charge.captured}'::text[], ARRAY[ch]::text[],
                        ARRAY['{"object":{"object":"charge","status":"captured","amount":2500}}']::jsonb[]) AS v(id, type, object_id, data)
            WHERE EXISTS (SELECT 1 FROM moved)),
        delivered AS (INSERT INTO webhook_deliveries (id, event_id, endpoint_id, merchant_id, mode, status)
            SELECT ('{}'::text[])[row_number() OVER ()], v.id, e.id, m, 'test', 'pending'
            FROM unnest(ARRAY[evt2]::text[], '{charge.captured}'::text[]) AS v(id, type) JOIN webhook_endpoints e ON
                 e.merchant_id = m AND e.mode = 'test' AND e.enabled
                 AND (v.type = ANY(e.enabled_events) OR '*' = ANY(e.enabled_events))
            WHERE EXISTS (SELECT 1 FROM moved) RETURNING 1)
    SELECT (SELECT count(*) FROM moved), 1 / ((SELECT count(*) FROM entries) = 5 OR NOT EXISTS (SELECT 1 FROM moved))::int,
        (SELECT count(*) FROM (SELECT pg_notify('paygate_webhook_deliveries_due', '') FROM delivered LIMIT 1) AS woken)
            INTO moved_rows, balanced, notified;
END;
$$;
