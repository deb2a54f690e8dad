// Apple Pay tokens opened in the edge vault on workerd: tokens minted by the local stand-in of Apple (its own
// test chain, configured as the test-mode root) for Paygate's processing key, generated here. WebCrypto does the
// curve operations; core does the rest. What a device card's token keeps, and every way a token is refused.
import { test, before, after } from 'node:test';
import crypto from 'node:crypto';
import { startStack, startFakeApple, call } from './helpers.mjs';

const MERCHANT_ID = 'merchant.dev.paygate';
let stack;
let apple;
let processing;
let other;

function processingKey() {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    pkcs8: privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64'),
    spki: publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
  };
}

before(async () => {
  apple = await startFakeApple();
  processing = processingKey();
  other = processingKey();
  // Two processing keys, as during a rotation: tokens for either open.
  const rotated = processingKey();
  stack = await startStack({ vars: {
    APPLE_PAY_MERCHANT_ID: MERCHANT_ID,
    APPLE_PAY_TEST_ROOT_CA: apple.root,
    APPLE_PAY_PROCESSING_KEYS: `1:${rotated.pkcs8},2:${processing.pkcs8}`,
  } });
});
after(async () => {
  await stack?.stop();
  apple?.stop();
});

const mint = (fields = {}) => apple.mint({
  processing_public_key: processing.spki, merchant_identifier: MERCHANT_ID, amount: 2500, currency_numeric: '840',
  device_account_number: '4895370012003478', cryptogram: 'AgAAAAAABk4DWZ4C28yUQAAAAAA=', eci: '07', ...fields,
});
const tokenize = (paymentData, key = stack.keys.pkTest) => call(stack.edge, key, 'POST', '/v1/tokens', { apple_pay: { payment_data: paymentData } });

test('an Apple Pay token opens in the vault to a device card token the charge can use', async (t) => {
  const answer = await tokenize(await mint());
  t.assert.equal(answer.status, 201, answer.text);
  t.assert.equal(answer.json.type, 'apple_pay');
  t.assert.match(answer.json.id, /^tok_/);
  t.assert.equal(answer.json.card.brand, 'visa');
  t.assert.equal(answer.json.card.last4, '3478');
  t.assert.deepEqual([answer.json.card.exp_month, answer.json.card.exp_year], [12, 2029]);
  t.assert.deepEqual(answer.json.card.wallet, { type: 'apple_pay', amount: 2500, currency: 'USD' });
  t.assert.equal(answer.json.card.bin, undefined, 'the BIN stays in the vault');
  // Neither the device account number nor the cryptogram appears in any answer or log.
  const logs = Object.values(stack.logs()).join('\n');
  for (const secret of ['4895370012003478', 'AgAAAAAABk4DWZ4C28yUQAAAAAA=']) {
    t.assert.ok(!answer.text.includes(secret) && !logs.includes(secret), secret);
  }
});

test('a token for another key, another merchant, tampered, stale, EMV or of another version is refused by name', async (t) => {
  const refused = async (paymentData, why) => {
    const answer = await tokenize(paymentData);
    t.assert.equal(answer.status, 400, `${why}: ${answer.text}`);
    t.assert.equal(answer.json.param, 'apple_pay.payment_data', why);
    return answer.json.detail;
  };
  t.assert.match(await refused(await mint({ processing_public_key: other.spki }), 'another key'), /another processing key/);
  t.assert.match(await refused(await mint({ merchant_identifier: 'merchant.someone.else' }), 'another merchant'), /cannot be decrypted/);
  const tampered = await mint();
  tampered.data = `${tampered.data.slice(0, 10)}${tampered.data[10] === 'A' ? 'B' : 'A'}${tampered.data.slice(11)}`;
  t.assert.match(await refused(tampered, 'tampered'), /signature/);
  // Signed by a chain with the root's names but other keys: WebCrypto's check of the intermediate fails.
  t.assert.match(await refused(await mint({ chain: 'impostor' }), 'impostor'), /intermediate by root does not verify/);
  const stale = await mint({ signing_time: Math.floor(Date.now() / 1000) - 3600 });
  t.assert.match(await refused(stale, 'stale'), /too far from now/);
  t.assert.match(await refused(await mint({ data_type: 'EMV' }), 'EMV'), /3DSecure only/);
  t.assert.match(await refused({ ...(await mint()), version: 'RSA_v1' }, 'RSA'), /EC_v1 only/);
  // Shapes: the field at fault is named.
  for (const [body, param] of [[{ apple_pay: {} }, 'apple_pay.payment_data'], [{ apple_pay: { payment_data: 'x' } }, 'apple_pay.payment_data'],
    [{ apple_pay: { payment_data: {}, extra: 1 } }, 'apple_pay.extra'], [{ apple_pay: 1 }, 'apple_pay']]) {
    const answer = await call(stack.edge, stack.keys.pkTest, 'POST', '/v1/tokens', body);
    t.assert.deepEqual([answer.status, answer.json.param], [400, param], JSON.stringify(body));
  }
});

test('in live mode a token must chain to Apple Root CA - G3, never to a test root', async (t) => {
  const answer = await tokenize(await mint(), stack.keys.pkLive);
  t.assert.equal(answer.status, 400, answer.text);
  t.assert.match(answer.json.detail, /signature/);
});

test('an Apple Pay token is charged for exactly what was approved, as a network token whose cryptogram works once', async (t) => {
  const charge = (token, amount, currency = 'usd', key = `ap-${token}-${amount}-${currency}`) =>
    call(stack.edge, stack.keys.skTest, 'POST', '/v1/charges', { amount, currency, source: token, capture: true }, { 'idempotency-key': key });
  const cryptogram = 'AgAAAAAAAIR8CQrXcIhbQAAAAAA=';
  const token = (await tokenize(await mint({ amount: 1999, cryptogram }))).json.id;
  // Not what the customer approved: refused by name, the token left unspent.
  for (const [amount, currency, param] of [[2000, 'usd', 'amount'], [1999, 'eur', 'currency']]) {
    const refused = await charge(token, amount, currency);
    t.assert.deepEqual([refused.status, refused.json.param], [400, param], refused.text);
  }
  const paid = await charge(token, 1999);
  t.assert.equal(paid.status, 201, paid.text);
  t.assert.equal(paid.json.status, 'captured');
  t.assert.equal(paid.json.payment_method_details.type, 'apple_pay');
  t.assert.equal(paid.json.payment_method_details.card.last4, '3478');
  // The same cryptogram in another token (a replayed device payment): the acquirer declines it.
  const replay = (await tokenize(await mint({ amount: 1999, cryptogram }))).json.id;
  const declined = await charge(replay, 1999);
  t.assert.equal(declined.json.status, 'failed', declined.text);
  t.assert.equal(declined.json.failure_processor_code, 'cryptogram_reused');
  // Nothing of the device card's number or cryptogram is stored.
  const dump = stack.dump();
  t.assert.ok(!dump.includes('4895370012003478') && !dump.includes(cryptogram));
});
