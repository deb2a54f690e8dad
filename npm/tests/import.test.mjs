// Importing the loader must do nothing (server-side rendering, "sideEffects": false): this file watches the
// browser globals while it imports the module, then checks what loadPaygate() does without a browser.
import { test } from 'node:test';

const WATCHED = ['window', 'document', 'navigator', 'location', 'self', 'crypto', 'addEventListener', 'postMessage', 'setTimeout', 'fetch'];
const touched = [];
const globalsBefore = Object.getOwnPropertyNames(globalThis).sort();
for (const name of WATCHED) {
  const original = Object.getOwnPropertyDescriptor(globalThis, name);
  Object.defineProperty(globalThis, name, {
    configurable: true,
    get() {
      touched.push(name);
      return original?.get ? original.get.call(globalThis) : original?.value;
    },
  });
}
// The source and the minified file the package ships: minifying must change neither.
const loader = await import('../src/index.mjs');
const shipped = await import('../dist/paygate.mjs');
const touchedAtImport = [...touched];

test('importing the loader reads no browser global and defines none', (t) => {
  t.assert.deepEqual(touchedAtImport, []);
  const added = Object.getOwnPropertyNames(globalThis).filter((name) => !globalsBefore.includes(name) && !WATCHED.includes(name));
  t.assert.deepEqual(added, []);
});

test('the public entry exports loadPaygate and nothing internal', (t) => {
  t.assert.deepEqual(Object.keys(loader), ['loadPaygate']);
  t.assert.deepEqual(Object.keys(shipped), ['loadPaygate']);
});

test('loadPaygate resolves to null without a browser', async (t) => {
  t.assert.equal(await loader.loadPaygate(`pk_test_${'a'.repeat(32)}`), null);
  t.assert.equal(await loader.loadPaygate(`pk_live_${'Z9'.repeat(20)}`, { apiBase: 'https://api.example.com/', locale: 'ar' }), null);
});
