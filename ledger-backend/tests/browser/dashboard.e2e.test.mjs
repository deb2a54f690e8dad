// The merchant dashboard in headless Chromium, through the real edge on workerd, against the whole stack: sign up,
// see the test keys once, charge through the API with them, find the charge by its last 4, capture part, refund
// part, read its timeline and ledger with the webhook deliveries, redeliver one, invite an analyst who cannot
// refund, revoke the key and watch the API refuse it, sign out everywhere. Screenshots of every
// main page in English and Arabic, on a desktop and a phone, are left in artifacts/screenshots/ to look at.
import { test } from 'node:test';
import path from 'node:path';
import fs from 'node:fs';
import { startStack, startHttpServer, call, eventually, TEST_CARD } from '../../../edge-api/tests/helpers.mjs';
import { launchChromium, SCREENSHOT_DIR } from '../../../examples/shop/tests/chromium.mjs';

const PASSWORD = 'correct horse battery staple';
let counter = 0;
const uniqueKey = () => `dashboard-${Date.now()}-${counter++}`;

test('a merchant signs up, charges with its keys, captures and refunds part in the dashboard, and revokes a key', async (t) => {
  const stack = await startStack({ worker: true });
  t.after(() => stack.stop());
  const browser = await launchChromium({ viewport: { width: 1280, height: 900 } });
  t.after(() => browser.close());
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const page = await browser.context.newPage();
  const violations = [];
  page.on('console', (message) => {
    if (/Content Security Policy|Refused to/.test(message.text())) violations.push(message.text());
  });
  const base = stack.edge.url;

  // Sign up: the test keys, shown this once.
  await page.goto(`${base}/dashboard/sign-up`);
  await page.getByLabel('Business name').fill('Dune Coffee');
  await page.getByLabel('Email').fill(`owner-${Date.now()}@example.com`);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForSelector('#secret-key');
  const secretKey = (await page.textContent('#secret-key')).trim();
  const publishableKey = (await page.textContent('#publishable-key')).trim();
  t.assert.match(secretKey, /^sk_test_/);
  t.assert.match(publishableKey, /^pk_test_/);
  const cookies = await browser.context.cookies(base);
  const session = cookies.find((c) => c.name === '__Host-pg_session');
  t.assert.ok(session && session.httpOnly && session.secure && session.sameSite === 'Lax', JSON.stringify(cookies));
  t.assert.equal(await page.evaluate(() => document.cookie.includes('pg_session')), false, 'page scripts never see the session');

  // A webhook endpoint, added in the dashboard: the shop's receiver (here, one that counts what it gets).
  const received = [];
  const receiver = await startHttpServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      received.push(JSON.parse(body));
      res.writeHead(200).end();
    });
  });
  t.after(() => receiver.close());
  await page.getByRole('link', { name: 'Webhooks' }).click();
  await page.getByLabel('Endpoint URL').fill(`${receiver.url}/webhooks`);
  await page.getByRole('button', { name: 'Add an endpoint' }).click();
  await page.waitForSelector('#new-secret');
  t.assert.match(await page.textContent('#new-secret'), /^whsec_/);

  // A charge through the API with the new keys, as the shop's server would make it.
  const token = await call(stack.edge, publishableKey, 'POST', '/v1/tokens', { card: TEST_CARD });
  t.assert.equal(token.status, 201, token.text);
  const charge = await call(stack.edge, secretKey, 'POST', '/v1/charges',
    { amount: 4_200, currency: 'eur', source: token.json.id, capture: false, metadata: { order: 'A-1001' } },
    { 'idempotency-key': uniqueKey() });
  t.assert.equal(charge.status, 201, charge.text);

  // Found by its last 4.
  await page.getByRole('link', { name: 'Charges' }).click();
  await page.getByLabel('Search').fill('4242');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.waitForURL(/q=4242/);
  await page.getByRole('link', { name: charge.json.id }).click();
  await page.waitForURL(new RegExp(`/dashboard/charges/${charge.json.id}`));

  // Capture part, then refund part of it.
  await page.getByLabel('Amount to capture').fill('30.00');
  await page.getByRole('button', { name: 'Capture' }).click();
  await page.waitForSelector('.notice.ok');
  t.assert.match(await page.textContent('h1'), /captured/);
  await page.getByLabel('Amount to refund').fill('12.50');
  await page.getByRole('button', { name: 'Refund' }).click();
  await page.waitForSelector('#refunds');
  const after = await call(stack.edge, secretKey, 'GET', `/v1/charges/${charge.json.id}`);
  t.assert.deepEqual([after.json.amount_captured, after.json.amount_refunded, after.json.status], [3_000, 1_250, 'partially_refunded'], after.text);
  // Its timeline: the processor calls, our events, the ledger, the audit rows naming the user.
  for (const kind of ['processor', 'event', 'ledger', 'audit']) {
    t.assert.ok(await page.locator(`#timeline li[data-kind="${kind}"]`).count() > 0, `timeline has ${kind}`);
  }
  t.assert.ok(await page.locator('#ledger tbody tr').count() >= 4, 'ledger lines');
  t.assert.match(await page.textContent('#metadata'), /A-1001/);
  // The webhook deliveries show in the timeline once the worker has made them.
  await eventually(async () => {
    await page.reload();
    return (await page.locator('#timeline li[data-kind="delivery"]').count()) > 0;
  }, 'a delivery in the timeline');
  // Redeliver one from the endpoint's log: the receiver gets that event again.
  await page.getByRole('link', { name: 'Webhooks' }).click();
  await page.locator('#endpoints a').first().click();
  const first = page.locator('#deliveries tbody tr').last();
  const eventId = (await first.locator('.mono').first().textContent()).trim();
  const before = received.filter((e) => e.id === eventId).length;
  await first.getByRole('button', { name: /^Redeliver/ }).click();
  await page.waitForSelector('.notice.ok');
  await eventually(() => received.filter((e) => e.id === eventId).length > before, 'the event delivered again');

  // An analyst, invited from the team page, sees the charge but cannot refund it.
  await page.getByRole('link', { name: 'Team and settings' }).click();
  await page.locator('#invite-email').fill(`analyst-${Date.now()}@example.com`);
  await page.locator('#invite-role').selectOption('analyst');
  await page.getByRole('button', { name: 'Invite' }).click();
  const link = (await page.textContent('#invitation-link')).trim();
  // Another browser (its own profile, its own cookies) for the analyst.
  const analystBrowser = await launchChromium({ viewport: { width: 1280, height: 900 } });
  t.after(() => analystBrowser.close());
  const analyst = await analystBrowser.context.newPage();
  await analyst.goto(link);
  await analyst.getByLabel('Password').fill(PASSWORD);
  await analyst.getByRole('button', { name: 'Join the team' }).click();
  await analyst.waitForURL(/\/dashboard\/overview/);
  await analyst.goto(`${base}/dashboard/charges/${charge.json.id}`);
  t.assert.equal(await analyst.locator('form[action$="/refund"]').count(), 0, 'no refund form for an analyst');
  const forced = await analyst.evaluate(async (id) => {
    const csrf = document.querySelector('input[name="csrf"]').value;
    const answer = await fetch(`/dashboard/charges/${id}/refund`, { method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `csrf=${csrf}&amount=1.00&key=abcdefghijklmnopqrstuvwxyz` });
    return answer.status;
  }, charge.json.id);
  t.assert.equal(forced, 403, 'the server refuses it too');

  // Screenshots of the main pages, English and Arabic, desktop and phone.
  const pages = [['overview', '/dashboard/overview'], ['charges', '/dashboard/charges'],
    ['charge', `/dashboard/charges/${charge.json.id}`], ['refunds', '/dashboard/refunds'], ['balance', '/dashboard/balance'],
    ['reconciliation', '/dashboard/reconciliation'], ['webhooks', '/dashboard/webhooks'], ['keys', '/dashboard/keys'],
    ['audit', '/dashboard/audit'], ['team', '/dashboard/team'], ['security', '/dashboard/security'],
    ['processors', '/dashboard/processors'], ['apple-pay', '/dashboard/apple-pay']];
  for (const lang of ['en', 'ar']) {
    await page.goto(`${base}/dashboard/language?lang=${lang}`);
    for (const [width, height, device] of [[1280, 900, 'desktop'], [390, 844, 'phone']]) {
      await page.setViewportSize({ width, height });
      for (const [name, url] of pages) {
        await page.goto(`${base}${url}`);
        t.assert.equal(await page.getAttribute('html', 'dir'), lang === 'ar' ? 'rtl' : 'ltr');
        // Nothing wider than the screen: the page scrolls down, never sideways (tables scroll in their box).
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        t.assert.ok(overflow <= 1, `${name} ${lang} ${device} overflows by ${overflow}px`);
        await page.screenshot({ path: path.join(SCREENSHOT_DIR, `dashboard-${name}-${lang}-${device}.png`), fullPage: true });
      }
    }
  }
  await page.goto(`${base}/dashboard/language?lang=en`);
  await page.setViewportSize({ width: 1280, height: 900 });

  // Revoke the secret key: the API refuses it from then on.
  await page.goto(`${base}/dashboard/keys`);
  const row = page.locator('tr', { hasText: 'Secret key' }).first();
  await row.getByRole('button', { name: /^Revoke/ }).click();
  await page.waitForSelector('.status.failed');
  const refused = await call(stack.edge, secretKey, 'GET', `/v1/charges/${charge.json.id}`);
  t.assert.equal(refused.status, 401, refused.text);
  t.assert.equal(refused.json.code, 'api_key_invalid');
  t.assert.ok(!(await page.content()).includes(secretKey), 'the key is never shown again');

  // Sign out everywhere: the session's cookie, replayed, opens nothing.
  await page.getByRole('button', { name: 'Sign out everywhere' }).click();
  await page.waitForURL(/\/dashboard\/sign-in/);
  const replay = await fetch(`${base}/dashboard/overview`, { headers: { cookie: `__Host-pg_session=${session.value}` }, redirect: 'manual' });
  t.assert.equal(replay.status, 303);
  t.assert.match(replay.headers.get('location'), /sign-in/);
  t.assert.deepEqual(violations, [], 'no CSP violation on any page');
});
