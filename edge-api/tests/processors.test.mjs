// Real processors through the real edge: a merchant routed to Stripe (its fake, a process of its own) takes a
// card end to end, the card number reaching only the fake Stripe; and routing fails over, on workerd, when
// the first processor refuses connections.
import { test } from 'node:test';
import crypto from 'node:crypto';
import { startStack, startHttpServer, call, eventually, TEST_CARD } from './helpers.mjs';

let counter = 0;
const uniqueKey = () => `proc-${Date.now()}-${counter++}`;

/// Routes the stack's merchant's test payments: its Stripe account (the fake's key) by a rule, the sandbox
/// by default.
async function routeToStripe(t, stack) {
  const account = await call(stack.edge, stack.keys.skTest, 'POST', '/v1/processor_accounts',
    { connector: 'stripe', display_name: 'Stripe', credentials: { secret_key: stack.stripe.key } });
  t.assert.equal(account.status, 201, account.text);
  t.assert.ok(!account.text.includes(stack.stripe.key), 'the secret key is never answered');
  const accounts = await call(stack.edge, stack.keys.skTest, 'GET', '/v1/processor_accounts');
  const sandbox = accounts.json.data.find((a) => a.connector === 'sandbox');
  const routing = await call(stack.edge, stack.keys.skTest, 'PUT', '/v1/routing',
    { rules: [{ conditions: { payment_methods: ['card'] }, account: account.json.id }], default: sandbox.id });
  t.assert.equal(routing.status, 200, routing.text);
  return account.json.id;
}

test('a merchant routed to Stripe takes a card from token to webhooks, then Checkout.com a sale; the card reaches only the processors', async (t) => {
  const stack = await startStack({ worker: true });
  const received = [];
  const receiver = await startHttpServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk)).on('end', () => {
      received.push(JSON.parse(body));
      res.writeHead(200).end();
    });
  });
  t.after(async () => {
    await receiver.close();
    await stack.stop();
  });
  const hook = await call(stack.edge, stack.keys.skTest, 'POST', '/v1/webhook_endpoints',
    { url: `${receiver.url}/hooks`, enabled_events: ['*'] });
  t.assert.equal(hook.status, 201, hook.text);
  const accountId = await routeToStripe(t, stack);

  // An Amex with a distinctive four-digit CVC, to search for afterwards.
  const card = { number: '378282246310005', exp_month: 10, exp_year: 2032, cvc: '9173' };
  const token = await call(stack.edge, stack.keys.pkTest, 'POST', '/v1/tokens', { card });
  t.assert.equal(token.status, 201, token.text);
  const charge = await call(stack.edge, stack.keys.skTest, 'POST', '/v1/charges',
    { amount: 5_000, currency: 'usd', source: token.json.id, capture: false }, { 'idempotency-key': uniqueKey() });
  t.assert.equal(charge.status, 201, charge.text);
  t.assert.equal(charge.json.status, 'authorized', charge.text);
  t.assert.deepEqual(charge.json.processor, { account: accountId, connector: 'stripe', routing_rule: 0 });
  t.assert.equal(charge.json.payment_method_details.card.last4, '0005');

  const captured = await call(stack.edge, stack.keys.skTest, 'POST', `/v1/charges/${charge.json.id}/capture`, { amount: 4_000 });
  t.assert.equal(captured.json.status, 'captured', captured.text);
  const refund = await call(stack.edge, stack.keys.skTest, 'POST', '/v1/refunds',
    { charge: charge.json.id, amount: 1_500 }, { 'idempotency-key': uniqueKey() });
  t.assert.equal(refund.json.status, 'succeeded', refund.text);

  // Stripe's own books, read through its API with the account's key.
  const reference = stack.sql(`SELECT processor_reference FROM charges WHERE id = '${charge.json.id}'`);
  const intent = await (await fetch(`${stack.stripe.url}/v1/payment_intents/${reference}`,
    { headers: { authorization: `Bearer ${stack.stripe.key}` } })).json();
  t.assert.deepEqual([intent.status, intent.amount_received, intent.metadata.paygate_charge_id],
    ['succeeded', 4_000, charge.json.id]);

  const types = await eventually(() => {
    const ours = (e) => e.data.object.id === charge.json.id || e.data.object.charge === charge.json.id;
    const seen = received.filter(ours).map((e) => e.type);
    return ['charge.authorized', 'charge.captured', 'refund.succeeded'].every((type) => seen.includes(type)) && seen;
  }, 'the webhooks of the charge');
  t.assert.ok(types.includes('charge.refunded'), types.join());

  // Routing on the card: Mada (a local scheme, here co-badged with Visa) to the sandbox, the rest to Stripe.
  // The edge's vault describes the token without spending it.
  const accounts = await call(stack.edge, stack.keys.skTest, 'GET', '/v1/processor_accounts');
  const sandbox = accounts.json.data.find((a) => a.connector === 'sandbox').id;
  const byBrand = await call(stack.edge, stack.keys.skTest, 'PUT', '/v1/routing',
    { rules: [{ conditions: { brands: ['mada'] }, account: sandbox }], default: accountId });
  t.assert.equal(byBrand.status, 200, byBrand.text);
  for (const [number, connector] of [['4464040000000007', 'sandbox'], ['4242424242424242', 'stripe']]) {
    const cardToken = await call(stack.edge, stack.keys.pkTest, 'POST', '/v1/tokens',
      { card: { number, exp_month: 12, exp_year: 2034, cvc: '123' } });
    const routed = await call(stack.edge, stack.keys.skTest, 'POST', '/v1/charges',
      { amount: 1_000, currency: 'sar', source: cardToken.json.id }, { 'idempotency-key': uniqueKey() });
    t.assert.deepEqual([routed.json.status, routed.json.processor.connector], ['captured', connector], routed.text);
  }

  // Checkout.com: JSON with the expiry as numbers, filled in by the same vault.
  const checkout = await call(stack.edge, stack.keys.skTest, 'POST', '/v1/processor_accounts', {
    connector: 'checkout', display_name: 'Checkout.com',
    credentials: { secret_key: stack.checkout.key, processing_channel_id: 'pc_abcdefghijklmnopqrstuvwxyz' },
  });
  t.assert.equal(checkout.status, 201, checkout.text);
  await call(stack.edge, stack.keys.skTest, 'PUT', '/v1/routing', { default: checkout.json.id });
  const checkoutToken = await call(stack.edge, stack.keys.pkTest, 'POST', '/v1/tokens', { card });
  const sale = await call(stack.edge, stack.keys.skTest, 'POST', '/v1/charges',
    { amount: 2_000, currency: 'eur', source: checkoutToken.json.id }, { 'idempotency-key': uniqueKey() });
  t.assert.deepEqual([sale.json.status, sale.json.processor.connector], ['captured', 'checkout'], sale.text);

  const dump = stack.dump();
  const logs = stack.logs();
  for (const [where, text] of [['database', dump], ['backend log', logs.backend], ['edge log', logs.edge],
    ['worker log', logs.worker], ['sandbox log', logs.sandbox], ['fake Stripe log', logs.stripe],
    ['fake Checkout.com log', logs.checkout]]) {
    t.assert.ok(!text.includes(card.number), `card number in the ${where}`);
    t.assert.ok(!/\b9173\b/.test(text), `CVC in the ${where}`);
    t.assert.ok(!text.includes(stack.stripe.key), `Stripe secret key in the ${where}`);
  }
});

test('on workerd, a processor refusing connections fails over to the next account; one that answers does not', async (t) => {
  const stack = await startStack({ stripeDown: true });
  t.after(() => stack.stop());
  await routeToStripe(t, stack);
  const token = await call(stack.edge, stack.keys.pkTest, 'POST', '/v1/tokens', { card: TEST_CARD });
  const charge = await call(stack.edge, stack.keys.skTest, 'POST', '/v1/charges',
    { amount: 2_500, currency: 'usd', source: token.json.id, capture: false }, { 'idempotency-key': uniqueKey() });
  t.assert.equal(charge.status, 201, charge.text);
  t.assert.equal(charge.json.status, 'authorized', charge.text);
  t.assert.equal(charge.json.processor.connector, 'sandbox');
  t.assert.equal(stack.sql(`SELECT string_agg(processor || ':' || outcome, ',' ORDER BY id) FROM charge_attempts
    WHERE charge_id = '${charge.json.id}' AND operation = 'authorize'`), 'stripe:failed,sandbox:succeeded');
  const captured = await call(stack.edge, stack.keys.skTest, 'POST', `/v1/charges/${charge.json.id}/capture`);
  t.assert.equal(captured.json.status, 'captured', captured.text);
});

test('on workerd, a 429 from Stripe (documented as not processed) fails over to the next account', async (t) => {
  const stack = await startStack();
  t.after(() => stack.stop());
  await routeToStripe(t, stack);
  const fault = await fetch(`${stack.stripe.url}/_fake/accounts/${stack.stripe.key}/faults`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ fault: 'rate_limited' }),
  });
  t.assert.equal(fault.status, 201);
  const token = await call(stack.edge, stack.keys.pkTest, 'POST', '/v1/tokens', { card: TEST_CARD });
  const charge = await call(stack.edge, stack.keys.skTest, 'POST', '/v1/charges',
    { amount: 2_600, currency: 'usd', source: token.json.id, capture: false }, { 'idempotency-key': uniqueKey() });
  t.assert.deepEqual([charge.status, charge.json.status, charge.json.processor.connector],
    [201, 'authorized', 'sandbox'], charge.text);
  t.assert.equal(stack.sql(`SELECT string_agg(processor || ':' || outcome || ':' || coalesce(response_code, ''), ',' ORDER BY id)
    FROM charge_attempts WHERE charge_id = '${charge.json.id}' AND operation = 'authorize'`),
  'stripe:failed:not_processed,sandbox:succeeded:');
});

test('Mada through the edge: at a Saudi merchant a co-badged Visa-Mada card is a sale at Checkout.com; in Germany an ordinary card', async (t) => {
  const stack = await startStack();
  t.after(() => stack.stop());
  const mada = { number: '4464040000000007', exp_month: 12, exp_year: 2034, cvc: '123' };
  for (const [country, connector] of [['SA', 'checkout'], ['DE', 'stripe']]) {
    const shop = stack.newMerchant(country);
    const checkout = await call(stack.edge, shop.keys.skTest, 'POST', '/v1/processor_accounts', {
      connector: 'checkout', display_name: 'Checkout.com KSA', settings: { mada: true },
      credentials: { secret_key: stack.checkout.key, processing_channel_id: 'pc_abcdefghijklmnopqrstuvwxyz' },
    });
    t.assert.equal(checkout.status, 201, checkout.text);
    const stripe = await call(stack.edge, shop.keys.skTest, 'POST', '/v1/processor_accounts',
      { connector: 'stripe', display_name: 'Stripe', credentials: { secret_key: stack.stripe.key } });
    await call(stack.edge, shop.keys.skTest, 'PUT', '/v1/routing', { default: stripe.json.id });
    const token = await call(stack.edge, shop.keys.pkTest, 'POST', '/v1/tokens', { card: mada });
    t.assert.deepEqual(token.json.card.brands, ['mada', 'visa'], token.text);
    const authorize = await call(stack.edge, shop.keys.skTest, 'POST', '/v1/charges',
      { amount: 7_500, currency: 'sar', source: token.json.id, capture: false }, { 'idempotency-key': uniqueKey() });
    if (country === 'SA') {
      t.assert.deepEqual([authorize.status, authorize.json.param], [400, 'capture'], authorize.text);
      t.assert.match(authorize.json.detail, /Mada card at a Saudi merchant is a sale: capture must be true/);
      const sale = await call(stack.edge, shop.keys.skTest, 'POST', '/v1/charges',
        { amount: 7_500, currency: 'sar', source: token.json.id, capture: true }, { 'idempotency-key': uniqueKey() });
      t.assert.deepEqual([sale.status, sale.json.processor.connector], [201, connector], sale.text);
      // A sale: captured, or (Checkout.com confirms captures later) authorized with its capture pending.
      t.assert.ok(sale.json.status === 'captured'
        || (sale.json.status === 'authorized' && sale.json.pending_operation === 'capture'), sale.text);
      t.assert.equal(stack.sql(`SELECT amount FROM charge_attempts WHERE charge_id = '${sale.json.id}'
        AND operation = 'authorize' AND processor = 'checkout' AND outcome = 'succeeded'`), '7500');
      const void_ = await call(stack.edge, shop.keys.skTest, 'POST', `/v1/charges/${sale.json.id}/void`);
      t.assert.deepEqual([void_.status, void_.json.code], [409, 'invalid_state'], void_.text);
      t.assert.match(void_.json.detail, /Mada has no void: refund the charge instead/);
    } else {
      t.assert.deepEqual([authorize.status, authorize.json.status, authorize.json.processor.connector],
        [201, 'authorized', connector], authorize.text);
    }
  }
});

test('a Checkout.com webhook through the edge settles a pending capture once; a forged one changes nothing; a flood meets 429', async (t) => {
  const stack = await startStack({ vars: { RATE_LIMIT_PROCESSOR_EVENTS: '8/60' } });
  t.after(() => stack.stop());
  const webhookSecret = 'cko-webhook-secret-0123456789';
  const account = await call(stack.edge, stack.keys.skTest, 'POST', '/v1/processor_accounts', {
    connector: 'checkout', display_name: 'Checkout.com',
    credentials: { secret_key: stack.checkout.key, processing_channel_id: 'pc_abcdefghijklmnopqrstuvwxyz', webhook_secret: webhookSecret },
  });
  t.assert.equal(account.status, 201, account.text);
  t.assert.ok(!account.text.includes(webhookSecret), 'the webhook secret is never answered');
  await call(stack.edge, stack.keys.skTest, 'PUT', '/v1/routing', { default: account.json.id });
  const token = await call(stack.edge, stack.keys.pkTest, 'POST', '/v1/tokens', { card: TEST_CARD });
  const charge = await call(stack.edge, stack.keys.skTest, 'POST', '/v1/charges',
    { amount: 3_000, currency: 'eur', source: token.json.id, capture: false }, { 'idempotency-key': uniqueKey() });
  const capture = await call(stack.edge, stack.keys.skTest, 'POST', `/v1/charges/${charge.json.id}/capture`);
  t.assert.deepEqual([capture.status, capture.json.pending_operation], [202, 'capture'], capture.text);
  const payment = stack.sql(`SELECT processor_reference FROM charges WHERE id = '${charge.json.id}'`);
  const body = JSON.stringify({ id: 'evt_edge_1', type: 'payment_captured', data: { id: payment, action_id: 'act_1' } });
  const send = (signature) => stack.edge.fetch(`/v1/processor_events/checkout/${account.json.id}`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'cko-signature': signature }, body,
  });
  const forged = await send(crypto.createHmac('sha256', 'not-the-secret').update(body).digest('hex'));
  t.assert.equal(forged.status, 400, await forged.text());
  t.assert.equal(stack.sql(`SELECT count(*) FROM processor_events`), '0');
  const signature = crypto.createHmac('sha256', webhookSecret).update(body).digest('hex');
  const answers = await Promise.all([1, 2, 3].map(() => send(signature).then(async (r) => [r.status, (await r.json()).received])));
  t.assert.ok(answers.every(([status]) => status === 200), JSON.stringify(answers));
  t.assert.equal(answers.filter(([, received]) => received === 'applied').length, 1, JSON.stringify(answers));
  const after = await call(stack.edge, stack.keys.skTest, 'GET', `/v1/charges/${charge.json.id}`);
  t.assert.deepEqual([after.json.status, after.json.pending_operation], ['captured', null], after.text);
  const unknown = await stack.edge.fetch('/v1/processor_events/checkout/pa_00000000000000000000000000', {
    method: 'POST', headers: { 'content-type': 'application/json', 'cko-signature': signature }, body,
  });
  t.assert.equal(unknown.status, 404);
  // Anyone can reach this route: past the account's bucket, a 429 problem with Retry-After.
  const statuses = [];
  for (let i = 0; i < 8; i++) statuses.push((await send(signature)).status);
  t.assert.ok(statuses.includes(429), statuses.join());
  const limited = await send(signature);
  t.assert.equal(limited.status, 429);
  t.assert.ok(Number(limited.headers.get('retry-after')) > 0);
  t.assert.equal((await limited.json()).code, 'rate_limited');
});

test("Stripe's own library (stripe-node) signs a dashboard refund: the edge takes it and the books show it; what stripe-node refuses we refuse; the fake Stripe signs as Stripe does", async (t) => {
  const { default: Stripe } = await import('stripe');
  const stripeLib = new Stripe('sk_test_for_webhook_helpers_only');
  const stack = await startStack();
  const fromFake = [];
  const receiver = await startHttpServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk)).on('end', () => {
      fromFake.push({ body, header: req.headers['stripe-signature'] });
      res.writeHead(200).end();
    });
  });
  t.after(async () => {
    await receiver.close();
    await stack.stop();
  });
  const webhookSecret = 'whsec_stripe_node_interop_0123456789';
  // The fake Stripe sends this account's webhooks to a receiver here, to be checked with stripe-node.
  const registered = await fetch(`${stack.stripe.url}/_fake/accounts`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ secret_key: stack.stripe.key, webhook_url: `${receiver.url}/stripe`, webhook_secret: webhookSecret }),
  });
  t.assert.equal(registered.status, 201);
  const accountId = await routeToStripe(t, stack);
  const patched = await call(stack.edge, stack.keys.skTest, 'PATCH', `/v1/processor_accounts/${accountId}`,
    { credentials: { secret_key: stack.stripe.key, webhook_secret: webhookSecret } });
  t.assert.equal(patched.status, 200, patched.text);
  const token = await call(stack.edge, stack.keys.pkTest, 'POST', '/v1/tokens', { card: TEST_CARD });
  const charge = await call(stack.edge, stack.keys.skTest, 'POST', '/v1/charges',
    { amount: 2_500, currency: 'usd', source: token.json.id }, { 'idempotency-key': uniqueKey() });
  t.assert.equal(charge.json.status, 'captured', charge.text);
  const fakeEvent = await eventually(() => fromFake.find((m) => JSON.parse(m.body).type === 'payment_intent.succeeded'),
    "the fake Stripe's webhook");
  t.assert.equal(stripeLib.webhooks.constructEvent(fakeEvent.body, fakeEvent.header, webhookSecret).type,
    'payment_intent.succeeded', 'stripe-node verifies what the fake Stripe signed');

  // A partial refund made in Stripe's dashboard, as Stripe reports it: `charge.refunded` with the running total.
  const intent = stack.sql(`SELECT processor_reference FROM charges WHERE id = '${charge.json.id}'`);
  const payload = JSON.stringify({
    id: 'evt_dashboard_refund_1', object: 'event', type: 'charge.refunded',
    data: { object: { id: 'ch_stripe_1', object: 'charge', payment_intent: intent, amount: 2_500, amount_refunded: 700,
      refunded: false, refunds: { object: 'list', data: [{ id: 're_dashboard_1', amount: 700 }] } } },
  });
  const deliver = (header, body = payload) => stack.edge.fetch(`/v1/processor_events/stripe/${accountId}`,
    { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': header }, body });
  const now = Math.floor(Date.now() / 1000);
  const refusedByStripe = [
    ['stale', stripeLib.webhooks.generateTestHeaderString({ payload, secret: webhookSecret, timestamp: now - 301 })],
    ['another secret', stripeLib.webhooks.generateTestHeaderString({ payload, secret: 'whsec_not_this_one' })],
    ['no v1', `t=${now}`],
  ];
  for (const [why, header] of refusedByStripe) {
    t.assert.throws(() => stripeLib.webhooks.constructEvent(payload, header, webhookSecret), `stripe-node refuses: ${why}`);
    const answer = await deliver(header);
    t.assert.equal(answer.status, 400, `${why}: ${await answer.text()}`);
  }
  t.assert.equal(stack.sql(`SELECT count(*) FROM processor_events WHERE event_id = 'evt_dashboard_refund_1'`), '0');
  // During a secret rotation Stripe signs with both secrets: a header with the old one's v1 first still verifies.
  const fresh = stripeLib.webhooks.generateTestHeaderString({ payload, secret: webhookSecret });
  const old = stripeLib.webhooks.generateTestHeaderString({ payload, secret: 'whsec_old_secret', timestamp: Number(fresh.split(',')[0].slice(2)) });
  const rotating = `${fresh.split(',')[0]},${old.split(',')[1]},${fresh.split(',')[1]}`;
  t.assert.equal(stripeLib.webhooks.constructEvent(payload, rotating, webhookSecret).id, 'evt_dashboard_refund_1');
  const applied = await deliver(rotating);
  t.assert.deepEqual([applied.status, (await applied.json()).received], [200, 'applied']);
  const after = await call(stack.edge, stack.keys.skTest, 'GET', `/v1/charges/${charge.json.id}`);
  t.assert.deepEqual([after.json.status, after.json.amount_refunded], ['partially_refunded', 700], after.text);
  const refunds = await call(stack.edge, stack.keys.skTest, 'GET', `/v1/refunds?charge=${charge.json.id}`);
  t.assert.deepEqual(refunds.json.data.map((r) => [r.amount, r.status]), [[700, 'succeeded']], refunds.text);
  const listed = await call(stack.edge, stack.keys.skTest, 'GET', `/v1/processor_accounts/${accountId}/events`);
  t.assert.ok(listed.json.data.some((e) => e.processor_event_id === 'evt_dashboard_refund_1' && e.outcome === 'applied'), listed.text);
});
