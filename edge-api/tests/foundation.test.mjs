// The edge worker on workerd: health, readiness toward the backend, request ids, and the problem
// answers for unknown routes and methods. Run with `node --test edge-api/tests/` after worker-build.
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { startEdge, startHttpServer, expectProblem } from './helpers.mjs';

test('health answers with a request id', async (t) => {
  const edge = await startEdge();
  t.after(() => edge.dispose());
  const response = await edge.fetch('/health');
  t.assert.equal(response.status, 200);
  t.assert.deepEqual(await response.json(), { status: 'ok' });
  t.assert.match(response.headers.get('request-id'), /^req_[0-9a-z]{26}$/);
  const again = await edge.fetch('/health');
  await again.arrayBuffer();
  t.assert.notEqual(again.headers.get('request-id'), response.headers.get('request-id'));
});

test('unknown routes and methods get problem answers', async (t) => {
  const edge = await startEdge();
  t.after(() => edge.dispose());
  await expectProblem(t, await edge.fetch('/nothing-here'), 404, 'route_not_found');
  // Under /v1 the key comes first, so an anonymous caller cannot map the routes.
  await expectProblem(t, await edge.fetch('/v1/nothing-here'), 401, 'authentication_required');
  await expectProblem(t, await edge.fetch('/health', { method: 'POST', body: '{}' }), 405, 'method_not_allowed');
});

test('ready follows the backend', async (t) => {
  let backendStatus = 200;
  const backend = await startHttpServer((req, res) => {
    t.assert.equal(req.url, '/ready');
    res.writeHead(backendStatus, { 'content-type': 'application/json' }).end('{}');
  });
  t.after(() => backend.close());
  const edge = await startEdge({ backendUrl: backend.url });
  t.after(() => edge.dispose());

  const ready = await edge.fetch('/ready');
  t.assert.equal(ready.status, 200);
  t.assert.deepEqual(await ready.json(), { status: 'ready' });

  backendStatus = 503;
  await expectProblem(t, await edge.fetch('/ready'), 503, 'service_unavailable');
});

test('ready is a 503 problem when the backend is down', async (t) => {
  // Port 9 (discard) on loopback has no listener here: the connection is refused.
  const edge = await startEdge({ backendUrl: 'http://127.0.0.1:9' });
  t.after(() => edge.dispose());
  await expectProblem(t, await edge.fetch('/ready'), 503, 'service_unavailable');
});

test('a backend 5xx or timeout is not stored: the retry with the same key reaches the backend again', async (t) => {
  // A stand-in backend: it answers the edge's key lookup, then fails the first charge with a 500 and
  // accepts the second. (The real backend is in stack.test.mjs; this one lets a failure be scripted.)
  const key = `sk_test_${randomBytes(24).toString('base64url').replace(/[-_]/g, 'x')}`;
  const charges = [];
  const backend = await startHttpServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      if (req.url === '/v1/internal/api_keys/lookup') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ key_id: 'key_00000000000000000000000000', merchant_id: 'acct_00000000000000000000000000', mode: 'test', kind: 'secret' }));
        return;
      }
      charges.push({ url: req.url, key: req.headers['idempotency-key'], signed: Boolean(req.headers['paygate-signature']) });
      const failing = charges.length === 1;
      res.writeHead(failing ? 500 : 201, { 'content-type': 'application/json' });
      res.end(JSON.stringify(failing ? { code: 'internal_error' } : { id: 'ch_00000000000000000000000001', object: 'charge' }));
    });
  });
  t.after(() => backend.close());
  const edge = await startEdge({ backendUrl: backend.url });
  t.after(() => edge.dispose());
  const charge = () => edge.fetch('/v1/charges', {
    method: 'POST',
    body: JSON.stringify({ amount: 100, currency: 'EUR', source: 'tok_00000000000000000000000000' }),
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'idempotency-key': 'retry-me' },
  });
  const first = await charge();
  t.assert.equal(first.status, 500);
  await first.arrayBuffer();
  // The edge forgets the failed attempt (just after answering), so the retry is not told "in flight" for long.
  let second;
  for (let i = 0; i < 20; i++) {
    second = await charge();
    if (second.status !== 409) break;
    await second.arrayBuffer();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  t.assert.equal(second.status, 201);
  t.assert.equal(second.headers.get('idempotent-replayed'), null);
  await second.arrayBuffer();
  t.assert.equal(charges.length, 2, 'the retry reached the backend');
  t.assert.ok(charges.every((c) => c.signed && c.key === 'retry-me'), 'forwarded signed, with the key');
  // And now the answer is stored: the next retry is a replay the backend never sees.
  let third;
  for (let i = 0; i < 20; i++) {
    third = await charge();
    if (third.status !== 409) break;
    await third.arrayBuffer();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  t.assert.equal(third.headers.get('idempotent-replayed'), 'true');
  await third.arrayBuffer();
  t.assert.equal(charges.length, 2);
});

test('public config authenticates like every route: the key prefix, the key kind and the per-key limit apply', async (t) => {
  // A stand-in backend whose key lookup knows one publishable key (the edge refuses a secret key by its prefix,
  // before any lookup).
  const random = () => randomBytes(24).toString('base64url').replace(/[-_]/g, 'x');
  const [publishable, secret] = [`pk_test_${random()}`, `sk_test_${random()}`];
  const lookups = [];
  const backend = await startHttpServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      t.assert.equal(req.url, '/v1/internal/api_keys/lookup');
      lookups.push(body);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ key_id: 'key_00000000000000000000000001', merchant_id: 'acct_00000000000000000000000000', mode: 'test', kind: 'publishable' }));
    });
  });
  t.after(() => backend.close());
  const edge = await startEdge({ backendUrl: backend.url, vars: { RATE_LIMIT_PER_KEY: '3/60' } });
  t.after(() => edge.dispose());
  const config = (key) => edge.fetch(`/v1/public/config?key=${encodeURIComponent(key)}`);
  // Not a key at all: refused before any lookup, naming the parameter.
  for (const bad of ['', 'nonsense', `xk_test_${random()}`]) {
    const refused = await config(bad);
    t.assert.equal(refused.status, 401, bad);
    t.assert.equal((await refused.json()).param, 'key', bad);
  }
  t.assert.equal(lookups.length, 0, 'malformed keys never reach the backend');
  const answers = [];
  for (let i = 0; i < 4; i++) {
    const answer = await config(publishable);
    answers.push(answer.status);
    if (answer.status === 200) t.assert.equal((await answer.json()).object, 'public_config');
    else await answer.arrayBuffer();
  }
  t.assert.deepEqual(answers, [200, 200, 200, 429], 'the per-key bucket (3 a minute) applies here too');
  // A secret key is the wrong kind for a page: refused, naming the parameter.
  const wrongKind = await config(secret);
  t.assert.equal(wrongKind.status, 403);
  t.assert.equal((await wrongKind.json()).param, 'key');
  t.assert.ok(lookups.every((body) => body.includes('key_hash')), 'only the publishable key was looked up, by hash');
});

test('a request refused by the key limit reaches no backend and leaves its Idempotency-Key free for the retry', async (t) => {
  // Once the isolate knows the key, the limit is taken while the idempotency record is asked (two object calls
  // at once): a refusal must still stop the request before the backend, and free the key it had taken.
  const secret = `sk_test_${randomBytes(24).toString('base64url').replace(/[-_]/g, 'x')}`;
  const charges = [];
  const backend = await startHttpServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const json = { 'content-type': 'application/json' };
      if (req.url === '/v1/internal/api_keys/lookup') {
        const identity = { key_id: 'key_00000000000000000000000002', merchant_id: 'acct_00000000000000000000000000', mode: 'test', kind: 'secret' };
        res.writeHead(200, json).end(JSON.stringify(identity));
      } else if (req.url === '/v1/charges') {
        charges.push(req.headers['idempotency-key']);
        res.writeHead(201, json).end(JSON.stringify({ id: `ch_${charges.length}`, object: 'charge' }));
      } else {
        res.writeHead(404, json).end('{}');
      }
    });
  });
  t.after(() => backend.close());
  // Two requests, then one a second.
  const edge = await startEdge({ backendUrl: backend.url, vars: { RATE_LIMIT_PER_KEY: '2/2' } });
  t.after(() => edge.dispose());
  const charge = (key) =>
    edge.fetch('/v1/charges', {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify({ amount: 100, currency: 'EUR', source: 'tok_x' }),
    });
  const statuses = [];
  for (const key of ['first', 'second', 'third']) {
    const answer = await charge(key);
    statuses.push(answer.status);
    if (answer.status === 429) {
      t.assert.equal((await answer.json()).code, 'rate_limited');
      const wait = Number(answer.headers.get('retry-after'));
      t.assert.ok(wait >= 1, `Retry-After ${wait}`);
      await new Promise((resolve) => setTimeout(resolve, wait * 1000 + 200));
    } else {
      await answer.arrayBuffer();
    }
  }
  t.assert.deepEqual(statuses, [201, 201, 429]);
  t.assert.deepEqual(charges, ['first', 'second'], 'the refused request never reached the backend');
  // The retry the 429 asked for: the key is free (not 409 "in flight"), and the request goes through once.
  const retried = await charge('third');
  t.assert.equal(retried.status, 201, await retried.text());
  t.assert.deepEqual(charges, ['first', 'second', 'third']);
});

test('the edge reports its hops in Server-Timing only when the operator turns it on', async (t) => {
  const key = `sk_test_${randomBytes(24).toString('base64url').replace(/[-_]/g, 'x')}`;
  const backend = await startHttpServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(req.url === '/v1/internal/api_keys/lookup' ? 200 : 201, { 'content-type': 'application/json' });
      res.end(JSON.stringify(req.url === '/v1/internal/api_keys/lookup'
        ? { key_id: 'key_00000000000000000000000000', merchant_id: 'acct_00000000000000000000000000', mode: 'test', kind: 'secret' }
        : { id: 'ch_00000000000000000000000001', object: 'charge' }));
    });
  });
  t.after(() => backend.close());
  const charge = (edge, idempotencyKey) => edge.fetch('/v1/charges', {
    method: 'POST',
    body: JSON.stringify({ amount: 100, currency: 'EUR', source: 'tok_00000000000000000000000000' }),
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
  });
  // `name;dur=ms, …` as a map, every duration a whole number of milliseconds.
  const hops = (response) => new Map((response.headers.get('server-timing') ?? '').split(', ').filter(Boolean).map((entry) => {
    const [name, dur] = entry.split(';dur=');
    t.assert.match(dur, /^\d+$/, entry);
    return [name, Number(dur)];
  }));

  const timed = await startEdge({ backendUrl: backend.url, vars: { SERVER_TIMING: 'on' } });
  t.after(() => timed.dispose());
  // The first request looks the key up (with its rate limit beside it); the second finds it cached and takes
  // from the limit on its own; a replay never reaches the backend.
  const first = await charge(timed, 'first');
  t.assert.equal(first.status, 201);
  await first.arrayBuffer();
  t.assert.deepEqual([...hops(first).keys()], ['key', 'idempotency', 'backend', 'edge']);
  const second = await charge(timed, 'second');
  await second.arrayBuffer();
  t.assert.deepEqual([...hops(second).keys()].sort(), ['backend', 'edge', 'idempotency', 'key', 'limit']);
  const total = hops(second).get('edge');
  t.assert.ok(hops(second).get('backend') <= total, 'a hop is part of the whole');
  let replay;
  for (let i = 0; i < 20; i++) {
    replay = await charge(timed, 'second');
    await replay.arrayBuffer();
    if (replay.status !== 409) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  t.assert.equal(replay.headers.get('idempotent-replayed'), 'true');
  t.assert.equal(hops(replay).has('backend'), false, 'a replay is the edge alone');

  const quiet = await startEdge({ backendUrl: backend.url });
  t.after(() => quiet.dispose());
  const untimed = await charge(quiet, 'third');
  t.assert.equal(untimed.status, 201);
  await untimed.arrayBuffer();
  t.assert.equal(untimed.headers.get('server-timing'), null);
});
