// The inbox's texts (Public/agent-text.js): English and French have the same keys, none empty, the same
// {placeholders}, and every key that agent.html (data-t, data-t-label, data-t-placeholder) and agent.js (L.key,
// t('key'), and the keys it builds from tables) ask for exists. Run with `node --test Tests/js/`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import vm from 'node:vm';

const read = (f) => readFileSync(new URL('../../Public/' + f, import.meta.url), 'utf8');
const g = { window: {} };
vm.runInContext(read('agent-text.js'), vm.createContext(g), { filename: 'agent-text.js' });
const T = JSON.parse(JSON.stringify(g.window.ParleyAgentText));
const html = read('agent.html'), js = read('agent.js');
const holes = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

test('English and French have the same keys, none empty, with the same placeholders', () => {
  assert.deepEqual(Object.keys(T.fr).sort(), Object.keys(T.en).sort());
  for (const k of Object.keys(T.en)) {
    assert.ok(T.en[k].trim() && T.fr[k].trim(), k);
    assert.deepEqual(holes(T.fr[k]), holes(T.en[k]), k);
  }
});

test('every text the page asks for exists', () => {
  const used = new Set([
    ...[...html.matchAll(/data-t(?:-label|-placeholder)?="(\w+)"/g)].map((m) => m[1]),
    ...[...js.matchAll(/\bL\.(\w+)/g)].map((m) => m[1]),
    ...[...js.matchAll(/\bt\('(\w+)'/g)].map((m) => m[1]),
    // keys chosen at run time: t(cond ? 'a' : 'b'), L[...] tables, the shortcuts' help and the sections
    ...[...js.matchAll(/[?:] '(\w+)'/g)].map((m) => m[1]).filter((k) => k in T.en || /^[a-z]+[A-Z]/.test(k)),
    ...[...js.matchAll(/\], '(k[A-Z]\w*)'\]/g)].map((m) => m[1]),
    ...[...js.matchAll(/: '(sec[A-Z]\w*)'/g)].map((m) => m[1]),
    'online', 'offline', 'connecting', 'desktop', 'mobile', 'stOpen', 'stPending', 'stClosed',
  ]);
  const missing = [...used].filter((k) => !(k in T.en));
  assert.deepEqual(missing, []);
  assert.ok(used.size > 120, `only ${used.size} keys found: the patterns above no longer match agent.js`);
});
