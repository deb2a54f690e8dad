// The README's SRI hashes are the ones of the loader the CDN serves: a changed loader with a stale README
// would break every shop that pinned the old hash without telling them.
import { test } from 'node:test';
import fs from 'node:fs';
import crypto from 'node:crypto';
import { README, section, readmeWithSection, current, history } from '../scripts/sri.mjs';

test('the README names the SRI hash of the current loader', (t) => {
  const readme = fs.readFileSync(README, 'utf8');
  t.assert.ok(readme.includes(section()), 'stale SRI section: run `node npm/scripts/sri.mjs --write`');
  t.assert.equal(readmeWithSection(readme), readme);
});

test('the hash in the README is the sha384 of dist/paygate.mjs, the loader as shipped', (t) => {
  const loader = fs.readFileSync(new URL('../dist/paygate.mjs', import.meta.url));
  const expected = `sha384-${crypto.createHash('sha384').update(loader).digest('base64')}`;
  t.assert.ok(fs.readFileSync(README, 'utf8').includes(expected));
});

test("a released version's loader hash never changes: a changed loader needs a new version", (t) => {
  const { version, integrity } = current();
  t.assert.equal(history()[version], integrity, `npm/loader-integrity.json records another hash for ${version}: bump the version, then \`node npm/scripts/sri.mjs --write\``);
});
