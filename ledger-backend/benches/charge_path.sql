-- pgbench script: the SQL of one create (`capture: false`, sandbox) + capture, statement for statement as
-- the backend sends it (tests/api/statements.rs counts the same 10 statements and 4 hand-outs; compare the
-- listing it prints with `BENCH_STATEMENTS=90 make bench WHAT=statements`): the
-- same connection hand-outs (each scoped by one `set_config`, as `paygate_api` under row-level security),
-- the same four durable transactions (each one statement), without HTTP, processors or Rust. Its rate is the ceiling the HTTP
-- benchmark is compared with. Set up by scripts/pgbench_charges.sh (merchants, accounts, pricing, bench_id()).
\set n random(1, :merchants)
SELECT set_config('role', 'none', false);
SELECT id AS merchant, sandbox FROM bench_merchants WHERE n = :n \gset
SELECT bench_id('ch') AS ch, bench_id('att') AS att1, bench_id('att') AS att2, bench_id('ltx') AS ltx1,
       bench_id('ltx') AS ltx2, bench_id('aud') AS aud1, bench_id('aud') AS aud2, bench_id('aud') AS aud3,
       bench_id('evt') AS evt1, bench_id('evt') AS evt2, bench_id('tok') AS tok, md5(random()::text) || md5(random()::text) AS seen1,
       md5(random()::text) || md5(random()::text) AS seen2 \gset

-- POST /v1/charges. The signed request is recorded once (http::edge_auth), on an unscoped connection whose
-- hand-out sends nothing (db::unscoped).
INSERT INTO seen_requests (digest) VALUES (:seen1) ON CONFLICT DO NOTHING;
-- Routing's inputs in one read (routing::inputs: its table, the merchant's country, the accounts with their sealed
-- credentials), then on the same connection (one hand-out):
SELECT set_config('role', 'paygate_api', false), set_config('paygate.merchant_id', :merchant, false), set_config('paygate.mode', 'test', false);
SELECT (SELECT body FROM routing_tables WHERE merchant_id = :merchant AND mode = 'test') AS routing,
    (SELECT country FROM merchants WHERE id = :merchant) AS country,
    id, merchant_id, mode, connector, display_name, credentials_hint, settings, enabled, problem,
    extract(epoch FROM problem_at)::bigint AS problem_at, extract(epoch FROM created_at)::bigint AS created,
    (SELECT jsonb_build_object('pulled_until', floor(extract(epoch FROM p.pulled_until))::bigint,
        'last_pulled_at', floor(extract(epoch FROM p.last_pulled_at))::bigint,
        'next_pull_at', floor(extract(epoch FROM p.due_at))::bigint, 'failures', p.failures, 'last_error', p.last_error)
     FROM settlement_pulls p WHERE p.processor_account_id = processor_accounts.id) AS settlement_pull,
    credentials_sealed
    FROM processor_accounts WHERE merchant_id = :merchant AND mode = 'test' ORDER BY id;

-- 1. The idempotency record, the pending charge, its attempt and audit row, in one statement (its own
--    transaction, committed before the processor); the charge comes back (with its price
--    only for a sale, which this is not).
WITH claimed AS (INSERT INTO idempotency_records (merchant_id, mode, key, fingerprint, object_type, object_id, expires_at)
        VALUES (:merchant, 'test', :tok, repeat('a', 64), 'charge', :ch, now() + interval '1 day')
        ON CONFLICT (merchant_id, mode, key) DO NOTHING RETURNING object_id),
    charge AS (INSERT INTO charges (id, merchant_id, mode, status, currency, amount, capture, source, idempotency_key,
            processor, processor_account_id)
        SELECT :ch, :merchant, 'test', 'pending', 'EUR', 2500, false, :tok, :tok, 'sandbox', :sandbox FROM claimed
        RETURNING *),
    attempts AS (INSERT INTO charge_attempts (id, charge_id, merchant_id, mode, operation, amount, outcome, processor,
            processor_account_id)
        SELECT :att1, c.id, c.merchant_id, c.mode, 'authorize', 2500, 'started', 'sandbox', :sandbox FROM charge c),
    audited AS (INSERT INTO audit_log (id, merchant_id, mode, actor, action, object_type, object_id, request_id, data)
        SELECT :aud1, merchant_id, mode, 'api', 'charge.create', 'charge', id, 'req_bench', '{"amount":2500}' FROM charge)
SELECT id, status, amount, version, NULL::bigint[] AS pricing
    FROM charge AS charges;

-- 2. The processor's approval applied, in one statement (charges::change), on the charge as recorded (version 0):
--    the charge's columns, the attempt closed, the authorization posting, audit, event and its deliveries.
SELECT set_config('role', 'paygate_api', false), set_config('paygate.merchant_id', :merchant, false), set_config('paygate.mode', 'test', false);
WITH moved AS (UPDATE charges SET status = 'authorized', amount_authorized = 2500, amount_captured = 0, amount_refunded = 0,
        processor_reference = 'auth_1', pending_operation = NULL,
        authorization_expires_at = CASE WHEN 1796000000::bigint IS NOT DISTINCT FROM extract(epoch FROM authorization_expires_at)::bigint
            THEN authorization_expires_at ELSE to_timestamp(1796000000::bigint) END,
        next_action_url = NULL, action_expires_at = CASE WHEN NULL::bigint IS NOT DISTINCT FROM extract(epoch FROM action_expires_at)::bigint
            THEN action_expires_at ELSE to_timestamp(NULL::bigint) END,
        card_brand = 'visa', card_bin = '424242', card_last4 = '4242', card_exp_month = 12, card_exp_year = 2034,
        card_fingerprint = repeat('b', 32), failure_code = NULL, failure_message = NULL, failure_processor_code = NULL,
        updated_at = now()
        WHERE id = :ch AND merchant_id = :merchant AND version = 0
          AND (SELECT count(*) FROM ledger_accounts a WHERE a.merchant_id = :merchant AND a.mode = 'test' AND a.currency = 'EUR'
               AND a.kind = ANY('{authorization_payable,authorization_receivable}'::text[])) = 2
          AND (SELECT count(*) FROM unnest('{charge.authorized}'::text[]) AS v(type) JOIN webhook_endpoints e ON
               e.merchant_id = :merchant AND e.mode = 'test' AND e.enabled
               AND (v.type = ANY(e.enabled_events) OR '*' = ANY(e.enabled_events))) <= 8
        RETURNING id),
    closed AS (UPDATE charge_attempts SET outcome = 'succeeded', processor_reference = coalesce('auth_1', processor_reference),
        response_code = NULL, finished_at = now() WHERE id = :att1 AND merchant_id = :merchant AND EXISTS (SELECT 1 FROM moved)),
    posted AS (INSERT INTO ledger_transactions (id, merchant_id, mode, kind, charge_id, refund_id)
        SELECT t.id, :merchant, 'test', t.kind, :ch, NULL FROM unnest(ARRAY[:ltx1]::text[], '{authorization}'::text[]) AS t(id, kind)
        WHERE EXISTS (SELECT 1 FROM moved)),
    entries AS (INSERT INTO ledger_entries (transaction_id, line, account_id, currency, amount, merchant_id, mode)
        SELECT t.id, t.line, a.id, 'EUR', t.amount, a.merchant_id, a.mode
        FROM unnest(ARRAY[:ltx1,:ltx1]::text[], '{0,1}'::smallint[],
                    '{authorization_receivable,authorization_payable}'::text[],
                    '{2500,-2500}'::bigint[]) AS t(id, line, kind, amount)
        JOIN ledger_accounts a ON a.merchant_id = :merchant AND a.mode = 'test' AND a.currency = 'EUR' AND a.kind = t.kind
        WHERE EXISTS (SELECT 1 FROM moved)
        ON CONFLICT (transaction_id, line, merchant_id) DO NOTHING
        RETURNING 1),
    audited AS (INSERT INTO audit_log (id, merchant_id, mode, actor, action, object_type, object_id, request_id, data)
        SELECT a.id, :merchant, 'test', 'api', a.action, a.object_type, a.object_id, a.request_id, a.data
        FROM unnest(ARRAY[:aud2]::text[], '{charge.authorized}'::text[], '{charge}'::text[], ARRAY[:ch]::text[], '{NULL}'::text[],
                    ARRAY['{"status":"authorized"}']::jsonb[]) AS a(id, action, object_type, object_id, request_id, data)
        WHERE EXISTS (SELECT 1 FROM moved)),
    emitted AS (INSERT INTO events (id, merchant_id, mode, type, object_id, data)
        SELECT v.id, :merchant, 'test', v.type, v.object_id, v.data
        FROM unnest(ARRAY[:evt1]::text[], '{charge.authorized}'::text[], ARRAY[:ch]::text[],
                    ARRAY['{"object":{"object":"charge","status":"authorized","amount":2500}}']::jsonb[]) AS v(id, type, object_id, data)
        WHERE EXISTS (SELECT 1 FROM moved)),
    delivered AS (INSERT INTO webhook_deliveries (id, event_id, endpoint_id, merchant_id, mode, status)
        SELECT ('{}'::text[])[row_number() OVER ()], v.id, e.id, :merchant, 'test', 'pending'
        FROM unnest(ARRAY[:evt1]::text[], '{charge.authorized}'::text[]) AS v(id, type) JOIN webhook_endpoints e ON
             e.merchant_id = :merchant AND e.mode = 'test' AND e.enabled
             AND (v.type = ANY(e.enabled_events) OR '*' = ANY(e.enabled_events))
        WHERE EXISTS (SELECT 1 FROM moved) RETURNING 1)
SELECT (SELECT count(*) FROM moved), 1 / ((SELECT count(*) FROM entries) = 2 OR NOT EXISTS (SELECT 1 FROM moved))::int,
    (SELECT count(*) FROM (SELECT pg_notify('paygate_webhook_deliveries_due', '') FROM delivered LIMIT 1) AS woken);

-- POST /v1/charges/{id}/capture.
INSERT INTO seen_requests (digest) VALUES (:seen2) ON CONFLICT DO NOTHING;
-- 3. The claim: the charge read with its account's credentials, then the marker and the attempt in one
--    statement, its own transaction, conditional on the state read (committed before the processor is asked).
SELECT set_config('role', 'paygate_api', false), set_config('paygate.merchant_id', :merchant, false), set_config('paygate.mode', 'test', false);
SELECT id, status, amount, version,
    (SELECT a.connector FROM processor_accounts a WHERE a.id = charges.processor_account_id
        AND a.merchant_id = charges.merchant_id AND a.mode = charges.mode) AS account_connector,
    (SELECT a.credentials_sealed FROM processor_accounts a WHERE a.id = charges.processor_account_id
        AND a.merchant_id = charges.merchant_id AND a.mode = charges.mode) AS account_credentials,
    (SELECT ARRAY[p.basis_points::bigint, p.fixed_minor] FROM merchant_pricing p
     WHERE p.merchant_id = charges.merchant_id AND p.currency IN (charges.currency, '*')
       AND p.effective_from <= charges.created_at
     ORDER BY p.currency = '*', p.effective_from DESC LIMIT 1) AS pricing
    FROM charges WHERE id = :ch AND merchant_id = :merchant AND mode = 'test';
WITH claimed AS (UPDATE charges SET pending_operation = 'capture', updated_at = now()
        WHERE id = :ch AND status = 'authorized' AND pending_operation IS NULL AND merchant_id = :merchant
        RETURNING id, merchant_id, mode, processor, processor_account_id, version),
    attempt AS (INSERT INTO charge_attempts (id, charge_id, merchant_id, mode, operation, amount, outcome, processor,
            processor_account_id)
        SELECT :att2, id, merchant_id, mode, 'capture', 2500, 'started', coalesce(processor, 'sandbox'), processor_account_id
        FROM claimed)
SELECT version FROM claimed;

-- 4. The capture applied, in one statement on the charge as claimed (version 2): the charge's columns, the
--    attempt closed, the capture posting with its fee line, audit, event and its deliveries.
SELECT set_config('role', 'paygate_api', false), set_config('paygate.merchant_id', :merchant, false), set_config('paygate.mode', 'test', false);
WITH moved AS (UPDATE charges SET status = 'captured', amount_authorized = 2500, amount_captured = 2500, amount_refunded = 0,
        processor_reference = 'auth_1', pending_operation = NULL,
        authorization_expires_at = CASE WHEN NULL::bigint IS NOT DISTINCT FROM extract(epoch FROM authorization_expires_at)::bigint
            THEN authorization_expires_at ELSE to_timestamp(NULL::bigint) END,
        next_action_url = NULL, action_expires_at = CASE WHEN NULL::bigint IS NOT DISTINCT FROM extract(epoch FROM action_expires_at)::bigint
            THEN action_expires_at ELSE to_timestamp(NULL::bigint) END,
        card_brand = 'visa', card_bin = '424242', card_last4 = '4242', card_exp_month = 12, card_exp_year = 2034,
        card_fingerprint = repeat('b', 32), failure_code = NULL, failure_message = NULL, failure_processor_code = NULL,
        updated_at = now()
        WHERE id = :ch AND merchant_id = :merchant AND version = 2
          AND (SELECT count(*) FROM ledger_accounts a WHERE a.merchant_id = :merchant AND a.mode = 'test' AND a.currency = 'EUR'
               AND a.kind = ANY('{authorization_payable,authorization_receivable,fee_revenue,merchant_pending,processor_receivable}'::text[])) = 5
          AND (SELECT count(*) FROM unnest('{charge.captured}'::text[]) AS v(type) JOIN webhook_endpoints e ON
               e.merchant_id = :merchant AND e.mode = 'test' AND e.enabled
               AND (v.type = ANY(e.enabled_events) OR '*' = ANY(e.enabled_events))) <= 8
        RETURNING id),
    closed AS (UPDATE charge_attempts SET outcome = 'succeeded', processor_reference = coalesce(NULL, processor_reference),
        response_code = NULL, finished_at = now() WHERE id = :att2 AND merchant_id = :merchant AND EXISTS (SELECT 1 FROM moved)),
    posted AS (INSERT INTO ledger_transactions (id, merchant_id, mode, kind, charge_id, refund_id)
        SELECT t.id, :merchant, 'test', t.kind, :ch, NULL FROM unnest(ARRAY[:ltx2]::text[], '{capture}'::text[]) AS t(id, kind)
        WHERE EXISTS (SELECT 1 FROM moved)),
    entries AS (INSERT INTO ledger_entries (transaction_id, line, account_id, currency, amount, merchant_id, mode)
        SELECT t.id, t.line, a.id, 'EUR', t.amount, a.merchant_id, a.mode
        FROM unnest(ARRAY[:ltx2,:ltx2,:ltx2,:ltx2,:ltx2]::text[], '{0,1,2,3,4}'::smallint[],
                    '{authorization_payable,authorization_receivable,processor_receivable,merchant_pending,fee_revenue}'::text[],
                    '{2500,-2500,2500,-2398,-102}'::bigint[]) AS t(id, line, kind, amount)
        JOIN ledger_accounts a ON a.merchant_id = :merchant AND a.mode = 'test' AND a.currency = 'EUR' AND a.kind = t.kind
        WHERE EXISTS (SELECT 1 FROM moved)
        ON CONFLICT (transaction_id, line, merchant_id) DO NOTHING
        RETURNING 1),
    audited AS (INSERT INTO audit_log (id, merchant_id, mode, actor, action, object_type, object_id, request_id, data)
        SELECT a.id, :merchant, 'test', 'api', a.action, a.object_type, a.object_id, a.request_id, a.data
        FROM unnest(ARRAY[:aud3]::text[], '{charge.captured}'::text[], '{charge}'::text[], ARRAY[:ch]::text[], '{NULL}'::text[],
                    ARRAY['{"status":"captured"}']::jsonb[]) AS a(id, action, object_type, object_id, request_id, data)
        WHERE EXISTS (SELECT 1 FROM moved)),
    emitted AS (INSERT INTO events (id, merchant_id, mode, type, object_id, data)
        SELECT v.id, :merchant, 'test', v.type, v.object_id, v.data
        FROM unnest(ARRAY[:evt2]::text[], '{charge.captured}'::text[], ARRAY[:ch]::text[],
                    ARRAY['{"object":{"object":"charge","status":"captured","amount":2500}}']::jsonb[]) AS v(id, type, object_id, data)
        WHERE EXISTS (SELECT 1 FROM moved)),
    delivered AS (INSERT INTO webhook_deliveries (id, event_id, endpoint_id, merchant_id, mode, status)
        SELECT ('{}'::text[])[row_number() OVER ()], v.id, e.id, :merchant, 'test', 'pending'
        FROM unnest(ARRAY[:evt2]::text[], '{charge.captured}'::text[]) AS v(id, type) JOIN webhook_endpoints e ON
             e.merchant_id = :merchant AND e.mode = 'test' AND e.enabled
             AND (v.type = ANY(e.enabled_events) OR '*' = ANY(e.enabled_events))
        WHERE EXISTS (SELECT 1 FROM moved) RETURNING 1)
SELECT (SELECT count(*) FROM moved), 1 / ((SELECT count(*) FROM entries) = 5 OR NOT EXISTS (SELECT 1 FROM moved))::int,
    (SELECT count(*) FROM (SELECT pg_notify('paygate_webhook_deliveries_due', '') FROM delivered LIMIT 1) AS woken);
