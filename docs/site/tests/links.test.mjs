// The built documentation site (target/docs-site, made by scripts/build_docs.sh) has no broken link: every
// relative link and image resolves to a file, every #fragment to an id in it, every link to another site is
// https (or the local stack's loopback address, which the guides use on purpose), and every error code's
// `type` URL has its page.
import { test } from 'node:test';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { handWrittenPages, pageSnippets } from './markdown.mjs';

const siteDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const rootDir = path.resolve(siteDir, '../..');
const built = path.join(process.env.CARGO_TARGET_DIR ?? path.join(rootDir, 'target'), 'docs-site');

function htmlFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return htmlFiles(full);
    return entry.name.endsWith('.html') ? [full] : [];
  });
}

const idsCache = new Map();
function idsOf(file) {
  if (!idsCache.has(file)) {
    const html = fs.readFileSync(file, 'utf8');
    idsCache.set(file, new Set([...html.matchAll(/\s(?:id|name)="([^"]+)"/g)].map((m) => m[1])));
  }
  return idsCache.get(file);
}

/// Every problem with `link` in `file` (whose `<base href>` is `base`, if any), or null.
function brokenLink(file, link, base) {
  const decoded = link.replaceAll('&amp;', '&');
  if (/^(mailto:|javascript:void)/.test(decoded)) return null;
  if (/^[a-z]+:/i.test(decoded)) {
    if (decoded.startsWith('https://') || /^http:\/\/(127\.0\.0\.1|localhost)[:/]/.test(decoded)) return null;
    return `${decoded} is not https`;
  }
  const [pathPart, fragment] = decoded.split('#');
  // The site is served from its root (book.toml's site-url): `/x` and a page's `<base href="/">` start there.
  const from = pathPart.startsWith('/') || base === '/' ? built : path.dirname(file);
  const relative = decodeURIComponent(pathPart.split('?')[0]).replace(/^\//, '');
  let target = pathPart === '' ? file : path.resolve(from, relative);
  if (fs.existsSync(target) && fs.statSync(target).isDirectory()) target = path.join(target, 'index.html');
  if (!target.startsWith(built)) return `${decoded} leaves the site`;
  if (!fs.existsSync(target)) return `${decoded}: no such file`;
  if (fragment && target.endsWith('.html') && !idsOf(target).has(decodeURIComponent(fragment))) {
    return `${decoded}: no id "${fragment}" in ${path.relative(built, target)}`;
  }
  return null;
}

test('every link of the built site resolves', (t) => {
  t.assert.ok(fs.existsSync(path.join(built, 'index.html')), `build the site first (scripts/build_docs.sh): ${built}`);
  const broken = [];
  let links = 0;
  for (const file of htmlFiles(built)) {
    const html = fs.readFileSync(file, 'utf8');
    const base = html.match(/<base href="([^"]*)"/)?.[1];
    for (const [, link] of html.matchAll(/\s(?:href|src)="([^"]*)"/g)) {
      links += 1;
      if (link === '' || link === '#') continue;
      const problem = brokenLink(file, link, base);
      if (problem) broken.push(`${path.relative(built, file)}: ${problem}`);
    }
  }
  t.assert.deepEqual([...new Set(broken)], []);
  t.assert.ok(links > 1000, `only ${links} links found: is the site built?`);
});

test('every error code the API can answer has the page its type URL names', (t) => {
  const doc = JSON.parse(fs.readFileSync(path.join(built, 'reference/openapi.json'), 'utf8'));
  const codes = doc.components.schemas.Problem.properties.code.enum;
  t.assert.ok(codes.length > 30, `${codes.length} codes`);
  const index = path.join(built, 'errors/index.html');
  for (const code of codes) {
    t.assert.ok(fs.existsSync(path.join(built, 'errors', `${code}.html`)), `errors/${code}.html`);
    t.assert.ok(idsOf(index).has(code), `errors/index.html#${code}`);
  }
});

test('the guides link only into the site or to other sites over https', (t) => {
  // The Markdown sources too, so a link mdBook does not rewrite (an autolink, a raw <a>) is held to the rule.
  for (const page of handWrittenPages(path.join(siteDir, 'src'))) {
    const text = fs.readFileSync(path.join(siteDir, 'src', page), 'utf8');
    const prose = pageSnippets(text).reduce((rest, snippet) => rest.replace(snippet.code, ''), text);
    for (const match of prose.matchAll(/\]\((http[^)\s]*)\)|<(http[^>\s]*)>/g)) {
      const url = match[1] ?? match[2];
      t.assert.ok(/^https:\/\/|^http:\/\/(127\.0\.0\.1|localhost)[:/]/.test(url), `${page}: ${url}`);
    }
  }
});

test('every hand-written page is in the table of contents (mdBook renders only what SUMMARY.md lists)', (t) => {
  const summary = fs.readFileSync(path.join(siteDir, 'src/SUMMARY.md'), 'utf8');
  const listed = new Set([...summary.matchAll(/\]\(([^)]+\.md)\)/g)].map((m) => m[1]));
  const pages = handWrittenPages(path.join(siteDir, 'src'));
  t.assert.ok(pages.length >= 10, `${pages.length} pages`);
  for (const page of pages) t.assert.ok(listed.has(page), `${page} is not in SUMMARY.md`);
});
