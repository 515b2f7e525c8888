/* Parley loader (<= 2.5 KB gzip): queue, config, bubble; Parley._ is widget-chat.js's interface.
 * Why it does what it does: Tests/js/widget.test.mjs. */
((w, d) => {
'use strict';
var P = w.Parley = w.Parley || function () { (P.q = P.q || []).push(arguments); },
  s = d.currentScript, id = s && s.getAttribute('data-widget');
if (P._ || !id) return;
var H = {}, pend = [], q = P.q || [], key = 'parley:' + id, path = location.pathname,
  cfg, C, R, F, vis, host, busy,
  L = P._ = { id, b: new URL(s.src).origin, e: emit, s: store, m: match,
    k: () => { C = P._c.boot(L); pend.splice(0).forEach(C); } };

function store(v) {
  try {
    return v === undefined ? JSON.parse(localStorage.getItem(key)) :
      v ? localStorage.setItem(key, JSON.stringify(v)) : localStorage.removeItem(key);
  } catch (e) { }
}

function live(t) {
  return (t = store()) && !t.end;
}

function emit(n, v) {
  (H[n] || []).forEach((f) => { try { f(v); } catch (e) { console.error(e); } });
}

function match(r, p) {
  try { p = decodeURI(p); } catch (e) { /* raw */ }
  var hit = (r.paths || []).some((x) => RegExp('^' +
    x.split('*').map((t) => t.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$').test(p));
  return r.mode == 'whitelist' ? hit : !hit;
}

function lang(a) {
  a = a.filter((v) => /^(en|fr)(-|$)/i.test(v))[0];
  return a ? a.slice(0, 2).toLowerCase() : 'en';
}

function run(a) {
  var c = a[0], x = a[1];
  if (c == 'on') {
    (H[x] = H[x] || []).push(a[2]);
    if (x == 'ready' && R) a[2](R);
  } else if (c == 'show' || c == 'hide') {
    F = c == 'show';
    decide();
  } else if (c == 'identify') {
    L.i = x;
    C && C(c);
  } else if (/^(open|close|toggle|prompt)$/.test(c)) {
    C ? C(c) : cfg && !vis || load(pend.push(c));
  }
}

function load() {
  if (vis && !busy) {
    busy = d.createElement('script');
    busy.src = L.b + (cfg.chat || '/widget-chat.js');
    busy.onerror = () => { busy = 0; };
    d.head.append(busy);
  }
}

function draw() {
  var c = L.h = /^#[0-9a-f]{3}([0-9a-f]{3})?$/i.test(cfg.color) ? cfg.color : '#2f6fed',
    n = cfg.spacing >= 0 && cfg.spacing < 1e4 ? +cfg.spacing : 25;
  host = d.createElement('div');
  host.id = 'parley-widget';
  L.r = host.attachShadow({ mode: 'open' });
  L.a = cfg.alignment == 'left' ? 'left' : 'right';
  L.r.innerHTML = `<style>:host{all:initial;position:fixed;z-index:2147483000;--c:${c};--s:${n}px}` +
    `.bubble{position:fixed;${L.a}:20px;bottom:${n}px;width:60px;height:60px;` +
    'border:0;border-radius:50%;background:var(--c);color:var(--f,#fff);cursor:pointer;box-shadow:0 4px 14px #0004}' +
    '</style><button type=button class=bubble data-p=bubble aria-expanded=false>' +
    '<svg width=28 viewBox="0 0 24 24" aria-hidden=true><path fill=currentColor d="M3 4h18v13H9l-6 4z"/></svg>' +
    '<span data-p=badge class=badge hidden></span></button>';
  L.u = L.r.lastChild;
  L.g = L.u.lastChild;
  L.u.setAttribute('aria-label', ((cfg.strings || {})[L.l] || {}).openChat || (L.l == 'fr' ? 'Ouvrir le chat' : 'Open chat'));
  L.u.onclick = () => run([C ? 'toggle' : 'open']);
}

function decide(t) {
  if (!cfg) return;
  t = live();
  vis = F != null ? F : match(cfg.pathRules || {}, location.pathname) &&
    (t || cfg.availability == 'open' || (cfg.offline || {}).mode != 'hide');
  if (vis) {
    host || draw();
    host.isConnected || d.body.append(host);
    host.style.display = '';
    if (t || pend.length) load();
  } else {
    pend.length = 0;
    if (host) host.style.display = 'none';
  }
  C && C();
  R || emit('ready', R = { visible: vis });
}

function nav() {
  if (location.pathname != path) path = location.pathname, F = null;
  decide();
}

P.q = { push: run };
q.forEach(run);

fetch(L.b + '/api/widgets/' + encodeURIComponent(id) + '/config')
  .then((r) => { if (!r.ok) throw Error('HTTP ' + r.status); return r.json(); })
  .then((c) => {
    var p = c.prompt, k = key + ':p';
    cfg = L.c = c;
    L.l = lang([s.getAttribute('data-lang'), c.language].concat(navigator.languages || []));
    d.body ? decide() : d.addEventListener('DOMContentLoaded', () => decide());
    ['pushState', 'replaceState'].forEach((m, f) => {
      f = history[m];
      history[m] = function () { f.apply(this, arguments); nav(); };
    });
    w.addEventListener('popstate', nav);
    d.addEventListener('turbo:load', nav);
    if (p && !live()) setTimeout(() => {
      try {
        if (vis && !live() && !sessionStorage.getItem(k)) sessionStorage.setItem(k, 1), run(['prompt']);
      } catch (e) { /* no sessionStorage, no prompt */ }
    }, p.delay * 1e3);
  })
  .catch((e) => {
    console.warn('Parley: widget not shown', e);
    R || emit('ready', R = { visible: false });
  });
})(window, document);
