// Tests for the Parley loader (Public/widget.js), run with `node --test Tests/js/`.
//
// widget.js is a plain browser script, so each test evaluates it in a fresh `vm` page (fakepage.mjs:
// a fake window + document, a fake fetch answering the widget config, fake storage and timers) and
// checks what a shop page would observe: the command queue, the one config request, whether and
// where the bubble shows, SPA navigation, when the chat bundle is requested, and the hand-over to it.
//
// The loader carries no comments (every byte counts against its budget); its reasons are here:
// - commands before the config wait for it; on a page without the widget they are dropped;
// - the config reaches CSS only as a checked hex colour and a number;
// - a stored conversation the visitor saw end (`end`) is no conversation: nothing loads early for it;
// - a bubble click before the chat bundle has run means "open" (two quick clicks don't open-then-close);
// - a bundle that fails to load can be asked for again by the next click;
// - sites that replace <body> on navigation (Turbo, pjax) get the bubble put back;
// - every navigation tells the chat (a command without a name): shown or hidden changes what it counts as read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { makePage, fakeStorage } from './fakepage.mjs';

const VECTORS = JSON.parse(readFileSync(new URL('../vectors/path-rules.json', import.meta.url), 'utf8'));
const CONFIG = { id: 'demo', availability: 'open', chat: '/widget-chat.js?v=abc' };

/** A page with the loader evaluated and its config answered. */
async function loaded(options = {}) {
  const page = makePage(options);
  if (options.before) page.run(options.before);
  page.load();
  await page.settle();
  return page;
}

/** Replaces the chat bundle by a recorder: what widget-chat.js would do once its <script> ran. */
function fakeChat(page) {
  const calls = [];
  const chat = { calls, boots: 0, L: null };
  page.window.Parley._c = { boot: (L) => { chat.boots++; chat.L = L; return (c) => calls.push(c); } };
  page.window.Parley._.k();
  return chat;
}

test('path rules: every case of Tests/vectors/path-rules.json', async () => {
  const page = await loaded();
  const match = page.window.Parley._.m;
  assert.ok(VECTORS.cases.length >= 20);
  for (const c of VECTORS.cases) {
    assert.equal(match({ mode: c.mode, paths: c.paths }, c.path), c.shows, JSON.stringify(c));
  }
});

test('path rules: browsers give location.pathname percent-encoded; rules are written decoded', async () => {
  const match = (await loaded()).window.Parley._.m;
  assert.equal(match({ mode: 'whitelist', paths: ['/café*'] }, '/caf%C3%A9/menu'), true);
  assert.equal(match({ mode: 'blacklist', paths: ['/a.b'] }, '/aXb'), true, '. is not a regex wildcard');
  assert.equal(match({ mode: 'blacklist', paths: ['/%zz'] }, '/%zz'), false, 'malformed escapes match raw');
});

test('path rules decide the first display and every SPA navigation', async () => {
  const page = await loaded({ path: '/products/1', config: { ...CONFIG, pathRules: { mode: 'blacklist', paths: ['/checkout*'] } } });
  assert.equal(page.shown, true);
  page.window.history.pushState({}, '', '/checkout/pay');
  assert.equal(page.shown, false, 'pushState to a blacklisted path hides');
  page.window.history.replaceState({}, '', '/cart');
  assert.equal(page.shown, true, 'replaceState re-evaluates');
  page.popstate('/checkout');
  assert.equal(page.shown, false, 'popstate re-evaluates');
  assert.equal(page.body.children.filter((el) => el.id === 'parley-widget').length, 1, 'one host, hidden and shown');
});

test('a whitelist page without a match draws nothing until a listed path', async () => {
  const page = await loaded({ path: '/', config: { ...CONFIG, pathRules: { mode: 'whitelist', paths: ['/help*'] } } });
  assert.equal(page.host, undefined);
  page.window.history.pushState({}, '', '/help/returns');
  assert.equal(page.shown, true);
});

test("show/hide override the rules until the next navigation", async () => {
  const page = await loaded({ path: '/checkout', config: { ...CONFIG, pathRules: { mode: 'blacklist', paths: ['/checkout'] } } });
  assert.equal(page.shown, false);
  page.window.Parley('show');
  assert.equal(page.shown, true);
  page.window.history.pushState({}, '', '/checkout'); // same path: not a navigation
  assert.equal(page.shown, true);
  page.window.history.pushState({}, '', '/cart');
  page.window.Parley('hide');
  assert.equal(page.shown, false);
  page.window.history.pushState({}, '', '/about');
  assert.equal(page.shown, true, 'the override ends on navigation');
});

test('availability and offline.mode decide whether the bubble shows', async () => {
  const stored = JSON.stringify({ ticket: 't1', token: 'x', seq: 3 });
  const cases = [
    { availability: 'open', mode: 'hide', stored: false, shows: true },
    { availability: 'closed', mode: 'message', stored: false, shows: true },
    { availability: 'away', mode: 'message', stored: false, shows: true },
    { availability: 'closed', mode: 'hide', stored: false, shows: false },
    { availability: 'away', mode: 'hide', stored: false, shows: false },
    { availability: 'closed', mode: 'hide', stored: true, shows: true },
    { availability: 'away', mode: 'hide', stored: true, shows: true },
  ];
  for (const c of cases) {
    const local = fakeStorage();
    if (c.stored) local.setItem('parley:demo', stored);
    const readies = [];
    const page = makePage({ local, config: { ...CONFIG, availability: c.availability, offline: { mode: c.mode } } });
    page.run("window.Parley=function(){(Parley.q=Parley.q||[]).push(arguments)};");
    page.window.Parley('on', 'ready', (r) => readies.push(r));
    page.load();
    await page.settle();
    assert.equal(page.shown, c.shows, JSON.stringify(c));
    assert.deepEqual(readies.map((r) => ({ ...r })), [{ visible: c.shows }], JSON.stringify(c));
  }
});

test("keeps the shop's stub and runs the calls it queued before the script loaded", async () => {
  const page = makePage();
  page.run("window.Parley = window.Parley || function(){(Parley.q=Parley.q||[]).push(arguments)};" +
    "window.got = []; Parley('on', 'ready', function (r) { got.push(r.visible); }); Parley('hide');");
  const stub = page.window.Parley;
  page.load();
  await page.settle();
  assert.equal(page.window.Parley, stub, 'the existing Parley function is not replaced');
  assert.deepEqual([...page.window.got], [false], "ready says hidden: the queued 'hide' ran first");
  assert.equal(page.host, undefined);
  page.run("Parley('show')"); // a later call through the shop's own stub
  assert.equal(page.shown, true);
});

test("calls made before the config arrives wait for it; 'ready' fires once, late listeners too", async () => {
  const page = makePage();
  page.load();
  const seen = [];
  page.window.Parley('on', 'ready', (r) => seen.push(['early', r.visible]));
  assert.equal(seen.length, 0);
  await page.settle();
  page.window.Parley('on', 'ready', (r) => seen.push(['late', r.visible]));
  page.window.history.pushState({}, '', '/other');
  assert.deepEqual(seen, [['early', true], ['late', true]]);
});

test("a shop handler that throws doesn't stop the others", async () => {
  const page = makePage();
  const seen = [];
  page.load();
  page.window.Parley('on', 'ready', () => { throw new Error('shop bug'); });
  page.window.Parley('on', 'ready', () => seen.push('second'));
  await page.settle();
  assert.deepEqual(seen, ['second']);
  assert.equal(page.errors.length, 1);
});

test("asks the script's own origin for the config, once", async () => {
  const page = await loaded({ scriptSrc: 'https://chat.example.com:8443/static/widget.js?v=3', widgetId: 'shop 1/x' });
  assert.deepEqual(page.fetches, ['https://chat.example.com:8443/api/widgets/shop%201%2Fx/config']);
});

test('loading the script twice initialises once', async () => {
  const page = makePage();
  page.load();
  page.load();
  await page.settle();
  page.load();
  await page.settle();
  assert.equal(page.fetches.length, 1, 'config fetched once');
  assert.equal(page.body.children.filter((el) => el.id === 'parley-widget').length, 1);
  let wraps = 0;
  const original = page.window.history.pushState;
  page.window.history.pushState = function () { wraps++; return original.apply(this, arguments); };
  page.load();
  page.window.history.pushState({}, '', '/x');
  assert.equal(wraps, 1, 'history is not wrapped again');
});

test('draws a labelled bubble button in an open shadow root, on the configured side', async () => {
  const cases = [
    { config: {}, side: 'right:20px', bottom: 'bottom:25px' },
    { config: { alignment: 'left', spacing: 40 }, side: 'left:20px', bottom: 'bottom:40px' },
    { config: { alignment: 'right', spacing: 0 }, side: 'right:20px', bottom: 'bottom:0px' },
    { config: { alignment: 'middle}', spacing: '25px;}x{' }, side: 'right:20px', bottom: 'bottom:25px' },
  ];
  for (const c of cases) {
    const page = await loaded({ config: { ...CONFIG, ...c.config } });
    assert.equal(page.host.shadowRoot.mode, 'open');
    const b = page.bubble;
    assert.equal(b.tagName, 'BUTTON');
    assert.equal(b.getAttribute('type'), 'button');
    assert.equal(b.getAttribute('aria-label'), 'Open chat');
    assert.equal(b.getAttribute('aria-expanded'), 'false');
    assert.equal(page.host.find('data-p', 'badge').hasAttribute('hidden'), true, 'the unread badge, hidden at 0');
    assert.match(page.style, /:host\{all:initial;position:fixed;z-index:2147483000/);
    const rule = page.style.match(/\.bubble\{[^}]*\}/)[0];
    assert.ok(rule.includes(c.side) && rule.includes(c.bottom), `${JSON.stringify(c)}: ${rule}`);
  }
});

test('config colour reaches the CSS only as a hex colour', async () => {
  const cases = [
    [undefined, '#2f6fed'], ['#E91E63', '#E91E63'], ['#abc', '#abc'], ['red', '#2f6fed'],
    ['#12345', '#2f6fed'], ['red}:host{display:none}.x{', '#2f6fed'], ['#fff;background:url(x)', '#2f6fed'],
    ['#2f6fed</style><img src=x onerror=alert(1)>', '#2f6fed'], [42, '#2f6fed'],
  ];
  for (const [color, used] of cases) {
    const page = await loaded({ config: { ...CONFIG, color } });
    assert.match(page.style, new RegExp(`--c:${used};`), String(color));
    if (typeof color === 'string' && color !== used) assert.ok(!page.style.includes(color));
    assert.equal(page.host.shadowRoot.children.length, 2, 'only the style and the bubble');
  }
});

test('the bubble label follows the language and the widget strings', async () => {
  const cases = [
    [{ lang: 'fr' }, 'Ouvrir le chat'],
    [{ languages: ['de-DE', 'fr-CA'] }, 'Ouvrir le chat'],
    [{ lang: 'fr', config: { ...CONFIG, strings: { fr: { openChat: 'Discuter' } } } }, 'Discuter'],
    [{ config: { ...CONFIG, strings: { fr: { openChat: 'Discuter' } } } }, 'Open chat'],
  ];
  for (const [options, label] of cases) {
    assert.equal((await loaded(options)).bubble.getAttribute('aria-label'), label, JSON.stringify(options));
  }
});

test('language precedence: data-lang > widget language (unless auto) > navigator.languages > en', async () => {
  const cases = [
    { lang: 'fr', language: 'en', languages: ['en'], want: 'fr' },
    { lang: 'FR-ca', language: 'en', languages: ['en'], want: 'fr' },
    { lang: 'de', language: 'fr', languages: ['en'], want: 'fr' },
    { lang: null, language: 'fr', languages: ['en-GB'], want: 'fr' },
    { lang: null, language: 'en', languages: ['fr-FR'], want: 'en' },
    { lang: null, language: 'auto', languages: ['fr-FR', 'en'], want: 'fr' },
    { lang: null, language: 'auto', languages: ['de', 'es', 'en-US', 'fr'], want: 'en' },
    { lang: null, language: 'auto', languages: ['de', 'french'], want: 'en' },
    { lang: null, language: undefined, languages: [], want: 'en' },
    { lang: null, language: 'auto', languages: undefined, want: 'en' },
  ];
  for (const c of cases) {
    const page = await loaded({ lang: c.lang, languages: c.languages, config: { ...CONFIG, language: c.language } });
    assert.equal(page.window.Parley._.l, c.want, JSON.stringify(c));
  }
});

test('the chat bundle loads on first open, once, from the parley origin', async () => {
  const page = await loaded();
  assert.deepEqual(page.chatScripts, [], 'nothing but the bubble until needed');
  page.bubble.click();
  page.bubble.click();
  page.window.Parley('open');
  assert.deepEqual(page.chatScripts, ['https://chat.example.com:8443/widget-chat.js?v=abc']);
  const chat = fakeChat(page);
  // Two quick clicks while the bundle loads: the visitor wants it open, not opened then closed.
  assert.deepEqual(chat.calls, ['open', 'open', 'open'], 'what waited is handed over in order');
  page.bubble.click();
  page.window.Parley('close');
  assert.deepEqual(chat.calls.slice(3), ['toggle', 'close']);
  assert.equal(chat.boots, 1);
});

test('a stored conversation loads the chat bundle at once', async () => {
  for (const [stored, loads] of [[{ ticket: 't1', token: 'k', seq: 4 }, true], [null, false]]) {
    const local = fakeStorage();
    if (stored) local.setItem('parley:demo', JSON.stringify(stored));
    const page = await loaded({ local });
    assert.equal(page.chatScripts.length, loads ? 1 : 0);
    assert.equal(JSON.stringify(page.window.Parley._.s()), JSON.stringify(stored));
  }
});

test('a stored conversation on a page the rules hide waits for a page that shows it', async () => {
  const local = fakeStorage();
  local.setItem('parley:demo', JSON.stringify({ ticket: 't1', token: 'k', seq: 4 }));
  const page = await loaded({ local, path: '/checkout', config: { ...CONFIG, pathRules: { mode: 'blacklist', paths: ['/checkout'] } } });
  assert.deepEqual(page.chatScripts, []);
  page.window.history.pushState({}, '', '/cart');
  assert.equal(page.chatScripts.length, 1);
});

test('the chat gets the loader interface; identify is kept and passed on', async () => {
  const page = await loaded({ config: { ...CONFIG, color: '#123456', alignment: 'left' } });
  page.window.Parley('identify', { name: 'Ada', email: 'ada@example.com' });
  page.window.Parley('open');
  const chat = fakeChat(page);
  const L = chat.L;
  assert.equal(L.id, 'demo');
  assert.equal(L.b, 'https://chat.example.com:8443');
  assert.equal(L.c.color, '#123456');
  assert.equal(L.h, '#123456');
  assert.equal(L.a, 'left');
  assert.equal(L.r, page.host.shadowRoot);
  assert.equal(L.u, page.bubble);
  assert.equal(L.g, page.host.find('data-p', 'badge'));
  assert.equal(L.i.name, 'Ada');
  page.window.Parley('identify', { name: 'Bob' });
  assert.equal(L.i.name, 'Bob');
  assert.deepEqual(chat.calls, ['open', 'identify']);
  const seen = [];
  page.window.Parley('on', 'unread', (n) => seen.push(n));
  L.e('unread', 2);
  assert.deepEqual(seen, [2]);
});

test('conversation storage survives disabled storage', async () => {
  const page = await loaded({ local: fakeStorage(true) });
  assert.equal(page.shown, true);
  const s = page.window.Parley._.s;
  assert.equal(s(), undefined, 'unreadable storage reads as undefined (the chat then shares nothing between tabs)');
  assert.equal((await loaded()).window.Parley._.s(), null, 'empty storage reads as null');
  s({ ticket: 't' });
  s(null);
  const ok = fakeStorage();
  const other = await loaded({ local: ok });
  other.window.Parley._.s({ ticket: 't9', token: 'k', seq: 1 });
  assert.equal(ok.data.get('parley:demo'), '{"ticket":"t9","token":"k","seq":1}');
  other.window.Parley._.s(null);
  assert.equal(ok.data.has('parley:demo'), false);
});

test('the proactive prompt: after its delay, once per visit, not with a conversation', async () => {
  const prompt = { delay: 20, title: 'Need a hand?', message: 'We reply in minutes.' };
  const session = fakeStorage();
  const page = await loaded({ session, config: { ...CONFIG, prompt } });
  assert.deepEqual(page.timers.map((t) => t.ms), [20000]);
  assert.deepEqual(page.chatScripts, []);
  page.fireTimers();
  assert.equal(page.chatScripts.length, 1, 'the chat bundle loads to show the prompt');
  const chat = fakeChat(page);
  assert.deepEqual(chat.calls, ['prompt']);

  const next = await loaded({ session, config: { ...CONFIG, prompt } }); // next page, same visit
  next.fireTimers();
  assert.deepEqual(next.chatScripts, []);

  const local = fakeStorage();
  local.setItem('parley:demo', '{"ticket":"t","token":"k","seq":1}');
  const chatting = await loaded({ local, config: { ...CONFIG, prompt } });
  assert.equal(chatting.timers.length, 0);

  const noSession = await loaded({ session: fakeStorage(true), config: { ...CONFIG, prompt } });
  noSession.fireTimers();
  assert.deepEqual(noSession.chatScripts, [], 'no once-per-visit guarantee, no prompt');

  const hidden = await loaded({ path: '/x', config: { ...CONFIG, prompt, pathRules: { mode: 'whitelist', paths: ['/'] } } });
  hidden.fireTimers();
  assert.deepEqual(hidden.chatScripts, []);
  assert.equal((await loaded()).timers.length, 0, 'no prompt configured');
});

test("draws nothing (and says why) when the config request fails; 'ready' says not visible", async () => {
  for (const config of [{ status: 404, error: {} }, new Error('offline')]) {
    const page = makePage({ config });
    const seen = [];
    page.load();
    page.window.Parley('on', 'ready', (r) => seen.push(r.visible));
    await page.settle();
    assert.equal(page.host, undefined);
    assert.equal(page.warnings.length, 1, 'one console warning');
    assert.deepEqual(seen, [false]);
  }
});

test("an 'open' asked for on a page without the widget is dropped, not replayed on a later page", async () => {
  const early = makePage({ path: '/checkout', config: { ...CONFIG, pathRules: { mode: 'blacklist', paths: ['/checkout'] } } });
  early.load();
  early.window.Parley('open');
  await early.settle();
  early.window.history.pushState({}, '', '/cart');
  assert.deepEqual(early.chatScripts, [], 'an open made before the config, on such a page, is dropped too');
  const page = await loaded({ path: '/checkout', config: { ...CONFIG, pathRules: { mode: 'blacklist', paths: ['/checkout'] } } });
  page.window.Parley('open');
  assert.deepEqual(page.chatScripts, [], 'no chat on a page without the widget');
  page.window.history.pushState({}, '', '/cart');
  assert.equal(page.shown, true);
  assert.deepEqual(page.chatScripts, [], 'the old open does not load the chat on the next page');
  page.window.Parley('open');
  assert.equal(page.chatScripts.length, 1, 'a new open does');
  assert.deepEqual(fakeChat(page).calls, ['open']);
});

test('does nothing without a data-widget attribute', async () => {
  const page = await loaded({ widgetId: null });
  assert.equal(page.fetches.length, 0);
  assert.equal(typeof page.window.Parley, 'function', "the queue still exists for the shop's calls");
  page.window.Parley('open');
  assert.equal(page.window.Parley.q.length, 1);
});

test('waits for the body when the config arrives before it is parsed', async () => {
  const page = await loaded({ hasBody: false });
  assert.equal(page.host, undefined);
  page.finishParsing();
  assert.equal(page.shown, true, 'drawn on DOMContentLoaded');
});

test('a conversation the visitor saw end is no conversation for the next pages', async () => {
  const ended = JSON.stringify({ ticket: 't1', token: 'k', seq: 9, end: 1 });
  // No chat bundle (no stream to a closed ticket, no feedback asked again) on an open widget.
  const local = fakeStorage();
  local.setItem('parley:demo', ended);
  const page = await loaded({ local });
  assert.equal(page.shown, true);
  assert.deepEqual(page.chatScripts, []);
  // Hide mode while closed: only a conversation still going keeps the bubble.
  for (const [stored, shows] of [[ended, false], [ended.replace(',"end":1', ''), true], [ended.replace('"end":1', '"end":0'), true]]) {
    const l = fakeStorage();
    l.setItem('parley:demo', stored);
    const closed = await loaded({ local: l, config: { ...CONFIG, availability: 'closed', offline: { mode: 'hide' } } });
    assert.equal(closed.shown, shows, stored);
  }
  // The proactive prompt is for visitors without a conversation: an ended one doesn't count.
  const l = fakeStorage();
  l.setItem('parley:demo', ended);
  const prompted = await loaded({ local: l, config: { ...CONFIG, prompt: { delay: 5, title: 'Hi', message: '?' } } });
  assert.equal(prompted.timers.length, 1);
  prompted.fireTimers();
  assert.equal(prompted.chatScripts.length, 1);
});

test('a chat bundle that failed to load is asked for again by the next click', async () => {
  const page = await loaded();
  page.bubble.click();
  assert.equal(page.chatScripts.length, 1);
  page.bubble.click();
  assert.equal(page.chatScripts.length, 1, 'one request while it loads');
  const script = page.head.children.at(-1);
  assert.equal(typeof script.onerror, 'function', 'the loader hears about a failed load');
  script.onerror({ type: 'error' });
  page.bubble.click();
  assert.equal(page.chatScripts.length, 2, 'the bubble is not dead: the next click loads it again');
  const chat = fakeChat(page);
  assert.deepEqual(chat.calls, ['open', 'open', 'open'], 'and opens the chat once it runs');
});

test('a page that replaces <body> on navigation (Turbo, pjax) gets the bubble back', async () => {
  const page = await loaded();
  const old = page.host;
  page.replaceBody();
  assert.equal(page.host, undefined, 'the new body has no widget');
  page.window.history.pushState({}, '', '/next');
  assert.equal(page.host, old, 'the same host, moved to the new body');
  assert.equal(page.shown, true);
  page.replaceBody();
  page.docEvent('turbo:load'); // Turbo renders after its pushState; turbo:load follows the render
  assert.equal(page.host, old);
  page.replaceBody();
  page.window.history.replaceState({}, '', '/next'); // same path: not a navigation, still checked
  assert.equal(page.host, old);
  assert.equal(page.body.children.filter((el) => el.id === 'parley-widget').length, 1);
});

test('navigation tells the chat, which counts what the visitor can see as read', async () => {
  const page = await loaded({ config: { ...CONFIG, pathRules: { mode: 'blacklist', paths: ['/checkout'] } } });
  page.window.Parley('open');
  const chat = fakeChat(page);
  page.window.history.pushState({}, '', '/checkout');
  assert.equal(page.shown, false);
  page.window.history.pushState({}, '', '/cart');
  assert.deepEqual(chat.calls, ['open', undefined, undefined]);
});
