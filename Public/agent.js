/* Parley inbox placeholder: sign in/out and a live list of open tickets. Data is shown with
   textContent only, never as HTML. Texts in T below. */
(function () {
'use strict';

var T = {
  en: {
    pageTitle: 'Parley · Inbox',
    loading: 'Loading…',
    signInTitle: 'Sign in to the inbox',
    email: 'Email',
    password: 'Password',
    signIn: 'Sign in',
    signingIn: 'Signing in…',
    signOut: 'Sign out',
    signedInAs: 'Signed in as {name}',
    required: 'This field cannot be empty.',
    emailInvalid: 'Enter a valid email address, like name@example.com.',
    badCredentials: 'Wrong email or password.',
    disabled: 'This account is disabled. Ask your admin.',
    rateLimited: 'Too many sign-in attempts. Try again in {s} seconds.',
    network: 'The server could not be reached. Check your connection and try again.',
    server: 'Something went wrong: {m}',
    sessionEnded: 'Your session has ended. Please sign in again.',
    openTickets: 'Open tickets',
    noTickets: 'No open tickets.',
    visitor: 'Visitor',
    unread: '{n} unread',
    noMessage: '(no message yet)',
    newChat: 'New chat from {name}',
    listFailed: 'The ticket list could not be loaded: {m}'
  },
  fr: {
    pageTitle: 'Parley · Boîte de réception',
    loading: 'Chargement…',
    signInTitle: 'Connexion à la boîte de réception',
    email: 'E-mail',
    password: 'Mot de passe',
    signIn: 'Se connecter',
    signingIn: 'Connexion…',
    signOut: 'Se déconnecter',
    signedInAs: 'Connecté en tant que {name}',
    required: 'Ce champ ne peut pas être vide.',
    emailInvalid: 'Saisissez une adresse e-mail valide, par exemple nom@exemple.fr.',
    badCredentials: 'E-mail ou mot de passe incorrect.',
    disabled: 'Ce compte est désactivé. Adressez-vous à votre administrateur.',
    rateLimited: 'Trop de tentatives de connexion. Réessayez dans {s} secondes.',
    network: 'Impossible de joindre le serveur. Vérifiez votre connexion et réessayez.',
    server: 'Une erreur est survenue : {m}',
    sessionEnded: 'Votre session a pris fin. Veuillez vous reconnecter.',
    openTickets: 'Tickets ouverts',
    noTickets: 'Aucun ticket ouvert.',
    visitor: 'Visiteur',
    unread: '{n} non lu(s)',
    noMessage: '(pas encore de message)',
    newChat: 'Nouvelle conversation avec {name}',
    listFailed: 'Impossible de charger la liste des tickets : {m}'
  }
};
var lang = /^fr\b/i.test(navigator.language || '') ? 'fr' : 'en';
var L = T[lang];
function t(key, vars) {
  return L[key].replace(/\{(\w+)\}/g, function (_, k) { return vars && k in vars ? String(vars[k]) : ''; });
}

var $ = function (id) { return document.getElementById(id); };
var form = $('signin'), signinAlert = $('signin-alert'), submit = $('signin-submit');
var list = $('tickets'), inboxAlert = $('inbox-alert');

document.documentElement.lang = lang;
document.title = L.pageTitle;
document.querySelectorAll('[data-t]').forEach(function (el) { el.textContent = L[el.getAttribute('data-t')]; });

// State of the signed-in view.
var me = null;           // {agent, widgets}
var widgetNames = {};    // widget id → name
var tickets = {};        // ticket id → summary (open ones only)
var stream = null;       // EventSource on /api/agent/live
var session = 0;         // bumped on every sign-in and sign-out: late answers of an older one are dropped
var inflight = 0;        // list reloads on their way…
var recent = [];         // …and the stream updates that arrived meanwhile (applied after them)

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
function errorOf(res) { return (res.body && res.body.error) || { message: 'HTTP ' + res.status }; }

// ---- views

function showSignIn(message) {
  closeStream();
  session++;
  me = null; tickets = {}; recent = []; inflight = 0;
  list.textContent = '';
  $('loading').hidden = true;
  $('inbox').hidden = true;
  $('who').hidden = true;
  form.hidden = false;
  $('password').value = '';
  signinAlert.textContent = message || '';
  $('email').focus();
}

function showInbox(data) {
  session++;
  me = data; tickets = {}; recent = []; inflight = 0;
  widgetNames = {};
  (data.widgets || []).forEach(function (w) { widgetNames[w.id] = w.name; });
  $('loading').hidden = true;
  form.hidden = true;
  $('whoami').textContent = t('signedInAs', { name: data.agent.name });
  $('who').hidden = false;
  $('inbox').hidden = false;
  inboxAlert.textContent = '';
  render();
  openStream();
  reload();
}

// ---- sign in / out

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
        if (m.ok) showInbox(m.body); else signinAlert.textContent = t('server', { m: errorOf(m).message });
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
  api('POST', '/api/agent/logout').catch(function () {}).then(function () { showSignIn(''); });
});

// ---- ticket list

function upsert(summary) {
  var old = tickets[summary.id];
  if (old && old.lastSeq > summary.lastSeq) return;  // an older copy than the one we show
  if (summary.status === 'open') tickets[summary.id] = summary; else delete tickets[summary.id];
}

function reload() {
  if (!me) return;
  var gen = session, from = recent.length;
  inflight++;
  function done() {
    inflight--;
    var mine = recent.slice(from);
    if (inflight === 0) recent = [];
    return mine;
  }
  api('GET', '/api/agent/tickets?status=open').then(function (res) {
    if (gen !== session) return;  // signed out (or in again) meanwhile
    var mine = done();
    if (res.status === 401) return showSignIn(L.sessionEnded);
    if (!res.ok) { inboxAlert.textContent = t('listFailed', { m: errorOf(res).message }); return; }
    inboxAlert.textContent = '';
    var old = tickets;
    tickets = {};
    (res.body.tickets || []).forEach(function (s) { tickets[s.id] = s; });
    Object.keys(old).forEach(function (id) {
      if (tickets[id] && old[id].lastSeq > tickets[id].lastSeq) tickets[id] = old[id];
    });
    // What the stream brought while this request was on its way may be newer than its answer.
    mine.forEach(upsert);
    render();
  }, function () {
    if (gen !== session) return;
    done();
    inboxAlert.textContent = L.network;
  });
}

function displayName(s) { return s.visitorName || s.visitorEmail || L.visitor; }

function render() {
  var rows = Object.keys(tickets).map(function (id) { return tickets[id]; });
  rows.sort(function (a, b) {
    var x = a.lastMessageAt || a.createdAt, y = b.lastMessageAt || b.createdAt;
    return x < y ? 1 : x > y ? -1 : 0;
  });
  var frag = document.createDocumentFragment();
  rows.forEach(function (s) {
    var li = document.createElement('li');
    li.setAttribute('data-ticket', s.id);
    var name = document.createElement('span');
    name.className = 't-name';
    name.textContent = displayName(s);
    var widget = document.createElement('span');
    widget.className = 't-widget';
    widget.textContent = widgetNames[s.widget] || s.widget;
    var preview = document.createElement('span');
    preview.className = 't-preview';
    preview.textContent = s.lastMessagePreview || L.noMessage;
    var unread = document.createElement('span');
    unread.className = 't-unread';
    unread.textContent = s.unreadByAgent > 0 ? t('unread', { n: s.unreadByAgent }) : '';
    li.append(name, widget, preview, unread);
    frag.append(li);
  });
  list.textContent = '';
  list.append(frag);
  $('empty').hidden = rows.length > 0;
}

// ---- live stream

function openStream() {
  closeStream();
  var es = stream = new EventSource('/api/agent/live');
  es.addEventListener('hello', reload);
  es.addEventListener('reset', reload);
  es.onmessage = function (ev) {
    var data;
    try { data = JSON.parse(ev.data); } catch (e) { return; }
    var s = data && data.ticket;
    if (!s || !s.id) return;
    if (inflight) recent.push(s);
    if (!tickets[s.id] && s.status === 'open') $('announce').textContent = t('newChat', { name: displayName(s) });
    upsert(s);
    render();
  };
  es.onerror = function () {
    if (es !== stream || es.readyState !== EventSource.CLOSED) return;  // the browser reconnects itself
    // Closed for good (for example a 401): find out whether we are still signed in.
    stream = null;
    api('GET', '/api/agent/me').then(function (res) {
      if (res.status === 401) showSignIn(L.sessionEnded);
      else if (me) setTimeout(function () { if (me && !stream) openStream(); }, 3000);
    }, function () {
      if (me) setTimeout(function () { if (me && !stream) openStream(); }, 3000);
    });
  };
}
function closeStream() {
  if (stream) { stream.close(); stream = null; }
}

// ---- start

api('GET', '/api/agent/me').then(function (res) {
  if (res.ok) showInbox(res.body); else showSignIn('');
}, function () { showSignIn(L.network); });
})();
