// The demo shop's checkout end to end, in headless Chromium against the real stack: the shop's page
// (server.mjs, the @paygate/js tarball) → the card iframe on the edge's origin → POST /v1/tokens on
// workerd → the shop's server charges through the edge → backend → PostgreSQL → the signed webhook back
// to the shop. Screenshots land in artifacts/screenshots for people to look at.
import { test, before, after } from 'node:test';
import fs from 'node:fs';
import path from 'node:path';
import { call, eventually } from '../../../edge-api/tests/helpers.mjs';
import { SCREENSHOT_DIR } from './chromium.mjs';
import { startShopStack } from './shop_stack.mjs';

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


/// Opens the checkout; `messages` collects every postMessage the shop's page receives.
async function openCheckout() {
  const page = await browser.context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.addInitScript(() => {
    window.__received = [];
    window.addEventListener('message', (event) => window.__received.push(JSON.stringify(event.data)));
  });
  await page.goto(shopUrl);
  const frame = page.frameLocator('#card iframe');
  await frame.locator('#pg-number').waitFor();
  await page.locator('[data-testid=pay]:not([disabled])').waitFor();
  return { page, frame, errors, close: () => page.close() };
}

// Expiry dates a few years ahead of today, so the tests never start failing on a date.
const YY = String((new Date().getFullYear() + 3) % 100).padStart(2, '0');
const YYYY = String(new Date().getFullYear() + 4);

async function typeCard(frame, { number, expiry = `12 / ${YY}`, cvc = '123', postal = '10115' }) {
  await frame.locator('#pg-number').pressSequentially(number);
  await frame.locator('#pg-expiry').pressSequentially(expiry);
  await frame.locator('#pg-cvc').pressSequentially(cvc);
  await frame.locator('#pg-postal').pressSequentially(postal);
}

async function pay(page, name = 'Amal Haddad') {
  await page.locator('[data-testid=name]').fill(name);
  await page.locator('[data-testid=pay]').click();
}

const charged = (page) => page.locator('#result').getAttribute('data-status', { timeout: 15_000 });

async function shopSaw(chargeId, type) {
  return eventually(() => [...shop.events.values()].find((e) => e.type === type && e.data.object.id === chargeId), `${type} for ${chargeId}`);
}

test('typing a success card gives a captured charge that the shop hears about by webhook', async (t) => {
  const { page, frame, errors, close } = await openCheckout();
  try {
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'checkout-en-empty.png'), fullPage: true });
    await typeCard(frame, { number: '4242424242424242' });
    t.assert.equal(await frame.locator('#pg-number').inputValue(), '4242 4242 4242 4242', 'formatted while typed');
    t.assert.equal(await frame.locator('#pg-brand').textContent(), 'Visa');
    t.assert.equal(await frame.locator('#pg-expiry').inputValue(), `12 / ${YY}`);
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'checkout-en.png'), fullPage: true });
    await pay(page);
    t.assert.equal(await charged(page), 'captured');
    const chargeId = await page.locator('#result').textContent();
    const captured = await shopSaw(chargeId, 'charge.captured');
    t.assert.equal(captured.data.object.amount, 2400);
    t.assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});

for (const [number, code, where, message] of [
  ['4000000000000002', 'card_declined', '.pg-form-error', 'Your card was declined.'],
  ['4000000000009995', 'insufficient_funds', '.pg-form-error', 'Your card has insufficient funds.'],
  ['4000000000000127', 'incorrect_cvc', '#pg-cvc-error', "Your card's security code is incorrect."],
]) {
  test(`a ${code.replaceAll('_', ' ')} card shows its message in the form`, async (t) => {
    const { page, frame, close } = await openCheckout();
    try {
      await typeCard(frame, { number });
      await pay(page);
      await page.locator(`[data-testid=status][data-code=${code}]`).waitFor({ timeout: 15_000 });
      await frame.locator(where, { hasText: message }).waitFor();
      if (code === 'incorrect_cvc') {
        t.assert.equal(await frame.locator('#pg-cvc').getAttribute('aria-invalid'), 'true');
        await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'checkout-error-cvc.png'), fullPage: true });
      }
      t.assert.equal(await page.locator('#result').count(), 0, 'no success shown');
    } finally {
      await close();
    }
  });
}

test('invalid input shows field errors and never reaches the edge', async (t) => {
  const { page, frame, close } = await openCheckout();
  const tokenCalls = [];
  const onRequest = (request) => request.url().includes('/v1/tokens') && tokenCalls.push(request.url());
  browser.context.on('request', onRequest);
  try {
    const iframe = page.locator('#card iframe');
    const heightBefore = (await iframe.boundingBox()).height;
    await frame.locator('#pg-number').pressSequentially('4242424242424241');
    await frame.locator('#pg-number-error', { hasText: 'Your card number is invalid.' }).waitFor();
    // The iframe grows with the error line: the element reports its height and the loader applies it.
    await eventually(async () => (await iframe.boundingBox()).height > heightBefore, 'the iframe to grow');
    t.assert.equal(await frame.locator('#pg-number').getAttribute('aria-invalid'), 'true');
    await frame.locator('#pg-expiry').pressSequentially('13');
    await frame.locator('#pg-expiry-error', { hasText: "Your card's expiry month is invalid." }).waitFor();
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'checkout-error-fields.png'), fullPage: true });
    await pay(page);
    await page.locator('[data-testid=status][data-code=validation_error]').waitFor();
    await frame.locator('#pg-cvc-error', { hasText: "Your card's security code is incomplete." }).waitFor();
    t.assert.deepEqual(tokenCalls, [], 'tokenize never called the edge');
  } finally {
    browser.context.off('request', onRequest);
    await close();
  }
});

test('a pasted number and autofill-style input both check out', async (t) => {
  const { page, frame, close } = await openCheckout();
  try {
    // A real paste (Ctrl+V) from the system clipboard, with dashes as card numbers are often copied. The
    // shop's top-level page may write the clipboard; the iframe only receives the paste.
    await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: shopUrl });
    await page.evaluate(() => navigator.clipboard.writeText('5555-5555-5555-4444'));
    await frame.locator('#pg-number').focus();
    await page.keyboard.press('Control+V');
    t.assert.equal(await frame.locator('#pg-number').inputValue(), '5555 5555 5555 4444');
    // Autofill sets whole values at once (Chrome fills cc-exp as MM/YYYY) and fires input events.
    await frame.locator('body').evaluate((_body, year) => {
      for (const [id, value] of [['pg-expiry', `11/${year}`], ['pg-cvc', '321'], ['pg-postal', 'SW1A 1AA']]) {
        const input = document.getElementById(id);
        input.value = value;
        input.dispatchEvent(new InputEvent('input', { bubbles: true, inputType: 'insertReplacementText' }));
      }
    }, YYYY);
    t.assert.equal(await frame.locator('#pg-expiry').inputValue(), `11 / ${YYYY.slice(2)}`);
    await pay(page);
    t.assert.equal(await charged(page), 'captured');
  } finally {
    await close();
  }
});

test('Arabic lays the form out right to left with Arabic messages', async (t) => {
  const { page, frame, close } = await openCheckout();
  try {
    await page.locator('[data-testid=lang-ar]').click();
    await frame.locator('form[dir=rtl][lang=ar]').waitFor();
    t.assert.equal(await frame.locator('form').evaluate((f) => getComputedStyle(f).direction), 'rtl');
    t.assert.equal(await frame.locator('label[for=pg-number]').textContent(), 'رقم البطاقة');
    // Fields flow from the right: the expiry comes before (right of) the CVC on their line.
    const expiry = await frame.locator('[data-field=expiry]').boundingBox();
    const cvc = await frame.locator('[data-field=cvc]').boundingBox();
    t.assert.equal(Math.round(expiry.y), Math.round(cvc.y), 'expiry and CVC share a line');
    t.assert.ok(expiry.x > cvc.x, 'the expiry is right of the CVC');
    await frame.locator('#pg-number').pressSequentially('٤٢٤٢');
    await frame.locator('#pg-expiry').focus();
    await frame.locator('#pg-number-error', { hasText: 'رقم البطاقة غير مكتمل.' }).waitFor();
    t.assert.equal(await frame.locator('#pg-number').inputValue(), '4242');
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'checkout-ar.png'), fullPage: true });
  } finally {
    await close();
  }
});

test('keyboard alone completes a checkout', async (t) => {
  const { page, frame, close } = await openCheckout();
  try {
    await page.locator('[data-testid=name]').focus();
    await page.keyboard.type('Omar Saleh');
    await page.keyboard.press('Tab');
    t.assert.equal(await frame.locator(':focus').getAttribute('id'), 'pg-number', 'Tab enters the card form');
    // Each complete field moves focus on by itself.
    await page.keyboard.type('2223003122003222');
    t.assert.equal(await frame.locator(':focus').getAttribute('id'), 'pg-expiry');
    await page.keyboard.type(`09${YY}`);
    t.assert.equal(await frame.locator(':focus').getAttribute('id'), 'pg-cvc');
    await page.keyboard.type('456');
    t.assert.equal(await frame.locator(':focus').getAttribute('id'), 'pg-postal');
    await page.keyboard.type('75001');
    await page.keyboard.press('Tab');
    t.assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'pay', 'Tab leaves the form for Pay');
    await page.keyboard.press('Enter');
    t.assert.equal(await charged(page), 'captured');
  } finally {
    await close();
  }
});

test('Enter in a card field submits the checkout', async (t) => {
  const { page, frame, close } = await openCheckout();
  try {
    await page.locator('[data-testid=name]').fill('Lina Nasser');
    await typeCard(frame, { number: '3566002020360505', cvc: '789', postal: '11564' });
    await frame.locator('#pg-postal').press('Enter');
    t.assert.equal(await charged(page), 'captured');
  } finally {
    await close();
  }
});

test("the shop page's own script cannot read the card number", async (t) => {
  const { page, frame, close } = await openCheckout();
  try {
    await typeCard(frame, { number: '6011111111111117' });
    const attempt = await page.evaluate(() => {
      const iframe = document.querySelector('#card iframe');
      const found = [];
      try {
        found.push(iframe.contentDocument?.querySelector('input')?.value ?? 'no document');
      } catch (error) {
        found.push(`refused: ${error.name}`);
      }
      try {
        found.push(iframe.contentWindow.document.querySelector('input').value);
      } catch (error) {
        found.push(`refused: ${error.name}`);
      }
      return { found, received: window.__received, html: document.documentElement.outerHTML };
    });
    t.assert.deepEqual(attempt.found, ['no document', 'refused: SecurityError']);
    const everything = [...attempt.received, attempt.html].join('\n');
    t.assert.ok(attempt.received.some((m) => m.includes('"discover"')), 'the page did hear the brand');
    // The element's id and heights are short numbers too; the whole number in any format is what must not be there.
    for (const secret of ['6011111111111117', '6011 1111 1111 1117', '111111111111']) {
      t.assert.ok(!everything.includes(secret), `the page never holds ${secret}`);
    }
  } finally {
    await close();
  }
});

test('the card form refuses a page that lies about its origin, and says it could not start', async (t) => {
  const { page, close } = await openCheckout();
  try {
    const message = await page.evaluate(async ({ edge, key }) => {
      const frame = document.createElement('iframe');
      frame.id = 'liar';
      // This page is the shop's, but claims to be another origin: the messages would go there instead.
      frame.src = `${edge}/elements/v1/card.html#${new URLSearchParams({ pk: key, origin: 'https://shop.example', id: 'liar1' })}`;
      const failed = new Promise((resolve) => {
        setTimeout(() => resolve(null), 10_000); // no word at all: the assertion below fails
        window.addEventListener('message', (event) => {
          if (event.source === frame.contentWindow) resolve({ origin: event.origin, data: event.data });
        });
      });
      document.body.append(frame);
      return failed;
    }, { edge: stack.edge.url, key: stack.keys.pkTest });
    t.assert.deepEqual(message, { origin: stack.edge.url, data: { paygate: 1, id: 'liar1', type: 'loaderror' } });
    t.assert.equal(await page.frameLocator('#liar').locator('input').count(), 0, 'no field was rendered');
  } finally {
    await close();
  }
});

/// Every visible input of one mounted card form whose text (its value, or its placeholder when empty) is
/// wider than the room the input gives it, measured with the input's own font in the element's document;
/// and the form itself, when it is wider than its frame (fields pushed out of sight).
async function overflowing(frame) {
  return frame.evaluate(() => {
    const context = document.createElement('canvas').getContext('2d');
    const page = document.documentElement;
    const form = page.scrollWidth > page.clientWidth ? [{ field: 'form', text: '', need: page.scrollWidth, room: page.clientWidth }] : [];
    return form.concat([...document.querySelectorAll('input')]
      .filter((input) => input.getClientRects().length > 0)
      .map((input) => {
        const style = getComputedStyle(input);
        context.font = style.font;
        const text = input.value || input.placeholder;
        const room = input.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
        return { field: input.id, text, need: Math.ceil(context.measureText(text).width), room: Math.floor(room) };
      })
      .filter(({ need, room }) => need > room));
  });
}

// The longest value each field takes: a 19-digit UnionPay number (Luhn-valid, and no shorter prefix is, so the
// form does not move on early), a four-digit CVC (the form keeps what the brand allows), a ZIP+4 postal code.
const LONGEST = { number: '6212345000000001007', expiry: `12${YY}`, cvc: '1234', postal: '12345-6789' };
// From the narrowest the form supports (280 px: a 360 px phone's checkout column) to a wide desktop one.
const WIDTHS = [280, 320, 360, 440, 600, 900];

test('no field of the card form clips its text: placeholders and the longest values, at every width, both layouts and languages', async (t) => {
  const { page, close } = await openCheckout();
  try {
    const clipped = [];
    for (const layout of ['row', 'split']) {
      for (const locale of ['en', 'ar']) {
        for (const width of WIDTHS) {
          const id = `probe-${layout}-${locale}-${width}`;
          // A second element on the shop's page, mounted as a shop would, in a box of this width.
          await page.evaluate(async ({ id, layout, locale, width }) => {
            const config = await (await fetch('/api/config')).json();
            const { loadPaygate } = await import('@paygate/js');
            const paygate = await loadPaygate(config.publishableKey, { apiBase: config.apiBase, locale });
            const box = document.createElement('div');
            box.id = id;
            box.style.width = `${width}px`;
            document.body.append(box);
            const element = paygate.mount(`#${id}`, { type: 'card', layout, locale });
            await new Promise((resolve) => element.on('ready', resolve));
          }, { id, layout, locale, width });
          const frame = await (await page.locator(`#${id} iframe`).elementHandle()).contentFrame();
          for (const problem of await overflowing(frame)) clipped.push({ layout, locale, width, state: 'empty', ...problem });
          // Whole values at once, as autofill gives them: typing would follow the form's focus as it moves on.
          await frame.locator('#pg-number').fill(LONGEST.number);
          await frame.locator('#pg-expiry').fill(LONGEST.expiry);
          await frame.locator('#pg-cvc').fill(LONGEST.cvc);
          await frame.locator('#pg-postal').fill(LONGEST.postal);
          const shown = await frame.locator('#pg-number').inputValue();
          if (shown !== '6212 3450 0000 0001 007') clipped.push({ layout, locale, width, field: 'pg-number', text: shown, need: 'all 19 digits' });
          for (const problem of await overflowing(frame)) clipped.push({ layout, locale, width, state: 'filled', ...problem });
          if (width === 280 || width === 440) {
            await page.locator(`#${id}`).screenshot({ path: path.join(SCREENSHOT_DIR, `layout-${layout}-${locale}-${width}.png`) });
          }
        }
      }
    }
    t.assert.ok(await page.locator('[id^=probe-] iframe').count() === 2 * 2 * WIDTHS.length, 'every form was measured');
    if (clipped.length) fs.writeFileSync(path.join(SCREENSHOT_DIR, 'layout-clipped.json'), JSON.stringify(clipped, null, 1));
    t.assert.deepEqual(clipped, [], `${clipped.length} clipped inputs (all in artifacts/screenshots/layout-clipped.json)`);
  } finally {
    await close();
  }
});
