// Tests for the Parley loader (Public/widget.js), run with `node --test Tests/js/`.
//
// widget.js is a plain browser script that exports nothing, so each test evaluates it in a fresh
// `vm` context whose global is a small fake `window` + `document` (just the DOM calls the loader
// makes) and a fake `fetch`. What is checked is observable behaviour: the command queue, the
// config request, the double-load guard, and the bubble/panel it draws.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import vm from 'node:vm';

const SOURCE_PATH = new URL('../../Public/widget.js', import.meta.url);
const SOURCE = readFileSync(SOURCE_PATH, 'utf8');

/** Minimal stand-in for a DOM element: attributes, children, listeners, a shadow root. */
class FakeElement {
  constructor(tagName) {
    this.tagName = tagName.toUpperCase();
    this.attributes = new Map();
    this.children = [];
    this.listeners = new Map();
    this.textContent = '';
    this.innerHTML = '';
    this.className = '';
    this.hidden = false;
    this.id = '';
    this.shadowRoot = null;
  }
  setAttribute(name, value) { this.attributes.set(name, String(value)); }
  getAttribute(name) { return this.attributes.has(name) ? this.attributes.get(name) : null; }
  append(...nodes) { this.children.push(...nodes); }
  appendChild(node) { this.children.push(node); return node; }
  addEventListener(type, fn) { this.listeners.set(type, [...(this.listeners.get(type) ?? []), fn]); }
  attachShadow(init) {
    if (this.shadowRoot) throw new Error('shadow root attached twice');
    this.shadowRoot = new FakeElement('#shadow-root');
    this.shadowRoot.mode = init.mode;
    return this.shadowRoot;
  }
  dispatch(type) { for (const fn of this.listeners.get(type) ?? []) fn({ type }); }
  /** Depth-first search by class name, through shadow roots too. */
  find(className) {
    for (const child of [...this.children, ...(this.shadowRoot ? [this.shadowRoot] : [])]) {
      if (child.className === className) return child;
      const hit = child.find?.(className);
      if (hit) return hit;
    }
    return null;
  }
}

/**
 * Builds a fresh page: a fake window/document whose current script is a `<script src=scriptSrc
 * data-widget=widgetId>`, and a fetch that answers with `response`
 * (`{ok, status, body}`) or rejects when `response` is an Error.
 */
function makePage({
  scriptSrc = 'https://chat.example.com:8443/widget.js?v=3',
  widgetId = 'demo',
  response = { ok: true, status: 200, body: { id: 'demo' } },
  hasBody = true,
} = {}) {
  const fetches = [];
  const warnings = [];
  const docListeners = new Map();
  const body = new FakeElement('body');
  const script = new FakeElement('script');
  script.src = scriptSrc;
  if (widgetId !== null) script.setAttribute('data-widget', widgetId);

  const document = {
    currentScript: script,
    body: hasBody ? body : null,
    createElement: (tag) => new FakeElement(tag),
    getElementById: (id) => body.children.find((el) => el.id === id) ?? null,
    addEventListener: (type, fn) => docListeners.set(type, [...(docListeners.get(type) ?? []), fn]),
  };
  const window = {
    document,
    URL,
    console: { warn: (...args) => warnings.push(args) },
    fetch: (url) => {
      fetches.push(String(url));
      if (response instanceof Error) return Promise.reject(response);
      return Promise.resolve({
        ok: response.ok,
        status: response.status,
        json: () => Promise.resolve(structuredClone(response.body)),
      });
    },
  };
  window.window = window;
  const context = vm.createContext(window);
  return {
    window,
    document,
    body,
    fetches,
    warnings,
    /** Runs page code (an inline `<script>`) in this page. */
    run: (code) => vm.runInContext(code, context),
    /** Evaluates widget.js once more in this page, like another `<script>` tag would. */
    load: () => vm.runInContext(SOURCE, context, { filename: 'widget.js' }),
    /** Lets the loader's fetch → json → draw promise chain run to its end. */
    settle: () => new Promise((resolve) => setImmediate(resolve)),
    /** Simulates the parser reaching the end of the document. */
    finishParsing: () => {
      document.body = body;
      for (const fn of docListeners.get('DOMContentLoaded') ?? []) fn();
    },
  };
}

/** The widget host element, if drawn. */
const hostOf = (page) => page.body.children.find((el) => el.id === 'parley-widget');

test('installs the command queue stub and queues calls made after load', async () => {
  const page = makePage();
  page.load();
  await page.settle();
  assert.equal(typeof page.window.Parley, 'function');
  page.window.Parley('open');
  page.window.Parley('identify', { name: 'Ada' });
  assert.equal(page.window.Parley.q.length, 2);
  assert.deepEqual([...page.window.Parley.q[0]], ['open']);
  assert.equal(page.window.Parley.q[1][1].name, 'Ada');
});

test('keeps the shop\'s own stub and the calls it queued before the script loaded', async () => {
  const page = makePage();
  // What the shop's inline snippet does before widget.js arrives.
  page.run(
    "window.Parley = window.Parley || function(){(Parley.q=Parley.q||[]).push(arguments)};" +
      "Parley('hide'); Parley('on', 'unread', function(){});",
  );
  const shopStub = page.window.Parley;
  page.load();
  await page.settle();
  assert.equal(page.window.Parley, shopStub, 'the existing Parley function must not be replaced');
  assert.equal(page.window.Parley.q.length, 2);
  assert.deepEqual([...page.window.Parley.q[0]], ['hide']);
  assert.equal(page.window.Parley.q[1][0], 'on');
});

test('asks the script\'s own origin for the widget config', async () => {
  const page = makePage({ scriptSrc: 'https://chat.example.com:8443/static/widget.js?v=3', widgetId: 'shop 1/x' });
  page.load();
  await page.settle();
  assert.deepEqual(page.fetches, ['https://chat.example.com:8443/api/widgets/shop%201%2Fx/config']);
});

test('draws a labelled bubble button in an open shadow root', async () => {
  const page = makePage();
  page.load();
  await page.settle();
  const host = hostOf(page);
  assert.ok(host, 'host element #parley-widget appended to body');
  assert.equal(host.shadowRoot?.mode, 'open');
  const bubble = host.find('bubble');
  assert.equal(bubble?.tagName, 'BUTTON');
  assert.equal(bubble.type, 'button');
  assert.equal(bubble.getAttribute('aria-label'), 'Open chat');
  const style = host.shadowRoot.children.find((el) => el.tagName === 'STYLE');
  assert.match(style.textContent, /#2f6fed/, 'default colour without config.color');
});

test('clicking the bubble toggles the placeholder panel', async () => {
  const page = makePage();
  page.load();
  await page.settle();
  const host = hostOf(page);
  const bubble = host.find('bubble');
  const panel = host.find('panel');
  assert.equal(panel.hidden, true);
  assert.equal(panel.textContent, 'Chat is coming soon');
  bubble.dispatch('click');
  assert.equal(panel.hidden, false);
  assert.equal(bubble.getAttribute('aria-expanded'), 'true');
  bubble.dispatch('click');
  assert.equal(panel.hidden, true);
  assert.equal(bubble.getAttribute('aria-expanded'), 'false');
});

test('uses config.color when it is a hex colour', async () => {
  const page = makePage({ response: { ok: true, status: 200, body: { id: 'demo', color: '#E91E63' } } });
  page.load();
  await page.settle();
  const style = hostOf(page).shadowRoot.children.find((el) => el.tagName === 'STYLE');
  assert.match(style.textContent, /background:#E91E63/);
  assert.doesNotMatch(style.textContent, /#2f6fed/);
});

test('never puts a non-hex config.color into the stylesheet', async () => {
  const evil = 'red}:host{display:none}.x{';
  const page = makePage({ response: { ok: true, status: 200, body: { id: 'demo', color: evil } } });
  page.load();
  await page.settle();
  const style = hostOf(page).shadowRoot.children.find((el) => el.tagName === 'STYLE');
  assert.ok(!style.textContent.includes(evil));
  assert.match(style.textContent, /#2f6fed/);
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
});

test('draws nothing (and says why) when the config request fails', async () => {
  for (const response of [{ ok: false, status: 404, body: { error: {} } }, new Error('offline')]) {
    const page = makePage({ response });
    page.load();
    await page.settle();
    assert.equal(hostOf(page), undefined);
    assert.equal(page.warnings.length, 1, 'one console warning');
  }
});

test('does nothing without a data-widget attribute', async () => {
  const page = makePage({ widgetId: null });
  page.load();
  await page.settle();
  assert.equal(page.fetches.length, 0);
  assert.equal(typeof page.window.Parley, 'function', 'the queue still exists for the shop\'s calls');
});

test('waits for the body when the config arrives before it is parsed', async () => {
  const page = makePage({ hasBody: false });
  page.load();
  await page.settle();
  assert.equal(hostOf(page), undefined);
  page.finishParsing();
  assert.ok(hostOf(page), 'drawn on DOMContentLoaded');
});

test('stays within its size budget', () => {
  const raw = Buffer.byteLength(SOURCE);
  const gz = gzipSync(SOURCE, { level: 9 }).length;
  assert.ok(raw < 2048, `widget.js is ${raw} bytes raw, budget < 2048`);
  assert.ok(gz <= 2560, `widget.js is ${gz} bytes gzip, budget 2.5 KB`);
});
