// How options become the iframe's address and `update` messages: the URL (path, fragment, parameter order),
// apiBase with a path, 'auto' locale from the page, and options refused with the option named.
import { test } from 'node:test';
import { loadPaygate } from '../src/index.mjs';
import { fakePage } from './fake-page.mjs';

const PK = `pk_live_${'Zz09'.repeat(10)}`;

async function mount(elementOptions = {}, { apiBase = 'https://api.paygate.dev', locale, lang, language } = {}) {
  const page = fakePage({ lang, language, api: new URL(apiBase).origin });
  const paygate = await loadPaygate(PK, { apiBase, locale });
  page.card = paygate.mount('#card', { type: 'card', ...elementOptions });
  return page;
}

test('the iframe URL carries every setting in the fragment, in the protocol order', async (t) => {
  const page = await mount({ locale: 'ar', layout: 'split', postalCode: false, style: { colorPrimary: '#0a7', fontFamily: '"Noto Sans Arabic", sans-serif' } });
  const url = new URL(page.frame().attributes.src);
  t.assert.equal(`${url.origin}${url.pathname}`, 'https://api.paygate.dev/elements/v1/card.html');
  t.assert.equal(url.search, '', 'nothing in the query string, which servers log');
  const params = new URLSearchParams(url.hash.slice(1));
  t.assert.deepEqual([...params.keys()], ['pk', 'origin', 'id', 'locale', 'layout', 'postal', 'style']);
  t.assert.deepEqual({ ...Object.fromEntries(params), id: 'x' }, {
    pk: PK, origin: 'http://127.0.0.1:4242', id: 'x', locale: 'ar', layout: 'split', postal: '0',
    style: '{"colorPrimary":"#0a7","fontFamily":"\\"Noto Sans Arabic\\", sans-serif"}',
  });
});

test('without options the URL has the defaults and no style', async (t) => {
  const page = await mount();
  t.assert.deepEqual([...new URLSearchParams(new URL(page.frame().attributes.src).hash.slice(1)).keys()], ['pk', 'origin', 'id', 'locale', 'layout', 'postal']);
  t.assert.deepEqual({ ...page.params(), id: 'x', pk: 'x' }, { pk: 'x', origin: 'http://127.0.0.1:4242', id: 'x', locale: 'en', layout: 'row', postal: '1' });
});

test('apiBase keeps its path and loses trailing slashes; messages must come from its origin', async (t) => {
  const page = await mount({}, { apiBase: 'https://edge.example.com:8443/paygate//' });
  t.assert.ok(page.frame().attributes.src.startsWith('https://edge.example.com:8443/paygate/elements/v1/card.html#'));
  page.fromFrame({ type: 'ready', height: 50 });
  t.assert.equal(page.frame().style.height, '50px');
  page.card.focus();
  t.assert.equal(page.posted[0].targetOrigin, 'https://edge.example.com:8443');
  const defaultApi = await mount({}, {});
  t.assert.ok(defaultApi.frame().attributes.src.startsWith('https://api.paygate.dev/elements/v1/card.html#'));
});

test("'auto' is Arabic exactly when the page language starts with ar", async (t) => {
  const cases = [
    [{ lang: 'ar' }, 'ar'], [{ lang: 'ar-SA' }, 'ar'], [{ lang: 'AR-eg' }, 'ar'], [{ lang: 'en', language: 'ar' }, 'en'],
    [{ lang: '', language: 'ar-AE' }, 'ar'], [{ lang: 'fr' }, 'en'], [{ lang: '', language: 'en-US' }, 'en'], [{ lang: '', language: undefined }, 'en'],
  ];
  for (const [page, locale] of cases) {
    t.assert.equal((await mount({ locale: 'auto' }, page)).params().locale, locale, JSON.stringify(page));
    t.assert.equal((await mount({}, page)).params().locale, locale, `auto by default: ${JSON.stringify(page)}`);
  }
  const page = await mount({ locale: 'en' }, { lang: 'ar' });
  t.assert.equal(page.params().locale, 'en', 'a fixed locale beats the page');
  page.fromFrame({ type: 'ready', height: 40 });
  page.card.update({ locale: 'auto' });
  t.assert.equal(page.posted[0].data.locale, 'ar', "update({locale:'auto'}) is resolved too");
});

test('bad options are refused at mount and at update, with the option named', async (t) => {
  const page = await mount();
  const cases = [
    [{ locale: 'fr' }, /locale must be one of en, ar, auto/], [{ layout: 'column' }, /layout/], [{ postalCode: 'yes' }, /postalCode/],
    [{ disabled: 1 }, /disabled/], [{ style: 'color: red' }, /style must be an object/], [{ style: null }, /style must be an object/],
    [{ style: { colour: 'red' } }, /style.colour is not a theme variable/], [{ style: { fontSize: 16 } }, /style.fontSize/],
  ];
  for (const [options, message] of cases) {
    await t.assert.rejects(mount(options), message, `mount ${JSON.stringify(options)}`);
    t.assert.throws(() => page.card.update(options), message, `update ${JSON.stringify(options)}`);
  }
  t.assert.deepEqual(page.posted, []);
});
