// Benchmark (not a test): the whole charge path end to end. One operation is what a shop that captures on
// shipping sends: `POST /v1/charges` (`capture: false`, with an Idempotency-Key) and then
// `POST /v1/charges/{id}/capture`. The same operations run two ways against the same processes, side by
// side in one run:
// - through the edge: workerd (Miniflare) in front of the release backend, with a secret key: key lookup,
//   rate limit, idempotency object, signing, forwarding;
// - straight to the backend: signed by this script as the edge would, so the difference is the edge.
// Both authorize through the edge's vault and the sandbox acquirer, on the durable `.local/pg-bench`
// cluster. For 1,000 merchants and for one hot merchant, 8 and 32 operations in flight.
// Run by `make bench` (scripts/bench.sh ledger), which prints this Markdown into the terminal.
//
// Knobs: BENCH_OPERATIONS (per row, default 2,000), BENCH_MERCHANTS (default 1,000).
import crypto from 'node:crypto';
import { startStack, TEST_CARD } from '../tests/helpers.mjs';

const OPERATIONS = Number(process.env.BENCH_OPERATIONS ?? 2000);
const MERCHANTS = Number(process.env.BENCH_MERCHANTS ?? 1000);
const unlimited = '1000000/1';
const stack = await startStack({
  vars: { RATE_LIMIT_PER_KEY: unlimited, RATE_LIMIT_TOKENS_PER_IP: unlimited, RATE_LIMIT_TOKENS_PER_CARD: unlimited },
  // Objects' storage in workerd's memory: on disk, workerd's SQLite fails (SQLITE_NOMEM) once a few thousand
  // objects are open, and 1,000 merchants need more. In memory, an object evicted after a few idle seconds
  // loses its storage, which is why each token is made just before its charge.
  inMemoryObjects: true,
});

/// `work` over `items`, `inFlight` at a time, in order of start; the answers in the items' order.
async function pooled(items, inFlight, work) {
  const answers = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(inFlight, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      answers[i] = await work(items[i], i);
    }
  }));
  return answers;
}

// Ctrl-C or a kill stops the stack too.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => stack.stop().finally(() => process.exit(130)));
}

try {
  // Merchants, each with its test keys, priced 2.9 % + 30 so every capture books a fee line (as in the
  // backend-only benchmark).
  const word = (text, pattern) => text.split(/\s+/).find((w) => pattern.test(w));
  const merchants = [{ id: stack.merchant, pk: stack.keys.pkTest, sk: stack.keys.skTest }];
  const more = await pooled(Array.from({ length: MERCHANTS - 1 }), 4, async (_, i) => {
    const id = word(await stack.cli('create-merchant', '--name', `Bench shop ${i}`), /^acct_/);
    const key = async (kind) => word(await stack.cli('create-key', '--merchant', id, '--mode', 'test', '--kind', kind), /^(pk|sk)_/);
    return { id, pk: await key('publishable'), sk: await key('secret') };
  });
  merchants.push(...more);
  stack.sql("INSERT INTO merchant_pricing (merchant_id, currency, basis_points, fixed_minor) SELECT id, '*', 290, 30 FROM merchants");

  const edgeSecret = Buffer.from(stack.secrets.PAYGATE_EDGE_SECRET, 'hex');
  /// What the edge adds to a request it forwards: its signature over the request (core::signature::edge).
  function signed(merchant, path, body) {
    const timestamp = Math.floor(Date.now() / 1000);
    const requestId = `req_${crypto.randomBytes(13).toString('hex').slice(0, 26)}`;
    const bodyHash = crypto.createHash('sha256').update(body).digest('hex');
    const canonical = ['paygate-v1', timestamp, 'POST', path, bodyHash, merchant.id, 'test', requestId, ''].join('\n');
    const mac = crypto.createHmac('sha256', edgeSecret).update(canonical).digest('hex');
    return {
      'paygate-signature': `v1=${mac}`, 'paygate-timestamp': String(timestamp), 'paygate-merchant': merchant.id,
      'paygate-mode': 'test', 'request-id': requestId,
    };
  }
  const paths = {
    edge: (merchant, path, body) => fetch(`${stack.edge.url}${path}`, {
      method: 'POST', body, headers: { authorization: `Bearer ${merchant.sk}`, 'content-type': 'application/json', 'idempotency-key': crypto.randomUUID() },
    }),
    backend: (merchant, path, body) => fetch(`${stack.backendUrl}${path}`, {
      method: 'POST', body, headers: { ...signed(merchant, path, body), 'content-type': 'application/json', 'idempotency-key': crypto.randomUUID() },
    }),
  };

  async function token(merchant) {
    const answer = await fetch(`${stack.edge.url}/v1/tokens`, {
      method: 'POST', body: JSON.stringify({ card: TEST_CARD }),
      headers: { authorization: `Bearer ${merchant.pk}`, 'content-type': 'application/json' },
    });
    const json = await answer.json();
    if (answer.status !== 201 && answer.status !== 200) throw new Error(`token: ${answer.status} ${JSON.stringify(json)}`);
    return json.id;
  }

  /// One operation: the card tokenized (untimed: the card form's share, measured by `make bench WHAT=sdk`),
  /// then the charge created (authorized, not captured) and captured; checked, and timed per request. The
  /// token is made just before it is used, as a checkout does (see `inMemoryObjects` above).
  async function operation(send, merchant) {
    const source = await token(merchant);
    const t0 = performance.now();
    const created = await send(merchant, '/v1/charges', JSON.stringify({ amount: 2500, currency: 'EUR', source, capture: false }));
    const charge = await created.json();
    const t1 = performance.now();
    if (created.status >= 300 || charge.status !== 'authorized') return { error: `create: ${created.status} ${JSON.stringify(charge)}` };
    const answer = await send(merchant, `/v1/charges/${charge.id}/capture`, '');
    const captured = await answer.json();
    const t2 = performance.now();
    if (answer.status >= 300 || captured.status !== 'captured') return { error: `capture: ${answer.status} ${JSON.stringify(captured)}` };
    return { create: t1 - t0, capture: t2 - t1, total: t2 - t0 };
  }

  async function measure(pathName, among, inFlight, count) {
    const work = Array.from({ length: count }, (_, i) => among[i % among.length]);
    const started = performance.now();
    const results = await pooled(work, inFlight, (merchant) => operation(paths[pathName], merchant));
    const seconds = (performance.now() - started) / 1000;
    const ok = results.filter((r) => !r.error);
    const errors = results.filter((r) => r.error);
    for (const e of errors.slice(0, 3)) console.error(e.error);
    const at = (field, p) => {
      const sorted = ok.map((r) => r[field]).sort((a, b) => a - b);
      return sorted[Math.min(sorted.length - 1, Math.round((sorted.length - 1) * p))];
    };
    return {
      ops: ok.length / seconds, errors: errors.length,
      total: [at('total', 0.5), at('total', 0.99)], create: [at('create', 0.5), at('create', 0.99)], capture: [at('capture', 0.5), at('capture', 0.99)],
    };
  }

  const scenarios = [
    { label: `${MERCHANTS.toLocaleString('en')} merchants`, among: merchants },
    { label: 'one hot merchant', among: merchants.slice(0, 1) },
  ];
  // Warm both paths: connections, statement caches, every merchant's key in the edge's cache objects.
  for (const pathName of ['backend', 'edge']) await measure(pathName, merchants, 8, Math.min(merchants.length, 1000));
  const rows = [];
  for (const inFlight of [8, 32]) {
    for (const scenario of scenarios) {
      // Alternated, so a slow minute of this shared machine does not fall on one path only.
      for (const pathName of ['backend', 'edge']) {
        rows.push({ scenario, inFlight, pathName, ...(await measure(pathName, scenario.among, inFlight, OPERATIONS)) });
      }
    }
  }

  const ms = (v) => `${v.toFixed(1)} ms`;
  console.log(`end-to-end charge path: create (authorize) + capture, ${OPERATIONS} operations per row, each after its card's token; workerd (Miniflare) in front of the release backend`);
  console.log('ops/s counts whole operations, token included; latencies are the create and capture requests alone.');
  console.log('| scenario | in flight | path | ops/s | create+capture p50 | p99 | create p50 | p99 | capture p50 | p99 | errors |');
  console.log('|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    const path = r.pathName === 'edge' ? 'through the edge' : 'straight to the backend';
    console.log(`| ${r.scenario.label} | ${r.inFlight} | ${path} | ${r.ops.toFixed(0)} | ${ms(r.total[0])} | ${ms(r.total[1])} | ${ms(r.create[0])} | ${ms(r.create[1])} | ${ms(r.capture[0])} | ${ms(r.capture[1])} | ${r.errors} |`);
  }
  console.log('');
  console.log('What the edge adds per request, at p50 (through the edge − straight to the backend, same row pair):');
  console.log('| scenario | in flight | create | capture |');
  console.log('|---|---:|---:|---:|');
  for (let i = 0; i < rows.length; i += 2) {
    const [direct, edge] = [rows[i], rows[i + 1]];
    console.log(`| ${direct.scenario.label} | ${direct.inFlight} | ${ms(edge.create[0] - direct.create[0])} | ${ms(edge.capture[0] - direct.capture[0])} |`);
  }
} catch (error) {
  // What the edge and the backend logged last says why.
  const logs = stack.logs();
  console.error(`edge log (tail):\n${logs.edge.slice(-4000)}\nbackend log (tail):\n${logs.backend.slice(-4000)}`);
  throw error;
} finally {
  // Also when a measurement throws: no process of ours outlives the benchmark.
  await stack.stop();
}
