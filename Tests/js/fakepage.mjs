// A small fake browser page for running the widget's scripts under node's `vm`: just the DOM and
// window APIs that Public/widget.js uses, plus controls for what a test needs to drive (the config
// response, navigation, timers, storage). Not a test file itself (node --test skips this name).
import { readFileSync } from 'node:fs';
import vm from 'node:vm';

export const LOADER = readFileSync(new URL('../../Public/widget.js', import.meta.url), 'utf8');
export const CHAT = readFileSync(new URL('../../Public/widget-chat.js', import.meta.url), 'utf8');

/** A DOM element: attributes, children, listeners, a shadow root, and an innerHTML parser. */
export class FakeElement {
  constructor(tagName) {
    this.tagName = tagName.toUpperCase();
    this.attributes = new Map();
    this.children = [];
    this.parentNode = null;
    this.listeners = new Map();
    this.style = {};
    this.shadowRoot = null;
    this.text = '';
  }
  get id() { return this.getAttribute('id') ?? ''; }
  set id(v) { this.setAttribute('id', v); }
  get src() { return this.getAttribute('src') ?? ''; }
  set src(v) { this.setAttribute('src', v); }
  get lastChild() { return this.children.at(-1) ?? null; }
  /** In the page: under the document's current body (a replaced body takes its children away). */
  get isConnected() { let n = this; while (n.parentNode) n = n.parentNode; return !!n.inDocument; }
  get textContent() { return this.text + this.children.map((c) => c.textContent).join(''); }
  set textContent(v) { this.children = []; this.text = String(v); }
  set innerHTML(html) { this.children = []; this.text = ''; parseHTML(html, this); }
  setAttribute(name, value) { this.attributes.set(name.toLowerCase(), String(value)); }
  getAttribute(name) { return this.attributes.has(name) ? this.attributes.get(name) : null; }
  hasAttribute(name) { return this.attributes.has(name); }
  append(...nodes) { for (const n of nodes) this.appendChild(typeof n === 'string' ? Object.assign(new FakeElement('#text'), { text: n }) : n); }
  appendChild(node) {
    if (node.parentNode) node.parentNode.children = node.parentNode.children.filter((c) => c !== node);
    node.parentNode = this;
    this.children.push(node);
    return node;
  }
  addEventListener(type, fn) { this.listeners.set(type, [...(this.listeners.get(type) ?? []), fn]); }
  attachShadow(init) {
    if (this.shadowRoot) throw new Error('shadow root attached twice');
    this.shadowRoot = new FakeElement('#shadow-root');
    this.shadowRoot.mode = init.mode;
    this.shadowRoot.host = this;
    return this.shadowRoot;
  }
  click() { this.onclick?.({ type: 'click' }); for (const fn of this.listeners.get('click') ?? []) fn({ type: 'click' }); }
  /** Every descendant (through shadow roots too), depth first. */
  *walk() {
    for (const c of [...this.children, ...(this.shadowRoot ? [this.shadowRoot] : [])]) { yield c; yield* c.walk(); }
  }
  /** First descendant with this attribute value (e.g. find('data-p', 'bubble')) or tag ('STYLE'). */
  find(attr, value) {
    for (const el of this.walk()) {
      if (value === undefined ? el.tagName === attr : el.getAttribute(attr) === value) return el;
    }
    return null;
  }
}

/** Parses the simple, trusted markup the loader writes: tags, attributes, text. */
function parseHTML(html, root) {
  const stack = [root];
  const re = /<(\/?)([a-zA-Z][\w-]*)((?:\s+[^\s=>/]+(?:=(?:"[^"]*"|'[^']*'|[^\s>]+))?)*)\s*(\/?)>|([^<]+)/g;
  let m;
  while ((m = re.exec(html))) {
    const top = stack.at(-1);
    if (m[5] !== undefined) { top.append(m[5]); continue; }
    if (m[1]) {
      if (stack.length === 1 || stack.at(-1).tagName !== m[2].toUpperCase()) throw new Error(`unbalanced </${m[2]}>`);
      stack.pop();
      continue;
    }
    const el = new FakeElement(m[2]);
    for (const a of m[3].matchAll(/([^\s=]+)(?:=("[^"]*"|'[^']*'|[^\s>]+))?/g)) {
      el.setAttribute(a[1], (a[2] ?? '').replace(/^["']|["']$/g, ''));
    }
    top.appendChild(el);
    if (!m[4]) stack.push(el);
  }
  if (stack.length !== 1) throw new Error('unclosed tags in innerHTML');
}

/** A Storage-like object; `broken` makes every call throw, like a privacy mode. */
export function fakeStorage(broken = false, data = new Map()) {
  const fail = () => { if (broken) throw new Error('SecurityError: storage disabled'); };
  return {
    data,
    getItem: (k) => { fail(); return data.has(k) ? data.get(k) : null; },
    setItem: (k, v) => { fail(); data.set(k, String(v)); },
    removeItem: (k) => { fail(); data.delete(k); },
  };
}

/**
 * A fresh page whose current script is `<script src=scriptSrc data-widget=widgetId data-lang=lang>`.
 * `config` is what the config request answers (an object, `{status}` for an error, or an Error).
 */
export function makePage({
  scriptSrc = 'https://chat.example.com:8443/widget.js',
  widgetId = 'demo',
  lang = null,
  config = { id: 'demo', availability: 'open', chat: '/widget-chat.js?v=abc' },
  path = '/',
  languages = ['en-US'],
  hasBody = true,
  local = fakeStorage(),
  session = fakeStorage(),
} = {}) {
  const fetches = [];
  const warnings = [];
  const errors = [];
  const timers = [];
  const listeners = { doc: new Map(), win: new Map() };
  const on = (map) => (type, fn) => map.set(type, [...(map.get(type) ?? []), fn]);
  const body = Object.assign(new FakeElement('body'), { inDocument: true });
  const head = new FakeElement('head');
  const script = new FakeElement('script');
  script.src = scriptSrc;
  if (widgetId !== null) script.setAttribute('data-widget', widgetId);
  if (lang !== null) script.setAttribute('data-lang', lang);
  const location = { pathname: path, href: 'https://shop.example' + path };
  const go = (url) => { location.pathname = new URL(url, location.href).pathname; location.href = 'https://shop.example' + location.pathname; };
  const history = {
    pushState(state, title, url) { go(url); },
    replaceState(state, title, url) { go(url); },
  };
  const document = {
    currentScript: script,
    body: hasBody ? body : null,
    head,
    createElement: (tag) => new FakeElement(tag),
    addEventListener: on(listeners.doc),
  };
  const window = {
    document,
    location,
    history,
    navigator: { languages },
    localStorage: local,
    sessionStorage: session,
    URL,
    console: { warn: (...a) => warnings.push(a), error: (...a) => errors.push(a) },
    setTimeout: (fn, ms) => { timers.push({ fn, ms }); return timers.length; },
    addEventListener: on(listeners.win),
    fetch: (url) => {
      fetches.push(String(url));
      if (config instanceof Error) return Promise.reject(config);
      const status = config.status ?? 200;
      return Promise.resolve({
        ok: status < 300, status, json: () => Promise.resolve(structuredClone(config)),
      });
    },
  };
  window.window = window;
  const context = vm.createContext(window);
  const page = {
    window, document, head,
    /** The page's body (the one parsing will give it, while there is none yet). */
    get body() { return document.body ?? body; }, fetches, warnings, errors, timers, location,
    run: (code) => vm.runInContext(code, context),
    load: () => vm.runInContext(LOADER, context, { filename: 'widget.js' }),
    /** Evaluates widget-chat.js in this page (what the appended <script> would do). */
    loadChat: () => vm.runInContext(CHAT, context, { filename: 'widget-chat.js' }),
    /** Lets promise chains (fetch → json → decide) run to their end. */
    settle: () => new Promise((resolve) => setImmediate(resolve)),
    finishParsing: () => {
      document.body = body;
      for (const fn of listeners.doc.get('DOMContentLoaded') ?? []) fn();
    },
    /** What Turbo or pjax do on navigation: a new <body> replaces the old one (and its children). */
    replaceBody: () => {
      const old = page.body;
      old.inDocument = false;
      document.body = Object.assign(new FakeElement('body'), { inDocument: true });
      return old;
    },
    /** Fires a document event (e.g. Turbo's 'turbo:load'). */
    docEvent: (type) => { for (const fn of listeners.doc.get(type) ?? []) fn({ type }); },
    popstate: (url) => { go(url); for (const fn of listeners.win.get('popstate') ?? []) fn({}); },
    /** Runs the timers set so far (the loader's only timer is the prompt's). */
    fireTimers: () => { for (const t of timers.splice(0)) t.fn(); },
    get host() { return page.body.children.find((el) => el.id === 'parley-widget'); },
    get bubble() { return page.host?.find('data-p', 'bubble') ?? null; },
    get style() { return page.host?.shadowRoot.find('STYLE')?.textContent ?? ''; },
    get shown() { return !!page.host && page.host.style.display !== 'none'; },
    get chatScripts() { return head.children.filter((el) => el.tagName === 'SCRIPT').map((el) => el.src); },
  };
  return page;
}
