// The card element's side of the postMessage protocol, against a small fake of the DOM: the iframe it
// creates, the messages it queues until `ready` and then posts (to the API origin only), the messages it
// believes, events, tokenize (answers, timeout, destroy) and clean-up.
import { test, beforeEach } from 'node:test';
import { loadPaygate } from '../src/index.mjs';
import { fakePage } from './fake-page.mjs';

const PK = `pk_test_${'a1B2c3D4'.repeat(5)}`;
const API = 'http://127.0.0.1:8787';

let page;
let card;
beforeEach(async () => {
  page = fakePage();
  const paygate = await loadPaygate(PK, { apiBase: `${API}/` });
  card = paygate.mount('#card', { type: 'card' });
});

test('mount creates an accessible, borderless iframe of height 0 pointing at the card form', (t) => {
  const frame = page.frame();
  t.assert.ok(frame);
  t.assert.deepEqual({ ...frame.attributes, src: undefined }, {
    src: undefined, title: 'Secure card payment form', allow: 'payment', allowtransparency: 'true', scrolling: 'no',
  });
  t.assert.match(frame.style.cssText, /border:0;width:100%;display:block;height:0/);
  t.assert.ok(frame.attributes.src.startsWith(`${API}/elements/v1/card.html#`));
  const params = page.params();
  t.assert.match(params.id, /^[0-9a-f]{16}$/);
  t.assert.deepEqual({ ...params, id: 'x' }, { pk: PK, origin: 'http://127.0.0.1:4242', id: 'x', locale: 'en', layout: 'row', postal: '1' });
});

test('each element gets its own random id', async (t) => {
  const paygate = await loadPaygate(PK, { apiBase: API });
  paygate.mount('#card', { type: 'card' });
  const [first, second] = page.container.children.map((f) => new URLSearchParams(new URL(f.attributes.src).hash.slice(1)).get('id'));
  t.assert.notEqual(first, second);
});

test('mount options reach the iframe URL; locale falls back to loadPaygate and then the page language', async (t) => {
  page = fakePage({ lang: 'ar-SA' });
  const paygate = await loadPaygate(PK, { apiBase: API });
  paygate.mount(page.container, { type: 'card', layout: 'split', postalCode: false, style: { colorPrimary: '#0a7' }, title: 'Card' });
  t.assert.equal(page.frame().attributes.title, 'Card');
  t.assert.deepEqual({ ...page.params(), id: 'x' }, {
    pk: PK, origin: 'http://127.0.0.1:4242', id: 'x', locale: 'ar', layout: 'split', postal: '0', style: '{"colorPrimary":"#0a7"}',
  });

  page = fakePage({ lang: '', language: 'ar-EG' });
  (await loadPaygate(PK, { apiBase: API, locale: 'en' })).mount('#card', { type: 'card' });
  t.assert.equal(page.params().locale, 'en', 'the loadPaygate default beats the page');
  page = fakePage({ lang: '', language: 'ar-EG' });
  (await loadPaygate(PK, { apiBase: API })).mount('#card', { type: 'card' });
  t.assert.equal(page.params().locale, 'ar', "'auto' by default, from navigator.language when <html> has no lang");
});

test('mount refuses a target that matches nothing and element types it cannot make', async (t) => {
  const paygate = await loadPaygate(PK, { apiBase: API });
  t.assert.throws(() => paygate.mount('#nope', { type: 'card' }), /"#nope" matches no element/);
  t.assert.throws(() => paygate.mount(null, { type: 'card' }), /not an element/);
  t.assert.throws(() => paygate.mount('#card', { type: 'google_pay' }), /options.type 'card' or 'apple_pay'/);
  t.assert.throws(() => paygate.mount('#card', {}), /options.type 'card'/);
  t.assert.throws(() => paygate.mount('#card'), /options.type 'card'/);
  t.assert.throws(() => paygate.mount('#card', { type: 'card', layout: 'grid' }), /layout/);
});

test('messages wait for ready, then go to the API origin only, in order', (t) => {
  card.update({ locale: 'ar' });
  card.focus();
  t.assert.deepEqual(page.posted, [], 'nothing posted before ready');
  page.fromFrame({ type: 'ready', height: 44 });
  const id = page.params().id;
  t.assert.deepEqual(page.posted, [
    { data: { paygate: 1, id, type: 'update', locale: 'ar' }, targetOrigin: API },
    { data: { paygate: 1, id, type: 'focus' }, targetOrigin: API },
  ]);
  card.clear();
  card.showError('insufficient_funds');
  card.showError(null);
  card.update({ postalCode: false, style: { colorText: '#111' }, disabled: false, layout: 'split' });
  t.assert.deepEqual(page.posted.slice(2).map((p) => p.data), [
    { paygate: 1, id, type: 'clear' },
    { paygate: 1, id, type: 'show_error', code: 'insufficient_funds' },
    { paygate: 1, id, type: 'show_error', code: null },
    // In messages postal is a boolean and style an object; only the URL needs strings.
    { paygate: 1, id, type: 'update', layout: 'split', postal: false, style: { colorText: '#111' }, disabled: false },
  ]);
  t.assert.ok(page.posted.every((p) => p.targetOrigin === API));
  const before = page.posted.length;
  card.update({ title: 'بطاقة' });
  t.assert.equal(page.frame().attributes.title, 'بطاقة', 'the title lives on the iframe element');
  t.assert.equal(page.posted.length, before, 'and needs no message');
  t.assert.throws(() => card.update({ locale: 'fr' }), /locale/);
});

test('disabled at mount is sent as the first update after ready', (t) => {
  page = fakePage();
  return loadPaygate(PK, { apiBase: API }).then((paygate) => {
    paygate.mount('#card', { type: 'card', disabled: true });
    page.fromFrame({ type: 'ready', height: 44 });
    t.assert.deepEqual(page.posted.map((p) => p.data.type + ':' + p.data.disabled), ['update:true']);
  });
});

test('the iframe sets its height with ready and resize', (t) => {
  page.fromFrame({ type: 'ready', height: 44 });
  t.assert.equal(page.frame().style.height, '44px');
  page.fromFrame({ type: 'resize', height: 96 });
  t.assert.equal(page.frame().style.height, '96px');
  page.fromFrame({ type: 'resize', height: 'calc(100vh)' });
  t.assert.equal(page.frame().style.height, '96px', 'a height that is not a number is ignored');
});

test('events reach their handlers without the bookkeeping fields; off stops them', (t) => {
  const seen = [];
  const onChange = (detail) => seen.push(['change', detail]);
  t.assert.equal(card.on('change', onChange), card, 'on() chains');
  card.on('ready', (detail) => seen.push(['ready', detail])).on('focus', (d) => seen.push(['focus', d])).on('blur', (d) => seen.push(['blur', d]));
  page.fromFrame({ type: 'ready', height: 44 });
  page.fromFrame({ type: 'focus', field: 'number' });
  page.fromFrame({ type: 'change', brand: 'mada', complete: false, empty: false, error: { code: 'card_number_invalid', field: 'number', message: 'x' } });
  page.fromFrame({ type: 'blur', field: 'number' });
  card.off('change', onChange);
  page.fromFrame({ type: 'change', brand: '', complete: false, empty: true, error: null });
  t.assert.deepEqual(seen, [
    ['ready', { height: 44 }],
    ['focus', { field: 'number' }],
    ['change', { brand: 'mada', complete: false, empty: false, error: { code: 'card_number_invalid', field: 'number', message: 'x' } }],
    ['blur', { field: 'number' }],
  ]);
  t.assert.throws(() => card.on('changed', () => {}), /unknown event "changed"/);
});

test('a message from another origin, window or element is ignored', (t) => {
  const seen = [];
  card.on('change', (detail) => seen.push(detail));
  const id = page.params().id;
  const change = { paygate: 1, id, type: 'change', brand: 'visa', complete: true, empty: false, error: null };
  page.receive(change, { origin: 'https://evil.example' });
  page.receive(change, { source: {} });
  page.receive({ ...change, id: 'ffffffffffffffff' });
  page.receive({ ...change, paygate: undefined });
  t.assert.deepEqual(seen, []);
  page.receive(change);
  t.assert.equal(seen.length, 1);
});

test('a throwing handler does not stop the other handlers', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const seen = [];
  card.on('focus', () => { throw new Error('shop bug'); }).on('focus', (d) => seen.push(d.field));
  page.fromFrame({ type: 'focus', field: 'cvc' });
  t.assert.deepEqual(seen, ['cvc']);
  // The error is rethrown from a timer, so it still reaches the console (and window.onerror).
  t.assert.throws(() => t.mock.timers.tick(0), /shop bug/);
});

test('tokenize numbers its requests and resolves each with its own answer', async (t) => {
  page.fromFrame({ type: 'ready', height: 44 });
  const first = card.tokenize({ name: 'Layla Haddad' });
  const second = card.tokenize({ postalCode: '12345', name: undefined });
  const id = page.params().id;
  t.assert.deepEqual(page.posted.map((p) => p.data), [
    { paygate: 1, id, type: 'tokenize', request: 1, name: 'Layla Haddad' },
    { paygate: 1, id, type: 'tokenize', request: 2, postalCode: '12345' },
  ]);
  const token = { id: 'tok_1', card: { brand: 'visa', last4: '4242', exp_month: 12, exp_year: 2030 }, livemode: false };
  const error = { code: 'card_number_invalid', message: 'The card number is not valid', field: 'number' };
  page.fromFrame({ type: 'tokenized', request: 2, error });
  page.fromFrame({ type: 'tokenized', request: 1, token });
  page.fromFrame({ type: 'tokenized', request: 1, token: { ...token, id: 'tok_late' } }); // a repeat changes nothing
  t.assert.deepEqual(await first, { token });
  t.assert.deepEqual(await second, { error });
});

test('tokenize before ready is queued', async (t) => {
  const pending = card.tokenize();
  t.assert.deepEqual(page.posted, []);
  page.fromFrame({ type: 'ready', height: 44 });
  t.assert.deepEqual(page.posted.map((p) => p.data.type), ['tokenize']);
  page.fromFrame({ type: 'tokenized', request: 1, token: { id: 'tok_2' } });
  t.assert.deepEqual(await pending, { token: { id: 'tok_2' } });
  card.tokenize(null);
  t.assert.deepEqual(page.posted[1].data, { paygate: 1, id: page.params().id, type: 'tokenize', request: 2 });
});

test('tokenize gives up after 30 seconds with network_error', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  page.fromFrame({ type: 'ready', height: 44 });
  let result;
  card.tokenize().then((r) => (result = r));
  t.mock.timers.tick(29_999);
  await Promise.resolve();
  t.assert.equal(result, undefined);
  t.mock.timers.tick(1);
  await new Promise(setImmediate);
  t.assert.equal(result.error.code, 'network_error');
  page.fromFrame({ type: 'tokenized', request: 1, token: { id: 'tok_late' } });
  await new Promise(setImmediate);
  t.assert.equal(result.error.code, 'network_error', 'a late answer is ignored');
});

test('destroy removes the iframe and the listener, and settles pending and later tokenize calls', async (t) => {
  page.fromFrame({ type: 'ready', height: 44 });
  const pending = card.tokenize();
  const seen = [];
  card.on('change', (d) => seen.push(d));
  card.destroy();
  t.assert.equal(page.frame(), undefined);
  t.assert.equal(page.listeners.size, 0);
  t.assert.equal((await pending).error.code, 'element_destroyed');
  t.assert.equal((await card.tokenize()).error.code, 'element_destroyed');
  const posted = page.posted.length;
  card.focus();
  card.update({ locale: 'ar' });
  card.destroy();
  t.assert.equal(page.posted.length, posted, 'nothing is posted after destroy');
});

test("an apiBase on the page's own origin is refused: the origin boundary is what protects the card", async (t) => {
  await t.assert.rejects(loadPaygate(PK, { apiBase: 'http://127.0.0.1:4242' }), /another origin/);
  await t.assert.rejects(loadPaygate(PK, { apiBase: 'http://127.0.0.1:4242/paygate' }), /another origin/);
});

test('a reloaded iframe gets its changed settings back and pending tokenize calls end', async (t) => {
  page.fromFrame({ type: 'ready', height: 44 });
  card.update({ locale: 'ar' });
  card.update({ disabled: true });
  const pending = card.tokenize({ name: 'A' });
  const before = page.posted.length;
  page.fromFrame({ type: 'ready', height: 44 }); // the iframe's page loaded again
  const id = page.params().id;
  t.assert.deepEqual(page.posted.slice(before).map((p) => p.data), [{ paygate: 1, id, type: 'update', locale: 'ar', disabled: true }]);
  t.assert.equal((await pending).error.code, 'network_error');
});

test('a form that cannot start says so: loaderror, and tokenize answers load_failed at once', async (t) => {
  const failures = [];
  card.on('loaderror', (detail) => failures.push(detail));
  const waiting = card.tokenize({});
  page.fromFrame({ type: 'loaderror' });
  t.assert.deepEqual(failures.map((f) => f.code), ['load_failed']);
  t.assert.equal((await waiting).error.code, 'load_failed');
  t.assert.equal((await card.tokenize({})).error.code, 'load_failed');
  page.fromFrame({ type: 'loaderror' });
  t.assert.equal(failures.length, 1, 'reported once');
});
