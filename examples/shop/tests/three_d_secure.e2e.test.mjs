// 3-D Secure in the demo shop end to end, in headless Chromium against the real stack (edge on workerd, backend,
// worker, PostgreSQL, the sandbox acquirer): a challenge card's charge waits in requires_action; the shop's page
// opens Paygate's dialog (handleNextAction) over the checkout, which frames the sandbox's authentication page;
// approving, failing or closing it, by mouse or by keyboard; the browser comes back through the edge's return
// route; the shop's server reads the charge. Screenshots of the dialog in English and Arabic land in
// artifacts/screenshots.
import { test, before, after } from 'node:test';
import path from 'node:path';
import { call, eventually } from '../../../edge-api/tests/helpers.mjs';
import { SCREENSHOT_DIR } from './chromium.mjs';
import { startShopStack } from './shop_stack.mjs';

const CHALLENGE = '4000000000003220';
const FRICTIONLESS = '4000000000003055';
const YY = String((new Date().getFullYear() + 3) % 100).padStart(2, '0');

let parts;
let stack;
let shop;
let shopUrl;
let browser;
before(async () => {
  parts = await startShopStack();
  ({ stack, shop, shopUrl, browser } = parts);
});
after(async () => {
  await parts?.stop();
});

async function openCheckout() {
  const page = await browser.context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(shopUrl);
  const card = page.frameLocator('#card iframe');
  await card.locator('#pg-number').waitFor();
  await page.locator('[data-testid=pay]:not([disabled])').waitFor();
  return { page, card, errors, close: () => page.close() };
}

async function payWith(page, card, number) {
  await page.locator('[data-testid=name]').fill('Layla Haddad');
  await card.locator('#pg-number').pressSequentially(number);
  await card.locator('#pg-expiry').pressSequentially(`12 / ${YY}`);
  await card.locator('#pg-cvc').pressSequentially('123');
  await card.locator('#pg-postal').pressSequentially('10115');
  await page.locator('[data-testid=pay]').click();
}

/// The sandbox's authentication page, inside the dialog's page, inside the dialog.
const challenge = (page) => page.frameLocator('dialog iframe').frameLocator('iframe');
const dialog = (page) => page.locator('dialog[open]');
const charges = async () => (await call(stack.edge, stack.keys.skTest, 'GET', '/v1/charges?limit=100')).json.data;

test('a frictionless card goes straight through, with no dialog', async (t) => {
  const { page, card, errors, close } = await openCheckout();
  try {
    await payWith(page, card, FRICTIONLESS);
    t.assert.equal(await page.locator('#result').getAttribute('data-status', { timeout: 15_000 }), 'captured');
    t.assert.equal(await page.locator('dialog').count(), 0);
    t.assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});

test('a challenge card shows the bank\'s page in a dialog; approving it gives a captured charge', async (t) => {
  const { page, card, errors, close } = await openCheckout();
  try {
    await payWith(page, card, CHALLENGE);
    await dialog(page).waitFor();
    t.assert.equal(await dialog(page).getAttribute('aria-label'), 'Confirm your payment');
    await challenge(page).locator('#approve').waitFor();
    t.assert.match(await page.locator('[data-testid=status]').textContent(), /Confirm the payment with your bank/);
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, '3ds-challenge-en.png') });
    await challenge(page).locator('#approve').click();
    t.assert.equal(await page.locator('#result').getAttribute('data-status', { timeout: 15_000 }), 'captured');
    t.assert.equal(await page.locator('dialog').count(), 0, 'the dialog is gone');
    const chargeId = await page.locator('#result').textContent();
    const captured = await eventually(() => [...shop.events.values()].find((e) => e.type === 'charge.captured' && e.data.object.id === chargeId), 'charge.captured');
    t.assert.equal(captured.data.object.amount, 2400);
    const types = [...shop.events.values()].filter((e) => e.data.object.id === chargeId).map((e) => e.type);
    t.assert.ok(types.includes('charge.requires_action'), types.join());
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, '3ds-paid.png'), fullPage: true });
    t.assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});

test('failing the challenge is a clear decline, in the card form too', async (t) => {
  const { page, card, close } = await openCheckout();
  try {
    await payWith(page, card, CHALLENGE);
    await challenge(page).locator('#fail').click();
    await page.locator('[data-testid=status][data-code=authentication_failed]').waitFor({ timeout: 15_000 });
    await card.locator('.pg-form-error', { hasText: 'Your bank could not confirm this payment.' }).waitFor();
    t.assert.equal(await page.locator('#result').count(), 0);
  } finally {
    await close();
  }
});

test('closing the dialog gives the charge up at once, with nothing taken', async (t) => {
  const { page, card, close } = await openCheckout();
  try {
    await payWith(page, card, CHALLENGE);
    await challenge(page).locator('#approve').waitFor();
    t.assert.equal(await dialog(page).locator('span').first().textContent(), 'Confirm your payment');
    await dialog(page).locator('button').focus();
    await page.keyboard.press('Escape');
    await page.locator('[data-testid=status][data-code=authentication_cancelled]').waitFor({ timeout: 15_000 });
    t.assert.equal(await page.locator('dialog').count(), 0);
    t.assert.match(await page.locator('[data-testid=status]').textContent(), /was not confirmed/);
    // The shop voided it: failed now, nothing captured, and the bank's page refuses a late approval.
    const given = (await charges()).find((c) => c.payment_method_details?.card?.last4 === '3220' && c.failure_code === 'authentication_abandoned');
    t.assert.ok(given, 'the charge was given up');
    t.assert.deepEqual([given.status, given.amount_captured], ['failed', 0]);
    await page.locator('[data-testid=pay]:not([disabled])').waitFor();
  } finally {
    await close();
  }
});

test('an authentication nobody finishes expires into failed by the worker', async (t) => {
  const token = await call(stack.edge, stack.keys.pkTest, 'POST', '/v1/tokens', { card: { number: CHALLENGE, exp_month: 12, exp_year: 2034, cvc: '123' } });
  const created = await call(stack.edge, stack.keys.skTest, 'POST', '/v1/charges', { amount: 2400, currency: 'EUR', source: token.json.id }, { 'idempotency-key': `left-${token.json.id}` });
  t.assert.equal(created.json.status, 'requires_action', created.text);
  // Its deadline passes: the worker's job gives it up (it runs every 30 seconds).
  stack.sql(`UPDATE charges SET action_expires_at = now() - interval '1 second' WHERE id = '${created.json.id}'`);
  const failed = await eventually(async () => {
    const now = (await call(stack.edge, stack.keys.skTest, 'GET', `/v1/charges/${created.json.id}`)).json;
    return now.status === 'failed' && now;
  }, 'the abandoned charge to fail', 45_000);
  t.assert.equal(failed.failure_code, 'authentication_abandoned');
  t.assert.equal(failed.amount_captured, 0);
});

test('the keyboard alone completes a challenge, in Arabic', async (t) => {
  const { page, card, close } = await openCheckout();
  try {
    await page.locator('[data-testid=lang-ar]').click();
    await payWith(page, card, CHALLENGE);
    await dialog(page).waitFor();
    t.assert.equal(await dialog(page).getAttribute('aria-label'), 'تأكيد الدفع');
    t.assert.equal(await dialog(page).getAttribute('dir'), 'rtl');
    await challenge(page).locator('#approve').waitFor();
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, '3ds-challenge-ar.png') });
    // From the dialog's frame, Tab reaches the bank's buttons; the page behind is inert.
    let focused = '';
    for (let i = 0; i < 12 && focused !== 'approve'; i++) {
      await page.keyboard.press('Tab');
      // Focus never lands on the shop's page behind the dialog (it is inert).
      const behind = await page.evaluate(() => document.activeElement !== document.body && !document.activeElement?.closest('dialog'));
      t.assert.equal(behind, false, `Tab ${i + 1} left the dialog`);
      focused = await challenge(page).locator(':focus').getAttribute('id', { timeout: 500 }).catch(() => '');
    }
    t.assert.equal(focused, 'approve');
    await page.keyboard.press('Enter');
    t.assert.equal(await page.locator('#result').getAttribute('data-status', { timeout: 15_000 }), 'captured');
  } finally {
    await close();
  }
});
