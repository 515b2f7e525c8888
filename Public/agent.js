/* Parley inbox (/agent): sign-in, the live list, one conversation and its ticket panel, notifications, shortcuts.
   Pure logic (timers, sections, filters, canned matching, system lines...): inbox-core.js (ParleyInbox). Texts:
   agent-text.js (ParleyAgentText, English and French). Uploads: upload.js (ParleyTus). Data is shown with
   textContent and DOM calls only, never as HTML. Test clock: window.ParleyAgent = {now, tick} (tests replace now,
   then call tick() to redraw the timers and times at once). */
(function () {
'use strict';

var X = window.ParleyInbox, T = window.ParleyAgentText, Tus = window.ParleyTus;

// ---- language, strings, small helpers

var forced = new URLSearchParams(location.search).get('lang');
var lang = forced === 'fr' || forced === 'en' ? forced : /^fr\b/i.test(navigator.language || '') ? 'fr' : 'en';
var L = T[lang];
function t(key, vars) {
  return L[key].replace(/\{(\w+)\}/g, function (_, k) { return vars && vars[k] != null ? String(vars[k]) : ''; });
}

document.documentElement.lang = lang;
document.title = L.pageTitle;
document.querySelectorAll('[data-t]').forEach(function (el) { el.textContent = L[el.getAttribute('data-t')]; });
document.querySelectorAll('[data-t-label]').forEach(function (el) { el.setAttribute('aria-label', L[el.getAttribute('data-t-label')]); });
document.querySelectorAll('[data-t-placeholder]').forEach(function (el) { el.placeholder = L[el.getAttribute('data-t-placeholder')]; });

var $ = function (id) { return document.getElementById(id); };
var P = function (name, root) { return (root || document).querySelector('[data-p="' + name + '"]'); };

/** An element: attributes (text → textContent, class → className; null ones skipped), then children. */
function h(tag, attrs) {
  var e = document.createElement(tag), k;
  for (k in attrs || {}) {
    if (attrs[k] == null) continue;
    if (k === 'text') e.textContent = attrs[k]; else if (k === 'class') e.className = attrs[k]; else e.setAttribute(k, attrs[k]);
  }
  for (var i = 2; i < arguments.length; i++) if (arguments[i] != null) e.append(arguments[i]);
  return e;
}
var ICON = {
  desktop: 'M3 5h18v11H3zM8 20h8M12 16v4',
  mobile: 'M7 2.5h10v19H7zM11 18h2',
  download: 'M12 4v11m-5-5l5 5 5-5M5 20h14',
  note: 'M5 3h10l4 4v14H5zM9 12h6M9 16h4'
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

/** The page's clock: the server's time as well as we know it (our clock + skew, the offset estimated from the Date
 *  header of the API's answers; 0 unless our clock is 2 s or more off). Tests replace ParleyAgent.now (then the skew
 *  plays no part); ParleyAgent.skew() says the offset in use. */
var skew = 0, skews = [];
var hooks = window.ParleyAgent = window.ParleyAgent || {};
if (!hooks.now) hooks.now = function () { return Date.now() + skew; };
hooks.skew = function () { return skew; };
function now() { return window.ParleyAgent && window.ParleyAgent.now ? window.ParleyAgent.now() : Date.now() + skew; }
function clockSample(res, sent) {
  var received = Date.now(), v = received - sent < 2000 ? X.skew(res.headers.get('Date'), sent, received) : null;
  if (v === null) return;
  skews.push(v);
  if (skews.length > 7) skews.shift();
  skew = X.skewOf(skews);
}

function dateTime(at, long) {
  var d = new Date(at);
  if (isNaN(d)) return '';
  var today = new Date(now()).toDateString() === d.toDateString();
  return d.toLocaleString(lang, long ? { dateStyle: 'medium', timeStyle: 'short' } : today ? { hour: '2-digit', minute: '2-digit' } :
    { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
}
function timeEl(at, long) {
  var el = h('time', { datetime: at || null, text: dateTime(at, long) });
  if (!long && at) el.title = dateTime(at, true);
  return el;
}
function initials(name) {
  var w = String(name || '?').trim().split(/[\s@._-]+/).filter(Boolean);
  return ((w[0] || '?').charAt(0) + (w.length > 1 ? w[w.length - 1].charAt(0) : '')).toUpperCase();
}
var AVATAR = ['#5b6fb5', '#357a68', '#a0577a', '#9a5f22', '#6d5bb5', '#316d91', '#8a6d3b'];
function paintAvatar(el, s) {
  var name = displayName(s), n = 0;
  for (var i = 0; i < s.id.length; i++) n = (n * 31 + s.id.charCodeAt(i)) % 997;
  el.textContent = initials(name);
  el.style.background = AVATAR[n % AVATAR.length];
}
function displayName(s) { return X.displayName(s, L.visitor); }
function clientId() { return Date.now().toString(36) + Math.random().toString(36).slice(2, 10); }
/** Writes only what changed (a row is redrawn often: most of the time nothing in it changed). */
function setText(el, v) { if (el.textContent !== v) el.textContent = v; }
function setAttr(el, k, v) {
  if (v == null) { if (el.hasAttribute(k)) el.removeAttribute(k); } else if (el.getAttribute(k) !== v) el.setAttribute(k, v);
}
function setHidden(el, v) { if (el.hidden !== v) el.hidden = v; }
function announce(text) {
  var a = $('announce');
  a.textContent = '';
  setTimeout(function () { a.textContent = text; }, 30);
}

// ---- state

var me = null;          // GET /api/agent/me: {agent, widgets, dispositions, canned}
var widgets = {};       // widget id → {name, targetResponseSeconds, typingPreview}
var live = {};          // ticket id → summary: the active tickets (open, pending), kept current by the stream
var fetched = {};       // ticket id → summary: closed ones the filters asked the server for
var fetchedTotal = 0;
var agents = null;      // GET /api/agent/agents (null: not known)
var agentsAt = 0;       // when it was last asked for
var filters = { status: 'active', widget: '', tag: '', assignee: '', q: '' };
var stream = null, session = 0, inflight = 0, recent = [];
var order = [];         // the ticket ids in the order shown (j/k)
var jk = null;          // the order as it was when the open chat was opened (j/k step through it: X.stepFrom)
var typingUntil = {};   // ticket id → ms: the visitor is typing there
var seen = {};          // ticket id → its unreadByAgent while it was in view (those count as read: X.unseen)
var helloSeen = false;  // the stream said hello since sign-in (it loads the list)
var meVersion = 0;      // bumped when /api/agent/me changes (rows show widget names, my name)

function meId() { return me ? me.agent.id : null; }
function myTeams() { return me && me.agent.teams || []; }

// ---- server calls

function api(method, path, body) {
  var init = { method: method, credentials: 'same-origin', headers: {} }, sent = Date.now();
  if (body !== undefined) { init.headers['Content-Type'] = 'application/json'; init.body = JSON.stringify(body); }
  return fetch(path, init).then(function (r) {
    clockSample(r, sent);
    if (r.status === 204) return { status: 204, ok: true, body: null, headers: r.headers };
    return r.json().then(function (b) { return b; }, function () { return null; }).then(function (b) {
      return { status: r.status, ok: r.ok, body: b, headers: r.headers };
    });
  });
}
/** api() within the current session: a 401 shows the sign-in form ("session ended"); answers that come after a
 *  sign-out (or a new sign-in) are dropped (the promise never settles). */
function call(method, path, body) {
  var gen = session;
  return new Promise(function (resolve, reject) {
    api(method, path, body).then(function (res) {
      if (gen !== session) return;
      if (res.status === 401 && me) { showSignIn(L.sessionEnded); return; }
      resolve(res);
    }, function (e) { if (gen === session) reject(e); });
  });
}
function errorOf(res) { return (res.body && res.body.error) || { message: 'HTTP ' + res.status }; }
function ticketPath(id, action) { return '/api/agent/tickets/' + encodeURIComponent(id) + (action ? '/' + action : ''); }
/** An action's answer on ticket `id` ({ticket?, event?, events?}): the summary and events go where they show. */
function applyResult(body, id) {
  if (!body) return;
  if (body.ticket) { upsert(body.ticket); id = body.ticket.id; }
  if (body.event) conversationEvent(id, body.event);
  (body.events || []).forEach(function (e) { conversationEvent(id, e); });
  scheduleRender();
}

// ---- views: sign-in and the inbox

var form = $('signin'), signinAlert = $('signin-alert'), submit = $('signin-submit'), inboxAlert = $('inbox-alert');

function showSignIn(message) {
  closeStream();
  closeConversation();
  trays = {};  // their uploads finish or fail on their own
  drafts = {};
  wrapupFor = {};
  outbox = {};
  seen = {};
  jk = null;
  try { sessionStorage.removeItem(SEEN_KEY); } catch (e) { /* nothing kept */ }
  session++;
  me = null; live = {}; fetched = {}; recent = []; inflight = 0; agents = null; agentsAt = 0;
  resetList();
  closeDialogs();
  $('loading').hidden = true;
  $('app').hidden = true;
  $('inbox').hidden = true;
  $('who').hidden = true;
  form.hidden = false;
  $('password').value = '';
  signinAlert.textContent = message || '';
  document.title = L.pageTitle;
  $('email').focus();
}

function showInbox(data) {
  closeConversation();
  trays = {};
  outbox = {};
  jk = null;
  session++;
  live = {}; fetched = {}; recent = []; inflight = 0; agents = null; agentsAt = 0;
  applyMe(data);
  seen = loadSeen();
  resetList();
  $('loading').hidden = true;
  form.hidden = true;
  $('who').hidden = false;
  $('app').hidden = false;
  $('inbox').hidden = false;
  inboxAlert.textContent = '';
  updateNotifyButton();
  render();
  // The list and the agents load once the stream says hello (so that nothing falls between the two); if it does
  // not say it soon (a proxy holding it back), they load anyway.
  helloSeen = false;
  openStream();
  var gen = session;
  setTimeout(function () { if (gen === session && !helloSeen) { reload(); loadAgents(); } }, 3000);
}

/** GET /api/agent/me's answer: who I am, my widgets (names, targets, typing preview), dispositions, canned responses. */
function applyMe(data) {
  me = data;
  meVersion++;
  widgets = {};
  (data.widgets || []).forEach(function (w) { widgets[w.id] = w; });
  $('whoami').textContent = t('signedInAs', { name: data.agent.name });
  $('admin-link').hidden = data.agent.role !== 'admin';
  fillFilterOptions();
}
/** Asks for /api/agent/me again (the stream's hello after a break, and reset): admin edits follow. */
function refreshMe() {
  call('GET', '/api/agent/me').then(function (res) {
    if (!res.ok || !res.body || !res.body.agent || !me) return;
    if (res.body.agent.id !== me.agent.id) { showInbox(res.body); return; }
    applyMe(res.body);
    if (conv) { convChanged(); if (canned.open) updateCanned(); }
    scheduleRender();
  }, function () { /* kept as it was */ });
}

// What was in view counts as read (seen): kept for the tab's session, so that a reload does not count it again.
var SEEN_KEY = 'parley-agent-seen';
function loadSeen() {
  try {
    var v = JSON.parse(sessionStorage.getItem(SEEN_KEY) || 'null');
    if (v && v.agent === meId() && v.seen && typeof v.seen === 'object') return v.seen;
  } catch (e) { /* nothing kept */ }
  return {};
}
function saveSeen() {
  try { sessionStorage.setItem(SEEN_KEY, JSON.stringify({ agent: meId(), seen: seen })); } catch (e) { /* kept for this page */ }
}
/** The chat in view: its unread messages are seen. */
function markSeen() {
  if (!conv || !inView(conv.id)) return;
  var s = live[conv.id];
  if (!s) return;
  var u = s.unreadByAgent || 0;
  if ((seen[conv.id] || 0) === u) return;
  if (u) seen[conv.id] = u; else delete seen[conv.id];
  saveSeen();
}

// ---- sign in / out (and the other tabs)

function setFieldError(name, message) {
  $(name + '-error').textContent = message || '';
  if (message) $(name).setAttribute('aria-invalid', 'true'); else $(name).removeAttribute('aria-invalid');
}
function isEmail(s) { return /^[^\s@<>,]+@[^\s@<>,.]+(\.[^\s@<>,.]+)+$/.test(s); }

form.addEventListener('submit', function (ev) {
  ev.preventDefault();
  signinAlert.textContent = '';
  var email = $('email').value.trim(), password = $('password').value;
  var eErr = !email ? L.required : !isEmail(email) ? L.emailInvalid : '';
  var pErr = !password ? L.required : '';
  setFieldError('email', eErr);
  setFieldError('password', pErr);
  if (eErr || pErr) { $(eErr ? 'email' : 'password').focus(); return; }
  submit.disabled = true;
  submit.textContent = L.signingIn;
  api('POST', '/api/agent/login', { email: email, password: password }).then(function (res) {
    if (res.ok) {
      $('password').value = '';
      return api('GET', '/api/agent/me').then(function (m) {
        if (!m.ok) { signinAlert.textContent = t('server', { m: errorOf(m).message }); return; }
        showInbox(m.body);
        broadcast('signed-in');
      });
    }
    var err = errorOf(res);
    if (res.status === 401) signinAlert.textContent = L.badCredentials;
    else if (res.status === 403 && err.code === 'account_disabled') signinAlert.textContent = L.disabled;
    else if (res.status === 429) signinAlert.textContent = t('rateLimited', { s: res.headers.get('Retry-After') || 60 });
    else signinAlert.textContent = t('server', { m: err.message });
    $('password').focus();
  }).catch(function () {
    signinAlert.textContent = L.network;
  }).then(function () {
    submit.disabled = false;
    submit.textContent = L.signIn;
  });
});

['email', 'password'].forEach(function (f) {
  $(f).addEventListener('input', function () { if ($(f).value) setFieldError(f, ''); });
});

$('signout').addEventListener('click', function () {
  closeStream();
  api('POST', '/api/agent/logout').catch(function () {}).then(function () {
    broadcast('signed-out');
    showSignIn('');
  });
});

// Signing out in one tab signs the others out at once; signing in signs them in.
var channel = null;
try { channel = new BroadcastChannel('parley-agent'); } catch (e) { /* an old browser: the stream tells them soon */ }
function broadcast(type) {
  if (channel) try { channel.postMessage({ type: type }); } catch (e) { /* closed */ }
}
if (channel) channel.onmessage = function (ev) {
  var type = ev.data && ev.data.type;
  if (type === 'signed-out' && me) showSignIn(L.signedOutOtherTab);
  if (type === 'signed-in') {
    api('GET', '/api/agent/me').then(function (res) {
      if (res.ok && (!me || me.agent.id !== res.body.agent.id)) showInbox(res.body);
    }, function () { /* the next reload says */ });
  }
};

// ---- presence (the open inbox is what makes the agent count as online) and the live stream

function setPresence(state) {
  var p = P('presence');
  p.setAttribute('data-state', state);
  $('presence-text').textContent = L[state === 'online' ? 'online' : state === 'offline' ? 'offline' : 'connecting'];
  p.title = state === 'online' ? L.onlineHint : '';
}

function openStream() {
  closeStream();
  setPresence('connecting');
  var es = stream = new EventSource('/api/agent/live');
  var mine = function (f) { return function (ev) { if (es === stream) f(ev); }; };
  es.onopen = mine(function () { setPresence('online'); });
  // hello: a new stream (nothing to resume); reset: a resume the server could not serve
  es.addEventListener('hello', mine(function () {
    setPresence('online');
    if (helloSeen) refreshMe();  // the first one comes right after sign-in, which just asked
    helloSeen = true;
    reload(); refreshConversation(); loadAgents();
  }));
  es.addEventListener('reset', mine(function () { refreshMe(); reload(); refreshConversation(); }));
  es.addEventListener('signed-out', mine(function () { closeStream(); showSignIn(L.signedOutElsewhere); }));
  es.addEventListener('typing', mine(function (ev) {
    try { typingSignal(JSON.parse(ev.data)); } catch (e) { /* not JSON: ignored */ }
  }));
  es.onmessage = mine(function (ev) {
    var data;
    try { data = JSON.parse(ev.data); } catch (e) { return; }
    streamEntry(data);
  });
  es.onerror = mine(function () {
    if (es.readyState !== EventSource.CLOSED) { setPresence('connecting'); return; }  // the browser reconnects itself
    // Closed for good (for example a 401): find out whether we are still signed in.
    stream = null;
    setPresence('offline');
    var retry = function () { setTimeout(function () { if (me && !stream) openStream(); }, 3000); };
    call('GET', '/api/agent/me').then(retry, retry);
  });
}
function closeStream() {
  if (stream) { stream.close(); stream = null; }
}

function streamEntry(data) {
  var s = data && data.ticket, e = data && data.event;
  if (!s || !s.id) return;
  var wasNew = live[s.id] && X.isNew(live[s.id]);
  if (inflight) recent.push(s);
  upsert(s);
  if (e) {
    conversationEvent(s.id, e);
    if (((e.type === 'message' || e.type === 'attachment') && e.by && e.by.kind === 'visitor') || e.type === 'visitor.left') stopTyping(s.id);
    var kind = X.notice(s, e, meId(), inView(s.id), now());
    if (kind) alertAgent(kind, s, e);
  }
  if (!wasNew && X.isNew(s)) announce(t('newChat', { name: displayName(s), n: s.visitorMessages }));
  scheduleRender();
}

function upsert(s) {
  var old = live[s.id] || fetched[s.id];
  if (old && old.lastSeq > s.lastSeq) return;  // an older copy than the one we show
  if (seen[s.id] && (s.unreadByAgent || 0) < seen[s.id]) { delete seen[s.id]; saveSeen(); }  // an agent answered
  if (s.status !== 'closed') live[s.id] = s; else delete live[s.id];
  if (fetched[s.id] || (s.status === 'closed' && (filters.status === 'closed' || filters.status === 'all'))) fetched[s.id] = s;
  if (conv && conv.id === s.id && (!conv.summary || conv.summary.lastSeq <= s.lastSeq)) { conv.summary = s; convChanged(); }
}

// ---- the list: loading

function fetchTickets(query) {
  return call('GET', '/api/agent/tickets?' + query).then(function (res) {
    if (!res.ok) throw new Error(errorOf(res).message);
    return res.body;
  });
}

var PAGE = 1000;  // tickets per request (the server's largest limit)
// Each next page starts this many rows back: a ticket closed on a page already read moves the later ones up,
// and without the overlap the first of the next page would be read by no page (merged by id, so no doubles).
var OVERLAP = 50;
function reload() {
  if (!me) return;
  var from = recent.length;
  inflight++;
  function done() {
    inflight--;
    var mine = recent.slice(from);
    if (inflight === 0) recent = [];
    return mine;
  }
  // Pages of PAGE until all `total` are read (merged by id: a ticket whose activity moved it between two pages
  // comes twice, the newer copy wins; one that moved the other way comes through the stream meanwhile).
  var got = {};
  function page(offset) {
    return fetchTickets('status=active&limit=' + PAGE + '&offset=' + offset).then(function (body) {
      var list = body.tickets || [], added = 0;
      list.forEach(function (s) {
        if (!got[s.id]) added++;
        if (!got[s.id] || got[s.id].lastSeq < s.lastSeq) got[s.id] = s;
      });
      var next = X.nextOffset(offset, list.length, body.total || 0, added);
      return next === null ? got : page(Math.max(0, next - OVERLAP));
    });
  }
  page(0).then(function () {
    var mine = done(), old = live;
    inboxAlert.textContent = '';
    live = got;
    Object.keys(old).forEach(function (id) {
      if (live[id] && old[id].lastSeq > live[id].lastSeq) live[id] = old[id];
    });
    // What the stream brought while this request was on its way may be newer than its answer.
    mine.forEach(upsert);
    if (conv && live[conv.id]) upsert(live[conv.id]);
    // what was seen of tickets no longer active is forgotten, and of those an agent answered meanwhile (the
    // count went down: what the visitor wrote since is all new)
    var gone = Object.keys(seen).filter(function (id) { return !live[id] || (live[id].unreadByAgent || 0) < seen[id]; });
    gone.forEach(function (id) { delete seen[id]; });
    if (gone.length) saveSeen();
    fillFilterOptions();
    render();
  }, function (e) {
    done();
    inboxAlert.textContent = t('listFailed', { m: e && e.message || L.network });
  });
  if (filters.status === 'closed' || filters.status === 'all') refetch();
}

/** Closed tickets come from the server, with the filters (the live set holds the active ones). */
var fetchGen = 0, searchTimer = 0, fetchedGot = 0;
function refetch() {
  var gen = ++fetchGen;
  fetched = {};
  fetchedTotal = 0;
  fetchedGot = 0;
  if (!me || (filters.status !== 'closed' && filters.status !== 'all')) { render(); return; }
  var q = new URLSearchParams({ status: 'closed', limit: '200' });
  if (filters.widget) q.set('widget', filters.widget);
  if (filters.tag) q.set('tag', filters.tag);
  if (filters.assignee) q.set('assignee', filters.assignee);
  if (filters.q.trim()) q.set('q', filters.q.trim());
  $('tickets').setAttribute('aria-busy', 'true');
  fetchTickets(q.toString()).then(function (body) {
    if (gen !== fetchGen) return;
    $('tickets').removeAttribute('aria-busy');
    (body.tickets || []).forEach(function (s) { if (!live[s.id]) fetched[s.id] = s; });
    fetchedTotal = body.total || 0;
    fetchedGot = (body.tickets || []).length;
    render();
  }, function (e) {
    if (gen !== fetchGen) return;
    $('tickets').removeAttribute('aria-busy');
    inboxAlert.textContent = t('listFailed', { m: e && e.message || L.network });
  });
}

function loadAgents() {
  agentsAt = Date.now();
  call('GET', '/api/agent/agents').then(function (res) {
    if (!res.ok) return;  // a server without the list: the picker offers me and the current assignee
    agents = res.body.agents || [];
    fillFilterOptions();
    if (conv) renderPanel();
  }, function () { /* kept as it was */ });
}

// ---- the list: filters

var fStatus = $('f-status'), fWidget = $('f-widget'), fTag = $('f-tag'), fAssignee = $('f-assignee'), fSearch = $('f-search');

/** Rebuilds a select's options after its first `keep` ones, keeping the chosen value. */
function setOptions(select, keep, options) {
  var value = select.value;
  while (select.options.length > keep) select.remove(keep);
  options.forEach(function (o) { select.append(h('option', { value: o[0], text: o[1] })); });
  select.value = value;
  if (select.value !== value) {  // gone from the list: kept as an option, so the filter stays what it is
    select.append(h('option', { value: value, text: value }));
    select.value = value;
  }
}

function fillFilterOptions() {
  if (!me) return;
  setOptions(fWidget, 1, (me.widgets || []).map(function (w) { return [w.id, w.name]; }));
  var names = {};
  (agents || []).forEach(function (a) { if (a.id !== meId()) names[a.id] = a.name; });
  allTickets().forEach(function (s) { if (s.assignee && s.assignee !== meId() && !names[s.assignee]) names[s.assignee] = s.assigneeName || s.assignee; });
  setOptions(fAssignee, 3, Object.keys(names).sort(function (a, b) { return names[a].localeCompare(names[b], lang); })
    .map(function (id) { return [id, names[id]]; }));
  fillTagOptions();
}
function fillTagOptions() {
  var tags = {};
  allTickets().forEach(function (s) { (s.tags || []).forEach(function (x) { tags[x] = 1; }); });
  var list = Object.keys(tags).sort();
  if (list.join('\n') === fTag.getAttribute('data-list')) return;
  fTag.setAttribute('data-list', list.join('\n'));
  setOptions(fTag, 1, list.map(function (x) { return [x, x]; }));
  var dl = $('tag-options');
  dl.textContent = '';
  list.forEach(function (x) { dl.append(h('option', { value: x })); });
}

function onFilter() {
  var before = filters;
  filters = { status: fStatus.value, widget: fWidget.value, tag: fTag.value, assignee: fAssignee.value, q: fSearch.value };
  var server = filters.status === 'closed' || filters.status === 'all';
  if (!server) { if (Object.keys(fetched).length || fetchedTotal) { fetched = {}; fetchedTotal = fetchedGot = 0; fetchGen++; } render(); return; }
  if (before.q !== filters.q && before.status === filters.status && before.widget === filters.widget &&
      before.tag === filters.tag && before.assignee === filters.assignee) {
    render();
    clearTimeout(searchTimer);
    searchTimer = setTimeout(refetch, 250);
    return;
  }
  refetch();
}
[fStatus, fWidget, fTag, fAssignee].forEach(function (s) { s.addEventListener('change', onFilter); });
fSearch.addEventListener('input', onFilter);
fSearch.addEventListener('keydown', function (ev) {
  if (ev.key === 'Enter') { ev.preventDefault(); var first = $('tickets').querySelector('.t-open'); if (first) first.focus(); }
  if (ev.key === 'Escape' && fSearch.value) { ev.preventDefault(); fSearch.value = ''; onFilter(); }
});

// ---- the list: drawing

var SECTION_KEYS = { new: 'secNew', mine: 'secMine', team: 'secTeam', unassigned: 'secUnassigned', others: 'secOthers' };
var sectionEls = {}, rows = {}, renderQueued = false;

function resetList() {
  var box = $('tickets');
  box.textContent = '';
  if (near) near.disconnect();
  rows = {};
  sectionEls = {};
  X.SECTIONS.forEach(function (k) {
    var count = h('span', { class: 'n' });
    var ul = h('ul', { role: 'list' });
    var el = h('section', { class: 'sec', 'data-section': k, 'aria-labelledby': 'sec-' + k, hidden: '' },
      h('h2', { id: 'sec-' + k }, h('span', { text: L[SECTION_KEYS[k]] }), count), ul);
    sectionEls[k] = { el: el, ul: ul, count: count };
    box.append(el);
  });
  $('empty').hidden = true;
  $('inbox-total').textContent = '';
}

function allTickets() {
  var byId = {}, id;
  for (id in fetched) byId[id] = fetched[id];
  for (id in live) if (!byId[id] || byId[id].lastSeq <= live[id].lastSeq) byId[id] = live[id];
  return Object.keys(byId).map(function (k) { return byId[k]; });
}

function currentSections() {
  var list = allTickets();
  if (filters.status === 'closed') list = list.filter(function (s) { return s.status === 'closed'; });
  if (filters.q.trim()) list = X.filter(list, { status: 'all', q: filters.q });
  return X.sections(list, meId(), myTeams(), { status: filters.status, widget: filters.widget, tag: filters.tag, assignee: filters.assignee });
}

/** Live entries come in bursts: the list is drawn once per frame at most (in a hidden tab, where frames wait,
 *  within half a second: the tab's title counts). */
function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  var run = function () { if (renderQueued) render(); };
  if (!document.hidden && window.requestAnimationFrame) requestAnimationFrame(run);
  setTimeout(run, document.hidden ? 100 : 500);
}

function render() {
  renderQueued = false;
  if (!me) return;
  markSeen();
  var active = document.activeElement, focused = active && active.closest && active.closest('#tickets li[data-ticket]');
  focused = focused && focused.getAttribute('data-ticket');
  var sec = currentSections(), shown = {};
  order = X.order(sec);
  X.SECTIONS.forEach(function (k) {
    var box = sectionEls[k], prev = null;
    setHidden(box.el, !sec[k].length);
    setText(box.count, String(sec[k].length));
    sec[k].forEach(function (s) {
      var r = rows[s.id] || (rows[s.id] = makeRow(s.id)), key = rowKey(s);
      if (r.summary !== s || r.key !== key) fillRow(r, s, key);  // unchanged: only the clock moves it (tick)
      shown[s.id] = 1;
      var want = prev ? prev.nextSibling : box.ul.firstChild;
      if (r.li !== want) box.ul.insertBefore(r.li, want);
      prev = r.li;
    });
  });
  Object.keys(rows).forEach(function (id) {
    if (!shown[id]) { if (near) near.unobserve(rows[id].li); rows[id].li.remove(); delete rows[id]; }
  });
  var n = order.length, filtered = filters.widget || filters.tag || filters.assignee || filters.q.trim() || filters.status !== 'active';
  setText($('empty'), filtered ? L.noMatch : L.noTickets);
  setHidden($('empty'), n > 0);
  // a filter's server fetch (closed tickets) may be capped: then "N of M", M counting those not fetched
  setText($('inbox-total'), fetchedTotal > fetchedGot ? t('showingSome', { n: n, total: n + fetchedTotal - fetchedGot }) :
    n ? t('nTickets', { n: n }) : '');
  // the rows move as they are redrawn: the focus stays on its ticket
  if (focused && rows[focused] && document.activeElement !== rows[focused].btn &&
      (!document.activeElement || document.activeElement === document.body)) rows[focused].btn.focus();
  fillTagOptions();
  updateTitle();
  if (n && !rowsSized) sizeRows();
}

/** The rows' one height, measured once on a row laid out in full (see .sized in agent.css); again after a resize
 *  (a zoom). Not while the list is not shown (narrow screens with a chat open): the next render tries again. */
var rowsSized = false;
function sizeRows() {
  var box = $('tickets'), li = box.querySelector('li.t-row');
  if (!li || (app.classList.contains('has-conv') && window.matchMedia && matchMedia('(max-width: 760px)').matches)) return;
  box.classList.remove('sized');
  li.style.contentVisibility = 'visible';
  var height = li.getBoundingClientRect().height;
  li.style.contentVisibility = '';
  if (height < 24) return;
  box.style.setProperty('--row-h', height + 'px');
  box.classList.add('sized');
  rowsSized = true;
}
var resizeTimer = 0;
window.addEventListener('resize', function () {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(function () { rowsSized = false; if (me) sizeRows(); }, 200);
});

/** What a row shows besides its summary: the row is drawn again only when its summary object or this changes. */
function rowKey(s) {
  return (conv && conv.id === s.id ? 'c' : '') + '|' + ((typingUntil[s.id] || 0) > Date.now() ? 't' : '') + '|' +
    X.unseen(s, seen) + '|' + meVersion;
}

/** Rows near the list's visible part (the clock redraws only those; the others when they come near). */
var near = window.IntersectionObserver ? new IntersectionObserver(function (entries) {
  entries.forEach(function (en) {
    var r = rows[en.target.getAttribute('data-ticket')];
    if (!r || r.li !== en.target) return;
    r.near = en.isIntersecting;
    if (r.near) tickRow(r);
  });
}, { root: $('tickets'), rootMargin: '400px 0px' }) : null;

function makeRow(id) {
  var r = { id: id, near: true };
  r.dev = h('span', { class: 't-dev', 'data-p': 'device', role: 'img' });
  r.name = h('span', { class: 't-name', 'data-p': 'name' });
  r.time = h('span', { class: 't-time', 'data-p': 'time' });
  r.widget = h('span', { class: 't-widget', 'data-p': 'widget' });
  r.preview = h('span', { class: 't-preview', 'data-p': 'preview' });
  r.top = h('span', { class: 't-top' }, r.name, r.time);
  r.mid = h('span', { class: 't-mid' }, r.widget);
  r.bot = h('span', { class: 't-bot' }, r.preview);
  r.btn = h('button', { type: 'button', class: 't-open' }, r.dev, h('span', { class: 't-body' }, r.top, r.mid, r.bot));
  r.li = h('li', { 'data-ticket': id, class: 't-row' }, r.btn);
  if (near) near.observe(r.li);
  return r;
}

/** An optional part of a row: created, updated or removed. */
function part(r, key, want, make, parent, before) {
  if (!want) { if (r[key]) { r[key].remove(); r[key] = null; } return null; }
  if (!r[key]) { r[key] = make(); parent.insertBefore(r[key], before || null); }
  return r[key];
}

function fillRow(r, s, key) {
  var name = displayName(s), left = !!s.visitorLeft, isNew = X.isNew(s), mine = s.assignee === meId(), cur = !!(conv && conv.id === s.id);
  setText(r.name, name);
  setAttr(r.dev, 'data-device', s.device === 'mobile' ? 'mobile' : 'desktop');
  setAttr(r.dev, 'data-left', left ? 'true' : null);
  setAttr(r.dev, 'aria-label', L[s.device === 'mobile' ? 'mobile' : 'desktop'] + (left ? ' — ' + L.visitorLeftShort : ''));
  if (r.devKind !== s.device) { r.dev.textContent = ''; r.dev.append(icon(s.device === 'mobile' ? 'mobile' : 'desktop')); r.devKind = s.device; }
  setText(r.widget, (widgets[s.widget] || {}).name || s.widget);
  setText(r.preview, s.lastMessagePreview || (s.subject ? s.subject : L.noMessage));
  var badge = part(r, 'badge', isNew, function () { return h('span', { class: 't-new', 'data-p': 'new' }); }, r.top, r.time);
  if (badge) {
    setText(badge, String(s.visitorMessages || 0));
    setAttr(badge, 'aria-label', t('newBadge', { n: s.visitorMessages || 0 }));
  }
  var who = part(r, 'assignee', !!s.assignee, function () { return h('span', { class: 't-assignee', 'data-p': 'assignee' }); }, r.mid);
  if (who) setText(who, mine ? t('youName', { name: s.assigneeName || me.agent.name }) : s.assigneeName || s.assignee);
  var st = part(r, 'status', s.status !== 'open', function () { return h('span', { class: 't-assignee t-status' }); }, r.mid);
  if (st) setText(st, L[s.status === 'closed' ? 'stClosed' : 'stPending']);
  part(r, 'typing', (typingUntil[s.id] || 0) > Date.now(), function () {
    return h('span', { class: 't-typing', role: 'img', 'aria-label': L.typingShort }, h('i'), h('i'), h('i'));
  }, r.bot, r.preview.nextSibling);
  // unread: what came since the agent last had the chat in view (X.unseen)
  var n = X.unseen(s, seen), unread = !isNew && mine && n > 0 && !cur;
  var u = part(r, 'unread', unread, function () { return h('span', { class: 't-unread', 'data-p': 'unread' }); }, r.bot);
  if (u) { setText(u, String(n)); setAttr(u, 'aria-label', t('unread', { n: n })); }
  if (r.li.classList.contains('unread') !== unread) r.li.classList.toggle('unread', unread);
  setAttr(r.btn, 'aria-current', cur ? 'true' : null);
  r.summary = s;
  r.key = key;
  tickRow(r);
}

/** The parts of a row that move with the clock: the response timer and the time ("5 min": formatted again only
 *  when its minute changes). */
function tickRow(r) {
  var s = r.summary, at = s.lastMessageAt || s.createdAt, n = now();
  if (r.at !== at) { r.at = at; r.atMs = Date.parse(at); r.minute = null; setAttr(r.time, 'title', dateTime(at, true)); }
  var minute = isNaN(r.atMs) ? 0 : Math.floor((n - r.atMs) / 60000);
  if (r.minute !== minute) { r.minute = minute; setText(r.time, X.shortTime(at, n, lang)); }
  var tm = X.timer(s, n, (widgets[s.widget] || {}).targetResponseSeconds);
  var el = part(r, 'timer', !!tm, function () { return h('span', { class: 't-timer', 'data-p': 'timer' }); }, r.bot, r.unread);
  if (el) paintTimer(el, tm);
}
/** A response timer: written only when its text or colour changes (once a second while it runs). */
function paintTimer(el, tm) {
  var text = X.clock(tm.elapsed);
  if (el.textContent === text && el.getAttribute('data-colour') === tm.colour) return;
  el.textContent = text;
  setAttr(el, 'data-colour', tm.colour);
  setAttr(el, 'data-expired', tm.expired ? 'true' : null);
  var label = tm.expired ? t('timerOverdue', { time: text, over: X.clock(-tm.left) }) :
    t('timerLeft', { time: text, left: X.clock(tm.left) });
  el.setAttribute('aria-label', label);
  el.title = label;
}

/** The timers and times of every row, and the conversation's timer: when a test calls it (ParleyAgent.tick). */
function tick() { tickRows(true); }
/** Once a second: the same for the rows near the visible part of the list (the others when they come near). */
function tickRows(all) {
  if (!me) return;
  for (var id in rows) if (all || rows[id].near !== false) tickRow(rows[id]);
  var el = P('conv-timer'), tm = conv && conv.summary && X.timer(conv.summary, now(), (widgets[conv.summary.widget] || {}).targetResponseSeconds);
  setHidden(el, !tm);
  if (tm) paintTimer(el, tm);
}
hooks.tick = tick;
setInterval(function () {
  var f = window.ParleyAgent && window.ParleyAgent.tick;
  if (f && f !== tick) f(); else tickRows(false);
}, 1000);

$('tickets').addEventListener('click', function (ev) {
  var li = ev.target.closest('li[data-ticket]');
  if (li) openConversation(li.getAttribute('data-ticket'), { focus: 'row' });
});

// ---- the tab's title, notifications, sound

function inView(id) { return !!(conv && conv.id === id && !document.hidden); }

function updateTitle() {
  if (!me) return;
  markSeen();
  var list = [];
  for (var id in live) list.push(live[id]);
  var title = X.title(L.pageTitle, X.titleCount(list, meId(), seen));
  if (document.title !== title) document.title = title;
}
document.addEventListener('visibilitychange', function () { if (me) { updateTitle(); scheduleRender(); } });

var notifyBtn = P('notify');
function updateNotifyButton() {
  notifyBtn.hidden = !('Notification' in window) || Notification.permission !== 'default';
}
try {
  navigator.permissions.query({ name: 'notifications' }).then(function (p) { p.onchange = updateNotifyButton; }, function () {});
} catch (e) { /* no Permissions API: the button updates on its click */ }
notifyBtn.addEventListener('click', function () {
  var done = function () { updateNotifyButton(); if (notifyBtn.hidden) $('signout').focus(); };
  try {
    var p = Notification.requestPermission(done);
    if (p && p.then) p.then(done, done);
  } catch (e) { done(); }
});

// The sound: WebAudio, started by the agent's first click or key (browsers refuse sound before that).
var audio = null, soundBtn = P('sound'), soundOn = true;
try { soundOn = localStorage.getItem('parley-agent-sound') !== 'off'; } catch (e) { /* private mode: on */ }
soundBtn.setAttribute('aria-pressed', String(soundOn));
soundBtn.addEventListener('click', function () {
  soundOn = !soundOn;
  soundBtn.setAttribute('aria-pressed', String(soundOn));
  try { localStorage.setItem('parley-agent-sound', soundOn ? 'on' : 'off'); } catch (e) { /* kept for this page */ }
});
function unlockAudio() {
  var C = window.AudioContext || window.webkitAudioContext;
  if (!audio && C) { try { audio = new C(); } catch (e) { audio = null; } }
  if (audio && audio.state === 'suspended') audio.resume().catch(function () {});
}
document.addEventListener('pointerdown', unlockAudio, true);
// keys that count as a gesture (Chrome warns about an AudioContext made on a modifier or Escape)
document.addEventListener('keydown', function (ev) { if (ev.key.length === 1 || ev.key === 'Enter') unlockAudio(); }, true);
function playSound(kind) {
  if (!soundOn || !audio || audio.state !== 'running') return;
  var t0 = audio.currentTime, notes = kind === 'new' ? [[659, 0], [880, 0.13], [1175, 0.26]] : [[784, 0], [988, 0.12]];
  notes.forEach(function (n) {
    var o = audio.createOscillator(), g = audio.createGain();
    o.type = 'sine';
    o.frequency.value = n[0];
    g.gain.setValueAtTime(0.0001, t0 + n[1]);
    g.gain.exponentialRampToValueAtTime(0.12, t0 + n[1] + 0.02);
    g.gain.exponentialRampToValueAtTime(0.0001, t0 + n[1] + 0.22);
    o.connect(g);
    g.connect(audio.destination);
    o.start(t0 + n[1]);
    o.stop(t0 + n[1] + 0.25);
  });
}

function alertAgent(kind, s, e) {
  playSound(kind);
  if (!('Notification' in window) || Notification.permission !== 'granted') return;
  var name = displayName(s), body = e.text || (e.attachment && e.attachment.name) || '';
  try {
    var n = new Notification(t(kind === 'new' ? 'notifyNew' : 'notifyMessage', { name: name }),
      { body: body.slice(0, 180), tag: 'parley-' + s.id, lang: lang });
    n.onclick = function () { window.focus(); openConversation(s.id, { focus: 'reply' }); n.close(); };
  } catch (err) { /* some browsers only notify from a service worker: the sound and the title remain */ }
}

// ---- one conversation

var conv = null;     // {id, summary, seen: {seq: 1}, loaded, early: [], previous: [], contact}
var convGen = 0;
var trays = {};      // ticket id → {el, tray, o}: uploads go on while another ticket is shown
var limits = {};     // widget id → {max, n} from its public config (the server checks them anyway)
var drafts = {};     // ticket id → {text, note}: the unsent reply or note (a note stays a note: never sent as a reply)
var wrapupFor = {};  // ticket id → {disposition, notes} while its wrap-up waits for Done
var outbox = {};     // ticket id → [pending]: replies and notes sent, not yet confirmed, or failed (see sendReply)
var noteMode = false, lastTyping = null, typingTimer = 0;
var events = $('events'), reply = $('reply'), convAlert = $('conv-alert'), slot = $('tray-slot'), fileInput = $('file');
var app = $('app'), composer = $('composer'), sendBtn = P('send'), noteBtn = P('note-mode');

function openConversation(id, opts) {
  opts = opts || {};
  if (conv && conv.id === id) { focusAfterOpen(opts.focus); return; }
  saveDraft();
  jk = order.slice();  // the list as it was just before this open (which may move the chat: X.stepFrom)
  var gen = ++convGen;
  var summary = live[id] || fetched[id] || null;
  conv = { id: id, summary: summary, seen: {}, loaded: false, early: [], previous: [], contact: null };
  app.classList.add('has-conv');
  $('conv').hidden = false;
  $('conv-empty').hidden = true;
  $('panel').hidden = false;
  convAlert.textContent = '';
  $('panel-alert').textContent = '';
  events.textContent = '';
  events.setAttribute('aria-busy', 'true');
  hideTyping();
  var draft = drafts[id] || { text: '', note: false };
  setNoteMode(draft.note);
  reply.value = draft.text;
  autosize();
  closeCanned();
  lastTyping = null;
  $('wrapup').hidden = true;
  showTray(id);
  if (!summary) $('conv-title').textContent = L.loadingConversation;
  convChanged();
  scheduleRender();
  focusAfterOpen(opts.focus);
  if (Date.now() - agentsAt > 15000) loadAgents();
  call('GET', ticketPath(id)).then(function (res) {
    if (gen !== convGen) return;  // another ticket was opened meanwhile
    if (!res.ok) {
      events.removeAttribute('aria-busy');
      convAlert.textContent = t('conversationFailed', { m: errorOf(res).message });
      return;
    }
    conv.loaded = true;
    conv.previous = res.body.previous || [];
    conv.contact = res.body.contact === true;
    conv.summary = null;
    upsert(res.body.ticket);
    if (!conv.summary) { conv.summary = live[id] || fetched[id] || res.body.ticket; convChanged(); }
    (res.body.events || []).concat(conv.early).forEach(addEvent);
    conv.early = [];
    (outbox[id] || []).forEach(showPending);  // what is still on its way, or failed, stays under the history
    if (!events.firstChild) events.append(emptyNote(L.noMessages));
    events.removeAttribute('aria-busy');  // the history is in: the log may speak
    events.scrollTop = events.scrollHeight;
    loadLimits(id, conv.summary.widget);
    if (wrapupFor[id] && conv.summary.status === 'closed') showWrapup(false);
    if (X.openMode(conv.summary, meId()) === 'join') joinTicket(id, gen);
    scheduleRender();
  }, function () {
    if (gen !== convGen) return;
    events.removeAttribute('aria-busy');
    convAlert.textContent = t('conversationFailed', { m: L.network });
  });
}

/** POST .../open: assigns the ticket to me if nobody has it, and the visitor sees that I joined. */
function joinTicket(id, gen) {
  return call('POST', ticketPath(id, 'open')).then(function (res) {
    if (res.ok) applyResult(res.body, id);
    else if (gen === convGen) convAlert.textContent = t('openFailed', { m: errorOf(res).message });
  }, function () { if (gen === convGen) convAlert.textContent = t('openFailed', { m: L.network }); });
}

function focusAfterOpen(how) {
  if (how === 'reply' && !reply.disabled) reply.focus();
  else if (how === 'reply' || how === 'title') $('conv-title').focus();
  else if (how === 'row' && rows[conv.id]) rows[conv.id].btn.focus();
}

// What the stream may have missed (a new stream after a break): the open ticket's events again.
function refreshConversation() {
  if (!conv || !conv.loaded) return;
  var gen = convGen, id = conv.id;
  call('GET', ticketPath(id)).then(function (res) {
    if (gen !== convGen || !res.ok || !res.body) return;
    upsert(res.body.ticket);
    (res.body.events || []).forEach(addEvent);
  }, function () { /* the next update or reload will do */ });
}

function closeConversation() {
  saveDraft();
  convGen++;
  conv = null;
  closeDialogs();
  app.classList.remove('has-conv', 'panel-open');
  P('details').setAttribute('aria-expanded', 'false');
  $('conv').hidden = true;
  $('panel').hidden = true;
  $('conv-empty').hidden = false;
  slot.textContent = '';
  events.textContent = '';
  hideTyping();
}

/** The open ticket's unsent reply (with its mode: a note stays a note) and unfinished wrap-up, kept while others are shown. */
function saveDraft() {
  if (!conv) return;
  drafts[conv.id] = { text: reply.value, note: noteMode };
  if (wrapupFor[conv.id] && !$('wrapup').hidden) {
    var sel = P('disposition');
    wrapupFor[conv.id] = { disposition: sel ? sel.value : '', notes: $('wrapup-notes').value };
  }
}

$('conv-close').addEventListener('click', function () {
  var id = conv && conv.id;
  closeConversation();
  render();
  var row = id && rows[id];
  (row ? row.btn : $('inbox-title')).focus();
});

/** Everything that depends on the open ticket's summary: header, read-only state, composer, panel. */
function convChanged() {
  if (!conv) return;
  var s = conv.summary;
  if (!s) return;
  var mode = X.openMode(s, meId()), closed = mode === 'closed', readonly = mode === 'readonly';
  $('conv-title').textContent = displayName(s);
  paintAvatar($('conv-avatar'), s);
  $('conv-meta').textContent = [(widgets[s.widget] || {}).name || s.widget, s.visitorEmail, s.subject, '#' + s.id]
    .filter(Boolean).join(' · ');
  P('readonly').hidden = !readonly;
  $('readonly-text').textContent = t('assignedTo', { name: s.assigneeName || s.assignee || '' });
  P('end').hidden = closed || readonly;  // someone else's chat: theirs to end (take it over first)
  P('reopen').hidden = !closed;
  P('visitor-left').hidden = !s.visitorLeft || closed;
  var wrap = !!wrapupFor[s.id] && closed;
  $('wrapup').hidden = !wrap || $('wrapup').hidden;
  composer.hidden = closed;
  $('closed-bar').hidden = !closed || !$('wrapup').hidden;
  composerState();
  markSeen();
  tickRows(false);
  renderPanel();
}

/** The reply box: off on a closed chat; on someone else's (read-only) only internal notes can be written. */
function composerState() {
  var s = conv && conv.summary, mode = s ? X.openMode(s, meId()) : 'join';
  var closed = mode === 'closed', readonly = mode === 'readonly', off = closed || (readonly && !noteMode);
  reply.disabled = off;
  sendBtn.disabled = off;
  noteBtn.disabled = closed;
  $('attach').disabled = closed || readonly || noteMode;
  if (off) closeCanned();
  reply.placeholder = noteMode ? L.notePlaceholder : readonly ? L.readonlyPlaceholder : L.replyPlaceholder;
}

// ---- events in the conversation

function conversationEvent(id, e) {
  if (e) settle(id, e);
  if (!conv || id !== conv.id || !e) return;
  if (!conv.loaded) { conv.early.push(e); return; }
  addEvent(e);
}

function emptyNote(text) {
  return h('p', { class: 'muted', 'data-empty': '', text: text });
}

function sizeText(n) { return Tus ? Tus.size(n, t, lang) : n + ' B'; }

function dispositionLabels() {
  var r = {};
  (me && me.dispositions || []).forEach(function (d) { r[d.code] = d.label; });
  return r;
}

function senderName(by) {
  by = by || {};
  if (by.kind === 'visitor') return by.name || (conv && conv.summary && displayName(conv.summary)) || L.visitor;
  return by.name || (by.kind === 'bot' ? L.bot : L.agent);
}

function renderEvent(e) {
  var by = e.by || {}, kind = by.kind || 'system';
  if (e.type === 'message' || e.type === 'attachment' || e.type === 'note') {
    var note = e.type === 'note';
    var item = h('div', { class: 'ev ' + kind + (note ? ' note' : ''), 'data-seq': e.seq, 'data-type': e.type, 'data-kind': kind });
    var head = h('p', { class: 'ev-head' });
    if (note) head.append(h('span', { class: 'ev-label' }, icon('note', 13), L.internalNote));
    head.append(h('span', { class: 'ev-by', text: senderName(by) }), timeEl(e.at));
    var body = h('div', { class: 'ev-body' });
    if (e.text) body.append(e.text);
    if (e.attachment) body.append.apply(body, attachmentParts(e.attachment));
    item.append(head, body);
    return item;
  }
  var text = X.systemLine(e, lang, dispositionLabels());
  if (text == null) return null;
  // the time is drawn from data-time by the style sheet, so that the line's text is the sentence alone
  return h('div', { class: 'ev system sys', 'data-seq': e.seq, 'data-type': e.type, 'data-kind': kind },
    h('p', { 'data-time': dateTime(e.at), title: dateTime(e.at, true), text: text }));
}

function attachmentParts(a) {
  // A file the data folder lacks (a backup taken mid-upload, a file lost by hand): said, not linked.
  if (a.missing) return [h('span', { class: 'ev-file missing', 'data-attachment': a.id, text: t('fileMissing', { name: a.name }) })];
  var link = h('a', { class: 'ev-file', href: '/api/attachments/' + encodeURIComponent(a.id), download: a.name,
    'data-attachment': a.id, 'aria-label': t('download', { name: a.name }) + ' (' + sizeText(a.size) + ')' },
    icon('download'), h('span', { text: a.name }), h('span', { class: 'ev-size', text: sizeText(a.size) }));
  var out = [link];
  if (/^image\/(png|jpeg|gif|webp)$/.test(a.type)) {
    var img = h('img', { class: 'ev-preview', alt: '', loading: 'lazy', src: link.href + '?inline=1' });
    img.onerror = function () { img.remove(); };
    out.push(img);
  }
  return out;
}

function addEvent(e) {
  if (!conv || !e || conv.seen[e.seq]) return;
  conv.seen[e.seq] = 1;
  settle(conv.id, e);
  var item = renderEvent(e);
  if (!item) return;
  var nearEnd = events.scrollHeight - events.scrollTop - events.clientHeight < 80;
  var empty = events.querySelector('[data-empty]');
  if (empty) empty.remove();
  // in seq order (the stream and an action's answer may come in either order), before the pending ones (outbox)
  var after = null;
  for (var c = events.lastElementChild; c && (c.hasAttribute('data-state') || +c.getAttribute('data-seq') > e.seq);
    c = c.previousElementSibling) after = c;
  events.insertBefore(item, after);
  if (nearEnd || (e.by && e.by.id === meId())) events.scrollTop = events.scrollHeight;
}

// ---- typing, both ways

function typingSignal(d) {
  if (!d || !d.by || !d.ticket) return;
  if (d.by.kind === 'agent' && d.by.id === meId()) return;
  if (d.by.kind === 'visitor') {
    typingUntil[d.ticket] = Date.now() + 6000;
    scheduleRender();
    setTimeout(scheduleRender, 6100);
  }
  if (!conv || conv.id !== d.ticket) return;
  var ind = P('typing'), prev = P('typing-preview');
  // only "… is typing" is in the live region (said once, not again on every signal); the preview is not read out
  var who = d.by.kind === 'visitor' ? L.visitorTyping : t('agentTyping', { name: d.by.name || L.agent });
  setText($('typing-text'), who);
  setText($('typing-live'), who);
  ind.hidden = false;
  var text = d.by.kind === 'visitor' && typeof d.text === 'string' ? d.text.trim() : '';
  setText(prev, text);
  prev.hidden = !text;
  clearTimeout(typingTimer);
  typingTimer = setTimeout(hideTyping, 6000);
}
function stopTyping(id) {
  delete typingUntil[id];
  if (conv && conv.id === id) hideTyping();
}
function hideTyping() {
  clearTimeout(typingTimer);
  P('typing').hidden = true;
  $('typing-text').textContent = '';
  $('typing-live').textContent = '';
  P('typing-preview').hidden = true;
  P('typing-preview').textContent = '';
}

reply.addEventListener('input', function () {
  autosize();
  updateCanned();
  if (!conv || noteMode || reply.disabled || !reply.value.trim()) return;
  var n = Date.now();
  if (!X.typingDue(lastTyping, n)) return;
  lastTyping = n;
  api('POST', ticketPath(conv.id, 'typing')).catch(function () { /* harmless */ });
});
function autosize() {
  reply.style.height = 'auto';
  reply.style.height = Math.min(reply.scrollHeight + 2, Math.round(window.innerHeight * 0.4)) + 'px';
}

// ---- reply and notes

function setNoteMode(on) {
  noteMode = !!on;
  noteBtn.setAttribute('aria-pressed', String(noteMode));
  composer.classList.toggle('note', noteMode);
  sendBtn.textContent = noteMode ? L.addNote : L.send;
  $('reply-label').textContent = noteMode ? L.noteLabel : L.reply;
  composerState();
}
noteBtn.addEventListener('click', function () {
  setNoteMode(!noteMode);
  if (conv) drafts[conv.id] = { text: reply.value, note: noteMode };
  if (!reply.disabled) reply.focus();
});

/* The outbox. Send shows the reply (or note) in the pane at once as "sending…" (.ev[data-state=sending], with its
 * clientId) and empties the box; the box is never filled again with it. If it fails it stays there as "not sent"
 * (data-state=failed) with Retry (the same clientId: the server stores a reply once however often it is sent) and
 * Discard. Its stored copy (the POST's answer, the stream or a reload: X.settles) replaces it. Kept per ticket
 * while others are shown (not across reloads). A note has no id: see X.retryable. */
function sendReply() {
  if (!conv || reply.disabled) return;
  var id = conv.id, text = reply.value.trim(), note = noteMode;
  if (!note && trays[id] && X.openMode(conv.summary || {}, meId()) !== 'readonly') trays[id].tray.s();
  if (!text) return;
  if (!note && conv.summary && X.openMode(conv.summary, meId()) !== 'join') return;  // read-only: notes only
  reply.value = '';
  drafts[id] = { text: '', note: note };
  autosize();
  closeCanned();
  convAlert.textContent = '';
  var p = { ticket: id, clientId: clientId(), note: note, text: text, afterSeq: conv.summary ? conv.summary.lastSeq || 0 : 0,
    state: 'sending', status: 0, error: '', el: null };
  (outbox[id] = outbox[id] || []).push(p);
  deliver(p);
}
function deliver(p) {
  p.state = 'sending';
  p.error = '';
  showPending(p);
  var req = p.note ? call('POST', ticketPath(p.ticket, 'notes'), { text: p.text }) :
    call('POST', ticketPath(p.ticket, 'messages'), { id: p.clientId, text: p.text });
  req.then(function (res) {
    if (res.ok) {
      if (conv && conv.id === p.ticket) lastTyping = null;
      dropPending(p);
      applyResult(res.body, p.ticket);
      // a reply the server already had (an earlier try did land) whose copy we do not show: ask for the history
      if (!p.note && res.body && res.body.duplicate && !res.body.event) refreshConversation();
      return;
    }
    var err = errorOf(res);
    failPending(p, res.status, err.code === 'assigned_elsewhere' ? L.assignedElsewhere : err.code === 'ticket_closed' ? L.ticketClosed : err.message);
    if ((err.code === 'assigned_elsewhere' || err.code === 'ticket_closed') && conv && conv.id === p.ticket) refreshConversation();
  }, function () { failPending(p, 0, L.network); });
}
function pendingIndex(p) { return (outbox[p.ticket] || []).indexOf(p); }
function failPending(p, status, message) {
  if (pendingIndex(p) < 0) return;  // its copy came meanwhile (the stream)
  p.state = 'failed';
  p.status = status;
  p.error = message;
  showPending(p);
  if (conv && conv.id === p.ticket) convAlert.textContent = t(p.note ? 'noteFailed' : 'replyFailed', { m: message });
}
function dropPending(p) {
  var list = outbox[p.ticket] || [], i = list.indexOf(p);
  if (i >= 0) list.splice(i, 1);
  if (!list.length) { delete outbox[p.ticket]; delete settledBy[p.ticket]; }
  if (p.el) { p.el.remove(); p.el = null; }
}
/** A stored event of ticket `id`: the pending reply or note it is the copy of goes (the copy shows instead). */
var settledBy = {};  // ticket id → {seq: 1}: stored events that settled a pending item already (an event comes
                    // twice, in the POST answer and from the stream: the second must not settle a twin note)
function settle(id, e) {
  var list = outbox[id], used = settledBy[id] || (settledBy[id] = {});
  if (!list || used[e.seq]) return;
  for (var i = 0; i < list.length; i++) if (X.settles(list[i], e, meId())) { used[e.seq] = 1; dropPending(list[i]); return; }
}
/** Draws a pending reply or note (when its ticket is in view), at the end of the pane. */
function showPending(p) {
  var old = p.el;
  p.el = null;
  if (!conv || conv.id !== p.ticket || !conv.loaded || pendingIndex(p) < 0) { if (old) old.remove(); return; }
  var failed = p.state === 'failed', el = h('div', { class: 'ev out' + (p.note ? ' out-note' : ''), 'data-state': p.state,
    'data-client': p.clientId, 'data-kind': 'agent' });
  var head = h('p', { class: 'ev-head' });
  if (p.note) head.append(h('span', { class: 'ev-label' }, icon('note', 13), L.internalNote));
  head.append(h('span', { class: 'ev-by', text: me.agent.name }), h('span', { class: 'ev-state', text: failed ? L.notSent : L.sending }));
  el.append(head, h('div', { class: 'ev-body', text: p.text }));
  if (failed) {
    var bar = h('div', { class: 'ev-fail' }, h('p', { text: t('notSentWhy', { m: p.error }) }));
    if (X.retryable(p.note, p.status)) {
      if (p.note) bar.append(h('p', { class: 'ev-warn', text: L.noteRetryWarn }));
      var retry = h('button', { type: 'button', class: 'quiet sm', 'data-p': 'retry', text: L.retry });
      retry.addEventListener('click', function () { deliver(p); focusComposer(); });
      bar.append(retry);
    }
    var discard = h('button', { type: 'button', class: 'quiet sm', 'data-p': 'discard', text: L.discard });
    discard.addEventListener('click', function () {
      dropPending(p);
      if (conv && conv.id === p.ticket) convAlert.textContent = '';
      if (!events.querySelector('.ev')) events.append(emptyNote(L.noMessages));
      focusComposer();
    });
    bar.append(discard);
    el.append(bar);
  }
  p.el = el;
  var empty = events.querySelector('[data-empty]');
  if (empty) empty.remove();
  if (old && old.parentNode === events) events.replaceChild(el, old);
  else { events.append(el); events.scrollTop = events.scrollHeight; }
}
function focusComposer() {
  if (conv && !reply.disabled) reply.focus(); else if (conv) $('conv-title').focus();
}

$('reply-form').addEventListener('submit', function (ev) { ev.preventDefault(); sendReply(); });
reply.addEventListener('keydown', function (ev) {
  if (cannedKey(ev)) return;
  if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); sendReply(); }
});

// ---- canned responses: "/" at the start of the reply

var picker = P('canned'), canned = { items: [], index: 0, dismissed: false, open: false };

function updateCanned() {
  var q = X.cannedQuery(reply.value);
  if (q === null) canned.dismissed = false;
  var mine = conv && conv.summary && me ? X.forWidget(me.canned, conv.summary.widget) : [];
  if (q === null || canned.dismissed || !mine.length || reply.disabled) { closeCanned(); return; }
  canned.items = X.canned(mine, conv.summary.widget, q).slice(0, 8);
  canned.index = Math.min(canned.index, Math.max(0, canned.items.length - 1));
  picker.textContent = '';
  if (!canned.items.length) picker.append(h('p', { class: 'c-none', text: t('noCanned', { q: q.trim() }) }));
  canned.items.forEach(function (c, i) {
    var opt = h('div', { role: 'option', id: 'canned-' + i, 'data-shortcut': c.shortcut, 'aria-selected': String(i === canned.index) },
      h('span', { class: 'c-key', text: '/' + c.shortcut }), h('span', { class: 'c-title', text: c.title }),
      h('span', { class: 'c-text', text: c.text }));
    opt.addEventListener('mousedown', function (ev) { ev.preventDefault(); });  // the focus stays in the reply
    opt.addEventListener('click', function () { pickCanned(i); });
    picker.append(opt);
  });
  canned.open = true;
  picker.hidden = false;
  reply.setAttribute('aria-expanded', 'true');
  markCanned();
}
function markCanned() {
  picker.querySelectorAll('[role=option]').forEach(function (o, i) { o.setAttribute('aria-selected', String(i === canned.index)); });
  var cur = $('canned-' + canned.index);
  if (cur) { reply.setAttribute('aria-activedescendant', cur.id); cur.scrollIntoView({ block: 'nearest' }); }
  else reply.removeAttribute('aria-activedescendant');
}
function closeCanned() {
  canned.open = false;
  canned.items = [];
  canned.index = 0;
  picker.hidden = true;
  picker.textContent = '';
  reply.setAttribute('aria-expanded', 'false');
  reply.removeAttribute('aria-activedescendant');
}
function pickCanned(i) {
  var c = canned.items[i];
  if (!c) return;
  reply.value = c.text;
  closeCanned();
  autosize();
  reply.focus();
  reply.setSelectionRange(reply.value.length, reply.value.length);
}
/** Keys of the open picker: arrows move, Enter or Tab inserts, Escape closes. true when the key was used. */
function cannedKey(ev) {
  if (!canned.open) return false;
  var n = canned.items.length;
  if (ev.key === 'Escape') { canned.dismissed = true; closeCanned(); ev.preventDefault(); return true; }
  if (!n) {
    // nothing matches: the first Enter closes the picker (never sends "/xyz" by surprise), a second one sends
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) { canned.dismissed = true; closeCanned(); ev.preventDefault(); return true; }
    return false;
  }
  if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
    if (ev.altKey) return false;
    canned.index = (canned.index + (ev.key === 'ArrowDown' ? 1 : n - 1)) % n;
    markCanned();
    ev.preventDefault();
    return true;
  }
  if ((ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) || ev.key === 'Tab') {
    ev.preventDefault();
    pickCanned(canned.index);
    return true;
  }
  return false;
}
reply.addEventListener('blur', function () { setTimeout(function () { if (document.activeElement !== reply) closeCanned(); }, 150); });

// ---- files: each ticket has its own tray (upload.js), kept while others are shown

$('attach').hidden = !Tus;
function showTray(id) {
  if (!Tus) return;
  var x = trays[id];
  if (!x) {
    var el = document.createElement('div');
    var o = { at: el, S: t, I: T, l: lang, t: function () { return { ticket: id }; }, b: '', f: reply };
    x = trays[id] = { el: el, o: o, tray: Tus.tray(o) };
  }
  slot.textContent = '';
  slot.append(x.el);
}
function loadLimits(id, widget) {
  var apply = function (l) { if (trays[id]) { trays[id].o.max = l.max; trays[id].o.n = l.n; } };
  if (limits[widget]) return apply(limits[widget]);
  api('GET', '/api/widgets/' + encodeURIComponent(widget) + '/config').then(function (res) {
    if (res.ok && res.body) apply(limits[widget] = { max: res.body.maxFileSize, n: res.body.maxFiles });
  }, function () { /* no limits known: the server says */ });
}
function addFiles(files) {
  if (!conv || !trays[conv.id] || !files || !files.length || reply.disabled || noteMode) return;
  trays[conv.id].tray.a(files);
}
$('attach').addEventListener('click', function () { fileInput.click(); });
fileInput.addEventListener('change', function () { addFiles(fileInput.files); fileInput.value = ''; });
$('conv').addEventListener('dragover', function (ev) { ev.preventDefault(); });
$('conv').addEventListener('drop', function (ev) {
  if (ev.dataTransfer && ev.dataTransfer.files.length) { ev.preventDefault(); addFiles(ev.dataTransfer.files); }
});
reply.addEventListener('paste', function (ev) {
  if (ev.clipboardData && ev.clipboardData.files.length) { ev.preventDefault(); addFiles(ev.clipboardData.files); }
});

// ---- take over, end chat (confirmation, then wrap-up), reopen

/** A control whose request is on its way. A button stays focusable (aria-disabled; its clicks are dropped below), so
 *  the focus is not lost to the page; a select or field is disabled, and gets the focus back if it had it. */
function busy(el, on) {
  if (el.tagName === 'BUTTON') {
    setAttr(el, 'aria-disabled', on ? 'true' : null);
    setAttr(el, 'aria-busy', on ? 'true' : null);
    return;
  }
  if (on) {
    el.refocus = document.activeElement === el;
    el.disabled = true;
    el.setAttribute('aria-busy', 'true');
    return;
  }
  el.disabled = false;
  el.removeAttribute('aria-busy');
  if (el.refocus && (!document.activeElement || document.activeElement === document.body) && el.isConnected) el.focus();
  el.refocus = false;
}
document.addEventListener('click', function (ev) {
  var b = ev.target && ev.target.closest && ev.target.closest('button[aria-disabled="true"]');
  if (b) { ev.preventDefault(); ev.stopImmediatePropagation(); }
}, true);

P('takeover').addEventListener('click', function () {
  if (!conv) return;
  var btn = P('takeover'), id = conv.id, gen = convGen;
  busy(btn, true);
  call('POST', ticketPath(id, 'takeover')).then(function (res) {
    busy(btn, false);
    if (res.ok) applyResult(res.body, id);
    if (gen !== convGen) return;  // another chat is shown now: its alerts and focus are not this one's
    if (!res.ok) { convAlert.textContent = t('takeoverFailed', { m: errorOf(res).message }); return; }
    announce(L.tookOver);
    focusComposer();
  }, function () { busy(btn, false); if (gen === convGen) convAlert.textContent = t('takeoverFailed', { m: L.network }); });
});

var confirmDlg = $('confirm'), helpDlg = $('help'), returnFocus = null;

function openDialog(dlg, focus) {
  if (dlg.open) return;
  returnFocus = document.activeElement;
  dlg.showModal();
  if (focus) focus.focus();
}
function closeDialogs() {
  [confirmDlg, helpDlg].forEach(function (d) { if (d.open) d.close(); });
}
[confirmDlg, helpDlg].forEach(function (d) {
  d.addEventListener('close', function () {
    var back = returnFocus;
    returnFocus = null;
    if (back && back.isConnected && !back.disabled && !back.closest('[hidden]')) back.focus();
    else if (conv) $('conv-title').focus();
  });
});

function endChat() {
  if (!conv || !conv.summary || X.openMode(conv.summary, meId()) !== 'join') return;  // closed, or someone else's
  confirmDlg.setAttribute('data-ticket', conv.id);
  P('confirm-yes').disabled = false;
  openDialog(confirmDlg, P('confirm-no'));
}
P('end').addEventListener('click', endChat);
P('close').addEventListener('click', endChat);
P('confirm-no').addEventListener('click', function () { confirmDlg.close(); });
P('confirm-yes').addEventListener('click', function () {
  var id = confirmDlg.getAttribute('data-ticket'), btn = P('confirm-yes'), gen = convGen;
  // and still mine to end: taken over (or closed) while the dialog was open, it is not
  if (!conv || conv.id !== id || !conv.summary || X.openMode(conv.summary, meId()) !== 'join') { confirmDlg.close(); return; }
  busy(btn, true);
  // the dialog is this ticket's as long as it is open for it
  var closeDialog = function () { if (confirmDlg.open && confirmDlg.getAttribute('data-ticket') === id) confirmDlg.close(); };
  call('POST', ticketPath(id, 'close')).then(function (res) {
    busy(btn, false);
    if (!res.ok && errorOf(res).code !== 'ticket_closed') {
      closeDialog();
      if (gen === convGen) convAlert.textContent = t('closeFailed', { m: errorOf(res).message });
      return;
    }
    wrapupFor[id] = wrapupFor[id] || { disposition: '', notes: '' };
    if (gen === convGen) returnFocus = null;
    closeDialog();
    if (res.ok) applyResult(res.body, id);
    if (gen !== convGen) return;  // its wrap-up shows when it is opened again
    if (!res.ok) refreshConversation();
    showWrapup(true);
    announce(L.chatEnded);
  }, function () {
    busy(btn, false);
    closeDialog();
    if (gen === convGen) convAlert.textContent = t('closeFailed', { m: L.network });
  });
});

function showWrapup(focus) {
  if (!conv) return;
  var list = X.forWidget(me.dispositions, conv.summary ? conv.summary.widget : ''), field = $('disposition-field');
  field.textContent = '';
  field.hidden = !list.length;
  if (list.length) {
    var sel = h('select', { id: 'disposition', 'data-p': 'disposition' }, h('option', { value: '', text: L.chooseDisposition }));
    list.forEach(function (d) { sel.append(h('option', { value: d.code, text: d.label })); });
    field.append(h('label', { for: 'disposition', text: L.disposition }), sel);
  }
  var kept = wrapupFor[conv.id] || {};  // what was typed before another chat was shown
  if (list.length && kept.disposition) P('disposition').value = kept.disposition;
  $('wrapup-intro').textContent = list.length ? L.wrapupIntro : L.wrapupIntroNotes;
  $('wrapup-notes').value = kept.notes || '';
  $('wrapup-alert').textContent = '';
  $('wrapup').hidden = false;
  composer.hidden = true;
  $('closed-bar').hidden = true;
  P('visitor-left').hidden = true;
  if (focus) (P('disposition') || $('wrapup-notes')).focus();
}

$('wrapup').addEventListener('submit', function (ev) {
  ev.preventDefault();
  if (!conv) return;
  var id = conv.id, gen = convGen, sel = P('disposition'), btn = P('wrapup-done');
  if (btn.getAttribute('aria-busy') === 'true') return;
  var body = X.wrapup(sel ? sel.value : '', $('wrapup-notes').value);
  var finish = function () {
    delete wrapupFor[id];
    if (gen !== convGen) return;
    $('wrapup').hidden = true;
    convChanged();
    if (body) announce(L.wrapupSaved);
    $('conv-title').focus();
  };
  if (!body) { finish(); return; }
  busy(btn, true);
  $('wrapup-alert').textContent = '';
  call('POST', ticketPath(id, 'wrapup'), body).then(function (res) {
    busy(btn, false);
    if (!res.ok) {
      var err = errorOf(res), f = err.fields || {};
      if (gen === convGen) $('wrapup-alert').textContent = t('wrapupFailed', { m: f.disposition || f.notes || err.message });
      return;
    }
    applyResult(res.body, id);
    finish();
  }, function () { busy(btn, false); if (gen === convGen) $('wrapup-alert').textContent = t('wrapupFailed', { m: L.network }); });
});

P('reopen').addEventListener('click', function () {
  if (!conv) return;
  var id = conv.id, gen = convGen, btn = P('reopen');
  busy(btn, true);
  call('POST', ticketPath(id, 'reopen')).then(function (res) {
    busy(btn, false);
    if (!res.ok && errorOf(res).code !== 'ticket_open') {
      if (gen === convGen) convAlert.textContent = t('reopenFailed', { m: errorOf(res).message });
      return;
    }
    delete wrapupFor[id];
    if (res.ok) applyResult(res.body, id);
    if (gen !== convGen) return;
    $('wrapup').hidden = true;
    convChanged();
    if (conv.summary && X.openMode(conv.summary, meId()) === 'join') {
      joinTicket(id, gen).then(function () { if (gen === convGen && !reply.disabled) reply.focus(); });
    }
  }, function () { busy(btn, false); if (gen === convGen) convAlert.textContent = t('reopenFailed', { m: L.network }); });
});

// ---- the ticket panel

var panelAlert = $('panel-alert');

function renderPanel() {
  if (!conv || !conv.summary) return;
  var s = conv.summary, F = function (k) { return document.querySelector('#panel [data-f="' + k + '"]'); };
  paintAvatar($('panel-avatar'), s);
  $('panel-name').textContent = displayName(s);
  $('panel-email').textContent = s.visitorEmail ? s.visitorEmail + (s.emailVerified ? ' ✓ ' + L.verified : '') : L.noEmail;
  $('panel-device').textContent = [L[s.device === 'mobile' ? 'mobile' : 'desktop'], s.language, s.visitorLeft ? L.visitorLeftShort : null]
    .filter(Boolean).join(' · ');
  F('id').textContent = s.id;
  F('created').textContent = '';
  F('created').append(timeEl(s.createdAt, true));
  var last = F('last');
  last.textContent = '';
  if (s.lastMessageAt) last.append(timeEl(s.lastMessageAt, true), ' · ' + t('by', { name: senderName(s.lastMessageBy) }));
  else last.textContent = '—';
  // someone else's chat (read-only): its status, priority, assignee, tags and closing are theirs (take it over first)
  var ro = X.openMode(s, meId()) === 'readonly';
  ['status', 'priority', 'assign', 'tag-input', 'skip-autoreply'].forEach(function (k) {
    var el = P(k);
    if (el.getAttribute('aria-busy') !== 'true' && el.disabled !== ro) el.disabled = ro;
  });
  $('panel').classList.toggle('readonly', ro);
  setIfIdle(P('status'), s.status);
  setIfIdle(P('priority'), s.priority || 'normal');
  F('widget').textContent = (widgets[s.widget] || {}).name || s.widget;
  fillAssign(s);
  F('team').textContent = s.team || '—';
  // tags (redrawn only when they change: a chip's button may have the focus)
  var chips = $('chips'), tagKey = (s.tags || []).join('\n');
  if (chips.getAttribute('data-key') !== tagKey || !chips.hasAttribute('data-key')) drawChips(chips, s.tags || [], tagKey);
  chips.querySelectorAll('[data-p=tag-remove]').forEach(function (b) { b.disabled = ro; });
  // quick actions
  P('close').disabled = s.status === 'closed' || ro;
  var contact = P('contact'), why = $('contact-why');
  // no email: disabled (with the reason); once added: aria-disabled, so that the focus stays on it after the click
  contact.disabled = !s.visitorEmail;
  if (contact.getAttribute('aria-busy') !== 'true') setAttr(contact, 'aria-disabled', conv.contact === true ? 'true' : null);
  contact.textContent = conv.contact ? L.inContacts : L.addContact;
  why.textContent = !s.visitorEmail ? L.noEmailReason : '';
  P('skip-autoreply').setAttribute('aria-pressed', String(!!s.skipNextAutoReply));
  // previous tickets
  var prev = F('previous');
  if (prev.getAttribute('data-for') !== conv.id + '|' + conv.previous.length) {
    prev.setAttribute('data-for', conv.id + '|' + conv.previous.length);
    prev.textContent = '';
    conv.previous.forEach(function (p) { prev.append(previousItem(p)); });
  }
  $('previous-none').hidden = conv.previous.length > 0 || !conv.loaded;
}

function setIfIdle(select, value) { if (document.activeElement !== select) select.value = value; }

function drawChips(chips, tags, key) {
  var had = chips.contains(document.activeElement);
  chips.setAttribute('data-key', key);
  chips.textContent = '';
  tags.forEach(function (tag) {
    var rm = h('button', { type: 'button', 'data-p': 'tag-remove', 'aria-label': t('removeTag', { tag: tag }), text: '×' });
    rm.addEventListener('click', function () { changeTags(null, tag, rm); });
    chips.append(h('li', { 'data-p': 'tag', 'data-tag': tag }, h('span', { text: tag }), rm));
  });
  if (had) $('tag-input').focus();
}

function previousItem(p) {
  var b = h('button', { type: 'button' }, h('span', { text: dateTime(p.createdAt, true) }),
    h('span', { class: 'p-status', text: L[p.status === 'closed' ? 'stClosed' : p.status === 'pending' ? 'stPending' : 'stOpen'] }),
    h('span', { class: 'p-prev', text: p.subject || p.lastMessagePreview || L.noMessage }));
  b.addEventListener('click', function () { openConversation(p.id, { focus: 'title' }); });
  return h('li', { 'data-ticket': p.id }, b);
}

function fillAssign(s) {
  var sel = P('assign'), list = [], seen = {};
  if (document.activeElement === sel) return;  // not under the agent's hands; drawn again on the next change
  sel.textContent = '';
  sel.append(h('option', { value: '', text: L.unassigned }));
  (agents || []).forEach(function (a) {
    var can = (a.widgets || []).indexOf('*') >= 0 || (a.widgets || []).indexOf(s.widget) >= 0;
    if (can || a.id === s.assignee) list.push(a);
  });
  if (!agents) list.push({ id: meId(), name: me.agent.name, online: true });
  if (s.assignee && !list.some(function (a) { return a.id === s.assignee; })) list.push({ id: s.assignee, name: s.assigneeName || s.assignee });
  list.forEach(function (a) {
    if (seen[a.id]) return;
    seen[a.id] = 1;
    var label = a.id === meId() ? t('youName', { name: a.name }) : a.name;
    if (a.online != null) label += ' · ' + (a.online || a.id === meId() ? L.online : L.away);
    sel.append(h('option', { value: a.id, text: label }));
  });
  sel.value = s.assignee || '';
}

/** A panel change on the open ticket. Its answer, when another ticket is shown by then, only updates the data
 *  (no alert, no revert, no focus there): null then, as after a failure. */
function panelAction(action, body, control, revert) {
  if (!conv) return Promise.resolve(null);
  var id = conv.id, gen = convGen;
  panelAlert.textContent = '';
  busy(control, true);
  // Redraw whatever ticket is shown now: the control was left alone while busy, and the ticket in view (maybe
  // another one, maybe read-only) decides whether it is enabled.
  var after = function () { if (conv) renderPanel(); };
  return call('POST', ticketPath(id, action), body).then(function (res) {
    busy(control, false);
    if (!res.ok) {
      if (gen === convGen) { if (revert) revert(); panelAlert.textContent = t('changeFailed', { m: errorOf(res).message }); }
      after();
      return null;
    }
    applyResult(res.body, id);
    after();
    return gen === convGen ? res : null;
  }, function () {
    busy(control, false);
    if (gen === convGen) { if (revert) revert(); panelAlert.textContent = t('changeFailed', { m: L.network }); }
    after();
    return null;
  });
}

P('status').addEventListener('change', function () {
  var sel = P('status'), s = conv && conv.summary, want = sel.value;
  if (!s) return;
  if (want === 'closed') { sel.value = s.status; endChat(); return; }
  if (s.status === 'closed') { sel.value = s.status; P('reopen').click(); return; }
  panelAction('status', { status: want }, sel, function () { sel.value = conv.summary.status; });
});
P('priority').addEventListener('change', function () {
  var sel = P('priority');
  panelAction('priority', { priority: sel.value }, sel, function () { sel.value = conv.summary.priority || 'normal'; });
});
P('assign').addEventListener('focus', function () { if (Date.now() - agentsAt > 15000) loadAgents(); });
P('assign').addEventListener('change', function () {
  var sel = P('assign');
  panelAction('assign', sel.value ? { agent: sel.value } : {}, sel, function () { sel.value = conv.summary.assignee || ''; });
});

function changeTags(add, remove, control) {
  var body = add ? { add: [add] } : { remove: [remove] };
  return panelAction('tags', body, control).then(function (res) {
    if (res && !add) $('tag-input').focus();  // the chip (and its button) went away
    if (res) announce(t(add ? 'tagAdded' : 'tagRemoved', { tag: add || remove }));
    return res;
  });
}
$('tag-input').addEventListener('keydown', function (ev) {
  if (ev.key !== 'Enter' || ev.isComposing) return;
  ev.preventDefault();
  var input = $('tag-input'), tag = input.value.trim();
  if (!tag || !conv) return;
  if ((conv.summary.tags || []).indexOf(tag) >= 0) { input.value = ''; return; }
  changeTags(tag, null, input).then(function (res) { if (res) { input.value = ''; input.focus(); } });
});

P('contact').addEventListener('click', function () {
  if (!conv) return;
  var id = conv.id, btn = P('contact'), gen = convGen;
  panelAlert.textContent = '';
  busy(btn, true);
  call('POST', '/api/agent/contacts', { ticket: id }).then(function (res) {
    busy(btn, false);
    if (gen !== convGen) return;
    if (res.ok) conv.contact = true;
    if (!res.ok) {
      var err = errorOf(res);
      panelAlert.textContent = t('changeFailed', { m: err.code === 'no_email' ? L.noEmailReason : err.message });
      return;
    }
    conv.contact = true;
    renderPanel();
    announce(L.addedToContacts);
  }, function () { busy(btn, false); if (gen === convGen) panelAlert.textContent = t('changeFailed', { m: L.network }); });
});
P('skip-autoreply').addEventListener('click', function () {
  if (!conv || !conv.summary) return;
  var btn = P('skip-autoreply');
  panelAction('autoreply', { skip: !conv.summary.skipNextAutoReply }, btn);
});

// the panel as a drawer on medium screens
P('details').addEventListener('click', function () {
  var open = !app.classList.contains('panel-open');
  app.classList.toggle('panel-open', open);
  P('details').setAttribute('aria-expanded', String(open));
  if (open) $('panel-close').focus();
});
$('panel-close').addEventListener('click', function () {
  app.classList.remove('panel-open');
  P('details').setAttribute('aria-expanded', 'false');
  P('details').focus();
});

// ---- keyboard

var KEYS = [
  [[['j'], ['Alt', '↓']], 'kNext'], [[['k'], ['Alt', '↑']], 'kPrev'], [[['r']], 'kReply'], [[['e']], 'kEnd'],
  [[['/']], 'kSearch'], [[['?']], 'kHelp'], [[['Esc']], 'kEscape'], [[['Enter']], 'kSend'], [[['Shift', 'Enter']], 'kNewline'],
  [[['/']], 'kCanned'], [[['↑'], ['↓']], 'kCannedMove']
];
(function fillHelp() {
  var dl = $('keys');
  KEYS.forEach(function (k) {
    var dt = h('dt');
    k[0].forEach(function (combo, i) {
      if (i) dt.append(' ' + L.or + ' ');
      combo.forEach(function (key, j) { if (j) dt.append('+'); dt.append(h('kbd', { text: key })); });
    });
    dl.append(dt, h('dd', { text: L[k[1]] }));
  });
})();
P('help').addEventListener('click', function () { openDialog(helpDlg, $('help-close')); });
$('help-close').addEventListener('click', function () { helpDlg.close(); });

function move(d, fromTyping) {
  var id = X.stepFrom(jk, order, conv ? conv.id : null, d);
  if (!id) return;
  openConversation(id, { focus: fromTyping ? 'reply' : 'row' });
  if (rows[id]) rows[id].li.scrollIntoView({ block: 'nearest' });
}

document.addEventListener('keydown', function (ev) {
  if (!me || ev.defaultPrevented || confirmDlg.open || helpDlg.open) return;  // a dialog handles its keys (Escape closes it)
  var tg = ev.target, typing = !!tg && (tg.tagName === 'SELECT' ? 'select' : tg.isContentEditable || /^(INPUT|TEXTAREA)$/.test(tg.tagName));
  if (ev.key === 'Escape') {
    if (app.classList.contains('panel-open')) { $('panel-close').click(); return; }
    if (conv && composer.contains(tg)) { var r = rows[conv.id]; (r ? r.btn : $('conv-title')).focus(); }
    return;
  }
  var action = X.shortcut(ev, typing);
  if (!action) return;
  ev.preventDefault();
  if (action === 'next' || action === 'prev') move(action === 'next' ? 1 : -1, typing && tg === reply);
  else if (action === 'reply') { if (conv && !reply.disabled) reply.focus(); }
  else if (action === 'end') endChat();
  else if (action === 'help') openDialog(helpDlg, $('help-close'));
  else if (action === 'search') fSearch.focus();
});

// ---- start

api('GET', '/api/agent/me').then(function (res) {
  if (res.ok) showInbox(res.body); else showSignIn('');
}, function () { showSignIn(L.network); });
})();
