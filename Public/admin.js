/* Parley admin console (/admin): sign-in, then pages drawn into #view by hash route — widgets (list and editor with
   draft, publish, history, live preview, embed code and access), agents, teams, inbox settings (disposition codes,
   canned responses), automated actions (rules), data (erase a visitor, remove old conversations) and the audit log. API: /api/admin/* (see the admin contract).
   Pure logic (Widget ⇄ form, checks, snippets): admin-core.js (ParleyAdminCore). Texts: admin-text.js
   (ParleyAdminText, English and French). Data is shown with textContent and DOM calls only, never as HTML.
   The preview page (admin-preview.html, in an iframe) asks window.ParleyAdmin.previewConfig() for its config. */
(function () {
'use strict';

var A = window.ParleyAdminCore, T = window.ParleyAdminText;

// ---- language, strings, small helpers

var forced = new URLSearchParams(location.search).get('lang');
var lang = forced === 'fr' || forced === 'en' ? forced : /^fr\b/i.test(navigator.language || '') ? 'fr' : 'en';
var L = T[lang];
function t(key, vars) {
  return String(L[key] != null ? L[key] : key).replace(/\{(\w+)\}/g, function (_, k) {
    return vars && vars[k] != null ? String(vars[k]) : '';
  });
}
/** A check's result ([key, vars]) in words; a var that is itself [key, vars] is put in words first ("3 files"). */
function say(e) {
  var vars = {};
  Object.keys(e[1] || {}).forEach(function (k) { vars[k] = Array.isArray(e[1][k]) ? say(e[1][k]) : e[1][k]; });
  return t(e[0], vars);
}

document.documentElement.lang = lang;
document.title = L.pageTitle;
document.querySelectorAll('[data-t]').forEach(function (el) { el.textContent = L[el.getAttribute('data-t')]; });
document.querySelectorAll('[data-t-label]').forEach(function (el) { el.setAttribute('aria-label', L[el.getAttribute('data-t-label')]); });

var $ = function (id) { return document.getElementById(id); };
var enc = encodeURIComponent;

/** An element: attributes (text → textContent, class → className; null ones skipped), then children. */
function h(tag, attrs) {
  var e = document.createElement(tag), k;
  for (k in attrs || {}) {
    if (attrs[k] == null || attrs[k] === false) continue;
    if (k === 'text') e.textContent = attrs[k]; else if (k === 'class') e.className = attrs[k]; else e.setAttribute(k, attrs[k]);
  }
  for (var i = 2; i < arguments.length; i++) if (arguments[i] != null && arguments[i] !== false) e.append(arguments[i]);
  return e;
}
var ICON = {
  up: 'M6 15l6-6 6 6', down: 'M6 9l6 6 6-6', remove: 'M6 6l12 12M18 6L6 18', plus: 'M12 5v14M5 12h14',
  back: 'M15 5l-7 7 7 7', warn: 'M12 3l10 18H2zM12 10v5M12 18h.01', copy: 'M8 8h12v12H8zM4 16V4h12',
  eye: 'M2 12s4-7 10-7 10 7 10 7-4 7-10 7S2 12 2 12zM12 9a3 3 0 100 6 3 3 0 000-6z'
};
/** An icon from one of the constant paths above (never data). */
function icon(name, size) {
  var ns = 'http://www.w3.org/2000/svg', s = document.createElementNS(ns, 'svg'), p = document.createElementNS(ns, 'path');
  s.setAttribute('width', size || 18); s.setAttribute('height', size || 18); s.setAttribute('viewBox', '0 0 24 24');
  s.setAttribute('fill', 'none'); s.setAttribute('stroke', 'currentColor'); s.setAttribute('stroke-width', '2');
  s.setAttribute('stroke-linecap', 'round'); s.setAttribute('stroke-linejoin', 'round'); s.setAttribute('aria-hidden', 'true');
  p.setAttribute('d', ICON[name]);
  s.append(p);
  return s;
}
/** A small icon-only button, named for screen readers by `label`. */
function iconButton(name, label, onclick, attrs) {
  var b = h('button', Object.assign({ type: 'button', class: 'icon', 'aria-label': label, title: label }, attrs || {}), icon(name));
  b.addEventListener('click', onclick);
  return b;
}
function button(text, onclick, attrs) {
  var b = h('button', Object.assign({ type: 'button', class: 'quiet sm', text: text }, attrs || {}));
  if (onclick) b.addEventListener('click', onclick);
  return b;
}
function dateTime(at) {
  var d = new Date(at);
  return at && !isNaN(d) ? d.toLocaleString(lang, { dateStyle: 'medium', timeStyle: 'short' }) : '';
}
/** A short time: "14:32" today, else "22 Nov, 14:32". */
function shortTime(at) {
  var d = new Date(at);
  if (!at || isNaN(d)) return '';
  return d.toDateString() === new Date().toDateString() ? d.toLocaleTimeString(lang, { hour: '2-digit', minute: '2-digit' }) :
    d.toLocaleString(lang, { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
}
var uidN = 0;
function uid() { return 'c' + (++uidN); }
/** Reads `a.b[2].c` in an object (undefined when absent). */
function getPath(obj, path) {
  return String(path).split(/\.|\[(\d+)\]/).filter(function (k) { return k != null && k !== ''; })
    .reduce(function (o, k) { return o == null ? undefined : o[k]; }, obj);
}
function clone(x) { return JSON.parse(JSON.stringify(x)); }

/** The result of the last action, read out and shown at the bottom for a while ("Published version 2"). */
var statusTimer = 0, statusAt = 0;
function status(text) {
  var s = $('status');
  s.textContent = '';
  s.classList.remove('on');
  clearTimeout(statusTimer);
  statusAt = Date.now();
  setTimeout(function () {
    s.textContent = text;
    s.classList.add('on');
    statusTimer = setTimeout(function () { s.classList.remove('on'); }, 8000);
  }, 30);
}
/** On another page, an older result is put away (one that led there, like "Widget created", stays). */
function staleStatus() {
  if (Date.now() - statusAt > 1500) { clearTimeout(statusTimer); $('status').classList.remove('on'); }
}

/** Marks a button busy while `promise` runs (disabled, aria-busy), then gives it back. */
function busy(btn, promise) {
  btn.disabled = true;
  btn.setAttribute('aria-busy', 'true');
  var done = function () { btn.disabled = false; btn.removeAttribute('aria-busy'); };
  promise.then(done, done);
  return promise;
}

// ---- server calls

var me = null;       // GET /api/agent/me: {agent, …, publicURL?}
var session = 0;     // bumped at every sign-in and sign-out: answers of an earlier session are dropped

function api(method, path, body) {
  var init = { method: method, credentials: 'same-origin', headers: {} };
  if (body !== undefined) { init.headers['Content-Type'] = 'application/json'; init.body = JSON.stringify(body); }
  return fetch(path, init).then(function (r) {
    if (r.status === 204) return { status: 204, ok: true, body: null, headers: r.headers };
    return r.json().then(function (b) { return b; }, function () { return null; }).then(function (b) {
      return { status: r.status, ok: r.ok, body: b, headers: r.headers };
    });
  });
}
/** api() within the current session: a 401 shows the sign-in form ("session ended"), a 403 admin_only the "for admins"
 *  page; answers that come after a sign-out (or a new sign-in) are dropped (the promise never settles). A network
 *  failure rejects. */
function call(method, path, body) {
  var gen = session;
  return new Promise(function (resolve, reject) {
    api(method, path, body).then(function (res) {
      if (gen !== session) return;
      if (res.status === 401 && me) { stashUnsaved(); showSignIn(L.sessionEnded); return; }
      if (res.status === 403 && errorOf(res).code === 'admin_only') { showForbidden(); return; }
      resolve(res);
    }, function (e) { if (gen === session) reject(e); });
  });
}
function errorOf(res) { return (res && res.body && res.body.error) || { message: 'HTTP ' + (res ? res.status : '?') }; }
/** What to say about a failed call (a refused answer or no answer). */
function failText(x) {
  return x && x.status ? t('server', { m: errorOf(x).message }) : L.network;
}
/** The answer, or a rejection with it when it is not a success (for promise chains that only load). */
function okOr(res) { if (!res.ok) throw res; return res; }

// ---- field errors (aria-invalid, the error line tied with aria-describedby, a summary at the top)

function setError(c, text) {
  var e = $(c.getAttribute('data-error'));
  if (e) e.textContent = text || '';
  if (text) c.setAttribute('aria-invalid', 'true'); else c.removeAttribute('aria-invalid');
}
function clearErrors(root, alertEl) {
  root.querySelectorAll('[aria-invalid]').forEach(function (c) { setError(c, ''); });
  root.querySelectorAll('[data-forced]').forEach(function (e) { e.removeAttribute('data-forced'); });
  if (alertEl) alertEl.textContent = '';
}
/** An error on a control that is hidden (a part the other settings hide, like the closed message while the widget
 *  hides out of hours: the server still keeps and judges it): its part is shown until the errors are cleared. */
function reveal(c, root) {
  for (var e = c.parentElement; e && e !== root; e = e.parentElement) {
    if (e.hidden) { e.hidden = false; e.setAttribute('data-forced', ''); }
  }
}
/** The control for an error's path: the one with that data-path; for `list[3]` of a one-per-line box, that box and
 *  the line; a reply's text for an action's `value`; else null (the error goes in the summary). */
function findControl(root, path) {
  var q = function (p) { return root.querySelector('[data-path="' + CSS.escape(p) + '"]'); };
  var c = q(path), m;
  if (c) return { c: c };
  if ((m = /^(.*)\[(\d+)\]$/.exec(path)) && (c = q(m[1]))) {
    if (c.tagName !== 'TEXTAREA') return { c: c };
    // the n-th non-empty line is which line of the box?
    var n = +m[2], line = 0;
    c.value.split(/\r?\n/).some(function (s, i) { if (s.trim() && n-- === 0) { line = i; return true; } return false; });
    return { c: c, line: line };
  }
  if ((m = /^(.*)\.value$/.exec(path)) && (c = q(m[1] + '.text'))) return { c: c };
  return null;
}
/** errors: {path: text}. Each goes next to its control; the others, and a "please correct" line, in the summary.
 *  Focuses the first bad control in page order (opening a closed <details> around it). Returns whether any. */
function showErrors(root, errors, alertEl) {
  clearErrors(root, alertEl);
  var byControl = new Map(), rest = [];
  Object.keys(errors).forEach(function (p) {
    var f = findControl(root, p);
    if (!f) { rest.push(p + ': ' + errors[p]); return; }
    var text = f.line != null ? t('lineError', { n: f.line + 1, m: errors[p] }) : errors[p];
    byControl.set(f.c, (byControl.get(f.c) || []).concat(text));
  });
  byControl.forEach(function (list, c) { setError(c, list.join(' ')); reveal(c, root); });
  if (!byControl.size && !rest.length) return false;
  if (alertEl) {
    alertEl.textContent = '';
    alertEl.append(h('span', { text: byControl.size ? L.fixFields : L.notSaved }));
    if (rest.length) alertEl.append(h('ul', null, ...rest.map(function (r) { return h('li', { text: r }); })));
  }
  var first = root.querySelector('[aria-invalid=true]');
  if (first) {
    for (var d = first.closest('details'); d; d = d.parentElement.closest('details')) d.open = true;
    first.focus();
  } else if (alertEl) alertEl.scrollIntoView({ block: 'nearest' });
  return true;
}
/** A local check's result ({path: [key, vars]}) in words. */
function words(errors) {
  var out = {};
  Object.keys(errors).forEach(function (k) { out[k] = say(errors[k]); });
  return out;
}
/** The server's 422 fields, in our words where we know the rule (the server's texts are English only). */
function serverErrors(fields, sent) {
  var out = {};
  Object.keys(fields || {}).forEach(function (p) {
    var mine = A.localField(p, getPath(sent, p));
    out[p] = mine ? say(mine) : fields[p];
  });
  return out;
}
/** After a refused save: the field errors of a 422 (true), else the message in the summary (false). */
function refused(res, root, alertEl, sent) {
  var err = errorOf(res);
  if (res.status === 422 && err.fields && showErrors(root, serverErrors(err.fields, sent), alertEl)) return true;
  clearErrors(root, alertEl);
  alertEl.textContent = failText(res);
  return false;
}

// ---- building controls (label, hint and error line tied to the control)

/** A labelled control. o: {label, kind: text|email|password|number|date|textarea|select, value, options: [[value,
 *  text]], hint, path (data-path: where its errors go; also its name unless `name`), name, rows, attrs, set(value,
 *  control), cls}. Returns the wrapper; wrapper.control is the control. */
function field(o) {
  var id = uid(), c, k;
  if (o.kind === 'select') {
    c = h('select');
    (o.options || []).forEach(function (x) { c.append(h('option', { value: x[0], text: x[1] })); });
  } else if (o.kind === 'textarea') c = h('textarea', { rows: o.rows || 3 });
  else c = h('input', { type: o.kind || 'text' });
  c.id = id;
  if (o.name || o.path) c.name = o.name || o.path;
  if (o.path) c.setAttribute('data-path', o.path);
  for (k in o.attrs || {}) if (o.attrs[k] != null) c.setAttribute(k, o.attrs[k]);
  if (o.value != null) {
    if (o.kind === 'select' && ![].some.call(c.options, function (x) { return x.value === String(o.value); })) {
      c.append(h('option', { value: o.value, text: o.value }));  // a value we do not offer: kept, not lost
    }
    c.value = o.value;
  }
  var hint = o.hint ? h('p', { class: 'hint', id: id + '-hint', text: o.hint }) : null;
  var err = h('p', { class: 'error', id: id + '-error' });
  c.setAttribute('aria-describedby', (hint ? hint.id + ' ' : '') + err.id);
  c.setAttribute('data-error', err.id);
  if (o.set) c.addEventListener(o.kind === 'select' ? 'change' : 'input', function () { o.set(c.value, c); });
  var wrap = h('div', { class: 'field' + (o.cls ? ' ' + o.cls : '') }, h('label', { for: id, text: o.label }), c, hint, err);
  wrap.control = c;
  return wrap;
}
/** A checkbox (or radio, kind: 'radio') with its label after it. o: {label, checked, hint, path, name, value, set}. */
function check(o) {
  var id = uid(), c = h('input', { type: o.kind || 'checkbox', id: id, name: o.name || o.path || null, value: o.value,
    'data-path': o.path || null });
  c.checked = !!o.checked;
  if (o.disabled) c.disabled = true;
  var hint = o.hint ? h('p', { class: 'hint', id: id + '-hint', text: o.hint }) : null;
  var err = h('p', { class: 'error', id: id + '-error' });
  c.setAttribute('aria-describedby', (hint ? hint.id + ' ' : '') + err.id);
  c.setAttribute('data-error', err.id);
  if (o.set) c.addEventListener('change', function () { o.set(c.checked, c); });
  var wrap = h('div', { class: 'check' + (o.cls ? ' ' + o.cls : '') }, c, h('label', { for: id, text: o.label }), hint, err);
  wrap.control = c;
  return wrap;
}
/** A group of checkboxes for a list of ids ({id, label}); `all` adds "every one, also new ones" (the `*` entry).
 *  o: {legend, items, selected: [ids], all: label|null, name, path, hint, set(list)}. */
function checkGroup(o) {
  var sel = (o.selected || []).slice(), boxes = [], before = null;
  var fs = h('fieldset', { class: 'group' }, h('legend', { text: o.legend }));
  function update() {
    var list = boxes.filter(function (b) { return b.control.checked && b.control.value !== '*'; }).map(function (b) { return b.control.value; });
    if (o.set) o.set(o.all && boxes[0].control.checked ? ['*'] : list);
  }
  // "All": every box shown ticked and locked; unticking it gives back the boxes as they were
  function all(on) {
    boxes.slice(1).forEach(function (b, i) {
      if (on) { b.control.checked = true; b.control.disabled = true; }
      else { b.control.disabled = false; if (before) b.control.checked = before[i]; }
    });
    update();
  }
  if (o.all) {
    boxes.push(check({ label: o.all, name: o.name, value: '*', checked: sel.indexOf('*') >= 0, set: function (on) {
      if (on) before = boxes.slice(1).map(function (b) { return b.control.checked; });
      all(on);
    } }));
  }
  o.items.forEach(function (x) {
    boxes.push(check({ label: x.label, name: o.name, value: x.id, checked: sel.indexOf(x.id) >= 0 || sel.indexOf('*') >= 0, set: update }));
  });
  if (!o.items.length && o.empty) fs.append(h('p', { class: 'muted small', text: o.empty }));
  boxes.forEach(function (b) { fs.append(b); });
  if (o.all && sel.indexOf('*') >= 0) boxes.forEach(function (b, i) { if (i > 0) b.control.disabled = true; });
  // errors about the list (`widgets[0]`) go to its first box
  if (boxes.length && o.path) boxes[0].control.setAttribute('data-path', o.path);
  if (o.hint) fs.append(h('p', { class: 'hint', text: o.hint }));
  fs.boxes = boxes;
  return fs;
}
/** A section of a long form: <section> with its heading (h2) and an optional introduction. */
function section(id, title, intro) {
  var hid = 'h-' + id;
  return h('section', { class: 'sec', id: 'sec-' + id, 'aria-labelledby': hid },
    h('h2', { id: hid, text: title }), intro ? h('p', { class: 'intro', text: intro }) : null);
}
/** Up, down and remove buttons for item i of a list (named after the item for screen readers). */
function itemTools(list, i, name, onChange) {
  var tools = h('div', { class: 'tools' });
  tools.append(
    iconButton('up', t('moveUp', { name: name }), function () { onChange(A.move(list, i, -1), i - 1, 'up'); },
      { disabled: i === 0 ? '' : null, 'data-action': 'move-up' }),
    iconButton('down', t('moveDown', { name: name }), function () { onChange(A.move(list, i, 1), i + 1, 'down'); },
      { disabled: i === list.length - 1 ? '' : null, 'data-action': 'move-down' }),
    iconButton('remove', t('removeItem', { name: name }), function () {
      onChange(list.filter(function (_, j) { return j !== i; }), Math.min(i, list.length - 2), 'remove');
    }, { 'data-action': 'remove' }));
  return tools;
}
/** After a list was redrawn: the focus goes to the moved item's same button, or after a removal to the item now at
 *  that place (or the list's add button). */
function refocus(listEl, i, how, addBtn) {
  var items = listEl.querySelectorAll(':scope > li');
  var item = items[i];
  var target = item && (how === 'up' || how === 'down' ? item.querySelector('[data-action=move-' + how + ']:not([disabled])') ||
    item.querySelector('input, select, textarea') : item.querySelector('input, select, textarea'));
  (target || addBtn).focus();
}

// ---- dialogs

/** A yes/no question in the #ask dialog → Promise<bool>. */
function ask(title, text, yes, danger) {
  var d = $('ask'), yesBtn = d.querySelector('[data-action=confirm-yes]'), noBtn = d.querySelector('[data-action=confirm-no]');
  $('ask-title').textContent = title;
  $('ask-text').textContent = text;
  yesBtn.textContent = yes;
  yesBtn.className = danger ? 'danger' : 'primary';
  return new Promise(function (resolve) {
    function end(v) {
      yesBtn.onclick = noBtn.onclick = null;
      d.removeEventListener('close', onClose);
      if (d.open) d.close();
      resolve(v);
    }
    function onClose() { end(false); }
    yesBtn.onclick = function () { end(true); };
    noBtn.onclick = function () { end(false); };
    d.addEventListener('close', onClose);
    d.showModal();
    noBtn.focus();
  });
}
document.querySelectorAll('dialog [data-close]').forEach(function (b) {
  b.addEventListener('click', function () { b.closest('dialog').close(); });
});
/** Copies `text` (clipboard API; else the selected text of `box` — a text box, or any element — with execCommand),
 *  saying so on `btn`. */
function copyText(text, box, btn) {
  function done() {
    btn.textContent = L.copied;
    status(L.copied);
    setTimeout(function () { btn.textContent = L.copy; }, 4000);
  }
  function fallback() {
    if (box.select) { box.focus(); box.select(); } else {
      var r = document.createRange(), sel = window.getSelection();
      r.selectNodeContents(box);
      sel.removeAllRanges();
      sel.addRange(r);
    }
    var ok = false;
    try { ok = document.execCommand('copy'); } catch (e) { /* not allowed */ }
    if (ok) done(); else status(L.pressCtrlC);
  }
  if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(text).then(done, fallback);
  else fallback();
}
/** A read-only box with a text to copy and its Copy button. */
function copyBox(labelText, text, action, rows) {
  var id = uid();
  var box = h('textarea', { id: id, class: 'code', readonly: '', rows: rows || 2, spellcheck: 'false' });
  box.value = text;
  var btn = h('button', { type: 'button', class: 'quiet sm', 'data-action': action, text: L.copy });
  btn.addEventListener('click', function () { copyText(box.value, box, btn); });
  return h('div', { class: 'copy' }, h('label', { for: id, text: labelText }), h('div', { class: 'copy-row' }, box, btn));
}

// ---- sign-in, the "for admins" page, the app

var signin = $('signin'), signinAlert = $('signin-alert'), signinSubmit = $('signin-submit');

function resetSession() {
  session++;
  me = null;
  cache = {};
  current = null;
  ed = null;
  document.querySelectorAll('dialog[open]').forEach(function (d) { d.close(); });
}
function showOnly(id) {
  ['loading', 'signin', 'forbidden', 'app'].forEach(function (x) { $(x).hidden = x !== id; });
}
function showSignIn(message) {
  resetSession();
  showOnly('signin');
  $('whoami').textContent = '';
  $('signout').hidden = true;
  $('to-inbox').hidden = true;
  $('password').value = '';
  signinAlert.textContent = message || '';
  document.title = L.pageTitle;
  $('email').focus();
}
function showForbidden() {
  var who = me;
  resetSession();
  me = who;
  showOnly('forbidden');
  $('whoami').textContent = who ? t('signedInAs', { name: who.agent.name }) : '';
  $('signout').hidden = !who;
  $('to-inbox').hidden = false;
  $('forbidden-title').focus();
}
function showApp(data) {
  resetSession();
  me = data;
  showOnly('app');
  $('whoami').textContent = t('signedInAs', { name: data.agent.name });
  $('signout').hidden = false;
  $('to-inbox').hidden = false;
  route(true);
}
/** /api/agent/me's answer: an admin gets the console, anyone else the "for admins" page. */
function enter(data) {
  if (data && data.agent && data.agent.role === 'admin') showApp(data);
  else { me = data; showForbidden(); }
}

function setFieldError(id, message) {
  $(id + '-error').textContent = message || '';
  if (message) $(id).setAttribute('aria-invalid', 'true'); else $(id).removeAttribute('aria-invalid');
}
function isEmail(s) { return /^[^\s@<>,]+@[^\s@<>,.]+(\.[^\s@<>,.]+)+$/.test(s); }

signin.addEventListener('submit', function (ev) {
  ev.preventDefault();
  signinAlert.textContent = '';
  var email = $('email').value.trim(), password = $('password').value;
  var eErr = !email ? L.required : !isEmail(email) ? L.emailInvalid : '';
  var pErr = !password ? L.required : '';
  setFieldError('email', eErr);
  setFieldError('password', pErr);
  if (eErr || pErr) { $(eErr ? 'email' : 'password').focus(); return; }
  signinSubmit.disabled = true;
  signinSubmit.textContent = L.signingIn;
  api('POST', '/api/agent/login', { email: email, password: password }).then(function (res) {
    if (res.ok) {
      $('password').value = '';
      return api('GET', '/api/agent/me').then(function (m) {
        if (!m.ok) { signinAlert.textContent = failText(m); return; }
        enter(m.body);
      });
    }
    var err = errorOf(res);
    if (res.status === 401) signinAlert.textContent = L.badCredentials;
    else if (res.status === 403 && err.code === 'account_disabled') signinAlert.textContent = L.disabled;
    else if (res.status === 429) signinAlert.textContent = t('rateLimited', { s: res.headers.get('Retry-After') || 60 });
    else signinAlert.textContent = failText(res);
    $('password').focus();
  }).catch(function () {
    signinAlert.textContent = L.network;
  }).then(function () {
    signinSubmit.disabled = false;
    signinSubmit.textContent = L.signIn;
  });
});
['email', 'password'].forEach(function (f) {
  $(f).addEventListener('input', function () { if ($(f).value) setFieldError(f, ''); });
});

function signOut() {
  var go = function () {
    api('POST', '/api/agent/logout').catch(function () {}).then(function () { showSignIn(''); });
  };
  if (current && current.dirty && current.dirty()) {
    ask(L.leaveTitle, L.leaveText, L.leaveYes, true).then(function (yes) { if (yes) go(); });
  } else go();
}
$('signout').addEventListener('click', signOut);
$('forbidden-signout').addEventListener('click', signOut);

// The language: ?lang= in the address (kept with the page's hash).
var langPick = $('lang-pick');
langPick.value = lang;
langPick.addEventListener('change', function () {
  var u = new URL(location.href);
  u.searchParams.set('lang', langPick.value);
  location.assign(u.toString());
});

// ---- what the pages share: widgets, agents, teams, time zones, defaults, the widget's built-in texts

var cache = {};
/** GET path once per page visit (`fresh`: again) → the answer's body; rejects with the answer (or a network error). */
function load(key, path, fresh) {
  if (!fresh && cache[key]) return cache[key];
  var p = cache[key] = call('GET', path).then(okOr).then(function (res) { return res.body; });
  p.catch(function () { if (cache[key] === p) delete cache[key]; });
  return p;
}
function widgetsP(fresh) { return load('widgets', '/api/admin/widgets', fresh).then(function (b) { return b.widgets || []; }); }
function agentsP(fresh) { return load('agents', '/api/admin/agents', fresh).then(function (b) { return b.agents || []; }); }
function teamsP(fresh) { return load('teams', '/api/admin/teams', fresh).then(function (b) { return b.teams || []; }); }
function timeZonesP() { return load('tz', '/api/admin/timezones').then(function (b) { return b.timeZones || []; }); }
function defaultsP() { return load('defaults', '/api/admin/defaults').then(function (b) { return b.widget || {}; }); }
/** Replaces the cached list of agents (or teams) after a change. */
function setCached(key, body) { cache[key] = Promise.resolve(body); }

/** The widget's built-in texts, {en: {key: text}, fr: {…}}, read from the real files: widget-chat.js only registers
 *  Parley._c (with I = its texts) when Parley exists, upload.js registers ParleyTus (I = the file tray's texts). */
var builtins = null;
function builtinsP() {
  if (builtins) return builtins;
  function script(src) {
    return new Promise(function (resolve) {
      var s = h('script', { src: src });
      s.onload = s.onerror = function () { resolve(); };
      document.head.append(s);
    });
  }
  if (!window.Parley) window.Parley = function () {};
  builtins = script('/widget-chat.js').then(function () { return script('/upload.js'); }).then(function () {
    var I = (window.Parley && window.Parley._c && window.Parley._c.I) || {}, U = (window.ParleyTus && window.ParleyTus.I) || {};
    var out = {};
    ['en', 'fr'].forEach(function (l) { out[l] = Object.assign({}, I[l] || {}, U[l] || {}); });
    return out;
  });
  return builtins;
}

// ---- pages (hash routes) and unsaved changes

var current = null;   // the page shown: {name, dirty()?}
var lastHash = '';
var ROUTES = { widgets: 1, agents: 1, teams: 1, inbox: 1, rules: 1, data: 1, audit: 1 };

/** Clears #view for page `name` (its menu entry marked current) → the view element. */
function mount(name) {
  staleStatus();
  current = { name: name, dirty: null };
  ed = null;
  document.querySelectorAll('.side a').forEach(function (a) {
    if (a.getAttribute('data-nav') === name) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  });
  var v = $('view');
  v.textContent = '';
  return v;
}
/** The page's heading: focused after an in-app navigation (not on the first load). */
var focusHeading = false;
function heading(text, extra) {
  var h1 = h('h1', { tabindex: '-1', text: text });
  var head = h('div', { class: 'page-head' }, h1, extra || null);
  if (focusHeading) setTimeout(function () { h1.focus(); }, 0);
  return head;
}
function route(first) {
  if (!me) return;
  var m = /^#\/([a-z]+)(?:\/(.+))?$/.exec(location.hash) || [];
  var name = ROUTES[m[1]] ? m[1] : 'widgets';
  if (!ROUTES[m[1]]) history.replaceState(null, '', '#/widgets');
  lastHash = location.hash;
  focusHeading = !first;
  document.title = L.pageTitle;
  if (name === 'widgets' && m[2]) viewEditor(decodeURIComponent(m[2]));
  else ({ widgets: viewWidgets, agents: viewAgents, teams: viewTeams, inbox: viewInbox, rules: viewRules, data: viewData, audit: viewAudit })[name]();
}
var navigating = false;
window.addEventListener('hashchange', function () {
  if (!me || $('app').hidden || navigating) return;
  if (current && current.dirty && current.dirty()) {
    var target = location.hash;
    history.replaceState(null, '', lastHash);  // stay here until they answer
    ask(L.leaveTitle, L.leaveText, L.leaveYes, true).then(function (yes) {
      if (!yes) return;
      current.dirty = null;
      location.hash = target;
    });
    return;
  }
  route(false);
});
window.addEventListener('beforeunload', function (e) {
  if (current && current.dirty && current.dirty()) { e.preventDefault(); e.returnValue = ''; }
});
/** Goes to another page (the unsaved-changes question comes from hashchange). */
function go(hash) { if (location.hash === hash) route(false); else location.hash = hash; }

/** A failed load shown in the page, with Try again. */
function loadFailed(v, x, retry) {
  var box = h('div', { class: 'alert', role: 'alert' }, h('span', { text: failText(x) + ' ' }));
  box.append(button(L.tryAgain, retry));
  v.append(box);
}

// ---- Widgets: the list, and a new widget

function viewWidgets() {
  var v = mount('widgets');
  var newBtn = h('button', { type: 'button', class: 'primary', 'data-action': 'new-widget', 'aria-expanded': 'false',
    'aria-controls': 'new-widget' }, icon('plus'), h('span', { text: L.newWidget }));
  v.append(heading(L.widgetsTitle, newBtn), h('p', { class: 'lead', text: L.widgetsLead }));
  var alertEl = h('div', { class: 'alert', role: 'alert' });
  var list = h('ul', { class: 'wlist', 'aria-label': L.widgetsTitle });

  // the new-widget form: a name, and an id made from it until the id is typed
  var form = h('form', { id: 'new-widget', class: 'card new-widget', novalidate: '', hidden: '', 'aria-labelledby': 'new-widget-title' });
  var formAlert = h('div', { class: 'alert', role: 'alert' });
  var idTyped = false, taken = [];
  var nameF = field({ label: L.fName, name: 'new-name', path: 'name', hint: L.hNewName, attrs: { maxlength: 80, autocomplete: 'off' },
    set: function (val) { if (!idTyped) idF.control.value = A.slug(val, taken, 'widget'); } });
  var idF = field({ label: L.fId, name: 'new-id', path: 'id', hint: L.hNewId,
    attrs: { maxlength: 40, autocomplete: 'off', spellcheck: 'false', pattern: '[a-z0-9_-]+' },
    set: function () { idTyped = true; } });
  var create = h('button', { type: 'submit', class: 'primary', 'data-action': 'create-widget', text: L.createWidget });
  var cancel = button(L.cancel, function () { toggleForm(false); });
  form.append(h('h2', { id: 'new-widget-title', text: L.newWidgetTitle }), formAlert, nameF, idF,
    h('div', { class: 'row-actions' }, create, cancel));
  function toggleForm(open) {
    form.hidden = !open;
    newBtn.setAttribute('aria-expanded', String(open));
    if (open) { idTyped = false; nameF.control.value = idF.control.value = ''; clearErrors(form, formAlert); nameF.control.focus(); }
    else newBtn.focus();
  }
  newBtn.addEventListener('click', function () { toggleForm(form.hidden); });
  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var body = { id: idF.control.value.trim(), name: nameF.control.value.trim() };
    var e = {};
    if (!body.name) e.name = L.errRequired;
    if (!body.id) e.id = L.errRequired;
    else if (!/^[a-z0-9_-]{1,40}$/.test(body.id)) e.id = L.errWidgetId;
    if (showErrors(form, e, formAlert)) return;
    busy(create, call('POST', '/api/admin/widgets', body).then(function (res) {
      if (res.ok) {
        delete cache.widgets;
        status(t('widgetCreated', { name: body.name }));
        go('#/widgets/' + enc(res.body.id || body.id));
        return;
      }
      if (res.status === 409) { showErrors(form, { id: L.widgetExists }, formAlert); return; }
      refused(res, form, formAlert, body);
    }, function (x) { formAlert.textContent = failText(x); }));
  });

  v.append(alertEl, form, list);
  function draw(widgets) {
    taken = widgets.map(function (w) { return w.id; });
    list.textContent = '';
    if (!widgets.length) list.append(h('li', { class: 'empty', text: L.noWidgets }));
    widgets.forEach(function (w) {
      var badges = h('span', { class: 'badges' },
        w.version ? h('span', { class: 'badge live', text: t('liveBadge', { n: w.version }) }) :
          h('span', { class: 'badge off', text: L.notPublishedBadge }),
        w.hasDraft ? h('span', { class: 'badge draft', text: L.draftBadge }) : null);
      var when = w.version && w.publishedAt ? t('publishedAt', { time: dateTime(w.publishedAt) }) :
        w.draftAt ? t('draftAt', { time: dateTime(w.draftAt) }) : '';
      var li = h('li', { class: 'wrow', 'data-widget': w.id },
        h('a', { href: '#/widgets/' + enc(w.id), class: 'wlink' },
          h('span', { class: 'wname', text: w.name }), h('code', { text: w.id })),
        badges, h('span', { class: 'muted small', text: when }));
      if ((w.warnings || []).length) {
        li.append(h('ul', { class: 'warnings' }, ...w.warnings.map(function (x) { return h('li', null, icon('warn', 16), h('span', { text: x })); })));
      }
      list.append(li);
    });
  }
  widgetsP(true).then(draw, function (x) { loadFailed(alertEl, x, viewWidgets); });
}

// ---- Widgets: the editor

var ed = null;  // the widget being edited: {id, rec (GET's answer), base (draft ?? published), form, baseline, …}
var DAY_KEYS = { mon: 'dayMon', tue: 'dayTue', wed: 'dayWed', thu: 'dayThu', fri: 'dayFri', sat: 'daySat', sun: 'daySun' };
var FIELD_TYPES = ['name', 'email', 'phone', 'category', 'id', 'custom', 'reason'];
var STATUS_TEXTS = ['waiting', 'minimized', 'agentLeft'];  // shown first in "Texts" (strings[lang][key])

function viewEditor(id) {
  var v = mount('widgets');
  var mine = ed = { id: id, frameN: 0, timer: 0 };
  current.dirty = function () { return ed === mine && !!mine.form && dirty(); };
  var wait = h('p', { class: 'muted', role: 'status', text: L.loading });
  v.append(wait);
  Promise.all([
    call('GET', '/api/admin/widgets/' + enc(id)),
    timeZonesP().catch(function () { return []; }),
    defaultsP().catch(function () { return {}; }),
    builtinsP(),
    agentsP(true).catch(function () { return null; }),
    teamsP(true).catch(function () { return null; })
  ]).then(function (r) {
    if (ed !== mine) return;
    wait.remove();
    var res = r[0];
    if (res.status === 404) {
      v.append(heading(L.widgetNotFound), h('p', null, h('a', { href: '#/widgets', text: L.backToWidgets })));
      return;
    }
    if (!res.ok) { loadFailed(v, res, function () { viewEditor(id); }); return; }
    mine.timeZones = r[1]; mine.defaults = r[2]; mine.builtins = r[3]; mine.agents = r[4]; mine.teams = r[5];
    buildEditor(v, res.body);
  }, function (x) { if (ed === mine) { wait.remove(); loadFailed(v, x, function () { viewEditor(id); }); } });
}

/** The JSON the editor would send now, and whether it differs from what was loaded or saved last (compared with
 *  sorted keys: the server's answers may order them otherwise). */
function editedWidget() { return A.toWidget(ed.form, ed.base); }
function dirty() { return A.canon(editedWidget()) !== ed.baseline; }

function buildEditor(v, rec) {
  var bar = h('div', { class: 'editbar' });
  var title = h('h1', { tabindex: '-1', id: 'ed-title' });
  var state = h('span', { id: 'state', class: 'state' });
  var btn = {
    save: h('button', { type: 'button', class: 'quiet sm', 'data-action': 'save-draft', text: L.saveDraft }),
    publish: h('button', { type: 'button', class: 'primary sm', 'data-action': 'publish', text: L.publish }),
    discard: h('button', { type: 'button', class: 'quiet sm', 'data-action': 'discard', text: L.discard }),
    code: h('button', { type: 'button', class: 'quiet sm', 'data-action': 'show-code', text: L.showCode, 'aria-haspopup': 'dialog' }),
    history: h('button', { type: 'button', class: 'quiet sm', 'data-action': 'history', text: L.history, 'aria-haspopup': 'dialog' })
  };
  bar.append(
    h('div', { class: 'editbar-title' },
      h('a', { href: '#/widgets', class: 'back' }, icon('back', 16), h('span', { text: L.backToWidgets })),
      h('div', { class: 'title-line' }, title, h('code', { text: ed.id })), state),
    h('div', { class: 'editbar-actions' }, btn.save, btn.publish, btn.discard, btn.code, btn.history));
  var stashSlot = h('div');
  var alertEl = h('div', { class: 'alert', role: 'alert', id: 'form-alert', tabindex: '-1' });
  var warnings = h('ul', { class: 'warnings', 'aria-label': L.warnings });
  var form = h('form', { class: 'wform', id: 'wform', novalidate: '', autocomplete: 'off', 'aria-labelledby': 'ed-title' });
  var jump = h('nav', { class: 'jump', 'aria-label': L.jumpTo });
  var pane = previewPane();
  v.append(bar, h('div', { class: 'edit-grid' }, h('div', { class: 'edit-main' }, stashSlot, alertEl, warnings, jump, form), pane));
  if (focusHeading) setTimeout(function () { title.focus(); }, 0);
  Object.assign(ed, { bar: bar, title: title, state: state, btn: btn, alert: alertEl, warnings: warnings, formEl: form, jump: jump,
    stashSlot: stashSlot, busy: null });
  form.addEventListener('submit', function (e) { e.preventDefault(); });

  btn.save.addEventListener('click', function () {
    run('save', function () { return saveDraft().then(function (ok) { if (ok) status(L.draftSaved); }); });
  });
  btn.publish.addEventListener('click', function () { run('publish', publish); });
  btn.discard.addEventListener('click', discard);
  btn.code.addEventListener('click', showCode);
  btn.history.addEventListener('click', showHistory);
  setRecord(rec, true);
  offerStash();
}

/** Runs Save, Publish or Discard (`fn` → a promise): while it runs, those three and History are disabled, so one
 *  never starts on top of another (a Publish during a save would send the draft again on its old revision, and the
 *  server would take the admin for someone else). Editing goes on meanwhile. */
function run(kind, fn) {
  var mine = ed;
  if (!mine || mine.busy) return Promise.resolve();
  mine.busy = kind;
  var b = mine.btn[kind];
  b.setAttribute('aria-busy', 'true');
  updateBar();
  var p;
  try { p = Promise.resolve(fn()); } catch (e) { p = Promise.reject(e); }
  var done = function () {
    b.removeAttribute('aria-busy');
    if (mine.busy === kind) mine.busy = null;
    if (ed === mine) updateBar();
  };
  p.then(done, done);
  return p;
}

/** A new answer from the server (GET, save, publish, discard, restore). With `rebuild`, the form is drawn again from
 *  it. After a save or publish (`sent`: the settings the answer is about), the form is kept as it is — with whatever
 *  was typed while the answer was on its way — unless the server stored something else than what was sent. */
function setRecord(rec, rebuild, sent) {
  ed.rec = rec;
  ed.base = rec.draft || rec.published;
  if (!ed.base) { go('#/widgets'); return; }  // a never-published widget whose draft was discarded
  if (!rebuild && ed.form && !A.sameWidget(sent || editedWidget(), ed.base)) rebuild = true;
  if (rebuild || !ed.form) {
    ed.form = A.fromWidget(ed.base);
    renderForm();
  } else syncForm();
  // what an untouched editor of the stored settings would send: the edits made since are still unsaved
  ed.baseline = A.canon(A.toWidget(A.fromWidget(ed.base), ed.base));
  ed.title.textContent = ed.form.name || ed.id;
  document.title = t('editorTitle', { name: ed.form.name || ed.id });
  ed.warnings.textContent = '';
  (rec.warnings || []).forEach(function (x) { ed.warnings.append(h('li', null, icon('warn', 16), h('span', { text: x }))); });
  updateBar();
  schedulePreview(0);
}

/** The action bar: where the widget stands, and which buttons make sense now. */
function updateBar() {
  var r = ed.rec, d = dirty(), s;
  if (ed.busy) s = L[{ save: 'stSaving', publish: 'stPublishing', discard: 'stDiscarding' }[ed.busy]];
  else if (d) s = L.stUnsaved;
  else if (r.draft) s = r.version ? t('stDraftLive', { n: r.version, time: shortTime(r.draftAt) }) : t('stDraftNew', { time: shortTime(r.draftAt) });
  else s = t('stLive', { n: r.version, time: shortTime(r.publishedAt) });
  ed.state.textContent = s;
  ed.state.setAttribute('data-state', ed.busy ? 'busy' : d ? 'unsaved' : r.draft ? 'draft' : 'live');
  var on = A.barState({ rec: r, dirty: d, busy: ed.busy });
  ed.btn.save.disabled = !on.save;
  ed.btn.publish.disabled = !on.publish;
  ed.btn.discard.disabled = !on.discard;
  ed.btn.history.disabled = !on.history;
}

/** Something was edited (`c`: the control): its error goes once fixed, the bar and the preview follow. */
function edited(c) {
  if (c && c.getAttribute('aria-invalid')) {
    var path = c.getAttribute('data-path'), e = A.check(ed.form);
    if (!e[path]) setError(c, '');
  }
  syncForm();
  updateBar();
  schedulePreview(400);
}

/** What this editor's changes are based on: the live version and draft revision it loaded (the server refuses a
 *  change on top of anything newer, so two admins never overwrite each other unseen). */
function baseQuery() { return '?version=' + (ed.rec.version || 0) + '&revision=' + (ed.rec.draftRevision || 0); }
/** A 409 saying someone else published or saved meanwhile → a promise (settled once the alert says so, with
 *  Reload), else null. A draft conflict names who saved, from the widget's state now (its draftBy): the server's
 *  own message is English only. */
function conflicted(res, mine) {
  var err = errorOf(res);
  if (res.status !== 409 || (err.code !== 'version_conflict' && err.code !== 'draft_conflict')) return null;
  var show = function (text) {
    if (ed !== mine) return;
    ed.alert.textContent = text + ' ';
    ed.alert.append(button(L.reload, function () { viewEditor(mine.id); }));
  };
  if (err.code === 'version_conflict') { show(L.versionConflict); return Promise.resolve(); }
  return call('GET', '/api/admin/widgets/' + enc(mine.id)).then(function (r) {
    var by = r.ok && r.body.draftBy, who = by && (by.name || by.email);
    show(r.ok && !r.body.draft ? L.draftGone : who ? t('draftConflict', { name: who }) : L.draftConflictAnon);
  }, function () { show(L.draftConflictAnon); });
}
/** Save draft: checked here first, then PUT → Promise<bool> (saved). Errors are shown by the fields. An answer that
 *  comes after the editor was left (or replaced) is dropped. */
function saveDraft() {
  var mine = ed;
  var e = A.check(ed.form);
  if (showErrors(ed.formEl, words(e), ed.alert)) return Promise.resolve(false);
  var body = editedWidget();
  return call('PUT', '/api/admin/widgets/' + enc(ed.id) + '/draft' + baseQuery(), body).then(function (res) {
    if (ed !== mine) return false;
    if (res.ok) { clearErrors(ed.formEl, ed.alert); setRecord(res.body, false, body); return true; }
    var c = conflicted(res, mine);
    if (c) return c.then(function () { return false; });
    refused(res, ed.formEl, ed.alert, body);
    return false;
  }, function (x) { if (ed === mine) ed.alert.textContent = failText(x); return false; });
}
/** Publish: saves the draft first (when edited), then publishes it on top of the version it was based on. */
function publish() {
  var mine = ed;
  return (dirty() ? saveDraft() : Promise.resolve(true)).then(function (ok) {
    if (!ok || ed !== mine) return;
    var draft = ed.base;  // what goes live: the draft as saved
    return call('POST', '/api/admin/widgets/' + enc(ed.id) + '/publish', { version: ed.rec.version, revision: ed.rec.draftRevision || 0 }).then(function (res) {
      if (ed !== mine) return;
      if (res.ok) {
        clearErrors(ed.formEl, ed.alert);
        setRecord(res.body, false, draft);
        delete cache.widgets;
        status(t('published', { n: res.body.version }));
        return;
      }
      var err = errorOf(res), c = conflicted(res, mine);
      if (c) return c;
      if (res.status === 409 && err.code === 'no_draft') { status(L.nothingToPublish); return; }
      refused(res, ed.formEl, ed.alert, draft);
    }, function (x) { if (ed === mine) ed.alert.textContent = failText(x); });
  });
}
/** Discard: the stored draft (after a question) and the unsaved edits; the editor goes back to the live settings. A
 *  widget never published has no live settings: only the unsaved edits go (back to its saved draft). */
function discard() {
  var r = ed.rec, mine = ed;
  if (!r.draft || !r.version) {
    ask(L.undoTitle, L.undoText, L.undoYes, true).then(function (yes) {
      if (!yes || ed !== mine || ed.busy) return;
      clearErrors(ed.formEl, ed.alert);
      ed.form = null;
      setRecord(ed.rec, true);
      status(L.undone);
    });
    return;
  }
  ask(L.discardTitle, t('discardText', { n: r.version }), L.discardYes, true).then(function (yes) {
    if (!yes || ed !== mine) return;
    run('discard', function () {
      return call('DELETE', '/api/admin/widgets/' + enc(ed.id) + '/draft' + baseQuery()).then(function (res) {
        if (ed !== mine) return;
        if (res.ok) {
          clearErrors(ed.formEl, ed.alert);
          delete cache.widgets;
          setRecord(res.body, true);
          status(L.discarded);
          return;
        }
        var c = conflicted(res, mine);
        if (c) return c;
        ed.alert.textContent = failText(res);
      }, function (x) { if (ed === mine) ed.alert.textContent = failText(x); });
    });
  });
}

// ---- the editor: unsaved edits kept across the end of a session

/** When the session ends (a 401), the editor's unsaved form is kept in this tab's sessionStorage, per widget; the
 *  editor of that widget offers it back after the next sign-in. */
var STASH = 'parley-admin:unsaved:';
function stashUnsaved() {
  try {
    if (!ed || !ed.form || !ed.rec || !dirty()) return;
    sessionStorage.setItem(STASH + ed.id, JSON.stringify({ form: ed.form, version: ed.rec.version || 0,
      revision: ed.rec.draftRevision || 0, at: new Date().toISOString() }));
  } catch (e) { /* storage full or off: nothing kept */ }
}
function offerStash() {
  var mine = ed, key = STASH + ed.id, kept = null;
  try { kept = JSON.parse(sessionStorage.getItem(key) || 'null'); } catch (e) { /* unreadable: dropped below */ }
  var drop = function () { try { sessionStorage.removeItem(key); } catch (e) { /* gone */ } };
  if (!kept || !kept.form) { if (kept) drop(); return; }
  var moved = kept.version !== (ed.rec.version || 0) || kept.revision !== (ed.rec.draftRevision || 0);
  var box = h('div', { class: 'notice', id: 'unsaved-stash', role: 'status' },
    h('p', { text: t('stashText', { time: shortTime(kept.at) }) + (moved ? ' ' + L.stashMoved : '') }));
  var restoreBtn = button(L.stashRestore, function () {
    if (ed !== mine) return;
    drop();
    box.remove();
    clearErrors(ed.formEl, ed.alert);
    ed.form = kept.form;
    renderForm();
    ed.title.textContent = ed.form.name || ed.id;
    updateBar();
    schedulePreview(0);
    status(L.stashRestored);
    var first = ed.formEl.querySelector('input, select, textarea');
    if (first) first.focus();
  }, { class: 'primary sm', 'data-action': 'restore-unsaved' });
  var dismissBtn = button(L.dismiss, function () { drop(); box.remove(); ed.title.focus(); }, { 'data-action': 'dismiss-unsaved' });
  box.append(h('div', { class: 'row-actions tight' }, restoreBtn, dismissBtn));
  ed.stashSlot.append(box);
}

// ---- the editor's form: every setting, by section

/** Draws every section from ed.form. Each control writes its value back into ed.form, then calls edited(). */
function renderForm() {
  var F = ed.form, form = ed.formEl;
  form.textContent = '';
  ed.jump.textContent = '';
  var bind = function (obj, key, after) {
    return function (val, c) { obj[key] = c.type === 'checkbox' ? c.checked : val; if (after) after(val, c); edited(c); };
  };
  var bindCheck = function (obj, key, after) {
    return function (checked, c) { obj[key] = checked; if (after) after(checked, c); edited(c); };
  };
  var B = ed.builtins || { en: {}, fr: {} }, BL = B[lang] || B.en;
  var sections = [];
  function add(id, titleKey, introKey) {
    var s = section(id, L[titleKey], introKey ? L[introKey] : null);
    sections.push([s, L[titleKey]]);
    form.append(s);
    return s;
  }

  // General
  var s = add('general', 'secGeneral');
  s.append(
    field({ label: L.fName, path: 'name', value: F.name, hint: L.hName, attrs: { maxlength: 80 },
      set: bind(F, 'name', function (val) { ed.title.textContent = val || ed.id; }) }),
    field({ label: L.fWelcome, path: 'welcome', kind: 'textarea', rows: 2, value: F.welcome, hint: L.hWelcome, set: bind(F, 'welcome') }),
    field({ label: L.fLanguage, path: 'language', kind: 'select', value: F.language, hint: L.hLanguage,
      options: [['auto', L.langAuto], ['en', 'English'], ['fr', 'Français']], set: bind(F, 'language') }),
    check({ label: L.fFeedback, path: 'feedback', checked: F.feedback, hint: L.hFeedback, set: bindCheck(F, 'feedback') }),
    check({ label: L.fSound, path: 'sound', checked: F.sound, hint: L.hSound, set: bindCheck(F, 'sound') }));

  // Appearance
  s = add('appearance', 'secAppearance');
  var colour = field({ label: L.fColor, path: 'color', value: F.color, hint: L.hColor,
    attrs: { maxlength: 7, spellcheck: 'false', autocomplete: 'off', class: 'short' },
    set: bind(F, 'color', function (val) { if (A.isColor(val.trim())) picker.value = full(val.trim()); }) });
  var picker = h('input', { type: 'color', 'aria-label': L.pickColor, class: 'picker' });
  var full = function (c) { return c.length === 4 ? '#' + c[1] + c[1] + c[2] + c[2] + c[3] + c[3] : c; };
  picker.value = A.isColor(F.color) ? full(F.color) : '#2f6fed';
  picker.addEventListener('input', function () { colour.control.value = F.color = picker.value; edited(colour.control); });
  colour.control.after(picker);
  s.append(colour,
    field({ label: L.fAlignment, path: 'alignment', kind: 'select', value: F.alignment,
      options: [['right', L.alignRight], ['left', L.alignLeft]], set: bind(F, 'alignment') }),
    field({ label: L.fSpacing, path: 'spacing', kind: 'number', value: F.spacing, hint: L.hSpacing,
      attrs: { min: 0, max: 2000, step: 1, inputmode: 'numeric', class: 'short' }, set: bind(F, 'spacing') }));

  // Where it shows
  s = add('where', 'secWhere');
  var origins = field({ label: L.fOrigins, path: 'allowedOrigins', kind: 'textarea', rows: 3, value: F.allowedOrigins, hint: L.hOrigins,
    attrs: { spellcheck: 'false', placeholder: 'https://shop.example' }, set: bind(F, 'allowedOrigins') });
  origins.append(h('p', { class: 'warn', 'data-show': 'any-origin' }, icon('warn', 16), h('span', { text: L.anyOrigin })));
  var tester = h('input', { type: 'text', id: 'path-test', name: 'path-test', placeholder: '/checkout/step1', spellcheck: 'false', autocomplete: 'off',
    'aria-describedby': 'path-test-result' });
  var testResult = h('output', { id: 'path-test-result', for: 'path-test', 'aria-live': 'polite' });
  ed.testPath = function () {
    var p = tester.value.trim();
    testResult.textContent = '';
    testResult.removeAttribute('data-shows');
    if (!p) return;
    var path = p[0] === '/' ? p : '/' + p;
    var shows = A.pathShows({ mode: F.pathRules.mode, paths: A.lines(F.pathRules.paths) }, path);
    testResult.setAttribute('data-shows', String(shows));
    testResult.textContent = t(shows ? 'pathShown' : 'pathHidden', { path: path });
  };
  tester.addEventListener('input', ed.testPath);
  s.append(origins,
    field({ label: L.fPathMode, path: 'pathRules.mode', kind: 'select', value: F.pathRules.mode,
      options: [['blacklist', L.modeBlacklist], ['whitelist', L.modeWhitelist]], set: bind(F.pathRules, 'mode', ed.testPath) }),
    field({ label: L.fPaths, path: 'pathRules.paths', kind: 'textarea', rows: 4, value: F.pathRules.paths, hint: L.hPaths,
      attrs: { spellcheck: 'false', placeholder: '/checkout*' }, set: bind(F.pathRules, 'paths', ed.testPath) }),
    h('div', { class: 'tester' }, h('label', { for: 'path-test', text: L.testPath }), h('div', { class: 'tester-row' }, tester, testResult)));

  // Hours
  s = add('hours', 'secHours');
  s.append(check({ label: L.fHoursEnabled, path: 'hours.enabled', checked: F.hours.enabled, hint: L.hHoursEnabled,
    set: bindCheck(F.hours, 'enabled', function (on) {
      var none = A.DAYS.every(function (d) { return !F.hours.weekly[d].length; });
      if (on && !F.hours.timeZone) F.hours.timeZone = guessTimeZone();
      if (on && none) ['mon', 'tue', 'wed', 'thu', 'fri'].forEach(function (d) { F.hours.weekly[d] = ['09:00-17:00']; });
      if (on) { tz.control.value = F.hours.timeZone; drawWeek(); }
    }) }));
  var hoursBox = h('div', { class: 'sub', 'data-show': 'hours' });
  var tz = field({ label: L.fTimeZone, path: 'hours.timeZone', kind: 'select', value: F.hours.timeZone, hint: L.hTimeZone,
    options: [['', L.choose]].concat((ed.timeZones || []).map(function (z) { return [z, z.replace(/_/g, ' ')]; })),
    set: bind(F.hours, 'timeZone') });
  var week = h('div', { class: 'week', role: 'group', 'aria-labelledby': 'week-title', 'aria-describedby': 'week-hint' });
  var closedList = h('ul', { class: 'closed-dates' });
  var addClosed = button(L.addClosed, function () {
    F.hours.closed.push('');
    drawClosed();
    edited();
    var inputs = closedList.querySelectorAll('input');
    inputs[inputs.length - 1].focus();
  }, { 'data-action': 'add-closed' });
  hoursBox.append(tz, h('h3', { id: 'week-title', text: L.weekTitle }), week,
    h('p', { class: 'hint', id: 'week-hint', text: L.hWeek }),
    h('h3', { text: L.closedTitle }), h('p', { class: 'hint', text: L.hClosed }), closedList, addClosed);
  s.append(hoursBox);
  function drawWeek() {
    week.textContent = '';
    A.DAYS.forEach(function (d) {
      var dayName = L[DAY_KEYS[d]], ranges = h('div', { class: 'ranges' });
      F.hours.weekly[d].forEach(function (r, i) {
        var id = uid(), err = h('p', { class: 'error', id: id + '-error' });
        var input = h('input', { type: 'text', id: id, name: 'hours.weekly.' + d, 'data-path': 'hours.weekly.' + d + '[' + i + ']',
          'aria-label': t('rangeLabel', { day: dayName, n: i + 1 }), placeholder: '09:00-17:00', spellcheck: 'false',
          autocomplete: 'off', 'aria-describedby': err.id + ' week-hint', 'data-error': err.id, class: 'range-input' });
        input.value = r;
        input.addEventListener('input', function () { F.hours.weekly[d][i] = input.value; edited(input); });
        ranges.append(h('div', { class: 'range' }, input,
          iconButton('remove', t('removeRange', { day: dayName, n: i + 1 }), function () {
            F.hours.weekly[d].splice(i, 1);
            drawWeek();
            edited();
            var row = week.querySelector('[data-day=' + d + ']');
            (row.querySelector('input') || row.querySelector('[data-action=add-range]')).focus();
          }, { 'data-action': 'remove-range' }), err));
      });
      if (!F.hours.weekly[d].length) ranges.append(h('span', { class: 'closed-day', text: L.closedAllDay }));
      var addBtn = button(L.addRange, function () {
        var list = F.hours.weekly[d];
        list.push(list.length ? '' : '09:00-17:00');
        drawWeek();
        edited();
        var inputs = week.querySelectorAll('[data-day=' + d + '] input');
        inputs[inputs.length - 1].focus();
      }, { 'data-action': 'add-range', 'aria-label': t('addRangeOn', { day: dayName }) });
      week.append(h('div', { class: 'day', 'data-day': d }, h('span', { class: 'day-name', text: dayName }), ranges, addBtn));
    });
  }
  function drawClosed() {
    closedList.textContent = '';
    F.hours.closed.forEach(function (date, i) {
      var id = uid(), err = h('p', { class: 'error', id: id + '-error' });
      var input = h('input', { type: 'date', id: id, name: 'hours.closed', 'data-path': 'hours.closed[' + i + ']',
        'aria-label': t('closedLabel', { n: i + 1 }), 'aria-describedby': err.id, 'data-error': err.id });
      input.value = date;
      input.addEventListener('input', function () { F.hours.closed[i] = input.value; edited(input); });
      closedList.append(h('li', null, input, iconButton('remove', t('removeClosed', { n: i + 1 }), function () {
        F.hours.closed.splice(i, 1);
        drawClosed();
        edited();
        addClosed.focus();
      }), err));
    });
  }
  drawWeek();
  drawClosed();

  // Out of hours
  s = add('offline', 'secOffline', 'introOffline');
  s.append(
    field({ label: L.fOfflineMode, path: 'offline.mode', kind: 'select', value: F.offline.mode,
      options: [['message', L.offlineMessageMode], ['hide', L.offlineHideMode]], set: bind(F.offline, 'mode') }),
    h('div', { 'data-show': 'offline-message' },
      field({ label: L.fOfflineMessage, path: 'offline.message', kind: 'textarea', rows: 2, value: F.offline.message, hint: L.hBlankBuiltIn,
        attrs: { placeholder: BL.closed || '' }, set: bind(F.offline, 'message') }),
      field({ label: L.fContact, path: 'offline.contact', kind: 'textarea', rows: 2, value: F.offline.contact, hint: L.hContact,
        set: bind(F.offline, 'contact') }),
      check({ label: L.fLeaveMessage, path: 'offline.leaveMessage', checked: F.offline.leaveMessage, hint: L.hLeaveMessage,
        set: bindCheck(F.offline, 'leaveMessage') })),
    check({ label: L.fNoAgent, path: 'offline.noAgentAsClosed', checked: F.offline.noAgentAsClosed, hint: L.hNoAgent,
      set: bindCheck(F.offline, 'noAgentAsClosed') }),
    h('div', { 'data-show': 'away', class: 'sub' },
      field({ label: L.fAwayMessage, path: 'offline.awayMessage', kind: 'textarea', rows: 2, value: F.offline.awayMessage,
        hint: L.hBlankBuiltIn, attrs: { placeholder: BL.away || '' }, set: bind(F.offline, 'awayMessage') })));

  // Pre-chat form
  s = add('form', 'secForm', 'introForm');
  var fieldList = h('ol', { class: 'items' });
  var addField = button(L.addField, function () {
    var ids = F.fields.map(function (f) { return f.id; });
    F.fields.push({ id: A.slug('field', ids, 'field'), type: 'custom', label: '', hint: '', required: false, maxLength: '200', options: '' });
    drawFields();
    edited();
    refocus(fieldList, F.fields.length - 1, 'add', addField);
  }, { 'data-action': 'add-field' });
  s.append(fieldList, addField);
  function drawFields() {
    fieldList.textContent = '';
    F.fields.forEach(function (f, i) {
      var p = 'fields[' + i + '].', name = f.label || f.id || t('fieldN', { n: i + 1 });
      var opts = field({ label: L.fOptions, path: p + 'options', kind: 'textarea', rows: 3, value: f.options, hint: L.hOptions,
        set: bind(f, 'options') });
      opts.hidden = f.type !== 'category';
      fieldList.append(h('li', { class: 'item' },
        h('div', { class: 'item-head' }, h('h3', { text: t('fieldN', { n: i + 1 }) + (f.label ? ' · ' + f.label : '') }),
          itemTools(F.fields, i, name, function (list, at, how) { F.fields = list; drawFields(); edited(); refocus(fieldList, at, how, addField); })),
        h('div', { class: 'grid2' },
          field({ label: L.fFieldLabel, path: p + 'label', value: f.label, attrs: { maxlength: 80 }, set: bind(f, 'label') }),
          field({ label: L.fFieldType, path: p + 'type', kind: 'select', value: f.type,
            options: FIELD_TYPES.map(function (x) { return [x, L['type_' + x]]; }),
            set: bind(f, 'type', function (val) { opts.hidden = val !== 'category'; }) }),
          field({ label: L.fFieldId, path: p + 'id', value: f.id, hint: L.hFieldId, attrs: { maxlength: 40, spellcheck: 'false' },
            set: bind(f, 'id') }),
          field({ label: L.fMaxLength, path: p + 'maxLength', kind: 'number', value: f.maxLength, attrs: { min: 1, max: 4000, class: 'short' },
            set: bind(f, 'maxLength') })),
        field({ label: L.fFieldHint, path: p + 'hint', value: f.hint, hint: L.hFieldHint, set: bind(f, 'hint') }),
        check({ label: L.fRequired, path: p + 'required', checked: f.required, set: bindCheck(f, 'required') }),
        opts));
    });
    if (!F.fields.length) fieldList.append(h('li', { class: 'empty', text: L.noFields }));
  }
  drawFields();

  // Bot options
  s = add('options', 'secOptions', 'introOptions');
  var optionList = h('ol', { class: 'items' });
  var addOption = button(L.addOption, function () {
    F.options.push({ label: '', welcome: '', team: '' });
    drawOptions();
    edited();
    refocus(optionList, F.options.length - 1, 'add', addOption);
  }, { 'data-action': 'add-option' });
  s.append(optionList, addOption);
  function drawOptions() {
    optionList.textContent = '';
    var teams = (ed.teams || []).map(function (x) { return [x.id, x.name]; });
    F.options.forEach(function (o, i) {
      var p = 'options[' + i + '].';
      optionList.append(h('li', { class: 'item' },
        h('div', { class: 'item-head' }, h('h3', { text: t('optionN', { n: i + 1 }) + (o.label ? ' · ' + o.label : '') }),
          itemTools(F.options, i, o.label || t('optionN', { n: i + 1 }), function (list, at, how) {
            F.options = list; drawOptions(); edited(); refocus(optionList, at, how, addOption);
          })),
        field({ label: L.fOptionLabel, path: p + 'label', value: o.label, attrs: { maxlength: 80 }, set: bind(o, 'label') }),
        field({ label: L.fOptionWelcome, path: p + 'welcome', kind: 'textarea', rows: 2, value: o.welcome, hint: L.hOptionWelcome,
          set: bind(o, 'welcome') }),
        field({ label: L.fOptionTeam, path: p + 'team', kind: 'select', value: o.team, hint: L.hOptionTeam,
          options: [['', L.noTeam]].concat(teams), set: bind(o, 'team') })));
    });
    if (!F.options.length) optionList.append(h('li', { class: 'empty', text: L.noOptions }));
  }
  drawOptions();

  // Proactive prompt
  s = add('prompt', 'secPrompt');
  s.append(check({ label: L.fPromptEnabled, path: 'prompt.enabled', checked: F.prompt.enabled, hint: L.hPrompt,
    set: bindCheck(F.prompt, 'enabled') }),
  h('div', { class: 'sub', 'data-show': 'prompt' },
    field({ label: L.fPromptDelay, path: 'prompt.delay', kind: 'number', value: F.prompt.delay, hint: L.hPromptDelay,
      attrs: { min: 0, max: 3600, class: 'short' }, set: bind(F.prompt, 'delay') }),
    field({ label: L.fPromptTitle, path: 'prompt.title', value: F.prompt.title, attrs: { maxlength: 80 }, set: bind(F.prompt, 'title') }),
    field({ label: L.fPromptMessage, path: 'prompt.message', kind: 'textarea', rows: 2, value: F.prompt.message,
      set: bind(F.prompt, 'message') })));

  // Texts: the status texts first, then every other text in a table
  s = add('texts', 'secTexts', 'introTexts');
  var langs = [['en', 'English'], ['fr', 'Français']];
  var status3 = h('div');
  langs.forEach(function (l) {
    var fs = h('fieldset', { class: 'group status-texts' }, h('legend', { text: l[1] }));
    STATUS_TEXTS.forEach(function (k) {
      fs.append(field({ label: L['st_' + k], path: 'strings.' + l[0] + '.' + k, value: F.strings[l[0]][k] || '',
        hint: k === 'agentLeft' ? L.hAgentLeft : null, attrs: { placeholder: (B[l[0]] || {})[k] || '' },
        set: bind(F.strings[l[0]], k) }));
    });
    status3.append(fs);
  });
  s.append(h('h3', { text: L.statusTexts }), status3);
  var keys = Object.keys(B.en || {}).filter(function (k) { return STATUS_TEXTS.indexOf(k) < 0; });
  var table = h('table', { class: 'strings' },
    h('thead', null, h('tr', null, h('th', { scope: 'col', text: L.textCol }), h('th', { scope: 'col', text: 'English' }),
      h('th', { scope: 'col', text: 'Français' }))));
  var tbody = h('tbody');
  keys.forEach(function (k) {
    var row = h('tr', null, h('th', { scope: 'row' }, h('span', { text: BL[k] || B.en[k] }), h('code', { text: k })));
    langs.forEach(function (l) {
      var id = uid(), err = h('p', { class: 'error', id: id + '-error' });
      var input = h('input', { type: 'text', id: id, name: 'strings.' + l[0] + '.' + k, 'data-path': 'strings.' + l[0] + '.' + k,
        'aria-label': t('textIn', { text: BL[k] || B.en[k], lang: l[1] }), placeholder: (B[l[0]] || {})[k] || '',
        'aria-describedby': err.id, 'data-error': err.id });
      input.value = F.strings[l[0]][k] || '';
      input.addEventListener('input', function () { F.strings[l[0]][k] = input.value; edited(input); });
      row.append(h('td', null, input, err));
    });
    tbody.append(row);
  });
  table.append(tbody);
  var changedCount = keys.filter(function (k) { return F.strings.en[k] || F.strings.fr[k]; }).length;
  s.append(h('details', { class: 'all-texts', open: changedCount ? '' : null },
    h('summary', { text: t('allTexts', { n: keys.length }) }), h('p', { class: 'hint', text: L.hAllTexts }), h('div', { class: 'table-wrap' }, table)));

  // Attachments
  s = add('files', 'secFiles');
  var types = field({ label: L.fTypes, path: 'allowedTypes', kind: 'textarea', rows: 5, value: F.allowedTypes, hint: L.hTypes,
    attrs: { spellcheck: 'false' }, set: bind(F, 'allowedTypes') });
  types.append(button(L.defaultTypes, function () {
    types.control.value = F.allowedTypes = ((ed.defaults || {}).allowedTypes || []).join('\n');
    edited(types.control);
    status(L.defaultTypesDone);
  }, { 'data-action': 'default-types' }));
  s.append(h('div', { class: 'grid2' },
    field({ label: L.fMaxFileSize, path: 'maxFileSize', kind: 'number', value: F.maxFileSize, hint: L.hMaxFileSize,
      attrs: { min: 0, max: 512, step: 'any', class: 'short' }, set: bind(F, 'maxFileSize') }),
    field({ label: L.fMaxFiles, path: 'maxFiles', kind: 'number', value: F.maxFiles, hint: L.hMaxFiles,
      attrs: { min: 1, max: 20, class: 'short' }, set: bind(F, 'maxFiles') })), types);

  // Inbox
  s = add('inbox', 'secInbox');
  s.append(
    field({ label: L.fTarget, path: 'targetResponseSeconds', kind: 'number', value: F.targetResponseSeconds, hint: L.hTarget,
      attrs: { min: 10, max: 86400, class: 'short' }, set: bind(F, 'targetResponseSeconds') }),
    check({ label: L.fTypingPreview, path: 'typingPreview', checked: F.typingPreview, hint: L.hTypingPreview,
      set: bindCheck(F, 'typingPreview') }));

  // Identity
  s = add('identity', 'secIdentity');
  // A text box masked by CSS, not a password box: browsers fill password boxes with the admin's own saved password.
  var secret = field({ label: L.fSecret, path: 'identitySecret', value: F.identitySecret, hint: L.hSecret,
    attrs: { autocomplete: 'off', spellcheck: 'false', autocapitalize: 'off', maxlength: 200, class: 'masked',
      'data-1p-ignore': '', 'data-lpignore': 'true', 'data-bwignore': '', 'data-form-type': 'other' },
    set: bind(F, 'identitySecret') });
  var reveal = h('button', { type: 'button', class: 'quiet sm', 'aria-pressed': 'false', 'data-action': 'reveal-secret', text: L.reveal });
  var masked = function (on) {
    secret.control.classList.toggle('masked', on);
    reveal.setAttribute('aria-pressed', String(!on));
  };
  reveal.addEventListener('click', function () { masked(!secret.control.classList.contains('masked')); });
  var gen = button(L.generate, function () {
    secret.control.value = F.identitySecret = A.hex(crypto.getRandomValues(new Uint8Array(32)));
    masked(false);
    edited(secret.control);
    status(L.secretGenerated);
  }, { 'data-action': 'generate-secret' });
  var del = button(L.removeSecret, function () {
    secret.control.value = F.identitySecret = '';
    edited(secret.control);
    secret.control.focus();
  }, { 'data-action': 'remove-secret' });
  secret.control.after(h('div', { class: 'row-actions tight' }, reveal, gen, del));
  s.append(
    field({ label: L.fIdentity, path: 'identity', kind: 'select', value: F.identity, hint: L.hIdentity,
      options: [['agent', L.identityAgent], ['organisation', L.identityOrg]], set: bind(F, 'identity') }),
    field({ label: L.fOrganisation, path: 'organisation', value: F.organisation, hint: L.hOrganisation,
      attrs: { maxlength: 80, placeholder: F.name }, set: bind(F, 'organisation') }),
    secret);

  // Access (applied at once)
  s = add('access', 'secAccess', 'introAccess');
  s.append(accessSection());

  sections.forEach(function (x) {
    var b = h('button', { type: 'button', class: 'link', text: x[1] });
    b.addEventListener('click', function () {
      x[0].scrollIntoView({ block: 'start' });
      var first = x[0].querySelector('input, select, textarea, button');
      if (first) first.focus({ preventScroll: true });
    });
    ed.jump.append(b);
  });
  form.querySelectorAll('input:not([type=checkbox]):not([type=radio]):not([type=color]), textarea').forEach(function (c) {
    c.setAttribute('autocomplete', 'off');
  });
  syncForm();
}

/** Shows or hides the parts that depend on other settings. */
function syncForm() {
  var F = ed.form, f = ed.formEl;
  // a part shown for an error on it (reveal()) stays until the errors are cleared
  var show = function (key, on) {
    f.querySelectorAll('[data-show="' + key + '"]').forEach(function (e) { e.hidden = !on && !e.hasAttribute('data-forced'); });
  };
  show('any-origin', !A.lines(F.allowedOrigins).length);
  show('hours', F.hours.enabled);
  show('offline-message', F.offline.mode === 'message');
  show('away', F.offline.noAgentAsClosed);
  show('prompt', F.prompt.enabled);
  if (ed.testPath) ed.testPath();
}
function guessTimeZone() {
  var z = '';
  try { z = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { /* none */ }
  var list = ed.timeZones || [];
  return list.indexOf(z) >= 0 ? z : list.indexOf('Europe/Paris') >= 0 ? 'Europe/Paris' : list[0] || 'UTC';
}

// ---- the editor: access (agents and teams who may answer; applied at once, not part of the draft)

function accessSection() {
  var box = h('div', { class: 'access' });
  var alertEl = h('div', { class: 'alert', role: 'alert' });
  box.append(alertEl);
  var id = ed.id;
  if (!ed.agents || !ed.teams) { box.append(h('p', { class: 'muted', text: L.accessUnavailable })); return box; }

  var admins = ed.agents.filter(function (a) { return a.role === 'admin' && !a.disabled; });
  var agents = ed.agents.filter(function (a) { return a.role !== 'admin'; });
  var fsA = h('fieldset', { class: 'group' }, h('legend', { text: L.accessAgents }));
  if (!agents.length) fsA.append(h('p', { class: 'muted small' }, h('span', { text: L.noAgentsYet + ' ' }), h('a', { href: '#/agents', text: L.navAgents })));
  agents.forEach(function (a) {
    var all = (a.widgets || []).indexOf('*') >= 0;
    var label = a.name + ' (' + a.email + ')' + (all ? ' · ' + L.allWidgetsNote : '') + (a.disabled ? ' · ' + L.disabledBadge : '');
    var c = check({ label: label, name: 'access-agent', value: a.id, checked: all || (a.widgets || []).indexOf(id) >= 0,
      disabled: all, set: function (on, el) {
        var list = (a.widgets || []).filter(function (w) { return w !== id; });
        if (on) list.push(id);
        el.disabled = true;
        call('PATCH', '/api/admin/agents/' + enc(a.id), { widgets: list }).then(function (res) {
          el.disabled = false;
          if (!res.ok) { el.checked = !on; alertEl.textContent = failText(res); return; }
          alertEl.textContent = '';
          a.widgets = res.body.agent.widgets;
          delete cache.agents;
          status(t(on ? 'accessGranted' : 'accessRemoved', { name: a.name }));
        }, function (x) { el.disabled = false; el.checked = !on; alertEl.textContent = failText(x); });
      } });
    fsA.append(c);
  });
  if (admins.length) {
    fsA.append(h('p', { class: 'hint', text: t('adminsAlways', { names: admins.map(function (a) { return a.name; }).join(', ') }) }));
  }

  var fsT = h('fieldset', { class: 'group' }, h('legend', { text: L.accessTeams }));
  if (!ed.teams.length) fsT.append(h('p', { class: 'muted small' }, h('span', { text: L.noTeamsYet + ' ' }), h('a', { href: '#/teams', text: L.navTeams })));
  ed.teams.forEach(function (team) {
    fsT.append(check({ label: team.name, name: 'access-team', value: team.id, checked: (team.widgets || []).indexOf(id) >= 0,
      set: function (on, el) {
        var teams = clone(ed.teams);
        teams.forEach(function (x) {
          if (x.id !== team.id) return;
          x.widgets = (x.widgets || []).filter(function (w) { return w !== id; });
          if (on) x.widgets.push(id);
        });
        el.disabled = true;
        call('PUT', '/api/admin/teams', { teams: teams }).then(function (res) {
          el.disabled = false;
          if (!res.ok) { el.checked = !on; alertEl.textContent = failText(res); return; }
          alertEl.textContent = '';
          ed.teams = res.body.teams;
          setCached('teams', res.body);
          status(t(on ? 'accessGranted' : 'accessRemoved', { name: team.name }));
        }, function (x) { el.disabled = false; el.checked = !on; alertEl.textContent = failText(x); });
      } }));
  });
  box.append(h('div', { class: 'grid2' }, fsA, fsT));
  return box;
}

// ---- the editor: live preview (admin-preview.html in an iframe, fed by previewConfig())

var PREVIEW_WIDTH = 520;

function previewPane() {
  var frame = h('iframe', { id: 'preview-frame', title: L.previewFrame, class: 'preview-frame' });
  var openBox = check({ label: L.previewOpen, name: 'preview-open', set: function (on) {
    try { frame.contentWindow.Parley(on ? 'open' : 'close'); } catch (e) { /* not loaded yet: it asks previewOpen() */ }
  } });
  var langSel = field({ label: L.previewLang, name: 'preview-lang', kind: 'select', value: '',
    options: [['', L.previewLangWidget], ['en', 'English'], ['fr', 'Français']], set: function () { reloadPreview(); } });
  var note = h('p', { class: 'warn', id: 'preview-note', role: 'status' });
  var wrap = h('div', { class: 'frame-wrap' }, frame);
  ed.preview = { frame: frame, open: openBox.control, lang: langSel.control, note: note };
  // The sample page is laid out PREVIEW_WIDTH px wide at least (the widget's own layout for phones starts below 481 px),
  // then scaled down to fit the box; the box is as tall as the window allows.
  function fit() {
    var w = wrap.clientWidth;
    if (!w) return;
    var scale = Math.min(1, w / PREVIEW_WIDTH), height = Math.max(440, window.innerHeight - 290);
    frame.style.width = (w / scale) + 'px';
    frame.style.height = (height / scale) + 'px';
    frame.style.transform = scale < 1 ? 'scale(' + scale + ')' : '';
    wrap.style.height = height + 'px';
  }
  if (window.ResizeObserver) new ResizeObserver(fit).observe(wrap);
  ed.preview.fit = fit;
  setTimeout(fit, 0);
  return h('aside', { class: 'preview', 'aria-labelledby': 'preview-title' },
    h('div', { class: 'preview-head' }, h('h2', { id: 'preview-title', text: L.previewTitle }), langSel),
    h('div', { class: 'preview-tools' }, openBox),
    wrap, note,
    h('p', { class: 'hint', text: L.previewHint }));
}
/** The preview follows the editor ~400 ms after the last edit, when the editor's own checks pass. */
function schedulePreview(delay) {
  clearTimeout(ed.timer);
  var mine = ed;
  ed.timer = setTimeout(function () {
    if (ed !== mine || !ed.preview) return;
    if (Object.keys(A.check(ed.form)).length) return;  // keeps showing the last good settings
    ed.good = editedWidget();
    reloadPreview();
  }, delay);
}
function reloadPreview() {
  if (!ed || !ed.preview) return;
  var p = ed.preview, l = p.lang.value;
  var url = '/admin/preview?widget=' + enc(ed.id) + '&lang=' + lang + (l ? '&widgetLang=' + l : '') + '&n=' + (++ed.frameN);
  // replace(): the preview's reloads stay out of the page's history (Back leaves the editor, not the preview)
  try { if (p.frame.contentWindow && p.frame.getAttribute('src')) { p.frame.contentWindow.location.replace(url); return; } } catch (e) { /* not there yet */ }
  p.frame.setAttribute('src', url);
}
/** For the preview page: the public config the loader would get for the editor's current settings. */
function previewConfig() {
  if (!ed || !ed.rec) return Promise.reject(new Error('no widget'));
  var mine = ed, body = ed.good || editedWidget();
  return call('POST', '/api/admin/widgets/' + enc(ed.id) + '/preview', body).then(function (res) {
    if (ed !== mine) throw new Error('gone');
    if (!res.ok) {
      // refused (Save or Publish names the field): the preview keeps the last settings it could show
      ed.preview.note.textContent = t('previewFailed', { m: errorOf(res).message });
      if (ed.lastConfig) return ed.lastConfig;
      throw new Error('refused');
    }
    ed.preview.note.textContent = '';
    return (ed.lastConfig = res.body);
  });
}
window.addEventListener('resize', function () { if (ed && ed.preview) ed.preview.fit(); });
window.ParleyAdmin = {
  previewConfig: previewConfig,
  previewOpen: function () { return !!(ed && ed.preview && ed.preview.open.checked); },
  previewText: function () { return L.previewNoChat; }
};

// ---- the editor: Show code

function showCode() {
  var d = $('code'), body = $('code-body'), origin = (me && (me.publicURL || me.agent.publicURL)) || location.origin;
  var id = ed.id, live = ed.rec.published, secretSet = !!((live || ed.base).identitySecret);
  body.textContent = '';
  body.append(h('p', { text: L.codeIntro }), copyBox(L.codeLabel, A.embedCode(origin, id), 'copy-code', 2));
  if (!ed.rec.version) body.append(h('p', { class: 'warn' }, icon('warn', 16), h('span', { text: L.codeAfterPublish })));
  body.append(h('h3', { text: L.identityTitle }), h('p', { text: L.identityIntro }));
  if (!secretSet) {
    var goSecret = button(L.goToSecret, function () {
      d.close();
      var c = ed.formEl.querySelector('[data-path="identitySecret"]');
      c.scrollIntoView({ block: 'center' });
      c.focus();
    });
    body.append(h('p', { class: 'warn' }, icon('warn', 16), h('span', { text: L.noSecret + ' ' })), goSecret);
  } else {
    body.append(copyBox(L.identityLabel, A.identityCode(origin, id), 'copy-identity', 6),
      h('p', { text: L.signatureHow }),
      h('h4', { text: 'PHP' }), h('pre', { class: 'code' }, h('code', { text: A.signatureCode.php })),
      h('h4', { text: 'Node.js' }), h('pre', { class: 'code' }, h('code', { text: A.signatureCode.node })),
      h('p', { class: 'warn' }, icon('warn', 16), h('span', { text: L.keepSecret })));
  }
  d.showModal();
}

// ---- the editor: History (published versions; View, Restore)

function showHistory() {
  var d = $('history'), body = $('history-body'), mine = ed;
  body.textContent = '';
  var alertEl = h('div', { class: 'alert', role: 'alert' });
  var list = h('ol', { class: 'versions' });
  body.append(h('p', { class: 'muted', text: L.historyIntro }), alertEl, list);
  list.append(h('li', { class: 'muted', text: L.loading }));
  d.showModal();
  call('GET', '/api/admin/widgets/' + enc(ed.id) + '/versions').then(function (res) {
    if (ed !== mine) return;
    list.textContent = '';
    if (!res.ok) { alertEl.textContent = failText(res); return; }
    (res.body.versions || []).forEach(function (x) {
      var isLive = x.version === ed.rec.version;
      var meta = [dateTime(x.at), x.by ? x.by.name : ''].filter(Boolean).join(' · ');
      var changed = (x.changed || []).length ? t('changedKeys', { keys: x.changed.join(', ') }) :
        x.version === 1 ? L.firstVersion : L.noChange;
      var view = h('div', { class: 'version-json', hidden: '' });
      var viewBtn = button(L.view, function () {
        if (!view.hidden) { view.hidden = true; viewBtn.setAttribute('aria-expanded', 'false'); return; }
        view.hidden = false;
        viewBtn.setAttribute('aria-expanded', 'true');
        if (view.firstChild) return;
        view.append(h('p', { class: 'muted', text: L.loading }));
        call('GET', '/api/admin/widgets/' + enc(mine.id) + '/versions/' + x.version).then(function (r) {
          view.textContent = '';
          view.append(r.ok ? h('pre', { class: 'code', tabindex: '0', 'aria-label': t('versionN', { n: x.version }) },
            h('code', { text: JSON.stringify(A.masked(r.body.widget), null, 2) })) : h('p', { class: 'error', text: failText(r) }));
        }, function (e) { view.textContent = ''; view.append(h('p', { class: 'error', text: failText(e) })); });
      }, { 'data-action': 'view-version', 'data-version': x.version, 'aria-expanded': 'false' });
      var li = h('li', { class: 'version', 'data-version': x.version },
        h('div', { class: 'version-head' },
          h('strong', { text: t('versionN', { n: x.version }) }),
          isLive ? h('span', { class: 'badge live', text: L.liveNow }) : null,
          x.restoredFrom ? h('span', { class: 'badge', text: t('restoredFrom', { n: x.restoredFrom }) }) : null,
          h('span', { class: 'muted small', text: meta })),
        h('p', { class: 'small', text: changed }),
        h('div', { class: 'row-actions tight' }, viewBtn,
          isLive ? null : button(L.restore, function () { restore(x.version); },
            { 'data-action': 'restore', 'data-version': x.version, 'aria-label': t('restoreN', { n: x.version }) })),
        view);
      list.append(li);
    });
  }, function (x) { alertEl.textContent = failText(x); });
}
function restore(n) {
  var mine = ed;
  ask(t('restoreTitle', { n: n }), t('restoreText', { n: n }), L.restoreYes).then(function (yes) {
    if (!yes || ed !== mine) return;
    call('POST', '/api/admin/widgets/' + enc(ed.id) + '/versions/' + n + '/restore').then(function (res) {
      if (ed !== mine) return;
      if (!res.ok) { $('history-body').querySelector('.alert').textContent = failText(res); return; }
      $('history').close();
      clearErrors(ed.formEl, ed.alert);
      delete cache.widgets;
      setRecord(res.body, true);
      status(t('restored', { n: n, m: res.body.version }));
    }, function (x) { $('history-body').querySelector('.alert').textContent = failText(x); });
  });
}

// ---- Agents

var PASSWORD_MIN = 10, PASSWORD_MAX_BYTES = 72;
/** The password rules (10–72 bytes) and the confirmation → {path: text}. */
function passwordErrors(p, confirm, pPath, cPath) {
  var e = {};
  if (!p) e[pPath] = L.errRequired;
  else if (Array.from(p).length < PASSWORD_MIN) e[pPath] = L.passwordShort;
  else if (new TextEncoder().encode(p).length > PASSWORD_MAX_BYTES) e[pPath] = L.passwordLong;
  if (!confirm) e[cPath] = L.errRequired;
  else if (confirm !== p) e[cPath] = L.confirmMismatch;
  return e;
}
/** Two password fields (new, confirm) with the rules shown. */
function passwordFields(prefix) {
  var pw = field({ label: L.newPassword, name: prefix + '-password', path: 'password', kind: 'password', hint: L.passwordRules,
    attrs: { autocomplete: 'new-password' } });
  var confirm = field({ label: L.confirmPassword, name: prefix + '-confirm', path: 'confirm', kind: 'password',
    attrs: { autocomplete: 'new-password' } });
  return { el: h('div', { class: 'grid2' }, pw, confirm), pw: pw.control, confirm: confirm.control };
}
/** A one-time link to hand over, with Copy and Dismiss: it is shown once, so it stays until dismissed. The newest
 *  one's box is #invite-link. */
function linkBox(text, link) {
  var older = $('invite-link');
  if (older) {
    var oid = uid(), olabel = document.querySelector('label[for="invite-link"]');
    older.id = oid;
    if (olabel) olabel.setAttribute('for', oid);
  }
  var box = h('div', { class: 'notice invite', role: 'status' }, h('p', { text: text }));
  box.append(copyBox(L.inviteLink, link, 'copy-invite', 2));
  box.querySelector('textarea').id = 'invite-link';
  box.querySelector('label').setAttribute('for', 'invite-link');
  box.append(h('div', { class: 'row-actions tight' }, button(L.dismiss, function () {
    var next = box.nextElementSibling || box.previousElementSibling;
    box.remove();
    var f = next && next.querySelector('textarea');
    if (f) f.focus(); else if (typeof box.onDismiss === 'function') box.onDismiss();
  }, { 'data-action': 'dismiss-invite' })));
  return box;
}
function widgetsText(a, widgets) {
  if (a.role === 'admin') return L.allWidgetsAdmin;
  var names = {};
  widgets.forEach(function (w) { names[w.id] = w.name; });
  var list = a.widgets || [];
  if (list.indexOf('*') >= 0) return L.allWidgets;
  return list.length ? list.map(function (w) { return names[w] || w; }).join(', ') : L.noWidgetsOwn;
}
function sameList(x, y) { return A.canon((x || []).slice().sort()) === A.canon((y || []).slice().sort()); }

/** The agents: a list (each row with Edit, Password and Disable/Enable, the first two opening a panel under it), an
 *  "Add agent" form, and the one-time links made (kept until dismissed). The list is redrawn after every change, but
 *  an open panel is carried over with what was typed in it; unsaved input is asked about before it is lost. */
function viewAgents() {
  var v = mount('agents');
  var addBtn = h('button', { type: 'button', class: 'primary', 'data-action': 'add-agent', 'aria-expanded': 'false' },
    icon('plus'), h('span', { text: L.addAgent }));
  var alertEl = h('div', { class: 'alert', role: 'alert' });
  var formSlot = h('div'), inviteSlot = h('div'), list = h('ul', { class: 'agents', 'aria-label': L.agentsTitle });
  v.append(heading(L.agentsTitle, addBtn), h('p', { class: 'lead', text: L.agentsLead }), alertEl, formSlot, inviteSlot, list);
  var widgets = [], teams = [], agents = [];
  var rows = new Map();  // agent id → the row's state: {open: ''|'edit'|'password', panel, form, toggle(kind), dirty()}
  var mine = current;
  current.dirty = function () {
    var f = formSlot.firstChild;
    return !!(f && f.dirty()) || Array.from(rows.values()).some(function (st) { return st.dirty(); });
  };
  /** Goes on (`then`) at once, or after "leave without saving?" when `form` holds unsaved input. */
  function unlessDirty(form, then) {
    if (!form || !form.dirty || !form.dirty()) { then(); return; }
    ask(L.leaveTitle, L.leaveText, L.leaveYes, true).then(function (yes) { if (yes && current === mine) then(); });
  }

  function addForm() {
    var form = h('form', { class: 'card', novalidate: '', 'aria-labelledby': 'add-agent-title' });
    var fAlert = h('div', { class: 'alert', role: 'alert' });
    var body = { widgets: [], teams: [] };
    var name = field({ label: L.fAgentName, name: 'agent-name', path: 'name', attrs: { maxlength: 80, autocomplete: 'off' } });
    var email = field({ label: L.email, name: 'agent-email', path: 'email', kind: 'email', attrs: { autocomplete: 'off', spellcheck: 'false' } });
    var role = field({ label: L.fRole, name: 'agent-role', path: 'role', kind: 'select', value: 'agent', hint: L.hRole,
      options: [['agent', L.roleAgent], ['admin', L.roleAdmin]] });
    var wg = checkGroup({ legend: L.fAgentWidgets, name: 'agent-widgets', path: 'widgets', all: L.allWidgetsNew, hint: L.hAgentWidgets,
      items: widgets.map(function (w) { return { id: w.id, label: w.name }; }), set: function (l) { body.widgets = l; } });
    var tg = checkGroup({ legend: L.fAgentTeams, name: 'agent-teams', path: 'teams', empty: L.noTeamsYet,
      items: teams.map(function (x) { return { id: x.id, label: x.name }; }), set: function (l) { body.teams = l; } });
    var pw = passwordFields('agent');
    var pwBox = h('div', { class: 'sub', hidden: '' }, pw.el);
    var modes = h('fieldset', { class: 'group' }, h('legend', { text: L.fPasswordMode }),
      check({ kind: 'radio', label: L.modeInvite, name: 'agent-password-mode', value: 'invite', checked: true, hint: L.hModeInvite,
        set: function () { pwBox.hidden = true; } }),
      check({ kind: 'radio', label: L.modeSetPassword, name: 'agent-password-mode', value: 'password',
        set: function () { pwBox.hidden = false; pw.pw.focus(); } }));
    var submit = h('button', { type: 'submit', class: 'primary', 'data-action': 'create-agent', text: L.addAgent });
    form.append(h('h2', { id: 'add-agent-title', text: L.addAgentTitle }), fAlert, h('div', { class: 'grid2' }, name, email), role,
      h('div', { class: 'grid2' }, wg, tg), modes, pwBox,
      h('div', { class: 'row-actions' }, submit, button(L.cancel, function () { closeForm(); addBtn.focus(); })));
    form.dirty = function () {
      return !!(name.control.value.trim() || email.control.value.trim() || role.control.value !== 'agent' || body.widgets.length ||
        body.teams.length || pw.pw.value || pw.confirm.value);
    };
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var send = { email: email.control.value.trim().toLowerCase(), name: name.control.value.trim(), role: role.control.value,
        widgets: body.widgets, teams: body.teams };
      var withPassword = !pwBox.hidden, e = {};
      if (!send.name) e.name = L.errRequired;
      if (!send.email) e.email = L.errRequired; else if (!isEmail(send.email)) e.email = L.emailInvalid;
      if (withPassword) Object.assign(e, passwordErrors(pw.pw.value, pw.confirm.value, 'password', 'confirm'));
      if (showErrors(form, e, fAlert)) return;
      if (withPassword) send.password = pw.pw.value;
      busy(submit, call('POST', '/api/admin/agents', send).then(function (res) {
        if (current !== mine) return;
        if (res.ok) {
          closeForm();
          delete cache.agents;
          status(t('agentAdded', { name: send.name }));
          if (res.body.invite) {
            var box = linkBox(t('inviteFor', { name: send.name }), res.body.invite);
            box.onDismiss = function () { addBtn.focus(); };
            inviteSlot.prepend(box);
            box.querySelector('textarea').focus();
          } else addBtn.focus();
          refresh();
          return;
        }
        if (res.status === 409) { showErrors(form, { email: L.agentExists }, fAlert); return; }
        refused(res, form, fAlert, send);
      }, function (x) { fAlert.textContent = failText(x); }));
    });
    return form;
  }
  function closeForm() { formSlot.textContent = ''; addBtn.setAttribute('aria-expanded', 'false'); }
  addBtn.addEventListener('click', function () {
    if (formSlot.firstChild) { unlessDirty(formSlot.firstChild, closeForm); return; }
    formSlot.append(addForm());
    addBtn.setAttribute('aria-expanded', 'true');
    formSlot.querySelector('input').focus();
  });

  /** An agent's row; `old`: the state of its row before a redraw (an open panel moves over, as it is). */
  function row(a, old) {
    var li = h('li', { class: 'agent', 'data-agent': a.id });
    var self = me && a.id === me.agent.id;
    var badges = h('span', { class: 'badges' },
      a.role === 'admin' ? h('span', { class: 'badge', text: L.roleAdmin }) : null,
      a.disabled ? h('span', { class: 'badge off', text: L.disabledBadge }) : null,
      !a.passwordSet ? h('span', { class: 'badge draft', text: L.invitedBadge }) : null,
      self ? h('span', { class: 'badge live', text: L.you }) : null);
    var teamNames = (a.teams || []).map(function (id) {
      var x = teams.filter(function (tm) { return tm.id === id; })[0];
      return x ? x.name : id;
    });
    var keep = old && old.open;
    var st = { open: keep ? old.open : '', panel: keep ? old.panel : h('div', { class: 'agent-panel' }), form: keep ? old.form : null };
    st.dirty = function () { return !!(st.form && st.form.dirty && st.form.dirty()); };
    var editBtn = button(L.edit, function () { toggle('edit'); }, { 'data-action': 'edit-agent', 'aria-expanded': String(st.open === 'edit') });
    var pwBtn = button(L.passwordButton, function () { toggle('password'); },
      { 'data-action': 'reset-password', 'aria-expanded': String(st.open === 'password') });
    var disBtn = self ? null : button(a.disabled ? L.enable : L.disable, function () {
      var apply = function () {
        busy(disBtn, call('PATCH', '/api/admin/agents/' + enc(a.id), { disabled: !a.disabled }).then(function (res) {
          if (current !== mine) return;
          if (!res.ok) { alertEl.textContent = errorOf(res).code === 'last_admin' ? L.lastAdmin : failText(res); return; }
          status(t(a.disabled ? 'agentEnabled' : 'agentDisabled', { name: a.name }));
          refresh();
        }, function (x) { alertEl.textContent = failText(x); }));
      };
      if (a.disabled) apply();
      else ask(t('disableTitle', { name: a.name }), L.disableText, L.disable, true).then(function (yes) { if (yes) apply(); });
    }, { 'data-action': a.disabled ? 'enable-agent' : 'disable-agent', class: a.disabled ? 'quiet sm' : 'danger sm' });
    var btnOf = function (kind) { return kind === 'edit' ? editBtn : pwBtn; };
    /** Opens panel `kind`, or closes it when it is the open one (`ask`: first ask about unsaved input in it). */
    function toggle(kind, noAsk) {
      var go = function () {
        st.panel.textContent = '';
        st.form = null;
        [editBtn, pwBtn].forEach(function (b) { b.setAttribute('aria-expanded', 'false'); });
        if (st.open === kind) { st.open = ''; btnOf(kind).focus(); return; }
        st.open = kind;
        btnOf(kind).setAttribute('aria-expanded', 'true');
        // its Cancel/Close goes through the row drawn last (the panel may have moved to a newer row)
        var close = function () { var now = rows.get(a.id); if (now) now.toggle(kind, true); };
        st.form = kind === 'edit' ? editPanel(a, close) : passwordPanel(a, close);
        st.panel.append(st.form);
        st.panel.querySelector('input, select').focus();
      };
      if (noAsk) go(); else unlessDirty(st.form, go);
    }
    st.toggle = toggle;
    rows.set(a.id, st);
    li.append(
      h('div', { class: 'agent-head' }, h('div', { class: 'agent-who' }, h('strong', { text: a.name }), h('span', { class: 'muted', text: a.email })), badges),
      h('dl', { class: 'facts' },
        h('div', null, h('dt', { text: L.fAgentWidgets }), h('dd', { text: widgetsText(a, widgets) })),
        h('div', null, h('dt', { text: L.fAgentTeams }), h('dd', { text: teamNames.join(', ') || '—' }))),
      h('div', { class: 'row-actions tight' }, editBtn, pwBtn, disBtn), st.panel);
    return li;
  }
  function editPanel(a, close) {
    var form = h('form', { class: 'sub-form', novalidate: '' });
    var fAlert = h('div', { class: 'alert', role: 'alert' });
    var body = { widgets: (a.widgets || []).slice(), teams: (a.teams || []).slice() };
    var name = field({ label: L.fAgentName, path: 'name', value: a.name, attrs: { maxlength: 80, autocomplete: 'off' } });
    var role = field({ label: L.fRole, path: 'role', kind: 'select', value: a.role, options: [['agent', L.roleAgent], ['admin', L.roleAdmin]] });
    var wg = checkGroup({ legend: L.fAgentWidgets, path: 'widgets', all: L.allWidgetsNew, selected: body.widgets, hint: L.hAgentWidgets,
      items: widgets.map(function (w) { return { id: w.id, label: w.name }; }), set: function (l) { body.widgets = l; } });
    var tg = checkGroup({ legend: L.fAgentTeams, path: 'teams', selected: body.teams, empty: L.noTeamsYet,
      items: teams.map(function (x) { return { id: x.id, label: x.name }; }), set: function (l) { body.teams = l; } });
    var save = h('button', { type: 'submit', class: 'primary sm', 'data-action': 'save-agent', text: L.save });
    form.append(fAlert, h('div', { class: 'grid2' }, name, role), h('div', { class: 'grid2' }, wg, tg),
      h('div', { class: 'row-actions tight' }, save, button(L.cancel, close)));
    form.dirty = function () {
      return name.control.value.trim() !== a.name || role.control.value !== a.role || !sameList(body.widgets, a.widgets) ||
        !sameList(body.teams, a.teams);
    };
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var send = { name: name.control.value.trim(), role: role.control.value, widgets: body.widgets, teams: body.teams };
      if (showErrors(form, send.name ? {} : { name: L.errRequired }, fAlert)) return;
      busy(save, call('PATCH', '/api/admin/agents/' + enc(a.id), send).then(function (res) {
        if (current !== mine) return;
        if (res.ok) { status(t('agentSaved', { name: send.name })); close(); refresh(); return; }
        if (errorOf(res).code === 'last_admin') { clearErrors(form, fAlert); fAlert.textContent = L.lastAdmin; return; }
        refused(res, form, fAlert, send);
      }, function (x) { fAlert.textContent = failText(x); }));
    });
    return form;
  }
  function passwordPanel(a, close) {
    var form = h('form', { class: 'sub-form', novalidate: '' });
    var fAlert = h('div', { class: 'alert', role: 'alert' });
    var pw = passwordFields('reset');
    var pwBox = h('div', { class: 'sub', hidden: '' }, pw.el);
    var result = h('div');
    var modes = h('fieldset', { class: 'group' }, h('legend', { text: t('passwordFor', { name: a.name }) }),
      check({ kind: 'radio', label: L.modeResetLink, name: 'reset-mode-' + a.id, value: 'link', checked: true, hint: L.hModeResetLink,
        set: function () { pwBox.hidden = true; } }),
      check({ kind: 'radio', label: L.modeSetPassword, name: 'reset-mode-' + a.id, value: 'password',
        set: function () { pwBox.hidden = false; pw.pw.focus(); } }));
    var submit = h('button', { type: 'submit', class: 'primary sm', 'data-action': 'apply-password', text: L.applyPassword });
    form.append(fAlert, modes, pwBox, h('p', { class: 'hint', text: L.passwordEndsSessions }),
      h('div', { class: 'row-actions tight' }, submit, button(L.close, close)), result);
    form.dirty = function () { return !!(pw.pw.value || pw.confirm.value); };
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var send = {};
      if (!pwBox.hidden) {
        if (showErrors(form, passwordErrors(pw.pw.value, pw.confirm.value, 'password', 'confirm'), fAlert)) return;
        send.password = pw.pw.value;
      }
      busy(submit, call('POST', '/api/admin/agents/' + enc(a.id) + '/password', send).then(function (res) {
        if (!res.ok) { refused(res, form, fAlert, send); return; }
        clearErrors(form, fAlert);
        pw.pw.value = pw.confirm.value = '';
        if (res.body.invite) {
          var box = linkBox(t('resetFor', { name: a.name }), res.body.invite);
          box.onDismiss = function () { submit.focus(); };
          result.prepend(box);
          status(t('resetLinkMade', { name: a.name }));
          box.querySelector('textarea').focus();
        } else status(t('passwordSet', { name: a.name }));
        delete cache.agents;
      }, function (x) { fAlert.textContent = failText(x); }));
    });
    return form;
  }
  /** Redraws the list; open panels move to their agent's new row, and the focus stays where it was (on the same
   *  control of an open panel, or on the same button of the row). */
  function draw() {
    var active = document.activeElement, inList = active && list.contains(active);
    var at = inList && active.closest('li.agent'), action = inList && active.getAttribute('data-action');
    var sel = inList && typeof active.selectionStart === 'number' ? [active.selectionStart, active.selectionEnd] : null;
    var old = rows;
    rows = new Map();
    list.textContent = '';
    agents.slice().sort(function (x, y) { return x.name.localeCompare(y.name, lang); }).forEach(function (a) { list.append(row(a, old.get(a.id))); });
    if (!inList || document.activeElement === active) return;
    if (active.isConnected) {
      active.focus();
      if (sel) try { active.setSelectionRange(sel[0], sel[1]); } catch (e) { /* not a text box */ }
      return;
    }
    var li = at && list.querySelector('li.agent[data-agent="' + CSS.escape(at.getAttribute('data-agent')) + '"]');
    var target = li && (action && li.querySelector('[data-action="' + action + '"]') ||
      li.querySelector('[data-action=enable-agent], [data-action=disable-agent], [data-action=edit-agent]'));
    if (target) target.focus();
  }
  function refresh() {
    return Promise.all([agentsP(true), widgetsP(), teamsP()]).then(function (r) {
      if (current !== mine) return;
      agents = r[0]; widgets = r[1]; teams = r[2];
      alertEl.textContent = '';
      draw();
    }, function (x) { if (current === mine) loadFailed(alertEl, x, refresh); });
  }
  refresh();
}

// ---- Teams

/** A list page that edits one list and saves it whole (teams, inbox settings, rules): its state, what was loaded
 *  (to tell unsaved changes), and the Save button's work. */
function listPage() {
  var page = { saved: '' };
  current.dirty = function () { return page.state != null && JSON.stringify(page.out()) !== page.saved; };
  return page;
}

function viewTeams() {
  var v = mount('teams');
  var page = listPage();
  var alertEl = h('div', { class: 'alert', role: 'alert', tabindex: '-1' });
  var list = h('ol', { class: 'items' });
  var addBtn = button(L.addTeam, function () {
    page.state.push({ id: '', name: '', widgets: [], isNew: true, idTyped: false });
    draw();
    refocus(list, page.state.length - 1, 'add', addBtn);
  }, { 'data-action': 'add-team' });
  var save = h('button', { type: 'button', class: 'primary', 'data-action': 'save-teams', text: L.saveTeams });
  v.append(heading(L.teamsTitle), h('p', { class: 'lead', text: L.teamsLead }), alertEl, list,
    h('div', { class: 'row-actions savebar' }, addBtn, save));
  var widgets = [], agents = [];
  page.out = function () {
    return page.state.map(function (x) { return { id: x.id.trim(), name: x.name.trim(), widgets: x.widgets }; });
  };
  function draw() {
    list.textContent = '';
    page.state.forEach(function (team, i) {
      var p = 'teams[' + i + '].';
      var members = agents.filter(function (a) { return !team.isNew && (a.teams || []).indexOf(team.id) >= 0; })
        .map(function (a) { return a.name; });
      var idF = field({ label: L.fTeamId, path: p + 'id', value: team.id, hint: team.isNew ? L.hTeamId : L.hTeamIdFixed,
        attrs: { maxlength: 40, spellcheck: 'false', readonly: team.isNew ? null : '' },
        set: function (val) { team.id = val; team.idTyped = true; } });
      list.append(h('li', { class: 'item' },
        h('div', { class: 'item-head' }, h('h3', { text: team.name || L.newTeam }),
          itemTools(page.state, i, team.name || team.id || L.newTeam, function (l, at, how) { page.state = l; draw(); refocus(list, at, how, addBtn); })),
        h('div', { class: 'grid2' },
          field({ label: L.fTeamName, path: p + 'name', value: team.name, attrs: { maxlength: 80 }, set: function (val) {
            team.name = val;
            if (team.isNew && !team.idTyped) {
              idF.control.value = team.id = A.slug(val, page.state.filter(function (x) { return x !== team; }).map(function (x) { return x.id; }), 'team');
            }
          } }), idF),
        checkGroup({ legend: L.fTeamWidgets, path: p + 'widgets', name: 'team-widgets', selected: team.widgets, hint: L.hTeamWidgets,
          items: widgets.map(function (w) { return { id: w.id, label: w.name }; }), set: function (l) { team.widgets = l; } }),
        h('p', { class: 'muted small', text: members.length ? t('members', { names: members.join(', ') }) : L.noMembers })));
    });
    if (!page.state.length) list.append(h('li', { class: 'empty', text: L.noTeams }));
  }
  save.addEventListener('click', function () {
    var out = page.out();
    if (showErrors(v, words(A.checkTeams(out)), alertEl)) return;
    busy(save, call('PUT', '/api/admin/teams', { teams: out }).then(function (res) {
      if (!res.ok) { refused(res, v, alertEl, { teams: out }); return; }
      clearErrors(v, alertEl);
      setCached('teams', res.body);
      fill(res.body.teams);
      status(L.teamsSaved);
    }, function (x) { alertEl.textContent = failText(x); }));
  });
  function fill(teams) {
    page.state = teams.map(function (x) { return { id: x.id, name: x.name, widgets: (x.widgets || []).slice() }; });
    page.saved = JSON.stringify(page.out());
    draw();
  }
  Promise.all([teamsP(true), widgetsP(), agentsP(true)]).then(function (r) {
    widgets = r[1]; agents = r[2];
    fill(r[0]);
  }, function (x) { loadFailed(alertEl, x, viewTeams); });
}

// ---- Inbox settings (disposition codes, canned responses)

/** Where an entry applies: every widget (null) or some. o: {path, selected: null|[ids], widgets, set(list|null)}. */
function scopeChooser(o) {
  var some = !!(o.selected && o.selected.length), picked = (o.selected || []).slice();
  var group = checkGroup({ legend: L.whichWidgets, path: o.path, items: o.widgets.map(function (w) { return { id: w.id, label: w.name }; }),
    selected: picked, set: function (l) { picked = l; o.set(picked); } });
  group.hidden = !some;
  var sel = field({ label: L.fScope, kind: 'select', value: some ? 'some' : 'all', options: [['all', L.allWidgets], ['some', L.someWidgets]],
    set: function (val) { group.hidden = val !== 'some'; o.set(val === 'some' ? picked : null); } });
  return h('div', { class: 'scope' }, sel, group);
}

function viewInbox() {
  var v = mount('inbox');
  var page = listPage();
  var alertEl = h('div', { class: 'alert', role: 'alert', tabindex: '-1' });
  var dList = h('ol', { class: 'items' }), cList = h('ol', { class: 'items' });
  var addD = button(L.addDisposition, function () {
    page.state.dispositions.push({ code: '', label: '', widgets: null });
    draw();
    refocus(dList, page.state.dispositions.length - 1, 'add', addD);
  }, { 'data-action': 'add-disposition' });
  var addC = button(L.addCanned, function () {
    page.state.canned.push({ shortcut: '', title: '', text: '', widgets: null });
    draw();
    refocus(cList, page.state.canned.length - 1, 'add', addC);
  }, { 'data-action': 'add-canned' });
  var save = h('button', { type: 'button', class: 'primary', 'data-action': 'save-inbox', text: L.saveInbox });
  var sD = section('dispositions', L.secDispositions, L.introDispositions), sC = section('canned', L.secCanned, L.introCanned);
  sD.append(dList, addD);
  sC.append(cList, addC);
  v.append(heading(L.inboxTitle), h('p', { class: 'lead', text: L.inboxLead }), alertEl, sD, sC, h('div', { class: 'row-actions savebar' }, save));
  var widgets = [];
  page.out = function () {
    var scope = function (x) { return x.widgets && x.widgets.length ? x.widgets : null; };
    return {
      dispositions: page.state.dispositions.map(function (d) { return { code: d.code.trim(), label: d.label.trim(), widgets: scope(d) }; }),
      canned: page.state.canned.map(function (c) { return { shortcut: c.shortcut.trim().replace(/^\//, ''), title: c.title.trim(), text: c.text, widgets: scope(c) }; })
    };
  };
  function draw() {
    dList.textContent = cList.textContent = '';
    page.state.dispositions.forEach(function (d, i) {
      var p = 'dispositions[' + i + '].';
      dList.append(h('li', { class: 'item' },
        h('div', { class: 'item-head' }, h('h3', { text: d.label || L.newDisposition }),
          itemTools(page.state.dispositions, i, d.label || d.code || L.newDisposition, function (l, at, how) {
            page.state.dispositions = l; draw(); refocus(dList, at, how, addD);
          })),
        h('div', { class: 'grid2' },
          field({ label: L.fDispLabel, path: p + 'label', value: d.label, attrs: { maxlength: 80 }, set: function (val) { d.label = val; } }),
          field({ label: L.fDispCode, path: p + 'code', value: d.code, hint: L.hCode, attrs: { maxlength: 40, spellcheck: 'false' },
            set: function (val) { d.code = val; } })),
        scopeChooser({ path: p + 'widgets', selected: d.widgets, widgets: widgets, set: function (l) { d.widgets = l; } })));
    });
    if (!page.state.dispositions.length) dList.append(h('li', { class: 'empty', text: L.noDispositions }));
    page.state.canned.forEach(function (c, i) {
      var p = 'canned[' + i + '].';
      cList.append(h('li', { class: 'item' },
        h('div', { class: 'item-head' }, h('h3', { text: c.title || L.newCanned }),
          itemTools(page.state.canned, i, c.title || c.shortcut || L.newCanned, function (l, at, how) {
            page.state.canned = l; draw(); refocus(cList, at, how, addC);
          })),
        h('div', { class: 'grid2' },
          field({ label: L.fCannedTitle, path: p + 'title', value: c.title, attrs: { maxlength: 80 }, set: function (val) { c.title = val; } }),
          field({ label: L.fShortcut, path: p + 'shortcut', value: c.shortcut, hint: L.hShortcut, attrs: { maxlength: 41, spellcheck: 'false' },
            set: function (val) { c.shortcut = val; } })),
        field({ label: L.fCannedText, path: p + 'text', kind: 'textarea', rows: 3, value: c.text, attrs: { maxlength: 4000 },
          set: function (val) { c.text = val; } }),
        scopeChooser({ path: p + 'widgets', selected: c.widgets, widgets: widgets, set: function (l) { c.widgets = l; } })));
    });
    if (!page.state.canned.length) cList.append(h('li', { class: 'empty', text: L.noCanned }));
  }
  save.addEventListener('click', function () {
    var out = page.out(), e = A.checkInbox(out);
    // "some widgets" with none ticked would mean every widget: say so instead
    ['dispositions', 'canned'].forEach(function (k) {
      page.state[k].forEach(function (x, i) { if (x.widgets && !x.widgets.length) e[k + '[' + i + '].widgets'] = ['errPickWidget']; });
    });
    if (showErrors(v, words(e), alertEl)) return;
    busy(save, call('PUT', '/api/admin/inbox', out).then(function (res) {
      if (!res.ok) { refused(res, v, alertEl, out); return; }
      clearErrors(v, alertEl);
      fill(res.body);
      status(L.inboxSaved);
    }, function (x) { alertEl.textContent = failText(x); }));
  });
  function fill(body) {
    page.state = clone({ dispositions: body.dispositions || [], canned: body.canned || [] });
    page.saved = JSON.stringify(page.out());
    draw();
  }
  Promise.all([call('GET', '/api/admin/inbox').then(okOr), widgetsP()]).then(function (r) {
    widgets = r[1];
    fill(r[0].body);
  }, function (x) { loadFailed(alertEl, x, viewInbox); });
}

// ---- Automated actions (rules)

var CONDITIONS = ['widget', 'outsideHours', 'noAgentOnline', 'messageContains', 'emailDomain', 'fieldEquals', 'priority'];
var ACTIONS = ['reply', 'priority', 'tag', 'team', 'agent', 'close'];
var PRIORITIES = ['low', 'normal', 'high', 'urgent'];

function viewRules() {
  var v = mount('rules');
  var page = listPage();
  var alertEl = h('div', { class: 'alert', role: 'alert', tabindex: '-1' });
  var list = h('ol', { class: 'rules items' });
  var addBtn = h('button', { type: 'button', class: 'quiet', 'data-action': 'new-rule' }, icon('plus'), h('span', { text: L.newRule }));
  var save = h('button', { type: 'button', class: 'primary', 'data-action': 'save-rules', text: L.saveRules });
  v.append(heading(L.rulesTitle), h('p', { class: 'lead', text: L.rulesLead }),
    h('ul', { class: 'explain' }, h('li', { text: L.rulesHow1 }), h('li', { text: L.rulesHow2 }), h('li', { text: L.rulesHow3 })),
    alertEl, list, h('div', { class: 'row-actions savebar' }, addBtn, save));
  var widgets = [], teams = [], agents = [];

  /** The rules as the server takes them: only the keys each condition and action type uses. */
  page.out = function () {
    return page.state.map(function (r) {
      return {
        id: r.id.trim(), name: r.name.trim(), enabled: r.enabled, on: r.on.slice(), match: r.match,
        conditions: r.conditions.map(function (c) {
          var n = A.conditionNeeds(c.type), o = { type: c.type };
          if (n.value) o.value = String(c.value == null ? '' : c.value).trim();
          if (n.field) o.field = String(c.field == null ? '' : c.field).trim();
          return o;
        }),
        actions: r.actions.map(function (a) {
          var n = A.actionNeeds(a.type), o = { type: a.type };
          if (n.value) o.value = String(a.value == null ? '' : a.value).trim();
          if (n.text) o.text = String(a.text == null ? '' : a.text);
          return o;
        }),
        repeats: !!r.repeats
      };
    });
  };
  addBtn.addEventListener('click', function () {
    page.state.push({ id: A.ruleId('', page.state.map(function (r) { return r.id; })), name: '', enabled: true, on: ['opened', 'message'],
      match: 'all', conditions: [], actions: [{ type: 'reply', text: '' }], repeats: false, isNew: true, idTyped: false });
    draw();
    var cards = list.querySelectorAll(':scope > li');
    cards[cards.length - 1].querySelector('[name=rule-name]').focus();
  });

  /** The control for a condition's or action's value, by type: a select of widgets, teams, agents or priorities, or
   *  a text box. */
  function valueControl(kind, type, obj, path, name) {
    var opts = null, label = L.fValue;
    if (type === 'widget') { opts = widgets.map(function (w) { return [w.id, w.name + ' (' + w.id + ')']; }); label = L.fWidget; }
    else if (type === 'priority') { opts = PRIORITIES.map(function (p) { return [p, L['prio_' + p]]; }); label = L.fPriority; }
    else if (type === 'team') { opts = teams.map(function (x) { return [x.id, x.name]; }); label = L.fTeam; }
    else if (type === 'agent') {
      opts = agents.filter(function (a) { return !a.disabled || a.id === obj.value; }).map(function (a) { return [a.id, a.name]; });
      label = L.fAgent;
    } else if (type === 'messageContains') label = L.fContains;
    else if (type === 'emailDomain') label = L.fDomain;
    else if (type === 'tag') label = L.fTag;
    if (opts) {
      return field({ label: label, name: name, path: path, kind: 'select', value: obj.value == null ? '' : obj.value, cls: 'grow',
        options: [['', L.choose]].concat(opts), set: function (val) { obj.value = val; } });
    }
    return field({ label: label, name: name, path: path, value: obj.value == null ? '' : obj.value, cls: 'grow',
      attrs: { maxlength: 200, placeholder: type === 'emailDomain' ? 'shop.com' : null }, set: function (val) { obj.value = val; } });
  }

  function ruleCard(r, i) {
    var p = 'rules[' + i + '].';
    var li = h('li', { class: 'item rule', 'data-rule': i });
    var titleId = uid();
    var idF = field({ label: L.fRuleId, name: 'rule-id', path: p + 'id', value: r.id, hint: r.isNew ? L.hRuleId : L.hRuleIdFixed,
      attrs: { maxlength: 40, spellcheck: 'false', readonly: r.isNew ? null : '' }, set: function (val) { r.id = val; r.idTyped = true; } });
    var nameF = field({ label: L.fRuleName, name: 'rule-name', path: p + 'name', value: r.name, attrs: { maxlength: 80 }, set: function (val) {
      r.name = val;
      $(titleId).textContent = val || L.newRuleTitle;
      if (r.isNew && !r.idTyped) idF.control.value = r.id = A.ruleId(val, page.state.filter(function (x) { return x !== r; }).map(function (x) { return x.id; }));
    } });
    var onBox = function (trigger, label) {
      return check({ label: label, name: 'rule-on-' + trigger, path: trigger === 'opened' ? p + 'on' : null, checked: r.on.indexOf(trigger) >= 0,
        set: function (on) {
          r.on = r.on.filter(function (x) { return x !== trigger; });
          if (on) r.on.push(trigger);
          r.on.sort();
        } });
    };
    var condList = h('ol', { class: 'rows' }), actList = h('ol', { class: 'rows' });
    var addCond = button(L.addCondition, function () {
      r.conditions.push({ type: 'outsideHours' });
      drawConditions();
      var rows = condList.querySelectorAll('[name=condition-type]');
      rows[rows.length - 1].focus();
    }, { 'data-action': 'add-condition' });
    var addAct = button(L.addAction, function () {
      r.actions.push({ type: 'reply', text: '' });
      drawActions();
      var rows = actList.querySelectorAll('[name=action-type]');
      rows[rows.length - 1].focus();
    }, { 'data-action': 'add-action', 'data-path': p + 'actions' });
    var actErr = h('p', { class: 'error', id: uid() + '-error' });
    addAct.setAttribute('data-error', actErr.id);
    addAct.setAttribute('aria-describedby', actErr.id);

    function drawConditions() {
      condList.textContent = '';
      r.conditions.forEach(function (c, j) {
        var q = p + 'conditions[' + j + '].';
        var row = h('li', { class: 'cond-row' });
        var typeF = field({ label: L.fConditionType, name: 'condition-type', path: q + 'type', kind: 'select', value: c.type,
          options: CONDITIONS.map(function (x) { return [x, L['cond_' + x]]; }),
          set: function (val) { r.conditions[j] = { type: val }; drawConditions(); condList.querySelectorAll('[name=condition-type]')[j].focus(); } });
        row.append(typeF);
        if (c.type === 'fieldEquals') {
          row.append(field({ label: L.fFormField, name: 'condition-field', path: q + 'field', value: c.field || '', hint: L.hFormField,
            attrs: { maxlength: 40, spellcheck: 'false' }, set: function (val) { c.field = val; } }),
          field({ label: L.fEquals, name: 'condition-value', path: q + 'value', value: c.value || '', cls: 'grow',
            attrs: { maxlength: 200 }, set: function (val) { c.value = val; } }));
        } else if (A.conditionNeeds(c.type).value) row.append(valueControl('condition', c.type, c, q + 'value', 'condition-value'));
        row.append(iconButton('remove', t('removeCondition', { n: j + 1 }), function () {
          r.conditions.splice(j, 1);
          drawConditions();
          addCond.focus();
        }, { 'data-action': 'remove-condition' }));
        condList.append(row);
      });
      if (!r.conditions.length) condList.append(h('li', { class: 'muted small', text: L.noConditions }));
    }
    function drawActions() {
      actList.textContent = '';
      r.actions.forEach(function (a, j) {
        var q = p + 'actions[' + j + '].';
        var row = h('li', { class: 'act-row' });
        row.append(field({ label: L.fActionType, name: 'action-type', path: q + 'type', kind: 'select', value: a.type,
          options: ACTIONS.map(function (x) { return [x, L['act_' + x]]; }),
          set: function (val) { r.actions[j] = { type: val }; drawActions(); actList.querySelectorAll('[name=action-type]')[j].focus(); } }));
        if (a.type === 'reply') {
          row.append(field({ label: L.fReplyText, name: 'action-text', path: q + 'text', kind: 'textarea', rows: 2, value: a.text || '',
            hint: L.hReplyText, cls: 'grow', attrs: { maxlength: 4000 }, set: function (val) { a.text = val; } }));
        } else if (A.actionNeeds(a.type).value) row.append(valueControl('action', a.type, a, q + 'value', 'action-value'));
        row.append(iconButton('remove', t('removeAction', { n: j + 1 }), function () {
          r.actions.splice(j, 1);
          drawActions();
          addAct.focus();
        }, { 'data-action': 'remove-action' }));
        actList.append(row);
      });
    }
    drawConditions();
    drawActions();

    var enabled = check({ label: L.ruleEnabled, name: 'rule-enabled', checked: r.enabled, set: function (on) { r.enabled = on; } });
    li.append(
      h('div', { class: 'item-head' }, h('h3', { id: titleId, text: r.name || L.newRuleTitle }), enabled,
        itemTools(page.state, i, r.name || r.id, function (l, at, how) { page.state = l; draw(); refocus(list, at, how, addBtn); })),
      h('div', { class: 'grid2' }, nameF, idF),
      h('fieldset', { class: 'group inline' }, h('legend', { text: L.fRuleOn }),
        onBox('opened', L.onOpened), onBox('message', L.onMessage)),
      h('h4', { text: L.conditionsTitle }),
      field({ label: L.fMatch, name: 'rule-match', path: p + 'match', kind: 'select', value: r.match,
        options: [['all', L.matchAll], ['any', L.matchAny]], set: function (val) { r.match = val; } }),
      condList, addCond,
      h('h4', { text: L.actionsTitle }), actList, addAct, actErr,
      field({ label: L.fRepeats, name: 'rule-repeats', path: p + 'repeats', kind: 'select', value: String(!!r.repeats),
        options: [['false', L.oncePerTicket], ['true', L.everyTime]], set: function (val) { r.repeats = val === 'true'; } }));
    li.setAttribute('aria-labelledby', titleId);
    return li;
  }
  function draw() {
    list.textContent = '';
    page.state.forEach(function (r, i) { list.append(ruleCard(r, i)); });
    if (!page.state.length) list.append(h('li', { class: 'empty', text: L.noRules }));
  }
  save.addEventListener('click', function () {
    var out = page.out();
    if (showErrors(v, words(A.checkRules(out)), alertEl)) return;
    busy(save, call('PUT', '/api/admin/rules', { rules: out }).then(function (res) {
      if (!res.ok) { refused(res, v, alertEl, { rules: out }); return; }
      clearErrors(v, alertEl);
      fill(res.body.rules || []);
      status(L.rulesSaved);
    }, function (x) { alertEl.textContent = failText(x); }));
  });
  function fill(rules) {
    page.state = clone(rules).map(function (r) {
      return { id: r.id, name: r.name || '', enabled: r.enabled !== false, on: (r.on || ['opened', 'message']).slice().sort(),
        match: r.match || 'all', conditions: r.conditions || [], actions: r.actions || [], repeats: !!r.repeats };
    });
    page.saved = JSON.stringify(page.out());
    draw();
  }
  Promise.all([call('GET', '/api/admin/rules').then(okOr), widgetsP(), teamsP(), agentsP()]).then(function (r) {
    widgets = r[1]; teams = r[2]; agents = r[3];
    fill(r[0].body.rules || []);
  }, function (x) { loadFailed(alertEl, x, viewRules); });
}

// ---- Data: erase a visitor (right to be forgotten), remove old conversations (retention)

/** A day typed ('2026-01-31': midnight UTC for the server) in words: "31 January 2026". */
function dayText(s) {
  var d = new Date(s + 'T00:00:00Z');
  return A.isDate(s) && !isNaN(d) ? d.toLocaleDateString(lang, { dateStyle: 'long', timeZone: 'UTC' }) : s;
}
/** A text with a {command} hole as a paragraph, the command shown as code. */
function withCommand(text, command, cls) {
  var parts = String(text).split('{command}'), p = h('p', { class: cls });
  p.append(parts[0]);
  for (var i = 1; i < parts.length; i++) p.append(h('code', { text: command }), parts[i]);
  return p;
}
/** After a call whose button was disabled meanwhile: the focus, when it went with it, goes to `el`. */
function keepFocus(el) {
  var a = document.activeElement;
  if (!a || a === document.body) el.focus();
}

/** Two tools, each asking before it deletes anything: erase everything about a visitor's email (POST /api/admin/erase),
 *  and remove conversations closed before a date (POST /api/admin/purge: a Preview first, then "Remove them"). */
function viewData() {
  var v = mount('data');
  var mine = current;
  v.append(heading(L.dataTitle), h('p', { class: 'lead', text: L.dataLead }), eraseTool(mine), purgeTool(mine));
}

function eraseTool(mine) {
  var sec = section('erase', L.eraseTitle, L.eraseHelp);
  var form = h('form', { novalidate: '', 'aria-labelledby': 'h-erase' });
  var alertEl = h('div', { class: 'alert', role: 'alert' });
  var email = field({ label: L.fEraseEmail, name: 'erase-email', path: 'email', kind: 'email',
    attrs: { autocomplete: 'off', spellcheck: 'false', maxlength: 254 } });
  var erase = h('button', { type: 'submit', class: 'danger', 'data-action': 'erase', text: L.eraseButton });
  var result = h('div', { class: 'notice result', id: 'erase-result', hidden: '' });
  form.append(alertEl, h('div', { class: 'inline-form' }, email, erase), result);
  sec.append(withCommand(L.exportHelp, 'parley export --email EMAIL', 'intro'), form);

  function show(r) {
    var said = r.lines.map(say);
    result.textContent = '';
    said.forEach(function (x) { result.append(h('p', { text: x })); });
    var copy = null;
    if (r.command) {
      var id = uid(), code = h('code', { id: id, class: 'command', text: r.command });
      copy = h('button', { type: 'button', class: 'quiet sm', 'data-action': 'copy-erase-command', 'aria-describedby': id, text: L.copy });
      copy.addEventListener('click', function () { copyText(r.command, code, copy); });
      result.append(h('div', { class: 'copy-row' }, code, copy));
    }
    result.hidden = false;
    status(said.join(' ') + (r.command ? ' ' + r.command : ''));
    return copy;
  }
  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    if (erase.disabled) return;
    var value = email.control.value.trim(), e = {};
    if (!value) e.email = L.errRequired;
    else if (!isEmail(value)) e.email = L.emailInvalid;
    if (showErrors(form, e, alertEl)) return;
    ask(L.eraseAskTitle, t('eraseAskText', { email: value }), L.eraseButton, true).then(function (yes) {
      if (!yes || current !== mine) return;
      var send = { email: value }, next = email.control;
      result.hidden = true;
      busy(erase, call('POST', '/api/admin/erase', send).then(function (res) {
        if (!res.ok) { refused(res, form, alertEl, send); return; }
        clearErrors(form, alertEl);
        next = show(A.eraseResult(res.body, value, lang)) || next;
        if (email.control.value.trim() === value) email.control.value = '';
      }, function (x) { alertEl.textContent = failText(x); })).then(function () {
        if (current === mine) keepFocus(next);
      });
    });
  });
  return sec;
}

function purgeTool(mine) {
  var sec = section('purge', L.purgeTitle, L.purgeHelp);
  var form = h('form', { novalidate: '', 'aria-labelledby': 'h-purge' });
  var alertEl = h('div', { class: 'alert', role: 'alert' });
  var st = { busy: false, previewed: null };  // previewed: {date, count} of the last Preview of the date still typed
  var before = field({ label: L.fPurgeBefore, name: 'purge-before', path: 'closedBefore', kind: 'date', hint: L.hPurgeBefore,
    set: changed });
  before.control.addEventListener('change', changed);
  var preview = h('button', { type: 'submit', class: 'quiet', 'data-action': 'purge-preview', text: L.purgePreview });
  var result = h('p', { class: 'notice result', id: 'purge-result', hidden: '' });
  var remove = h('button', { type: 'button', class: 'danger', 'data-action': 'purge', text: L.purgeRemove, disabled: '' });
  form.append(alertEl, h('div', { class: 'inline-form' }, before, preview), result, h('div', { class: 'row-actions' }, remove));
  sec.append(form);

  function sync() {
    var b = A.purgeButtons({ busy: st.busy, date: before.control.value, previewed: st.previewed });
    preview.disabled = !b.preview;
    remove.disabled = !b.remove;
  }
  /** A new date: Remove waits for its Preview. */
  function changed() {
    if (st.previewed && st.previewed.date === before.control.value) return;
    st.previewed = null;
    result.hidden = true;
    result.textContent = '';
    sync();
  }
  function say1(e) {
    result.textContent = say(e);
    result.hidden = false;
    status(result.textContent);
  }
  /** Runs a call for `btn`: both buttons are off meanwhile, then the focus comes back to Preview if it was lost. */
  function run(btn, p) {
    st.busy = true;
    btn.setAttribute('aria-busy', 'true');
    sync();
    var done = function () {
      st.busy = false;
      btn.removeAttribute('aria-busy');
      sync();
      if (current === mine) keepFocus(remove.disabled ? preview : btn);
    };
    p.then(done, done);
    return p;
  }
  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    if (st.busy) return;
    var day = before.control.value.trim(), e = {};
    if (!day) e.closedBefore = L.errRequired;
    else if (!A.isDate(day)) e.closedBefore = L.errDate;
    if (showErrors(form, e, alertEl)) return;
    var send = { closedBefore: day, dryRun: true };
    st.previewed = null;
    result.hidden = true;
    run(preview, call('POST', '/api/admin/purge', send).then(function (res) {
      if (!res.ok) { refused(res, form, alertEl, send); return; }
      if (before.control.value !== day) return;  // another date was typed meanwhile: it needs its own Preview
      st.previewed = { date: day, count: (res.body.tickets || []).length };
      say1(A.purgeFound(res.body.tickets, dayText(day), lang));
    }, function (x) { alertEl.textContent = failText(x); }));
  });
  remove.addEventListener('click', function () {
    var p = st.previewed;
    if (!p || st.busy) return;
    ask(L.purgeAskTitle, say(A.purgeAsk(p.count, dayText(p.date), lang)), L.purgeRemove, true).then(function (yes) {
      if (!yes || current !== mine || st.previewed !== p || st.busy) return;
      var send = { closedBefore: p.date };
      run(remove, call('POST', '/api/admin/purge', send).then(function (res) {
        if (!res.ok) { refused(res, form, alertEl, send); return; }
        clearErrors(form, alertEl);
        st.previewed = null;
        say1(A.purgeDone(res.body, lang));
      }, function (x) { alertEl.textContent = failText(x); }));
    });
  });
  return sec;
}

// ---- Audit log

var AUDIT = {
  'setup.admin': 'aSetupAdmin', 'widget.create': 'aWidgetCreate', 'widget.draft': 'aWidgetDraft', 'widget.discard': 'aWidgetDiscard',
  'widget.publish': 'aWidgetPublish', 'widget.restore': 'aWidgetRestore', 'agent.add': 'aAgentAdd', 'agent.update': 'aAgentUpdate',
  'agent.password': 'aAgentPassword', 'agent.invite': 'aAgentInvite', 'teams.update': 'aTeamsUpdate', 'inbox.update': 'aInboxUpdate',
  'rules.update': 'aRulesUpdate', 'agent.disable': 'aAgentDisable', 'agent.passwd': 'aAgentPasswd',
  'agent.password.set': 'aAgentPasswordSet', 'erased': 'aErased', 'purged': 'aPurged'
};
function viewAudit() {
  var v = mount('audit');
  var alertEl = h('div', { class: 'alert', role: 'alert' });
  var tbody = h('tbody');
  var table = h('table', { class: 'audit' },
    h('caption', { class: 'sr-only', text: L.auditTitle }),
    h('thead', null, h('tr', null, ...['auditWhen', 'auditWho', 'auditAction', 'auditTarget', 'auditDetails'].map(function (k) {
      return h('th', { scope: 'col', text: L[k] });
    }))), tbody);
  var more = button(L.olderEntries, function () { page(last); }, { 'data-action': 'older', hidden: '' });
  v.append(heading(L.auditTitle), h('p', { class: 'lead', text: L.auditLead }), alertEl, h('div', { class: 'table-wrap' }, table), more);
  var last = null;
  function page(before) {
    var q = '/api/admin/audit?limit=100' + (before != null ? '&before=' + before : '');
    busy(more, call('GET', q).then(function (res) {
      if (!res.ok) { alertEl.textContent = failText(res); return; }
      var entries = res.body.entries || [];
      entries.forEach(function (e) {
        var by = e.by || {}, who = by.kind === 'cli' ? L.commandLine : [by.name, by.email ? '(' + by.email + ')' : ''].filter(Boolean).join(' ');
        tbody.append(h('tr', { 'data-action-name': e.action },
          h('td', null, h('time', { datetime: e.at, text: dateTime(e.at) })),
          h('td', { text: who }),
          h('td', { text: AUDIT[e.action] ? L[AUDIT[e.action]] : e.action }),
          h('td', null, e.target ? h('code', { text: e.target }) : null),
          h('td', { class: 'small', text: A.detail(e.detail) })));
        last = e.n;
      });
      if (!tbody.firstChild) tbody.append(h('tr', null, h('td', { colspan: '5', class: 'empty', text: L.noEntries })));
      more.hidden = !res.body.more;
    }, function (x) { alertEl.textContent = failText(x); }));
  }
  page(null);
}

// ---- start: signed in? an admin?

api('GET', '/api/agent/me').then(function (res) {
  if (res.ok && res.body && res.body.agent) enter(res.body);
  else showSignIn('');
}, function () { showSignIn(L.network); });
})();
