// 3-D Secure's way back through the edge, on workerd against the backend and the sandbox acquirer: a charge with
// the sandbox's challenge card waits in requires_action; the shopper approves on the sandbox's authentication
// page, which sends the browser to the edge's return URL; the edge has the backend ask the processor and answers
// a small page with the outcome. No API key on that route: the single-use reference is the only handle.
import { test, before, after } from 'node:test';
import { startStack, call, TEST_CARD } from './helpers.mjs';

let stack;
before(async () => {
  stack = await startStack();
});
after(async () => {
  await stack?.stop();
});

async function challengeCharge(capture = true) {
  const token = await call(stack.edge, stack.keys.pkTest, 'POST', '/v1/tokens', { card: { ...TEST_CARD, number: '4000000000003220' } });
  if (token.status !== 201) throw new Error(token.text);
  const charge = await call(stack.edge, stack.keys.skTest, 'POST', '/v1/charges',
    { amount: 4200, currency: 'EUR', source: token.json.id, capture }, { 'idempotency-key': `3ds-${token.json.id}` });
  return charge;
}

/// Decides on the sandbox's page as a browser would, without following its redirect.
async function decide(redirectUrl, decision) {
  const answer = await fetch(redirectUrl, {
    method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `decision=${decision}`,
  });
  return { status: answer.status, location: answer.headers.get('location') };
}

test('approving the challenge brings the browser back to a page that says the payment is authenticated', async (t) => {
  const charge = await challengeCharge();
  t.assert.equal(charge.status, 201, charge.text);
  t.assert.equal(charge.json.status, 'requires_action');
  t.assert.equal(charge.json.next_action.type, 'redirect');
  const { status, location } = await decide(charge.json.next_action.redirect_url, 'approve');
  t.assert.equal(status, 303);
  t.assert.ok(location.startsWith(`${stack.edge.url}/v1/authentication_returns/ar_`), location);

  // The browser arrives, without any key; a GET, as processors redirect.
  const page = await fetch(location);
  const html = await page.text();
  t.assert.equal(page.status, 200, html);
  t.assert.match(page.headers.get('content-type'), /^text\/html/);
  t.assert.equal(page.headers.get('cache-control'), 'no-store');
  t.assert.match(page.headers.get('content-security-policy'), /default-src 'none'/);
  t.assert.match(html, /data-paygate-authentication="captured"/);
  t.assert.match(html, /Payment authenticated/);
  t.assert.match(html, /تم التحقق من الدفع/);
  const after = await call(stack.edge, stack.keys.skTest, 'GET', `/v1/charges/${charge.json.id}`);
  t.assert.equal(after.json.status, 'captured');
  t.assert.equal(after.json.next_action, null);

  // The same URL again finds nothing: single use.
  const again = await fetch(location, { method: 'POST' });
  t.assert.equal(again.status, 404);
  t.assert.match(await again.text(), /data-paygate-authentication="unknown"/);
});

test('a failed challenge is reported as such; a reference of the wrong shape or method gets nothing', async (t) => {
  const charge = await challengeCharge(false);
  const { location } = await decide(charge.json.next_action.redirect_url, 'fail');
  const page = await fetch(location);
  const html = await page.text();
  t.assert.equal(page.status, 200);
  t.assert.match(html, /data-paygate-authentication="failed" data-failure-code="authentication_failed"/);
  for (const path of ['/v1/authentication_returns/ar_nope', `/v1/authentication_returns/ar_${'0'.repeat(64)}`, '/v1/authentication_returns/<script>']) {
    const answer = await stack.edge.fetch(path);
    t.assert.equal(answer.status, 404, path);
    t.assert.match(await answer.text(), /data-paygate-authentication="unknown"/);
  }
  const put = await stack.edge.fetch(location.replace(stack.edge.url, ''), { method: 'PUT' });
  t.assert.equal(put.status, 405);
});
