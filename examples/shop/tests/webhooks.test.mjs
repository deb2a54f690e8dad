// The demo shop as the first real consumer of Paygate's webhooks: a charge made through the edge reaches
// the shop's server as signed events that the Standard Webhooks library verifies, also across a secret
// rotation; a forged webhook is refused.
import { test, before, after } from 'node:test';
import { startStack, call, eventually, TEST_CARD } from '../../../edge-api/tests/helpers.mjs';
import { createShop } from '../server.mjs';

let stack;
let shop;
let shopUrl;
before(async () => {
  stack = await startStack({ worker: true });
  shop = createShop({ edgeUrl: stack.edge.url, secretKey: stack.keys.skTest });
  shopUrl = await shop.listen();
});
after(async () => {
  await shop?.close();
  await stack?.stop();
});


test('a charge through the edge reaches the shop as verified webhooks, also across a rotation', async (t) => {
  const endpoint = await call(stack.edge, stack.keys.skTest, 'POST', '/v1/webhook_endpoints', { url: `${shopUrl}/webhooks`, enabled_events: ['*'] });
  t.assert.equal(endpoint.status, 201, endpoint.text);
  shop.webhookSecrets = [endpoint.json.secret];

  const token = await call(stack.edge, stack.keys.pkTest, 'POST', '/v1/tokens', { card: TEST_CARD });
  const answer = await fetch(`${shopUrl}/api/checkout`, { method: 'POST', body: JSON.stringify({ token: token.json.id, amount: 4_200, currency: 'EUR', order: 1001 }) });
  const charge = await answer.json();
  t.assert.equal(charge.status, 'captured', JSON.stringify(charge));
  const captured = await eventually(() => [...shop.events.values()].find((e) => e.type === 'charge.captured'), 'charge.captured');
  t.assert.equal(captured.data.object.id, charge.id);
  t.assert.equal(captured.data.object.metadata.order, '1001');

  // Rotate: Paygate signs with both secrets during the overlap; the shop switches to the new one alone.
  const rotated = await call(stack.edge, stack.keys.skTest, 'POST', `/v1/webhook_endpoints/${endpoint.json.id}/rotate_secret`, {});
  t.assert.equal(rotated.status, 200, rotated.text);
  shop.webhookSecrets = [rotated.json.secret];
  const refund = await call(stack.edge, stack.keys.skTest, 'POST', '/v1/refunds', { charge: charge.id, amount: 200 }, { 'idempotency-key': 'refund-1001' });
  t.assert.equal(refund.status, 201, refund.text);
  await eventually(() => [...shop.events.values()].find((e) => e.type === 'refund.succeeded'), 'refund.succeeded');
  t.assert.equal(shop.rejected, 0, 'every genuine webhook verified');
});

test('a forged webhook is refused', async (t) => {
  const forged = await fetch(`${shopUrl}/webhooks`, {
    method: 'POST',
    headers: { 'webhook-id': 'evt_forged', 'webhook-timestamp': String(Math.floor(Date.now() / 1000)), 'webhook-signature': 'v1,AAAA' },
    body: JSON.stringify({ type: 'charge.captured', data: { object: { id: 'ch_forged' } } }),
  });
  t.assert.equal(forged.status, 400);
  t.assert.ok(![...shop.events.keys()].includes('evt_forged'));
});
