// Apple Pay on the web's merchant validation through the edge, against the local stand-in of Apple's validation
// servers (`paygate-fake-apple`), which checks the request the way Apple documents it and answers a merchant session.
import { test, before, after } from 'node:test';
import { startStack, startFakeApple, call, expectProblem } from './helpers.mjs';

let stack;
let apple;
// Stands for the file Apple issues for Paygate's merchant id (hex text, as Apple's are).
const ASSOCIATION = '7B227073704964223A2246353236423831453430443143364642453937323436453833423234454230384130424242364443';
// What the stand-in of Apple received.
const received = async () => (await (await fetch(`${apple.url}/_fake/requests`)).json()).requests;
before(async () => {
  apple = await startFakeApple();
  stack = await startStack({ vars: { APPLE_PAY_MERCHANT_ID: 'merchant.dev.paygate', APPLE_PAY_TEST_VALIDATION_HOSTS: apple.host,
    APPLE_PAY_DOMAIN_ASSOCIATION: ASSOCIATION } });
});
after(async () => {
  await stack?.stop();
  apple?.stop();
});

test('a publishable key gets a merchant session from Apple for its registered shop domain, and none for another', async (t) => {
  // Not registered yet: refused before Apple is asked.
  const before = (await received()).length;
  const early = await call(stack.edge, stack.keys.pkTest, 'POST', '/v1/apple_pay/sessions',
    { validation_url: `${apple.url}/paymentservices/startSession`, domain: 'shop.example.com' });
  t.assert.deepEqual([early.status, early.json.param], [400, 'domain'], early.text);
  t.assert.equal((await received()).length, before);
  const registered = await call(stack.edge, stack.keys.skTest, 'POST', '/v1/apple_pay/domains', { domain_name: 'Shop.Example.com' }, { 'idempotency-key': 'register-shop-domain' });
  t.assert.equal(registered.status, 201, registered.text);
  t.assert.equal(registered.json.domain_name, 'shop.example.com');
  // A domain registered in test mode is not registered in live mode.
  const listedLive = await call(stack.edge, stack.keys.skLive, 'GET', '/v1/apple_pay/domains');
  t.assert.deepEqual(listedLive.json.data, []);
  const asked = { validation_url: `${apple.url}/paymentservices/startSession`, domain: 'shop.example.com', display_name: 'Demo shop' };
  const answer = await call(stack.edge, stack.keys.pkTest, 'POST', '/v1/apple_pay/sessions', asked);
  t.assert.equal(answer.status, 200, answer.text);
  t.assert.match(answer.json.merchantSessionIdentifier, /^SSH[0-9A-F]{16}$/);
  t.assert.equal(answer.json.domainName, 'shop.example.com');
  t.assert.equal(answer.headers.get('access-control-allow-origin'), '*');
  t.assert.deepEqual((await received()).at(-1),
    { merchantIdentifier: 'merchant.dev.paygate', displayName: 'Demo shop', initiative: 'web', initiativeContext: 'shop.example.com' });
  const preflight = await stack.edge.fetch('/v1/apple_pay/sessions', { method: 'OPTIONS' });
  t.assert.equal(preflight.status, 204);
  const config = await stack.edge.fetch(`/v1/public/config?key=${stack.keys.pkTest}`);
  t.assert.deepEqual((await config.json()).apple_pay, { enabled: true, merchant_id: 'merchant.dev.paygate' });
});

test('the edge serves Paygate\'s domain-association file for shops to host', async (t) => {
  const answer = await stack.edge.fetch('/.well-known/apple-developer-merchantid-domain-association');
  t.assert.equal(answer.status, 200);
  t.assert.equal(await answer.text(), ASSOCIATION);
  t.assert.match(answer.headers.get('content-type'), /^text\/plain/);
});

test('the validation URL must be Apple\'s, the domain a host name, the key publishable', async (t) => {
  const before = (await received()).length;
  const attempt = (key, body) => call(stack.edge, key, 'POST', '/v1/apple_pay/sessions', body);
  const cases = [
    [{ validation_url: 'https://evil.example.com/startSession', domain: 'shop.example.com' }, 'validation_url'],
    [{ validation_url: 'http://169.254.169.254/latest', domain: 'shop.example.com' }, 'validation_url'],
    [{ validation_url: `${apple.url}/x`, domain: 'https://shop.example.com/' }, 'domain'],
    [{ domain: 'shop.example.com' }, 'validation_url'],
    [{ validation_url: `${apple.url}/x`, domain: 'shop.example.com', amount: 1 }, 'amount'],
    [{ validation_url: `${apple.url}/x`, domain: 'other.example.com' }, 'domain'],
  ];
  for (const [body, param] of cases) {
    const answer = await attempt(stack.keys.pkTest, body);
    t.assert.equal(answer.status, 400, JSON.stringify(body));
    t.assert.equal(answer.json.param, param, JSON.stringify(body));
  }
  // The local stand-in is a test-mode host only.
  const live = await attempt(stack.keys.pkLive, { validation_url: `${apple.url}/x`, domain: 'shop.example.com' });
  t.assert.deepEqual([live.status, live.json.param], [400, 'validation_url']);
  await expectProblem(t, await stack.edge.fetch('/v1/apple_pay/sessions', {
    method: 'POST', body: JSON.stringify({ validation_url: `${apple.url}/x`, domain: 'shop.example.com' }),
    headers: { authorization: `Bearer ${stack.keys.skTest}`, 'content-type': 'application/json' },
  }), 403, 'permission_denied');
  t.assert.equal((await received()).length, before, 'nothing was sent for a refused request');
});
