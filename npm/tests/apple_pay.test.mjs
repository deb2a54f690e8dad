// The Apple Pay element's side of the postMessage protocol, against the small fake of the DOM: its iframe and
// options, the options it refuses, `ready` with or without Apple Pay, the `token` event and its `complete`, and
// clean-up. The flow inside the iframe runs in headless Chromium (examples/shop/tests/apple_pay.e2e.test.mjs).
import { test, beforeEach } from 'node:test';
import { loadPaygate } from '../src/index.mjs';
import { fakePage } from './fake-page.mjs';

const PK = `pk_test_${'a1B2c3D4'.repeat(5)}`;
const API = 'http://127.0.0.1:8787';
const OPTIONS = { type: 'apple_pay', amount: 1999, currency: 'USD', country: 'US', label: 'Demo shop' };

let page;
let paygate;
beforeEach(async () => {
  page = fakePage();
  paygate = await loadPaygate(PK, { apiBase: API });
});

test('mount creates an iframe of height 0 pointing at the Apple Pay page, with its options in the fragment', (t) => {
  paygate.mount('#card', { ...OPTIONS, buttonType: 'buy', locale: 'ar' });
  const frame = page.frame();
  t.assert.ok(frame.attributes.src.startsWith(`${API}/elements/v1/apple-pay.html#`));
  t.assert.equal(frame.attributes.allow, 'payment', 'the frame may run Apple Pay');
  t.assert.equal(frame.attributes.title, 'Apple Pay');
  t.assert.match(frame.style.cssText, /height:0/);
  t.assert.deepEqual({ ...page.params(), id: 'x' }, {
    pk: PK, origin: 'http://127.0.0.1:4242', id: 'x', amount: '1999', currency: 'USD', country: 'US', label: 'Demo shop',
    locale: 'ar', buttonType: 'buy', buttonStyle: 'black',
  });
});

test('each wrong option is refused at mount, named', (t) => {
  const wrong = [
    [{ amount: 19.99 }, /amount/], [{ amount: 0 }, /amount/], [{ amount: '1999' }, /amount/], [{ amount: undefined }, /amount/],
    [{ currency: 'US' }, /currency/], [{ currency: undefined }, /currency/], [{ country: 'us' }, /country/],
    [{ country: 'USA' }, /country/], [{ label: '' }, /label/], [{ label: 'x'.repeat(65) }, /label/],
    [{ label: 'Shop\nName' }, /label/], [{ amount: 1e12 }, /amount/],
    [{ buttonType: 'pay' }, /buttonType/], [{ buttonStyle: 'red' }, /buttonStyle/], [{ locale: 'fr' }, /locale/],
  ];
  for (const [change, message] of wrong) {
    t.assert.throws(() => paygate.mount('#card', { ...OPTIONS, ...change }), message, JSON.stringify(change));
  }
  t.assert.equal(page.frame(), undefined, 'no iframe for a refused mount');
});

test('ready says whether Apple Pay is available; without it the frame stays at height 0', (t) => {
  const element = paygate.mount('#card', OPTIONS);
  const ready = [];
  element.on('ready', (detail) => ready.push(detail));
  page.fromFrame({ type: 'ready', available: false, height: 0 });
  t.assert.deepEqual(ready, [{ available: false, height: 0 }]);
  t.assert.match(page.frame().style.cssText, /height:0/);
  page.fromFrame({ type: 'ready', available: true, height: 44 });
  t.assert.equal(page.frame().style.height, '44px');
});

test('a token reaches the page with complete(), which answers the sheet once', (t) => {
  const element = paygate.mount('#card', OPTIONS);
  page.fromFrame({ type: 'ready', available: true, height: 44 });
  const tokens = [];
  element.on('token', (event) => tokens.push(event));
  const token = { id: 'tok_1', card: { brand: 'visa', last4: '3478', wallet: { type: 'apple_pay', amount: 1999, currency: 'USD' } } };
  page.fromFrame({ type: 'token', request: 1, token });
  t.assert.equal(tokens.length, 1);
  t.assert.deepEqual(tokens[0].token, token);
  t.assert.throws(() => tokens[0].complete('maybe'), /status/);
  tokens[0].complete('success');
  tokens[0].complete('failure');
  const id = page.params().id;
  t.assert.deepEqual(page.posted.map((p) => p.data), [{ paygate: 1, id, type: 'complete', request: 1, status: 'success' }]);
  t.assert.ok(page.posted.every((p) => p.targetOrigin === API));
});

test('a token nobody listens for fails the sheet rather than leaving it spinning', (t) => {
  paygate.mount('#card', OPTIONS);
  page.fromFrame({ type: 'ready', available: true, height: 44 });
  const logged = console.error;
  console.error = () => {};
  try {
    page.fromFrame({ type: 'token', request: 3, token: { id: 'tok_3' } });
  } finally {
    console.error = logged;
  }
  t.assert.deepEqual(page.posted.map((p) => [p.data.type, p.data.request, p.data.status]), [['complete', 3, 'failure']]);
});

test('cancel and error events reach the page; messages of other elements or origins do not', (t) => {
  const element = paygate.mount('#card', OPTIONS);
  const seen = [];
  for (const event of ['cancel', 'error']) element.on(event, (detail) => seen.push([event, detail]));
  t.assert.throws(() => element.on('change', () => {}), /unknown event/);
  page.fromFrame({ type: 'cancel', code: 'cancelled', message: 'Apple Pay was closed before paying.' });
  page.fromFrame({ type: 'error', error: { code: 'apple_pay_unavailable', message: '…' } });
  page.receive({ paygate: 1, id: page.params().id, type: 'cancel' }, { origin: 'https://evil.example' });
  page.receive({ paygate: 1, id: 'other', type: 'cancel' });
  page.fromFrame({ type: 'tokenized', request: 1 });
  t.assert.deepEqual(seen.map(([event, detail]) => [event, detail.code ?? detail.error.code]), [['cancel', 'cancelled'], ['error', 'apple_pay_unavailable']]);
});

test('an element that cannot start says so with loaderror', (t) => {
  const element = paygate.mount('#card', OPTIONS);
  const failures = [];
  element.on('loaderror', (detail) => failures.push(detail.code));
  page.fromFrame({ type: 'loaderror' });
  t.assert.deepEqual(failures, ['load_failed']);
});

test('update posts the next payment\'s amount and label; destroy ends everything', (t) => {
  const element = paygate.mount('#card', OPTIONS);
  page.fromFrame({ type: 'ready', available: true, height: 44 });
  const tokens = [];
  element.on('token', (event) => tokens.push(event));
  element.update({ amount: 2500, label: 'Demo shop (2 items)' });
  t.assert.throws(() => element.update({ amount: -1 }), /amount/);
  t.assert.deepEqual(page.posted.map((p) => p.data.type === 'update' && [p.data.amount, p.data.label]), [[2500, 'Demo shop (2 items)']]);
  page.fromFrame({ type: 'token', request: 1, token: { id: 'tok_1' } });
  element.destroy();
  tokens[0].complete('success');
  t.assert.equal(page.posted.length, 1, 'nothing is posted after destroy');
  t.assert.equal(page.frame(), undefined);
  t.assert.equal(page.listeners.size, 0);
});

test('a reloaded iframe gets back the amount changed since mount, so the sheet asks what the page shows', (t) => {
  const element = paygate.mount('#card', OPTIONS);
  page.fromFrame({ type: 'ready', available: true, height: 44 });
  element.update({ amount: 2500 });
  page.posted.length = 0;
  page.fromFrame({ type: 'ready', available: true, height: 44 }); // the host moved: a fresh page, mount's options
  t.assert.deepEqual(page.posted.map((p) => [p.data.type, p.data.amount]), [['update', 2500]]);
});
