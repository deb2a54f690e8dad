// Starts the built worker (edge-api/build, made by worker-build) on workerd through Miniflare.
// Every test disposes its instance, so no workerd process outlives the test run.
import { Miniflare } from 'miniflare';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const edgeDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export async function startEdge({ backendUrl = 'http://127.0.0.1:9' } = {}) {
  const mf = new Miniflare({
    rootPath: edgeDir,
    scriptPath: 'build/index.js',
    modules: true,
    modulesRules: [
      { type: 'ESModule', include: ['**/*.js'] },
      { type: 'CompiledWasm', include: ['**/*.wasm'] },
    ],
    compatibilityDate: '2026-04-01',
    bindings: { BACKEND_URL: backendUrl },
  });
  await mf.ready;
  return {
    fetch: (urlPath, init) => mf.dispatchFetch(`http://edge.test${urlPath}`, init),
    dispose: () => mf.dispose(),
  };
}

// A loopback HTTP server answering every request with `handler(req, res)`; resolves to {url, close}.
export async function startHttpServer(handler) {
  const server = http.createServer(handler);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

export async function expectProblem(t, response, status, code) {
  t.assert.equal(response.status, status);
  t.assert.equal(response.headers.get('content-type'), 'application/problem+json');
  const problem = await response.json();
  t.assert.equal(problem.code, code);
  t.assert.equal(problem.status, status);
  t.assert.equal(problem.request_id, response.headers.get('request-id'));
  return problem;
}
