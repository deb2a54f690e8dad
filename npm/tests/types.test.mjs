// The hand-written types against tests/types-usage.ts, compiled by the workspace's pinned TypeScript
// under `strict`: the documented API must type-check and each @ts-expect-error must still be an error.
import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

test('src/index.d.ts types the API as shops use it, and not too loosely', (t) => {
  const tsc = spawnSync(`${root}node_modules/.bin/tsc`, ['-p', 'npm/tsconfig.json'], { cwd: root, encoding: 'utf8' });
  t.assert.equal(tsc.error, undefined, 'TypeScript is installed (npm install at the workspace root)');
  t.assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
});
