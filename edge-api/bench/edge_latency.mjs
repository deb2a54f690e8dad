// Benchmark (not a test): the latency the edge adds over calling the backend directly, under workerd
// (Miniflare serving the built worker on a loopback port), with the release backend on PostgreSQL behind
// it. Run by `make bench WHAT=edge` (scripts/bench.sh), which prints this Markdown into the terminal.
//
// Pairs, each measured sequentially (latency) and then 8 in flight (throughput):
// - GET /v1/balance: through the edge (key lookup, rate limit, signing, forwarding) vs signed straight to
//   the backend;
// - POST /v1/charges with an Idempotency-Key: through the edge (also the idempotency object) vs straight
//   to the backend; both authorize through the edge's vault, so the difference is the front door;
// - the same charge again: an idempotent replay the edge answers alone;
// - GET /health: the worker answers alone, with no object or backend call (what workerd and the client cost).
// Then where the edge's time goes: the mean of each hop the edge reports in its Server-Timing header
// (`SERVER_TIMING=on`, src/timing.rs) for every request through it.
import crypto from 'node:crypto';
import { startStack, TEST_CARD } from '../tests/helpers.mjs';

const N = Number(process.env.BENCH_REQUESTS ?? 300);
const stack = await startStack({ vars: { RATE_LIMIT_PER_KEY: '100000/1', RATE_LIMIT_TOKENS_PER_IP: '100000/60', RATE_LIMIT_TOKENS_PER_CARD: '100000/60', SERVER_TIMING: 'on' } });

try {
function signedHeaders(method, path, body) {
  const timestamp = Math.floor(Date.now() / 1000);
  const requestId = `req_${crypto.randomBytes(13).toString('hex').slice(0, 26)}`;
  const bodyHash = crypto.createHash('sha256').update(body).digest('hex');
  const canonical = ['paygate-v1', timestamp, method, path, bodyHash, stack.merchant, 'test', requestId, ''].join('\n');
  const mac = crypto.createHmac('sha256', Buffer.from(stack.secrets.PAYGATE_EDGE_SECRET, 'hex')).update(canonical).digest('hex');
  return { 'paygate-signature': `v1=${mac}`, 'paygate-timestamp': String(timestamp), 'paygate-merchant': stack.merchant, 'paygate-mode': 'test', 'request-id': requestId };
}

const viaEdge = (method, path, body, extra = {}) => fetch(`${stack.edge.url}${path}`, {
  method, body, headers: { authorization: `Bearer ${stack.keys.skTest}`, ...(body ? { 'content-type': 'application/json' } : {}), ...extra },
});
const direct = (method, path, body, extra = {}) => fetch(`${stack.backendUrl}${path}`, {
  method, body, headers: { ...signedHeaders(method, path, body ?? ''), ...(body ? { 'content-type': 'application/json' } : {}), ...extra },
});

async function token() {
  const answer = await fetch(`${stack.edge.url}/v1/tokens`, {
    method: 'POST', body: JSON.stringify({ card: TEST_CARD }),
    headers: { authorization: `Bearer ${stack.keys.pkTest}`, 'content-type': 'application/json' },
  });
  return (await answer.json()).id;
}

async function measure(label, prepare, send, inFlight) {
  const inputs = [];
  for (let i = 0; i < N; i++) inputs.push(await prepare(i));
  const latencies = [];
  // Each hop's total over the answers that reported it (Server-Timing: `name;dur=ms, …`), and how many did.
  const hops = new Map();
  let next = 0;
  let failures = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next < inputs.length) {
      const input = inputs[next++];
      const t0 = performance.now();
      const response = await send(input);
      await response.arrayBuffer();
      latencies.push(performance.now() - t0);
      for (const entry of (response.headers.get('server-timing') ?? '').split(',')) {
        const [name, dur] = entry.trim().split(';dur=');
        if (!name || dur === undefined) continue;
        const [sum, count] = hops.get(name) ?? [0, 0];
        hops.set(name, [sum + Number(dur), count + 1]);
      }
      if (response.status >= 300) failures++;
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (p) => latencies[Math.min(latencies.length - 1, Math.round((latencies.length - 1) * p))];
  const mean = latencies.reduce((a, b) => a + b, 0) / latencies.length;
  return { label, inFlight, p50: at(0.5), p99: at(0.99), mean, rps: latencies.length / seconds, failures, hops };
}

const charge = (send) => (input) => send('POST', '/v1/charges', input.body, { 'idempotency-key': input.key });
const chargeInput = async (i) => ({ key: `bench-${crypto.randomUUID()}`, body: JSON.stringify({ amount: 1000 + i, currency: 'EUR', source: await token() }) });
const noInput = async () => null;
const replayKey = `replay-${crypto.randomUUID()}`;
const replayBody = JSON.stringify({ amount: 999, currency: 'EUR', source: await token() });
await viaEdge('POST', '/v1/charges', replayBody, { 'idempotency-key': replayKey });

const rows = [];
for (const inFlight of [1, 8]) {
  // Warm both paths (key cache, connections, the backend's statement caches).
  await measure('warm', noInput, () => viaEdge('GET', '/v1/balance'), inFlight);
  await measure('warm', noInput, () => direct('GET', '/v1/balance'), inFlight);
  rows.push(await measure('GET /v1/balance, direct to the backend', noInput, () => direct('GET', '/v1/balance'), inFlight));
  rows.push(await measure('GET /v1/balance, through the edge', noInput, () => viaEdge('GET', '/v1/balance'), inFlight));
  rows.push(await measure('POST /v1/charges, direct to the backend', chargeInput, charge(direct), inFlight));
  rows.push(await measure('POST /v1/charges, through the edge (idempotent)', chargeInput, charge(viaEdge), inFlight));
  rows.push(await measure('the same charge replayed (the edge answers)', noInput, () => viaEdge('POST', '/v1/charges', replayBody, { 'idempotency-key': replayKey }), inFlight));
  rows.push(await measure('GET /health (the worker answers alone)', noInput, () => viaEdge('GET', '/health'), inFlight));
}
const replayed = await viaEdge('POST', '/v1/charges', replayBody, { 'idempotency-key': replayKey });
await replayed.arrayBuffer();
if (replayed.headers.get('idempotent-replayed') !== 'true') throw new Error('the replay was not served by the edge');

console.log(`edge latency benchmark: ${N} requests per row; Miniflare ${process.env.npm_package_version ?? ''} on workerd, release backend`);
console.log('| request | in flight | p50 | p99 | requests/s | failures |');
console.log('|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.label} | ${r.inFlight} | ${r.p50.toFixed(2)} ms | ${r.p99.toFixed(2)} ms | ${r.rps.toFixed(0)} | ${r.failures} |`);
}
// The edge's own account of each request through it: mean milliseconds per hop (over the answers that made it,
// with how many did when not all), beside the mean the client measured. Whole milliseconds of workerd's clock,
// which moves only at I/O; the client's mean less `edge` is workerd's HTTP in and out and the client itself.
const names = ['key', 'limit', 'idempotency', 'backend', 'edge'];
console.log('');
console.log(`| request through the edge | in flight | client mean | ${names.join(' | ')} |`);
console.log(`|---|---|---|${names.map(() => '---').join('|')}|`);
for (const r of rows.filter((row) => row.hops.size > 0)) {
  const total = r.hops.get('edge')?.[1] ?? 0;
  const cell = (name) => {
    const [sum, count] = r.hops.get(name) ?? [0, 0];
    if (count === 0) return '–';
    return `${(sum / count).toFixed(2)}${count < total ? ` (${count})` : ''}`;
  };
  console.log(`| ${r.label} | ${r.inFlight} | ${r.mean.toFixed(2)} | ${names.map(cell).join(' | ')} |`);
}
} finally {
  // Also when a measurement throws: no process of ours outlives the benchmark.
  await stack.stop();
}
