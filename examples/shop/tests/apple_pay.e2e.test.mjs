// Apple Pay in the demo shop end to end, in headless Chromium against the real stack: the shop's page → the
// Apple Pay iframe on the edge's origin, where a scripted stand-in of Safari's ApplePaySession plays the
// shopper → merchant validation through the edge against the local stand-in of Apple (paygate-fake-apple) →
// a token minted by that stand-in with its own test chain for Paygate's processing key → POST /v1/tokens on
// workerd (signature, key agreement, decryption) → the shop's server charges the token through the edge →
// backend → PostgreSQL → the sandbox acquirer, which takes the network token and its one-time cryptogram.
//
// The shop runs under a host name of its own (shop.paygate.test, mapped to loopback in Chromium), since Apple
// Pay validates a domain, never an IP address. Screenshots land in artifacts/screenshots.
import { test, before, after } from 'node:test';
import crypto from 'node:crypto';
import path from 'node:path';
import { startFakeApple, call, eventually } from '../../../edge-api/tests/helpers.mjs';
import { SCREENSHOT_DIR } from './chromium.mjs';
import { startShopStack } from './shop_stack.mjs';

const MERCHANT_ID = 'merchant.dev.paygate';
const SHOP_HOST = 'shop.paygate.test';
// The same shop under a name the merchant never registers.
const OTHER_HOST = 'other.paygate.test';
// The device card in the minted tokens: a Visa device account number, and a fresh one-time cryptogram per
// payment, as a device makes them (the sandbox acquirer declines a cryptogram it has seen).
const DPAN = '4895370012003478';
const cryptograms = [];

let stack;
let apple;
let shop;
let parts;
let shopUrl;
let otherUrl;
let browser;
let processing;
// What the stand-in of ApplePaySession does after merchant validation: 'pay' or 'cancel'.
let scenario = 'pay';
// Every call the stand-in made, per page: [step, detail].
let sessionLog = [];

before(async () => {
  apple = await startFakeApple();
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  processing = {
    pkcs8: privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64'),
    spki: publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
  };
  const vars = {
    APPLE_PAY_MERCHANT_ID: MERCHANT_ID,
    APPLE_PAY_TEST_ROOT_CA: apple.root,
    APPLE_PAY_PROCESSING_KEYS: `1:${processing.pkcs8}`,
    APPLE_PAY_TEST_VALIDATION_HOSTS: apple.host,
  };
  // The shop under names of its own (Apple Pay validates a domain, never an IP address), which need a secure page:
  // plain http there is treated as secure.
  const names = (local) => [SHOP_HOST, OTHER_HOST].map((host) => `http://${host}:${new URL(local).port}`);
  parts = await startShopStack({ stack: { vars }, shop: { country: 'DE' }, chromium: (local) => ({ args: [
    '--host-resolver-rules=MAP *.paygate.test 127.0.0.1',
    `--unsafely-treat-insecure-origin-as-secure=${names(local).join(',')}`,
  ] }) });
  ({ stack, shop, browser } = parts);
  [shopUrl, otherUrl] = names(parts.shopUrl);
  const registered = await call(stack.edge, stack.keys.skTest, 'POST', '/v1/apple_pay/domains', { domain_name: SHOP_HOST }, { 'idempotency-key': 'register-demo-shop' });
  if (registered.status !== 201) throw new Error(registered.text);
});
after(async () => {
  await parts?.stop();
  apple?.stop();
});

/// The stand-in of Safari's ApplePaySession, in the Apple Pay frame only. Like Safari it refuses a session
/// started outside a user gesture and fires its events later, never inside begin(); everything else it asks
/// the test (`__applePayTest`): the validation URL, and after validation the payment (or a cancel).
function standIn() {
  if (!location.pathname.endsWith('/apple-pay.html')) return;
  class ApplePaySession {
    static STATUS_SUCCESS = 0;
    static STATUS_FAILURE = 1;
    static supportsVersion(version) { return version >= 1 && version <= 14; }
    static canMakePayments() { return true; }
    constructor(version, request) {
      if (!navigator.userActivation.isActive) throw new DOMException('Must create a new ApplePaySession from a user gesture handler.', 'InvalidAccessError');
      this.request = request;
      window.__applePayTest('session', { version, request });
    }
    begin() {
      setTimeout(async () => this.onvalidatemerchant?.({ validationURL: await window.__applePayTest('begin', {}) }));
    }
    completeMerchantValidation(merchantSession) {
      setTimeout(async () => {
        const next = await window.__applePayTest('validated', { merchantSession, request: this.request });
        if (next.cancel) return this.oncancel?.({});
        this.onpaymentauthorized?.({ payment: { token: { paymentData: next.paymentData, paymentMethod: { network: 'Visa', type: 'debit', displayName: 'Visa 3478' }, transactionIdentifier: next.transactionId } } });
      });
    }
    completePayment(result) { window.__applePayTest('completePayment', result); }
    abort() { window.__applePayTest('abort', {}); }
  }
  window.ApplePaySession = ApplePaySession;
}

/// Opens the checkout, with or without the stand-in of Apple Pay; waits for the card form.
async function openCheckout({ withApplePay = true, url = shopUrl } = {}) {
  sessionLog = [];
  const page = await browser.context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.addInitScript(() => {
    window.__received = [];
    window.addEventListener('message', (event) => window.__received.push(event.data));
  });
  if (withApplePay) {
    await page.exposeFunction('__applePayTest', async (step, detail) => {
      sessionLog.push([step, detail]);
      if (step === 'begin') return `${apple.url}/paymentservices/startSession`;
      if (step !== 'validated') return null;
      if (scenario === 'cancel') return { cancel: true };
      // What Apple would encrypt for this sheet: its total, in minor units, and its currency.
      const { amount, currencyCode } = detail.request.total ? { amount: detail.request.total.amount, currencyCode: detail.request.currencyCode } : {};
      cryptograms.push(crypto.randomBytes(20).toString('base64'));
      const paymentData = await apple.mint({
        processing_public_key: processing.spki, merchant_identifier: MERCHANT_ID,
        amount: Math.round(Number(amount) * 100), currency_numeric: { EUR: '978', USD: '840' }[currencyCode],
        device_account_number: DPAN, cryptogram: cryptograms.at(-1), eci: '07',
      });
      return { paymentData, transactionId: paymentData.header.transactionId };
    });
    await page.addInitScript(standIn);
  }
  await page.goto(url);
  await page.frameLocator('#card iframe').locator('#pg-number').waitFor();
  const ready = () => page.evaluate(() => window.__received.find((m) => m?.type === 'ready' && 'available' in m));
  await eventually(ready, 'the Apple Pay element to be ready');
  return { page, errors, ready, frame: page.frameLocator('#apple-pay iframe'), close: () => page.close() };
}

const steps = () => sessionLog.map(([step]) => step);
const charges = async () => (await call(stack.edge, stack.keys.skTest, 'GET', '/v1/charges?limit=100')).json.data;

test('without ApplePaySession the button is not shown, and ready says Apple Pay is unavailable', async (t) => {
  const { page, frame, ready, errors, close } = await openCheckout({ withApplePay: false });
  try {
    t.assert.equal((await ready()).available, false);
    t.assert.equal(await page.locator('[data-testid=apple-pay-area]').isVisible(), false);
    t.assert.equal(await frame.locator('#pg-apple-pay').count(), 0, 'no button inside the frame');
    t.assert.equal(await page.locator('#apple-pay iframe').evaluate((frame) => frame.style.height), '0px');
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'apple-pay-unavailable.png'), fullPage: true });
    t.assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});

test('a domain the merchant did not register gets no merchant session: the shopper is told, nothing is charged', async (t) => {
  const before = (await charges()).length;
  const { page, frame, close } = await openCheckout({ url: otherUrl });
  try {
    await frame.locator('#pg-apple-pay').click();
    await page.locator('[data-testid=status][data-code=apple_pay_unavailable]').waitFor({ timeout: 15_000 });
    t.assert.match(await page.locator('[data-testid=status]').textContent(), /Apple Pay is not available for this shop/);
    t.assert.deepEqual(steps(), ['session', 'begin', 'abort'], 'the sheet is aborted, never validated');
    const asked = (await (await fetch(`${apple.url}/_fake/requests`)).json()).requests;
    t.assert.ok(!asked.some((request) => request.initiativeContext === OTHER_HOST), 'Apple was never asked for it');
    t.assert.equal((await charges()).length, before);
  } finally {
    await close();
  }
});

test('a click pays with Apple Pay: merchant validation, token, captured charge, success on the sheet', async (t) => {
  scenario = 'pay';
  const { page, frame, errors, close } = await openCheckout();
  try {
    await page.locator('[data-testid=apple-pay-area]').waitFor();
    t.assert.equal(await frame.locator('#pg-apple-pay').getAttribute('aria-label'), 'Pay with Apple Pay');
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'apple-pay-checkout.png'), fullPage: true });
    await frame.locator('#pg-apple-pay').click();
    const status = await page.locator('#result').getAttribute('data-status', { timeout: 20_000 });
    t.assert.equal(status, 'captured');
    await eventually(() => steps().includes('completePayment'), 'the sheet to hear the outcome');

    // The sheet asked for what the shop sells, in version 3 (no mada outside Saudi Arabia), 3-D Secure only.
    const [, session] = sessionLog.find(([step]) => step === 'session');
    t.assert.equal(session.version, 3);
    t.assert.deepEqual(session.request, {
      countryCode: 'DE', currencyCode: 'EUR', supportedNetworks: ['visa', 'masterCard', 'amex', 'discover'],
      merchantCapabilities: ['supports3DS'], total: { label: 'Qahwa & Co.', amount: '24.00', type: 'final' },
    });
    // The merchant session came from Apple (the stand-in) for the shop's domain, through the edge.
    const [, validated] = sessionLog.find(([step]) => step === 'validated');
    t.assert.equal(validated.merchantSession.domainName, SHOP_HOST);
    const asked = (await (await fetch(`${apple.url}/_fake/requests`)).json()).requests.at(-1);
    t.assert.equal(asked.initiativeContext, SHOP_HOST);
    t.assert.deepEqual(sessionLog.find(([step]) => step === 'completePayment')[1], { status: 0 });

    const chargeId = await page.locator('#result').textContent();
    const charge = (await call(stack.edge, stack.keys.skTest, 'GET', `/v1/charges/${chargeId}`)).json;
    t.assert.equal(charge.amount, 2400);
    t.assert.equal(charge.payment_method_details.type, 'apple_pay');
    t.assert.equal(charge.payment_method_details.card.last4, '3478');
    const captured = await eventually(() => [...shop.events.values()].find((e) => e.type === 'charge.captured' && e.data.object.id === chargeId), 'charge.captured');
    t.assert.equal(captured.data.object.amount, 2400);
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'apple-pay-paid.png'), fullPage: true });

    // Neither the device account number nor the cryptogram is in the database or any log.
    const everything = [stack.dump(), ...Object.values(stack.logs())].join('\n');
    for (const secret of [DPAN, ...cryptograms]) t.assert.ok(!everything.includes(secret), `${secret} leaked`);
    t.assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});

test('cancelling the sheet leaves nothing behind, and the button works again', async (t) => {
  scenario = 'cancel';
  const before = (await charges()).length;
  const { page, frame, close } = await openCheckout();
  try {
    await page.locator('[data-testid=lang-ar]').click();
    await eventually(async () => (await frame.locator('#pg-apple-pay').getAttribute('aria-label')) === 'الدفع باستخدام Apple Pay', 'the Arabic label');
    await frame.locator('#pg-apple-pay').click();
    await page.locator('[data-testid=status][data-code=apple_pay_cancelled]').waitFor({ timeout: 15_000 });
    // The element's message, in the shopper's language, which the shop shows as it is.
    t.assert.equal(await page.locator('[data-testid=status]').textContent(), 'أُغلق Apple Pay قبل إتمام الدفع.');
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'apple-pay-ar.png'), fullPage: true });
    t.assert.deepEqual(steps(), ['session', 'begin', 'validated']);
    t.assert.equal((await charges()).length, before, 'no charge');
    t.assert.equal(stack.sql("SELECT count(*) FROM charges WHERE payment_method = 'apple_pay'"), '1', 'only the earlier test\'s');

    // A second click starts a new session and pays.
    scenario = 'pay';
    await frame.locator('#pg-apple-pay').click();
    t.assert.equal(await page.locator('#result').getAttribute('data-status', { timeout: 20_000 }), 'captured');
  } finally {
    await close();
  }
});
