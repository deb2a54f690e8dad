// Where the edge's CPU goes under load: a V8 CPU profile of the worker's isolate, taken through workerd's
// inspector while a benchmark runs, printed as the functions with the most self time. Not a test.
//
//   EDGE_INSPECTOR_PORT=9339 node edge-api/bench/charge_path.mjs &   # (DATABASE_URL, PAYGATE_BIN_PROFILE as make bench sets them)
//   EDGE_INSPECTOR_PORT=9339 PROFILE_SECONDS=10 node edge-api/bench/profile.mjs
//
// `startEdge` (tests/helpers.mjs) opens the inspector on that loopback port when EDGE_INSPECTOR_PORT is set.
// The whole profile is also written to edge.cpuprofile (Chrome DevTools opens it).
import fs from 'node:fs';
import WebSocket from 'ws';

const port = process.env.EDGE_INSPECTOR_PORT;
if (!port) throw new Error('set EDGE_INSPECTOR_PORT to the port the benchmark opened the inspector on');
const seconds = Number(process.env.PROFILE_SECONDS ?? 10);
const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
// Miniflare's own workers are listed too; ours is `core:user:`.
const worker = targets.find((t) => t.title.includes('core:user:'));
if (!worker) throw new Error(`no user worker among ${targets.map((t) => t.title).join(', ')}`);

const socket = new WebSocket(worker.webSocketDebuggerUrl);
await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
let next = 0;
const waiting = new Map();
socket.on('message', (data) => {
  const message = JSON.parse(data);
  waiting.get(message.id)?.(message);
  waiting.delete(message.id);
});
const send = (method, params = {}) => new Promise((resolve) => {
  next += 1;
  waiting.set(next, resolve);
  socket.send(JSON.stringify({ id: next, method, params }));
});

await send('Profiler.enable');
await send('Profiler.setSamplingInterval', { interval: 200 });
await send('Profiler.start');
await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
const { result } = await send('Profiler.stop');
socket.close();
fs.writeFileSync('edge.cpuprofile', JSON.stringify(result.profile));

// Self time per function: each sample's time goes to the node it landed on.
const { nodes, samples, timeDeltas } = result.profile;
const byId = new Map(nodes.map((n) => [n.id, n]));
const self = new Map();
let total = 0;
samples.forEach((id, i) => {
  const { functionName, url, lineNumber } = byId.get(id).callFrame;
  const name = `${functionName || '(anonymous)'} ${url.split('/').pop()}:${lineNumber}`;
  self.set(name, (self.get(name) ?? 0) + (timeDeltas[i] ?? 0));
  total += timeDeltas[i] ?? 0;
});
console.log(`edge CPU profile: ${(total / 1e6).toFixed(1)} s sampled in the worker's isolate`);
console.log('| self time | share | function |');
console.log('|---:|---:|---|');
for (const [name, micros] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
  console.log(`| ${(micros / 1000).toFixed(0)} ms | ${((100 * micros) / total).toFixed(1)} % | \`${name}\` |`);
}
