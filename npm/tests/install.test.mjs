// `npm pack` gives a tarball that a brand-new project installs (offline, no registry) and uses: the ESM
// import works in Node as during server-side rendering, TypeScript finds the types, and the card
// element's files ride along when they were built.
import { test } from 'node:test';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const rootDir = path.resolve(packageDir, '..');

test('the packed tarball installs into a fresh project and imports there', (t) => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'paygate-npm-'));
  t.after(() => fs.rmSync(work, { recursive: true, force: true }));
  const packed = execFileSync('npm', ['pack', '--silent', '--pack-destination', work], { cwd: packageDir, encoding: 'utf8' }).trim().split('\n').pop();
  const project = path.join(work, 'shop');
  fs.mkdirSync(project);
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'fresh-shop', private: true, type: 'module' }));
  execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--silent', path.join(work, packed)], { cwd: project });

  const key = `pk_test_${'a1B2c3D4'.repeat(4)}`;
  const ssr = execFileSync('node', ['--input-type=module', '-e', `import { loadPaygate } from '@paygate/js'; console.log(JSON.stringify(await loadPaygate('${key}')));`], { cwd: project, encoding: 'utf8' });
  t.assert.equal(ssr.trim(), 'null', 'no browser: resolves null, no throw');

  fs.writeFileSync(
    path.join(project, 'checkout.ts'),
    `import { loadPaygate, type CardElement } from '@paygate/js';\nexport async function mount(): Promise<CardElement | undefined> {\n  const paygate = await loadPaygate('${key}', { locale: 'ar' });\n  return paygate?.mount('#card', { type: 'card', layout: 'split' });\n}\n`,
  );
  fs.writeFileSync(
    path.join(project, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2020', lib: ['es2020', 'dom'] }, files: ['checkout.ts'] }),
  );
  execFileSync(path.join(rootDir, 'node_modules/.bin/tsc'), ['-p', project], { cwd: project, encoding: 'utf8' });

  const installed = path.join(project, 'node_modules/@paygate/js');
  if (fs.existsSync(path.join(packageDir, 'element/card.html'))) {
    t.assert.ok(fs.existsSync(path.join(installed, 'element/card.html')), 'the built card element ships in the package');
  }
});
