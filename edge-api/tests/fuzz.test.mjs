// A bounded fuzz run over every public route, through the real edge in front of the real backend: the
// routes and body shapes come from the backend's OpenAPI document (plus the edge's own routes), and every
// path segment, query value, body field, whole body and header gets hostile values: NUL, invalid UTF-8,
// huge, deeply nested, wrong types. Every answer must be below 500, and every error a problem document
// with a code and the request id. Seeded (FUZZ_SEED) so a failure can be replayed; FUZZ_REQUESTS bounds
// the random part.
import { test, before, after } from 'node:test';
import { startStack, startHttpServer, call } from './helpers.mjs';

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
const RANDOM_REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 1_500);

let stack;
let apple;
before(async () => {
  // A stand-in for Apple's validation server, so Apple Pay sessions run their whole path (a deployment
  // without Apple Pay answers 503 by design, whatever the input).
  apple = await startHttpServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ merchantSessionIdentifier: 'SSH0', nonce: 'n', signature: 's' }));
    });
  });
  const vars = {
    RATE_LIMIT_PER_KEY: '100000/1',
    RATE_LIMIT_TOKENS_PER_IP: '100000/1',
    RATE_LIMIT_TOKENS_PER_CARD: '100000/1',
    APPLE_PAY_MERCHANT_ID: 'merchant.dev.paygate',
    APPLE_PAY_TEST_VALIDATION_HOSTS: new URL(apple.url).host,
  };
  stack = await startStack({ vars });
  real = await realObjects();
});

/// Real objects of every kind, so a mutated request starts from one the API would accept and the part under
/// test is the only thing wrong with it (a made-up id would be refused as not found before its body is read).
let real;
async function realObjects() {
  const secret = (method, path, body) => call(stack.edge, stack.keys.skTest, method, path, body, { 'idempotency-key': `fuzz-setup-${path}-${Math.random()}` });
  const token = await call(stack.edge, stack.keys.pkTest, 'POST', '/v1/tokens', { card: { number: '4242424242424242', exp_month: 12, exp_year: 2034, cvc: '123' } });
  const charge = await secret('POST', '/v1/charges', { amount: 5_000, currency: 'EUR', source: token.json.id });
  const refund = await secret('POST', '/v1/refunds', { charge: charge.json.id, amount: 100 });
  const endpoint = await secret('POST', '/v1/webhook_endpoints', { url: 'http://127.0.0.1:9/fuzz', enabled_events: ['*'] });
  const key = await secret('POST', '/v1/api_keys', { kind: 'secret' });
  const events = await secret('GET', '/v1/events?limit=1');
  const account = await secret('POST', '/v1/processor_accounts', { connector: 'stripe', display_name: 'Fuzz',
    credentials: { secret_key: stack.stripe.key, webhook_secret: 'whsec_fuzz_secret' } });
  for (const made of [token, charge, refund, endpoint, key, events, account]) {
    if (made.status >= 300) throw new Error(`fuzz setup: ${made.status} ${made.text}`);
  }
  return {
    ids: {
      charges: charge.json.id, refunds: refund.json.id, webhook_endpoints: endpoint.json.id, api_keys: key.json.id,
      events: events.json.data[0].id, processor_accounts: account.json.id,
    },
    account: account.json.id,
    // Plausible values by field name, so each mutation is the one thing wrong with a request.
    fields: {
      amount: 100, currency: 'EUR', source: 'tok_01jd3x0000000000000000000a', charge: charge.json.id, capture: true,
      description: 'fuzz', statement_descriptor: 'FUZZ', metadata: { order: '1' }, reason: 'requested_by_customer',
      url: 'http://127.0.0.1:9/fuzz', enabled_events: ['*'], enabled: true, kind: 'secret', overlap_seconds: 60,
      endpoint: endpoint.json.id, key_hash: '0'.repeat(64),
      display_name: 'Fuzz', credentials: { secret_key: stack.stripe.key }, settings: {}, default: account.json.id, rules: [],
    },
  };
}
after(async () => {
  await stack?.stop();
  await apple?.close();
});

/// mulberry32: small, seeded, good enough to pick mutations.
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const deep = (n) => '['.repeat(n) + ']'.repeat(n);
/// Values for one JSON field: every wrong type and every hostile string.
const FIELD_VALUES = [
  null, true, false, 0, -1, 1.5, 1e308, 2 ** 63, -(2 ** 63), Number.MAX_SAFE_INTEGER,
  '', '\u0000', 'a\u0000b', 'x'.repeat(10_000), '\u{1F4B3}'.repeat(300), 'ch_\u0000', 'tok_00000000000000000000000000',
  '<script>alert(1)</script>', "' OR 1=1 --", '%00', '\ud800', [], [null], ['\u0000'], {}, { a: '\u0000' },
  JSON.parse(deep(100)),
];
/// Whole bodies, as raw text or bytes.
const RAW_BODIES = [
  '', ' ', 'null', '[]', '"x"', '{', '{"a":', deep(5_000), '{"a":"\\ud800"}', '{"\u0000":1}',
  Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]), 'x'.repeat(70 * 1024),
];
const SEGMENTS = ['%00', '%ff', '%C0%80', '%E2%82', 'x'.repeat(3_000), '..', '%2F..%2F', '%F0%9F%92%B3', 'ch_01jd3x0000000000000000000a', 'NULL', '-1'];
const QUERY_VALUES = ['%00', '%ff', 'x'.repeat(5_000), '-1', '0', '101', '1e309', '10000000000000', '-10000000000000', '[]', '%00%00', 'ch_%00', ''];
const HEADER_SETS = [
  { 'idempotency-key': 'k'.repeat(300) },
  { 'idempotency-key': ' ' },
  { 'idempotency-key': 'order\t1' },
  { 'content-type': 'application/json; charset=latin1' },
  { 'content-type': 'text/plain' },
  { 'content-type': 'application/json, text/plain' },
  { 'request-id': 'req_\u00ff' },
  { 'x-forwarded-for': '1'.repeat(4_000) },
  // Read by the edge (the per-IP token limit names its bucket after it).
  { 'cf-connecting-ip': 'x'.repeat(8_000) },
  { 'cf-connecting-ip': '::1\u00ff' },
  { 'cf-connecting-ip': '' },
];
const AUTH_HEADERS = ['Bearer ', 'Bearer sk_test_', 'Basic %%%', 'Basic ' + Buffer.from('\u0000:').toString('base64'), 'Bearer ' + 'x'.repeat(8_000), 'Digest x'];

/// A plausible value for a schema, to fill the fields a mutation leaves alone: a real object's value where
/// the field names one, otherwise one of the schema's type.
function sample(schema, doc, name) {
  if (name && name in real.fields) return real.fields[name];
  if (schema?.$ref) return sample(doc.components.schemas[schema.$ref.split('/').pop()], doc);
  if (schema?.enum) return schema.enum[0];
  switch (schema?.type) {
    case 'integer': return 100;
    case 'boolean': return true;
    case 'array': return [];
    case 'object': return Object.fromEntries(Object.entries(schema.properties ?? {}).map(([k, v]) => [k, sample(v, doc, k)]));
    default: return 'x';
  }
}

/// The routes: the backend's document, with the edge's own routes added (they are not proxied).
function routes(doc) {
  const list = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      const schema = operation.requestBody?.content?.['application/json']?.schema;
      const query = (operation.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
      list.push({ method: method.toUpperCase(), path: `/v1${path}`, body: schema ? sample(schema, doc) : null, query, key: 'secret' });
    }
  }
  list.push({ method: 'POST', path: '/v1/tokens', body: { card: { number: '4242424242424242', exp_month: 12, exp_year: 2034, cvc: '123' } }, query: [], key: 'publishable' });
  const validation = `${apple.url}/paymentservices/startSession`;
  list.push({ method: 'POST', path: '/v1/apple_pay/sessions', body: { validation_url: validation, domain: 'shop.example', display_name: 'Shop' }, query: [], key: 'publishable' });
  list.push({ method: 'GET', path: '/v1/public/config', body: null, query: ['key'], key: 'publishable' });
  // Processor webhooks: no key; a body that will not verify must still get a 4xx problem, never a 5xx.
  list.push({ method: 'POST', path: `/v1/processor_events/stripe/${real.account}`, body: { id: 'evt_fuzz', type: 'charge.refunded' }, query: [], key: 'secret' });
  return list;
}

const failures = [];
let sent = 0;

/// Sends one request straight to the edge's port and checks the answer's shape.
async function probe(what, method, url, { body, headers = {}, key }) {
  // A fresh Idempotency-Key for every probe (unless the probe is about the key), so no stored answer of an
  // earlier probe stands in for this one.
  const fresh = { 'idempotency-key': `fuzz-${SEED}-${sent}-${failures.length}-${Math.random()}` };
  const init = { method, headers: { authorization: `Bearer ${key}`, ...fresh, ...headers } };
  if (body !== undefined && method !== 'GET' && method !== 'DELETE') {
    init.body = body;
    if (!('content-type' in headers)) init.headers['content-type'] = 'application/json';
  }
  let response;
  try {
    response = await fetch(`${stack.edge.url}${url}`, init);
  } catch (error) {
    // The client itself refused to build the request (a header value it will not carry): nothing was sent.
    // Anything else (a reset, a refused or closed connection) is a failure of ours.
    if (error instanceof TypeError && error.cause === undefined && /header/i.test(error.message)) return;
    failures.push(`${what}: ${method} ${url.slice(0, 120)}: no answer (${error.cause ?? error})`);
    return;
  }
  sent++;
  const text = await response.text();
  const type = response.headers.get('content-type') ?? '';
  if (response.status >= 500) {
    failures.push(`${what}: ${method} ${url.slice(0, 120)} → ${response.status} ${text.slice(0, 200)}`);
  } else if (response.status >= 400) {
    let problem = null;
    try {
      problem = JSON.parse(text);
    } catch {}
    const ok = type === 'application/problem+json' && typeof problem?.code === 'string' && problem.request_id === response.headers.get('request-id');
    if (!ok) failures.push(`${what}: ${method} ${url.slice(0, 120)} → ${response.status} ${type} ${text.slice(0, 200)}`);
  }
}

test(`every public route answers hostile input with a 4xx problem, never a 5xx (seed ${SEED})`, async (t) => {
  const docResponse = await fetch(`${stack.backendUrl}/openapi.json`);
  const doc = await docResponse.json();
  const all = routes(doc);
  t.assert.ok(all.length >= 20, `routes from the document: ${all.length}`);
  const keyFor = (route) => (route.key === 'secret' ? stack.keys.skTest : stack.keys.pkTest);
  const concrete = (route, segment) => route.path.replaceAll('{id}', segment);
  // The route's own kind of real object: /v1/<resource>/{id}...
  const realPath = (route) => concrete(route, real.ids[route.path.split('/')[2]] ?? 'ch_01jd3x0000000000000000000a');

  // 1. Every route, every mutation of each part in turn.
  for (const route of all) {
    const key = keyFor(route);
    const base = route.body === null ? undefined : JSON.stringify(route.body);
    const sane = { body: base, key, headers: {} };
    if (route.path.includes('{id}')) {
      for (const segment of SEGMENTS) await probe('path', route.method, concrete(route, segment), sane);
    }
    const path = realPath(route);
    for (const name of route.query) {
      for (const value of QUERY_VALUES) await probe(`query ${name}`, route.method, `${path}?${name}=${value}`, sane);
      await probe(`query ${name} twice`, route.method, `${path}?${name}=a&${name}=b`, sane);
    }
    await probe('unknown query', route.method, `${path}?%00=1&zz=${'%ff'.repeat(50)}`, sane);
    if (route.body !== null) {
      const fields = Object.keys(route.body).length ? Object.keys(route.body) : ['zz'];
      for (const field of fields) {
        for (const value of FIELD_VALUES) {
          await probe(`field ${field}`, route.method, path, { ...sane, body: JSON.stringify({ ...route.body, [field]: value }) });
        }
      }
      for (const raw of RAW_BODIES) await probe('raw body', route.method, path, { ...sane, body: raw });
    }
    for (const headers of HEADER_SETS) await probe('headers', route.method, path, { ...sane, headers: { ...sane.headers, ...headers } });
    for (const auth of AUTH_HEADERS) await probe('authorization', route.method, path, { ...sane, headers: { ...sane.headers, authorization: auth } });
  }

  // 2. Random combinations of the same ingredients, seeded.
  const random = prng(SEED);
  const pick = (list) => list[Math.floor(random() * list.length)];
  for (let i = 0; i < RANDOM_REQUESTS; i++) {
    const route = pick(all);
    let url = random() < 0.5 ? concrete(route, pick(SEGMENTS)) : realPath(route);
    if (route.query.length && random() < 0.5) url += `?${pick(route.query)}=${pick(QUERY_VALUES)}`;
    let body;
    if (route.body !== null) {
      const fields = { ...route.body };
      for (const field of Object.keys(fields)) if (random() < 0.4) fields[field] = pick(FIELD_VALUES);
      body = random() < 0.15 ? pick(RAW_BODIES) : JSON.stringify(fields);
    }
    const headers = random() < 0.3 ? { ...pick(HEADER_SETS) } : {};
    await probe('random', route.method, url, { body, headers, key: keyFor(route) });
  }

  t.diagnostic(`${sent} requests answered, seed ${SEED}`);
  t.assert.ok(sent >= 2_000, `thousands of requests were answered: ${sent}`);
  t.assert.deepEqual(failures.slice(0, 30), [], `${failures.length} bad answers (seed ${SEED})`);
  // Nothing of the card reached the backend's logs on the way.
  t.assert.ok(!stack.logs().backend.includes('4242424242424242'), 'a card number in the backend log');
});

test('the backend is unharmed: a normal charge still works after the fuzz run', async (t) => {
  const token = await call(stack.edge, stack.keys.pkTest, 'POST', '/v1/tokens', { card: { number: '5555555555554444', exp_month: 12, exp_year: 2034, cvc: '123' } });
  t.assert.equal(token.status, 201, token.text);
  const charge = await call(stack.edge, stack.keys.skTest, 'POST', '/v1/charges', { amount: 1_000, currency: 'EUR', source: token.json.id }, { 'idempotency-key': `after-fuzz-${SEED}` });
  t.assert.equal(charge.status, 201, charge.text);
  t.assert.equal(charge.json.status, 'captured');
});
