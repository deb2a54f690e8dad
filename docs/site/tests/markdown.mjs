// The site's hand-written pages and their fenced code blocks, as the snippet runner and the link check read them.
import fs from 'node:fs';
import path from 'node:path';

/// Every hand-written page under `src` (relative paths): all Markdown but SUMMARY.md and the generated folders.
export function handWrittenPages(src) {
  const walk = (dir) => fs.readdirSync(path.join(src, dir), { withFileTypes: true }).flatMap((entry) => {
    const relative = dir ? `${dir}/${entry.name}` : entry.name;
    if (entry.isDirectory()) return ['reference', 'errors'].includes(relative) ? [] : walk(relative);
    return entry.name.endsWith('.md') && relative !== 'SUMMARY.md' ? [relative] : [];
  });
  return walk('').sort();
}

/// Every fenced block (``` or ~~~) of `text`: `{lang, flags, info, code, line}`, where the info string
/// `sh,expect=card_declined` gives lang `sh` and flags `['expect=card_declined']`.
export function pageSnippets(text) {
  const snippets = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i += 1) {
    const open = lines[i].match(/^(\s*)(`{3,}|~{3,})\s*([^`\s]*)\s*$/);
    if (!open) continue;
    const [, indent, fence, info] = open;
    const body = [];
    let j = i + 1;
    while (j < lines.length && !lines[j].startsWith(indent + fence)) {
      body.push(lines[j].slice(indent.length));
      j += 1;
    }
    const [lang = '', ...flags] = info.split(',').map((part) => part.trim()).filter(Boolean);
    snippets.push({ lang, flags, info, code: `${body.join('\n')}\n`, line: i + 1 });
    i = j;
  }
  return snippets;
}
