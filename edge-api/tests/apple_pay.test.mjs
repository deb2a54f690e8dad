// Apple Pay on the web's merchant validation through the edge, against a local stand-in for Apple's
// validation server that checks the request the way Apple documents it and answers a merchant session.
import { test, before, after } from 'node:test';
import { startStack, startHttpServer, call, expectProblem } from './helpers.mjs';

let stack;
let apple;
const received = [];
before(async () => {
  apple = await startHttpServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const asked = JSON.parse(body);
      received.push({ url: req.url, asked });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({
        epochTimestamp: Date.now(), expiresAt: Date.now() + 3_600_000, merchantSessionIdentifier: 'SSH0000000000000000000',
        nonce: 'a1b2c3d4', merchantIdentifier: asked.merchantIdentifier, domainName: asked.initiativeContext,
        displayName: asked.displayName, signature: 'MIAGCSqGSIb3DQEHAqCAMIACAQExDzANBglghkgBZQMEAgEFADCABgkqhkiG9w0BBwEAAKCAMIID',
      }));
    });
  });
  const host = new URL(apple.url).host;
  stack = await startStack({ vars: { APPLE_PAY_MERCHANT_ID: 'merchant.dev.paygate', APPLE_PAY_TEST_VALIDATION_HOSTS: host } });
});
after(async () => {
  await stack?.stop();
  await apple?.close();
});

test('a publishable key gets a merchant session from Apple for its shop domain', async (t) => {
  const asked = { validation_url: `${apple.url}/paymentservices/startSession`, domain: 'shop.example.com', display_name: 'Demo shop' };
  const answer = await call(stack.edge, stack.keys.pkTest, 'POST', '/v1/apple_pay/sessions', asked);
  t.assert.equal(answer.status, 200, answer.text);
  t.assert.equal(answer.json.merchantSessionIdentifier, 'SSH0000000000000000000');
  t.assert.equal(answer.headers.get('access-control-allow-origin'), '*');
  t.assert.deepEqual(received.at(-1), {
    url: '/paymentservices/startSession',
    asked: { merchantIdentifier: 'merchant.dev.paygate', displayName: 'Demo shop', initiative: 'web', initiativeContext: 'shop.example.com' },
  });
  const preflight = await stack.edge.fetch('/v1/apple_pay/sessions', { method: 'OPTIONS' });
  t.assert.equal(preflight.status, 204);
  const config = await stack.edge.fetch(`/v1/public/config?key=${stack.keys.pkTest}`);
  t.assert.deepEqual((await config.json()).apple_pay, { enabled: true, merchant_id: 'merchant.dev.paygate' });
});

test('the validation URL must be Apple\'s, the domain a host name, the key publishable', async (t) => {
  const before = received.length;
  const attempt = (key, body) => call(stack.edge, key, 'POST', '/v1/apple_pay/sessions', body);
  const cases = [
    [{ validation_url: 'https://evil.example.com/startSession', domain: 'shop.example.com' }, 'validation_url'],
    [{ validation_url: 'http://169.254.169.254/latest', domain: 'shop.example.com' }, 'validation_url'],
    [{ validation_url: `${apple.url}/x`, domain: 'https://shop.example.com/' }, 'domain'],
    [{ domain: 'shop.example.com' }, 'validation_url'],
    [{ validation_url: `${apple.url}/x`, domain: 'shop.example.com', amount: 1 }, 'amount'],
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
  t.assert.equal(received.length, before, 'nothing was sent for a refused request');
});
