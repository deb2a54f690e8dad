// loadPaygate() refuses what is not a publishable key, and says why, before anything else happens (also
// during server-side rendering, so the mistake shows up in the shop's server logs too).
import { test } from 'node:test';
import { loadPaygate } from '../src/index.mjs';

const random = 'AbC123xyz'.repeat(4); // 36 base62 characters

test('publishable test and live keys are accepted', async (t) => {
  for (const key of [`pk_test_${random}`, `pk_live_${random}`, `pk_test_${'a'.repeat(32)}`, `pk_test_${'a'.repeat(128)}`]) {
    t.assert.equal(await loadPaygate(key), null, key);
  }
});

test('a secret key is refused with a warning never to put it in a browser', async (t) => {
  for (const key of [`sk_test_${random}`, `sk_live_${random}`]) {
    await t.assert.rejects(loadPaygate(key), (error) => {
      t.assert.ok(error instanceof TypeError);
      t.assert.match(error.message, /secret key/);
      t.assert.match(error.message, /[Nn]ever put a secret key in a browser/);
      t.assert.ok(!error.message.includes(random), 'the key is not echoed');
      return true;
    });
  }
});

test('anything else that is not a publishable key is refused', async (t) => {
  const bad = [
    undefined, null, 42, {}, '', 'pk_test_', `pk_test_${'a'.repeat(31)}`, `pk_test_${'a'.repeat(129)}`,
    `pk_demo_${random}`, `PK_TEST_${random}`, `pk_test_${random}!`, `pk_test_${random} `, ` pk_test_${random}`,
    `pk_test_${random.slice(0, 20)}-${random.slice(20)}`, `rk_test_${random}`, `whsec_${random}`,
  ];
  for (const key of bad) {
    await t.assert.rejects(loadPaygate(key), (error) => {
      t.assert.ok(error instanceof TypeError, String(key));
      t.assert.match(error.message, /pk_test_… or pk_live_…/);
      return true;
    });
  }
});

test('apiBase must be an http(s) URL, and https for a live key', async (t) => {
  for (const apiBase of ['api.paygate.dev', 'ftp://api.paygate.dev', 'javascript:alert(1)', 'https://api.paygate.dev/?x=1', 'https://api.paygate.dev/#x']) {
    await t.assert.rejects(loadPaygate(`pk_test_${random}`, { apiBase }), TypeError, apiBase);
  }
  await t.assert.rejects(loadPaygate(`pk_live_${random}`, { apiBase: 'http://127.0.0.1:8787' }), /https/);
  t.assert.equal(await loadPaygate(`pk_test_${random}`, { apiBase: 'http://127.0.0.1:8787' }), null);
});

test('an unknown default locale is refused', async (t) => {
  await t.assert.rejects(loadPaygate(`pk_test_${random}`, { locale: 'fr' }), /locale must be one of en, ar, auto/);
});
