-- pgbench script: the SQL of one create (authorize) + capture, as the backend sends it (see
-- domain::charges::{create, apply_authorization, operate, apply} and domain::journal), in the same four
-- database transactions, without HTTP, processors or Rust. Its rate is the ceiling the HTTP benchmark
-- is compared with. Set up by scripts/pgbench_charges.sh (merchants, pricing, the bench_id() function).
\set n random(1, :merchants)
SELECT id AS merchant FROM bench_merchants WHERE n = :n \gset
SELECT bench_id('ch') AS ch, bench_id('att') AS att1, bench_id('att') AS att2, bench_id('ltx') AS ltx1,
       bench_id('ltx') AS ltx2, bench_id('aud') AS aud1, bench_id('aud') AS aud2, bench_id('aud') AS aud3,
       bench_id('evt') AS evt1, bench_id('evt') AS evt2, bench_id('tok') AS tok \gset

-- 1. The idempotency record, the pending charge, its attempt and audit row (committed before the processor).
BEGIN;
INSERT INTO idempotency_records (merchant_id, mode, key, fingerprint, object_type, object_id, expires_at)
    VALUES (:merchant, 'test', :tok, repeat('a', 64), 'charge', :ch, now() + interval '1 day')
    ON CONFLICT (merchant_id, mode, key) DO NOTHING;
INSERT INTO charges (id, merchant_id, mode, status, currency, amount, capture, source, idempotency_key, processor)
    VALUES (:ch, :merchant, 'test', 'pending', 'EUR', 2500, false, :tok, :tok, 'sandbox');
INSERT INTO charge_attempts (id, charge_id, merchant_id, mode, operation, amount, outcome, processor)
    VALUES (:att1, :ch, :merchant, 'test', 'authorize', 2500, 'started', 'sandbox');
INSERT INTO audit_log (id, merchant_id, mode, actor, action, object_type, object_id, request_id, data)
    VALUES (:aud1, :merchant, 'test', 'api', 'charge.create', 'charge', :ch, 'req_bench', '{"amount":2500}');
COMMIT;

-- 2. The processor's approval applied: card details, status, attempt, the authorization posting, audit, event.
BEGIN;
SELECT id, status, amount FROM charges WHERE id = :ch AND status = 'pending' FOR UPDATE;
UPDATE charges SET card_brand = 'visa', card_bin = '424242', card_last4 = '4242', card_exp_month = 12,
    card_exp_year = 2034, card_fingerprint = repeat('b', 32), updated_at = now() WHERE id = :ch;
UPDATE charges SET status = 'authorized', amount_authorized = 2500, amount_captured = 0,
    processor_reference = 'auth_1', authorization_expires_at = now() + interval '7 days', updated_at = now()
    WHERE id = :ch AND status = 'pending';
UPDATE charge_attempts SET outcome = 'succeeded', processor_reference = 'auth_1', finished_at = now() WHERE id = :att1;
SELECT kind, id FROM ledger_accounts WHERE merchant_id = :merchant AND mode = 'test' AND currency = 'EUR'
    AND kind = ANY('{authorization_receivable,authorization_payable}');
INSERT INTO ledger_transactions (id, merchant_id, mode, kind, charge_id) VALUES (:ltx1, :merchant, 'test', 'authorization', :ch);
INSERT INTO ledger_entries (transaction_id, line, account_id, currency, amount)
    SELECT :ltx1, t.line, a.id, 'EUR', t.amount
    FROM (VALUES (0::smallint, 'authorization_receivable', 2500::bigint), (1, 'authorization_payable', -2500)) AS t(line, kind, amount)
    JOIN ledger_accounts a ON a.merchant_id = :merchant AND a.mode = 'test' AND a.currency = 'EUR' AND a.kind = t.kind;
INSERT INTO audit_log (id, merchant_id, mode, actor, action, object_type, object_id, data)
    VALUES (:aud2, :merchant, 'test', 'api', 'charge.authorized', 'charge', :ch, '{"status":"authorized"}');
SELECT id, status, amount, amount_captured FROM charges WHERE id = :ch;
INSERT INTO events (id, merchant_id, mode, type, object_id, data)
    VALUES (:evt1, :merchant, 'test', 'charge.authorized', :ch, '{"object":{"object":"charge","status":"authorized","amount":2500}}');
COMMIT;

-- 3. The capture's claim and attempt (committed before the processor is asked).
SELECT id, status, amount FROM charges WHERE id = :ch AND merchant_id = :merchant AND mode = 'test';
BEGIN;
UPDATE charges SET pending_operation = 'capture', updated_at = now()
    WHERE id = :ch AND status = 'authorized' AND pending_operation IS NULL;
INSERT INTO charge_attempts (id, charge_id, merchant_id, mode, operation, amount, outcome, processor)
    VALUES (:att2, :ch, :merchant, 'test', 'capture', 2500, 'started', 'sandbox');
COMMIT;

-- 4. The capture applied: pricing, the capture posting with its fee line, status, attempt, audit, event.
BEGIN;
SELECT id, status, amount FROM charges WHERE id = :ch AND pending_operation = 'capture' FOR UPDATE;
SELECT p.basis_points, p.fixed_minor FROM merchant_pricing p
    WHERE p.merchant_id = :merchant AND p.currency IN ('EUR', '*')
      AND p.effective_from <= (SELECT created_at FROM charges WHERE id = :ch)
    ORDER BY p.currency = '*', p.effective_from DESC LIMIT 1;
SELECT kind, id FROM ledger_accounts WHERE merchant_id = :merchant AND mode = 'test' AND currency = 'EUR'
    AND kind = ANY('{authorization_payable,authorization_receivable,processor_receivable,merchant_pending,fee_revenue}');
INSERT INTO ledger_transactions (id, merchant_id, mode, kind, charge_id) VALUES (:ltx2, :merchant, 'test', 'capture', :ch);
INSERT INTO ledger_entries (transaction_id, line, account_id, currency, amount)
    SELECT :ltx2, t.line, a.id, 'EUR', t.amount
    FROM (VALUES (0::smallint, 'authorization_payable', 2500::bigint), (1, 'authorization_receivable', -2500),
                 (2, 'processor_receivable', 2500), (3, 'merchant_pending', -2398), (4, 'fee_revenue', -102)) AS t(line, kind, amount)
    JOIN ledger_accounts a ON a.merchant_id = :merchant AND a.mode = 'test' AND a.currency = 'EUR' AND a.kind = t.kind;
UPDATE charges SET status = 'captured', amount_captured = 2500, pending_operation = NULL,
    authorization_expires_at = NULL, updated_at = now() WHERE id = :ch AND status = 'authorized';
UPDATE charge_attempts SET outcome = 'succeeded', finished_at = now() WHERE id = :att2;
INSERT INTO audit_log (id, merchant_id, mode, actor, action, object_type, object_id, data)
    VALUES (:aud3, :merchant, 'test', 'api', 'charge.captured', 'charge', :ch, '{"status":"captured"}');
SELECT id, status, amount, amount_captured FROM charges WHERE id = :ch;
INSERT INTO events (id, merchant_id, mode, type, object_id, data)
    VALUES (:evt2, :merchant, 'test', 'charge.captured', :ch, '{"object":{"object":"charge","status":"captured","amount":2500}}');
COMMIT;
SELECT id, status FROM charges WHERE id = :ch;
