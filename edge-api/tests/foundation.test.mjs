// The edge worker on workerd: health, readiness toward the backend, request ids, and the problem
// answers for unknown routes and methods. Run with `node --test edge-api/tests/` after worker-build.
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
