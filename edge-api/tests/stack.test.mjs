// The edge in front of the real backend, PostgreSQL and the sandbox acquirer: the whole path with keys,
// tokens, charges, captures and refunds; authentication; idempotency; the vault's guarantees.
import { test, before, after } from 'node:test';
import { startStack, call, expectProblem, TEST_CARD } from './helpers.mjs';

let stack;
before(async () => {
  // Short lifetimes so expiry can be watched: idempotency records 3 s, unused tokens 4 s.
  stack = await startStack({ vars: { IDEMPOTENCY_TTL_SECONDS: '3', VAULT_TOKEN_TTL_SECONDS: '4', RATE_LIMIT_PER_KEY: '1000/1' } });
});
after(async () => {
  await stack?.stop();
});

async function tokenize(card = TEST_CARD, key = stack.keys.pkTest) {
  const answer = await call(stack.edge, key, 'POST', '/v1/tokens', { card });
  return answer;
}

let counter = 0;
const uniqueKey = () => `key-${Date.now()}-${counter++}`;

test('a card goes from token to charge, capture and refund with curl-like calls', async (t) => {
  const token = await tokenize();
  t.assert.equal(token.status, 201, token.text);
  t.assert.match(token.json.id, /^tok_[0-9a-z]{26}$/);
  t.assert.deepEqual(
    { brand: token.json.card.brand, last4: token.json.card.last4, exp_month: token.json.card.exp_month, livemode: token.json.livemode },
    { brand: 'visa', last4: '4242', exp_month: 12, livemode: false },
  );
  t.assert.match(token.json.card.fingerprint, /^[0-9a-f]{32}$/);
  t.assert.equal(token.headers.get('access-control-allow-origin'), '*');

  const charge = await call(stack.edge, stack.keys.skTest, 'POST', '/v1/charges',
    { amount: 2_000, currency: 'eur', source: token.json.id, capture: false }, { 'idempotency-key': uniqueKey() });
  t.assert.equal(charge.status, 201, charge.text);
  t.assert.equal(charge.json.status, 'authorized');
  t.assert.equal(charge.json.payment_method_details.card.last4, '4242');
  t.assert.equal(charge.json.payment_method_details.card.fingerprint, token.json.card.fingerprint);

  const captured = await call(stack.edge, stack.keys.skTest, 'POST', `/v1/charges/${charge.json.id}/capture`, { amount: 1_500 });
  t.assert.equal(captured.status, 200, captured.text);
  t.assert.equal(captured.json.status, 'captured');
  t.assert.equal(captured.json.amount_captured, 1_500);

  const refund = await call(stack.edge, stack.keys.skTest, 'POST', '/v1/refunds', { charge: charge.json.id, amount: 500 }, { 'idempotency-key': uniqueKey() });
  t.assert.equal(refund.status, 201, refund.text);
  t.assert.equal(refund.json.status, 'succeeded');

  const fetched = await call(stack.edge, stack.keys.skTest, 'GET', `/v1/charges/${charge.json.id}`);
  t.assert.equal(fetched.json.status, 'partially_refunded');
  t.assert.equal(fetched.headers.get('access-control-allow-origin'), null, 'no CORS on secret routes');

  // A token works once.
  const again = await call(stack.edge, stack.keys.skTest, 'POST', '/v1/charges',
    { amount: 2_000, currency: 'EUR', source: token.json.id }, { 'idempotency-key': uniqueKey() });
  t.assert.equal(again.status, 201, again.text);
  t.assert.equal(again.json.status, 'failed');
  t.assert.equal(again.json.failure_code, 'token_used');
});

test('no card number or CVC reaches the backend, its database or any log', async (t) => {
  // An Amex, for a distinctive four-digit CVC that can be searched for unquoted: a CVC stored in a text
  // column shows in pg_dump's COPY lines between tabs, with no quotes around it.
  const card = { number: '371449635398431', exp_month: 11, exp_year: 2033, cvc: '8642' };
  const token = await tokenize(card);
  t.assert.equal(token.status, 201, token.text);
  const charge = await call(stack.edge, stack.keys.skTest, 'POST', '/v1/charges',
    { amount: 4_100, currency: 'USD', source: token.json.id }, { 'idempotency-key': uniqueKey() });
  t.assert.equal(charge.json.status, 'captured', charge.text);
  const refund = await call(stack.edge, stack.keys.skTest, 'POST', '/v1/refunds', { charge: charge.json.id }, { 'idempotency-key': uniqueKey() });
  t.assert.equal(refund.json.status, 'succeeded', refund.text);
  const dump = stack.dump();
  t.assert.ok(dump.includes(charge.json.id), 'the dump holds the charge');
  t.assert.ok(dump.includes('8431'), 'last 4 may be stored');
  const logs = stack.logs();
  for (const [where, text] of [['database', dump], ['backend log', logs.backend], ['edge log', logs.edge]]) {
    t.assert.ok(!text.includes(card.number), `card number in the ${where}`);
    t.assert.ok(!text.includes('3714 496353 98431'), `spaced card number in the ${where}`);
    t.assert.ok(!/\b8642\b/.test(text), `CVC in the ${where}`);
  }
});

test('keys: missing, malformed, unknown, wrong type and wrong mode are refused before the backend', async (t) => {
  const before = stack.sql('SELECT count(*) FROM charges');
  const body = { amount: 100, currency: 'EUR', source: 'tok_00000000000000000000000000' };
  const headers = { 'content-type': 'application/json', 'idempotency-key': uniqueKey() };
  const post = (authorization) => stack.edge.fetch('/v1/charges', { method: 'POST', body: JSON.stringify(body), headers: authorization ? { ...headers, authorization } : headers });
  await expectProblem(t, await post(null), 401, 'authentication_required');
  await expectProblem(t, await post('Bearer nonsense'), 401, 'api_key_invalid');
  await expectProblem(t, await post(`Bearer sk_test_${'A'.repeat(40)}`), 401, 'api_key_invalid');
  await expectProblem(t, await post(`Bearer ${stack.keys.pkTest}`), 403, 'permission_denied');
  const tokenWithSecret = await call(stack.edge, stack.keys.skTest, 'POST', '/v1/tokens', { card: TEST_CARD });
  t.assert.equal(tokenWithSecret.status, 403);
  // Basic auth with the key as user name works as Bearer does (curl -u sk_test_…:).
  const basic = Buffer.from(`${stack.keys.skTest}:`).toString('base64');
  const listed = await stack.edge.fetch('/v1/charges', { headers: { authorization: `Basic ${basic}` } });
  t.assert.equal(listed.status, 200);
  // A live key sees no test objects.
  const liveList = await call(stack.edge, stack.keys.skLive, 'GET', '/v1/charges');
  t.assert.equal(liveList.status, 200);
  t.assert.deepEqual(liveList.json.data, []);
  t.assert.equal(stack.sql('SELECT count(*) FROM charges'), before, 'nothing reached the charges');
});

test("a revoked key stops working at once in the isolate the backend's notice reaches, though that isolate had it cached", async (t) => {
  const created = await call(stack.edge, stack.keys.skTest, 'POST', '/v1/api_keys', { kind: 'secret' });
  t.assert.equal(created.status, 201, created.text);
  const key = created.json.key;
  t.assert.equal((await call(stack.edge, key, 'GET', '/v1/balance')).status, 200);
  const revoked = await call(stack.edge, stack.keys.skTest, 'DELETE', `/v1/api_keys/${created.json.id}`);
  t.assert.equal(revoked.status, 200, revoked.text);
  await expectProblem(t, await stack.edge.fetch('/v1/balance', { headers: { authorization: `Bearer ${key}` } }), 401, 'api_key_invalid');
});

test('idempotency: concurrent identical charges make one, a changed body is refused, replays say so', async (t) => {
  const token = await tokenize();
  const key = uniqueKey();
  const body = { amount: 777, currency: 'EUR', source: token.json.id };
  const answers = await Promise.all(Array.from({ length: 100 }, () =>
    call(stack.edge, stack.keys.skTest, 'POST', '/v1/charges', body, { 'idempotency-key': key })));
  const ids = new Set(answers.filter((a) => a.status === 201 || a.status === 200).map((a) => a.json.id));
  t.assert.equal(ids.size, 1, `one charge: ${[...ids]}`);
  for (const answer of answers) {
    t.assert.ok([200, 201, 409].includes(answer.status), `${answer.status} ${answer.text}`);
    if (answer.status === 409) t.assert.equal(answer.json.code, 'idempotency_in_flight');
  }
  t.assert.equal(stack.sql(`SELECT count(*) FROM charges WHERE idempotency_key = '${key}'`), '1');
  // The edge records the answer just after sending it; a retry in that instant is told 409 and retries.
  let replay;
  for (let i = 0; i < 20; i++) {
    replay = await call(stack.edge, stack.keys.skTest, 'POST', '/v1/charges', body, { 'idempotency-key': key });
    if (replay.status !== 409) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  t.assert.equal(replay.status, 201);
  t.assert.equal(replay.headers.get('idempotent-replayed'), 'true');
  t.assert.equal(replay.json.id, [...ids][0]);
  const changed = await call(stack.edge, stack.keys.skTest, 'POST', '/v1/charges', { ...body, amount: 778 }, { 'idempotency-key': key });
  t.assert.equal(changed.status, 422);
  t.assert.equal(changed.json.code, 'idempotency_key_reused');
  const missing = await call(stack.edge, stack.keys.skTest, 'POST', '/v1/charges', body);
  t.assert.equal(missing.status, 400);
  t.assert.equal(missing.json.code, 'idempotency_key_missing');
  const tooLong = await call(stack.edge, stack.keys.skTest, 'POST', '/v1/charges', body, { 'idempotency-key': 'k'.repeat(256) });
  t.assert.equal(tooLong.json.code, 'idempotency_key_invalid');
  // After the record expires (3 s in this stack) the edge forgets it; the backend still returns the first charge.
  await new Promise((resolve) => setTimeout(resolve, 4_500));
  const afterExpiry = await call(stack.edge, stack.keys.skTest, 'POST', '/v1/charges', body, { 'idempotency-key': key });
  t.assert.equal(afterExpiry.headers.get('idempotent-replayed'), null, 'the edge record is gone');
  t.assert.equal(afterExpiry.json.id, [...ids][0], 'the backend deduplicates');
});

test('idempotency keys follow one rule at edge and backend; a refused request stores nothing, an outcome is replayed', async (t) => {
  const charge = (body, key) => call(stack.edge, stack.keys.skTest, 'POST', '/v1/charges', body, { 'idempotency-key': key });
  // A key with a space passes both sides (they share core's rule), and its charge is created once. (Cards
  // other than the usual test card: its per-card token limit is left for the tests that need it.)
  const token = await tokenize({ ...TEST_CARD, number: '4000056655665556' });
  const spaced = `order ${uniqueKey()}`;
  const first = await charge({ amount: 300, currency: 'EUR', source: token.json.id }, spaced);
  t.assert.equal(first.status, 201, first.text);
  // Refused before execution (validation): nothing is stored, so the corrected request may use the key.
  const key = uniqueKey();
  const other = await tokenize({ ...TEST_CARD, number: '5555555555554444' });
  const refused = await charge({ amount: -5, currency: 'EUR', source: other.json.id }, key);
  t.assert.deepEqual([refused.status, refused.json.code, refused.json.param], [400, 'parameter_invalid', 'amount']);
  const corrected = await charge({ amount: 500, currency: 'EUR', source: other.json.id }, key);
  t.assert.equal(corrected.status, 201, corrected.text);
  t.assert.equal(corrected.headers.get('idempotent-replayed'), null);
  // Once executed, the outcome is kept, a decline included: the retry gets the same failed charge.
  const declining = await tokenize({ ...TEST_CARD, number: '4000000000000002' });
  const declineKey = uniqueKey();
  const declined = await charge({ amount: 400, currency: 'EUR', source: declining.json.id }, declineKey);
  t.assert.deepEqual([declined.status, declined.json.status, declined.json.failure_code], [201, 'failed', 'generic_decline']);
  let again;
  for (let i = 0; i < 20; i++) {
    again = await charge({ amount: 400, currency: 'EUR', source: declining.json.id }, declineKey);
    if (again.status !== 409) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  t.assert.equal(again.headers.get('idempotent-replayed'), 'true', again.text);
  t.assert.equal(again.json.id, declined.json.id);
  // A malformed key is refused by the edge with the parameter named, and nothing reaches the backend.
  const malformed = await charge({ amount: 500, currency: 'EUR', source: other.json.id }, 'tab\there');
  t.assert.deepEqual([malformed.status, malformed.json.code, malformed.json.param], [400, 'idempotency_key_invalid', 'Idempotency-Key']);
});

test('bad input gets problems naming the field', async (t) => {
  const cases = [
    [{ card: { ...TEST_CARD, number: '4242424242424241' } }, 400, 'card_number_invalid', 'card.number'],
    [{ card: { ...TEST_CARD, exp_month: 13 } }, 400, 'expiry_invalid', 'card.exp_month'],
    [{ card: { ...TEST_CARD, exp_year: 2020 } }, 400, 'card_expired', 'card.exp_year'],
    [{ card: { ...TEST_CARD, cvc: '12' } }, 400, 'cvc_invalid', 'card.cvc'],
    [{ card: { ...TEST_CARD, pin: '1234' } }, 400, 'parameter_unknown', 'card.pin'],
    [{ card: { ...TEST_CARD, number: undefined } }, 400, 'parameter_missing', 'card.number'],
    [{ cards: [] }, 400, 'parameter_unknown', 'cards'],
  ];
  for (const [body, status, code, param] of cases) {
    const answer = await call(stack.edge, stack.keys.pkTest, 'POST', '/v1/tokens', body);
    t.assert.equal(answer.status, status, JSON.stringify(body));
    t.assert.deepEqual([answer.json.code, answer.json.param], [code, param], JSON.stringify(body));
  }
  const raw = (init) => stack.edge.fetch('/v1/tokens', { method: 'POST', ...init, headers: { authorization: `Bearer ${stack.keys.pkTest}`, ...init.headers } });
  await expectProblem(t, await raw({ body: '{"card":', headers: { 'content-type': 'application/json' } }), 400, 'body_malformed');
  await expectProblem(t, await raw({ body: 'card=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415, 'unsupported_media_type');
  await expectProblem(t, await raw({ body: JSON.stringify({ card: TEST_CARD, pad: 'x'.repeat(70_000) }), headers: { 'content-type': 'application/json' } }), 413, 'payload_too_large');
  const charge = await call(stack.edge, stack.keys.skTest, 'POST', '/v1/charges', { amount: -1, currency: 'EUR', source: 'tok_00000000000000000000000000' }, { 'idempotency-key': uniqueKey() });
  t.assert.deepEqual([charge.status, charge.json.code, charge.json.param], [400, 'parameter_invalid', 'amount']);
  // Through the edge too: an empty JSON body is "missing" (400, not 415), NUL and invalid UTF-8 in a path id
  // are simply not found, a NUL in metadata names the field.
  const secret = (urlPath, init) => stack.edge.fetch(urlPath, { ...init, headers: { authorization: `Bearer ${stack.keys.skTest}`, ...init.headers } });
  const empty = await expectProblem(t, await secret('/v1/charges', { method: 'POST', body: '', headers: { 'content-type': 'application/json', 'idempotency-key': uniqueKey() } }), 400, 'body_malformed');
  t.assert.match(empty.detail, /missing/);
  for (const id of ['%00', '%ff', 're_01jd3x0000000000000000000a']) {
    await expectProblem(t, await secret(`/v1/charges/${id}`, { method: 'GET' }), 404, 'resource_not_found');
  }
  const nul = await call(stack.edge, stack.keys.skTest, 'POST', '/v1/charges', { amount: 1, currency: 'EUR', source: 'tok_00000000000000000000000000', metadata: { order: 'a\u0000' } }, { 'idempotency-key': uniqueKey() });
  t.assert.deepEqual([nul.status, nul.json.code, nul.json.param], [400, 'parameter_invalid', 'metadata.order']);
});

test('a backend that is down at key lookup gives a 503 problem that names no key', async (t) => {
  // Its own edge, pointing at a port nobody listens on, but sharing the stack's secrets and keys cache
  // is not possible across instances: so only the key lookup can fail here, which is the point.
  const { startEdge } = await import('./helpers.mjs');
  const edge = await startEdge({ backendUrl: 'http://127.0.0.1:9', secrets: stack.secrets });
  t.after(() => edge.dispose());
  const answer = await edge.fetch('/v1/charges', { headers: { authorization: `Bearer ${stack.keys.skTest}` } });
  const problem = await expectProblem(t, answer, 503, 'service_unavailable');
  t.assert.ok(problem.detail === undefined || !problem.detail.includes('sk_'), 'no key in the problem');
});

test('an unused token expires: a charge with it after its lifetime fails with token_used', async (t) => {
  const token = await tokenize();
  t.assert.equal(token.status, 201);
  await new Promise((resolve) => setTimeout(resolve, 5_000));
  const charge = await call(stack.edge, stack.keys.skTest, 'POST', '/v1/charges',
    { amount: 100, currency: 'EUR', source: token.json.id }, { 'idempotency-key': uniqueKey() });
  t.assert.equal(charge.status, 201, charge.text);
  t.assert.deepEqual([charge.json.status, charge.json.failure_code], ['failed', 'token_used']);
});

test('token creation is rate limited per card: card testing meets 429 with Retry-After', async (t) => {
  const card = { number: '378282246310005', exp_month: 1, exp_year: 2031, cvc: '1234' };
  const answers = [];
  for (let i = 0; i < 7; i++) answers.push(await tokenize(card));
  t.assert.deepEqual(answers.map((a) => a.status), [201, 201, 201, 201, 201, 429, 429]);
  const refused = answers[5];
  t.assert.equal(refused.json.code, 'rate_limited');
  t.assert.ok(Number(refused.headers.get('retry-after')) >= 1);
  t.assert.equal(refused.headers.get('ratelimit-limit'), '5');
  t.assert.equal(refused.headers.get('ratelimit-remaining'), '0');
  // Another card from the same place still works (the per-IP limit is wider).
  t.assert.equal((await tokenize({ ...TEST_CARD, number: '5555555555554444' })).status, 201);
});

test('the backend cannot be reached around the edge: unsigned, forged and replayed requests get 401', async (t) => {
  const crypto = await import('node:crypto');
  // An independent implementation of the edge signature (core::signature::edge), as an attacker who
  // captured a signed request would replay it.
  const sign = (secretHex, { timestamp, method, path, body, merchant, mode, requestId }) => {
    const bodyHash = crypto.createHash('sha256').update(body).digest('hex');
    const canonical = ['paygate-v1', timestamp, method, path, bodyHash, merchant, mode, requestId, ''].join('\n');
    return `v1=${crypto.createHmac('sha256', Buffer.from(secretHex, 'hex')).update(canonical).digest('hex')}`;
  };
  const request = { timestamp: Math.floor(Date.now() / 1000), method: 'GET', path: '/v1/balance', body: '', merchant: stack.merchant, mode: 'test', requestId: 'req_01m7ymsyrdk55y965vzha698rx' };
  const send = (signature) => fetch(`${stack.backendUrl}${request.path}`, {
    headers: {
      'paygate-signature': signature, 'paygate-timestamp': String(request.timestamp), 'paygate-merchant': request.merchant,
      'paygate-mode': request.mode, 'request-id': request.requestId,
    },
  });
  t.assert.equal((await fetch(`${stack.backendUrl}/v1/balance`)).status, 401, 'unsigned');
  t.assert.equal((await send(sign('00'.repeat(32), request))).status, 401, 'forged');
  const genuine = sign(stack.secrets.PAYGATE_EDGE_SECRET, request);
  t.assert.equal((await send(genuine)).status, 200, 'the signature is right');
  t.assert.equal((await send(genuine)).status, 401, 'replayed');
});

test('vault-forward contract on the real edge: a token serves only its merchant and mode, once', async (t) => {
  const other = stack.newMerchant();
  const token = await tokenize();
  const charge = (key, source) => call(stack.edge, key, 'POST', '/v1/charges',
    { amount: 300, currency: 'EUR', source }, { 'idempotency-key': uniqueKey() });
  // Another merchant cannot spend it: its charge fails, the token survives.
  const stolen = await charge(other.keys.skTest, token.json.id);
  t.assert.equal(stolen.status, 201, stolen.text);
  t.assert.deepEqual([stolen.json.status, stolen.json.failure_code], ['failed', 'token_used']);
  t.assert.equal(stolen.json.payment_method_details, null, 'nothing of the card is told');
  // This merchant's live key has no live processor account: refused before the vault is asked.
  const live = await charge(stack.keys.skLive, token.json.id);
  t.assert.equal(live.status, 409, live.text);
  t.assert.equal(live.json.code, 'processor_not_configured');
  const own = await charge(stack.keys.skTest, token.json.id);
  t.assert.equal(own.json.status, 'captured', own.text);
  // Live mode may reach only the https hosts of PROCESSOR_LIVE_HOSTS (none here): a live Stripe account
  // is refused by the edge before the token is spent, and the account says why.
  const account = await call(stack.edge, stack.keys.skLive, 'POST', '/v1/processor_accounts',
    { connector: 'stripe', display_name: 'Live', credentials: { secret_key: 'sk_live_51abcdefghijklmnop' } });
  t.assert.equal(account.status, 201, account.text);
  const routed = await call(stack.edge, stack.keys.skLive, 'PUT', '/v1/routing', { default: account.json.id });
  t.assert.equal(routed.status, 200, routed.text);
  const liveToken = await tokenize(TEST_CARD, stack.keys.pkLive);
  t.assert.equal(liveToken.json.livemode, true);
  const refused = await charge(stack.keys.skLive, liveToken.json.id);
  t.assert.deepEqual([refused.json.status, refused.json.failure_code], ['failed', 'processor_misconfigured'], refused.text);
  const explained = await call(stack.edge, stack.keys.skLive, 'GET', `/v1/processor_accounts/${account.json.id}`);
  t.assert.match(explained.json.problem, /does not allow this processor/);
  t.assert.equal(stack.sql(`SELECT count(*) FROM charges WHERE mode = 'live' AND status <> 'failed'`), '0');
});

test('the request id travels from the edge to the backend and back', async (t) => {
  const answer = await call(stack.edge, stack.keys.skTest, 'GET', '/v1/charges/ch_00000000000000000000000000');
  const problem = await expectProblem(t, new Response(answer.text, { status: answer.status, headers: answer.headers }), 404, 'resource_not_found');
  t.assert.match(problem.request_id, /^req_/);
  t.assert.ok(stack.logs().backend.includes(problem.request_id), 'the backend logged under the edge request id');
  const wrongMethod = await call(stack.edge, stack.keys.skTest, 'PUT', '/v1/charges', {});
  t.assert.deepEqual([wrongMethod.status, wrongMethod.json.code], [405, 'method_not_allowed']);
});

test('the backend audits each change under the API key the edge authenticated', async (t) => {
  // A card of its own: the per-card token limit (5 a minute) is spent on the test card by now.
  const token = await tokenize({ ...TEST_CARD, number: '5200828282828210' });
  t.assert.equal(token.status, 201, token.text);
  const charge = await call(stack.edge, stack.keys.skTest, 'POST', '/v1/charges',
    { amount: 600, currency: 'EUR', source: token.json.id }, { 'idempotency-key': uniqueKey() });
  t.assert.equal(charge.status, 201, charge.text);
  const actors = stack.sql(`SELECT DISTINCT actor FROM audit_log WHERE object_id = '${charge.json.id}'`).split('\n');
  const keyIds = stack.sql(`SELECT id FROM api_keys WHERE merchant_id = '${stack.merchant}' AND kind = 'secret' AND mode = 'test'`).split('\n');
  t.assert.equal(actors.length, 1, actors.join());
  t.assert.ok(keyIds.includes(actors[0]), `${actors[0]} is one of the merchant's secret keys`);
});
