// handleNextAction, the 3-D Secure dialog, against the small fake of the DOM: the modal dialog it opens over the
// page, the challenge page it frames (on the API origin, with the processor's page in its fragment), the outcome
// it believes (from that frame only), and cancel. The whole flow runs in Chromium in
// examples/shop/tests/three_d_secure.e2e.test.mjs.
import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { loadPaygate } from '../src/index.mjs';
import { fakePage } from './fake-page.mjs';

const PK = `pk_test_${'a1B2c3D4'.repeat(5)}`;
const API = 'http://127.0.0.1:8787';
const NEXT = { type: 'redirect', redirect_url: 'http://127.0.0.1:8082/authentications/auth_1', expires_at: new Date(Date.now() + 600_000).toISOString() };

let page;
let paygate;
beforeEach(async () => {
  page = fakePage();
  paygate = await loadPaygate(PK, { apiBase: API });
});

const dialogOf = () => page.body.children.find((c) => c.tagName === 'DIALOG');
const frameOf = (dialog) => dialog.children.find((c) => c.tagName === 'IFRAME');
const fragment = (frame) => Object.fromEntries(new URLSearchParams(new URL(frame.attributes.src).hash.slice(1)));
const fromChallenge = (message, options) => {
  const frame = frameOf(dialogOf());
  page.receive({ paygate: 1, id: fragment(frame).id, ...message }, { source: frame.contentWindow, ...options });
};

test('a next action that is not a redirect to an http(s) page is refused at once', () => {
  for (const wrong of [undefined, {}, { type: 'redirect' }, { type: 'redirect', redirect_url: 'javascript:alert(1)' }, { type: 'use_stripe_sdk', redirect_url: 'https://x' }]) {
    assert.throws(() => paygate.handleNextAction(wrong), /next_action/, JSON.stringify(wrong));
  }
  assert.equal(dialogOf(), undefined);
});

test('a modal dialog frames the challenge page with the processor page, then resolves with the status it is told', async (t) => {
  const done = paygate.handleNextAction(NEXT, { locale: 'ar' });
  const dialog = dialogOf();
  t.assert.equal(dialog.open, true, 'shown modal');
  t.assert.equal(dialog.attributes['aria-label'], 'تأكيد الدفع');
  t.assert.equal(dialog.attributes.dir, 'rtl');
  const frame = frameOf(dialog);
  t.assert.ok(frame.attributes.src.startsWith(`${API}/elements/v1/challenge.html#`));
  t.assert.equal(fragment(frame).url, NEXT.redirect_url);
  t.assert.equal(fragment(frame).origin, 'http://127.0.0.1:4242');
  // Another origin, or another window, is not believed.
  fromChallenge({ type: 'authentication_result', status: 'captured' }, { origin: 'https://evil.example' });
  fromChallenge({ type: 'authentication_result', status: 'captured' }, { source: {} });
  t.assert.equal(dialog.open, true);
  fromChallenge({ type: 'authentication_result', status: 'failed', failure_code: 'authentication_failed' });
  t.assert.deepEqual(await done, { status: 'failed', failureCode: 'authentication_failed' });
  t.assert.equal(dialogOf(), undefined, 'the dialog is gone');
  t.assert.equal(page.listeners.size, 0);
});

test('closing the dialog cancels; a result the page does not know is an error', async (t) => {
  const cancelled = paygate.handleNextAction(NEXT);
  const close = dialogOf().children[0].children.find((c) => c.tagName === 'BUTTON');
  t.assert.equal(close.attributes['aria-label'], 'Cancel');
  close.listeners.click[0]();
  t.assert.equal((await cancelled).error.code, 'authentication_cancelled');
  const escaped = paygate.handleNextAction(NEXT);
  dialogOf().listeners.cancel[0]({ preventDefault() {} });
  t.assert.equal((await escaped).error.code, 'authentication_cancelled');
  const unknown = paygate.handleNextAction(NEXT);
  fromChallenge({ type: 'authentication_result', status: 'unknown' });
  t.assert.deepEqual((await unknown).error.code, 'authentication_unknown');
});
