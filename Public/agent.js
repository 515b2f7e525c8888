/* Parley inbox placeholder: sign in/out, a live list of open tickets, and one conversation at a time
   (its messages and files, a reply box, files sent with upload.js's tray). Data is shown with
   textContent only, never as HTML. Texts in T below (upload.js adds its own keys to it). */
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
    listFailed: 'The ticket list could not be loaded: {m}',
    closeConversation: 'Close',
    loadingConversation: 'Loading the conversation…',
    conversationFailed: 'The conversation could not be loaded: {m}',
    noMessages: 'No messages yet.',
    agent: 'Agent',
    bot: 'Bot',
    download: 'Download {name}',
    attach: 'Attach files',
    reply: 'Reply',
    send: 'Send',
    replyHint: 'Enter sends; Shift+Enter starts a new line.',
    replyFailed: 'The reply could not be sent: {m}'
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
    listFailed: 'Impossible de charger la liste des tickets : {m}',
    closeConversation: 'Fermer',
    loadingConversation: 'Chargement de la conversation…',
    conversationFailed: 'Impossible de charger la conversation : {m}',
    noMessages: 'Pas encore de message.',
    agent: 'Conseiller',
    bot: 'Robot',
    download: 'Télécharger {name}',
    attach: 'Joindre des fichiers',
    reply: 'Répondre',
    send: 'Envoyer',
    replyHint: 'Entrée envoie ; Maj+Entrée passe à la ligne.',
    replyFailed: 'La réponse n’a pas pu être envoyée : {m}'
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
document.querySelectorAll('[data-t-label]').forEach(function (el) { el.setAttribute('aria-label', L[el.getAttribute('data-t-label')]); });

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
  closeConversation();
  trays = {};  // their uploads finish or fail on their own
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
  closeConversation();
  trays = {};
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
  var focused = document.activeElement && document.activeElement.closest && document.activeElement.closest('li[data-ticket]');
  focused = focused && focused.getAttribute('data-ticket');
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
    var open = document.createElement('button');
    open.type = 'button';
    open.className = 't-open';
    if (conv && conv.id === s.id) open.setAttribute('aria-current', 'true');
    open.append(name, widget, preview, unread);
    li.append(open);
    frag.append(li);
  });
  list.textContent = '';
  list.append(frag);
  $('empty').hidden = rows.length > 0;
  // the list is redrawn on every update: the focus stays on its ticket
  var again = focused && list.querySelector('li[data-ticket="' + CSS.escape(focused) + '"] button');
  if (again) again.focus();
}

list.addEventListener('click', function (ev) {
  var li = ev.target.closest('li[data-ticket]');
  if (li) openConversation(li.getAttribute('data-ticket'));
});

// ---- live stream

function openStream() {
  closeStream();
  var es = stream = new EventSource('/api/agent/live');
  // hello: a new stream (nothing to resume); reset: a resume the server could not serve
  es.addEventListener('hello', function () { reload(); refreshConversation(); });
  es.addEventListener('reset', function () { reload(); refreshConversation(); });
  es.onmessage = function (ev) {
    var data;
    try { data = JSON.parse(ev.data); } catch (e) { return; }
    var s = data && data.ticket;
    if (!s || !s.id) return;
    if (data.event) conversationEvent(s, data.event);
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

// ---- one conversation: its messages and files, a reply box, uploads (upload.js)

var conv = null;          // {id, summary, seen: {seq: 1}, loaded, early: [events that came before the load]}
var trays = {};           // ticket id → {el, tray, o}: uploads go on while another ticket is shown
var limits = {};          // widget id → {max, n} from its public config (the server checks them anyway)
var convGen = 0;
var events = $('events'), reply = $('reply'), convAlert = $('conv-alert'), slot = $('tray-slot'), fileInput = $('file');
var DOWNLOAD_ICON = 'M12 4v11m-5-5l5 5 5-5M5 20h14';

function clientId() { return Date.now().toString(36) + Math.random().toString(36).slice(2, 10); }

function openConversation(id) {
  var gen = ++convGen;
  var summary = tickets[id];
  conv = { id: id, summary: summary, seen: {}, loaded: false, early: [] };
  $('conv').hidden = false;
  $('panes').classList.add('open');
  $('conv-title').textContent = summary ? displayName(summary) : L.loadingConversation;
  $('conv-meta').textContent = '';
  convAlert.textContent = '';
  events.textContent = '';
  events.setAttribute('aria-busy', 'true');
  showTray(id);
  render();
  $('conv-title').focus();
  api('GET', '/api/agent/tickets/' + encodeURIComponent(id)).then(function (res) {
    if (gen !== convGen) return;  // another ticket was opened meanwhile
    if (res.status === 401) return showSignIn(L.sessionEnded);
    events.removeAttribute('aria-busy');
    if (!res.ok) { convAlert.textContent = t('conversationFailed', { m: errorOf(res).message }); return; }
    var s = conv.summary = res.body.ticket;
    conv.loaded = true;
    $('conv-title').textContent = displayName(s);
    $('conv-meta').textContent = [widgetNames[s.widget] || s.widget, s.visitorEmail, s.subject].filter(Boolean).join(' · ');
    (res.body.events || []).concat(conv.early).forEach(addEvent);
    conv.early = [];
    if (!events.firstChild) events.append(note(L.noMessages));
    events.scrollTop = events.scrollHeight;
    loadLimits(id, s.widget);
  }, function () {
    if (gen !== convGen) return;
    events.removeAttribute('aria-busy');
    convAlert.textContent = L.network;
  });
}

// What the stream may have missed (a new stream after a break): the open ticket's events again.
function refreshConversation() {
  if (!conv || !conv.loaded) return;
  var gen = convGen, id = conv.id;
  api('GET', '/api/agent/tickets/' + encodeURIComponent(id)).then(function (res) {
    if (gen === convGen && res.ok && res.body) (res.body.events || []).forEach(addEvent);
  }, function () { /* the next update or reload will do */ });
}

function closeConversation() {
  convGen++;
  conv = null;
  $('conv').hidden = true;
  $('panes').classList.remove('open');
  slot.textContent = '';
  events.textContent = '';
}

$('conv-close').addEventListener('click', function () {
  var id = conv && conv.id;
  closeConversation();
  render();
  var row = id && list.querySelector('li[data-ticket="' + CSS.escape(id) + '"] button');
  (row || $('inbox-title')).focus();
});

// Each ticket has its own tray, kept while others are shown. Without upload.js: no attach button.
var Tus = window.ParleyTus;
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

function conversationEvent(summary, e) {
  if (!conv || summary.id !== conv.id) return;
  if (!conv.loaded) { conv.early.push(e); return; }
  addEvent(e);
}

function note(text) {
  var p = document.createElement('p');
  p.className = 'muted';
  p.setAttribute('data-empty', '');
  p.textContent = text;
  return p;
}

function when(at) {
  var d = new Date(at);
  if (isNaN(d)) return '';
  var today = new Date().toDateString() === d.toDateString();
  return d.toLocaleString(lang, today ? { hour: '2-digit', minute: '2-digit' } :
    { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
}

function sizeText(n) { return Tus ? Tus.size(n, t, lang) : n + ' B'; }

function addEvent(e) {
  if (!conv || !e || conv.seen[e.seq]) return;
  conv.seen[e.seq] = 1;
  if (e.type !== 'message' && e.type !== 'attachment') return;
  var by = e.by || {};
  var nearEnd = events.scrollHeight - events.scrollTop - events.clientHeight < 60;
  var item = document.createElement('div');
  item.className = 'ev ' + by.kind;
  item.setAttribute('data-seq', e.seq);
  item.setAttribute('data-kind', by.kind);
  var head = document.createElement('p');
  head.className = 'ev-head';
  var who = document.createElement('span');
  who.className = 'ev-by';
  var s = tickets[conv.id] || conv.summary;
  who.textContent = by.kind === 'visitor' ? by.name || (s && displayName(s)) || L.visitor :
    by.name || (by.kind === 'bot' ? L.bot : L.agent);
  var time = document.createElement('time');
  time.dateTime = e.at || '';
  time.textContent = when(e.at);
  head.append(who, time);
  var body = document.createElement('div');
  body.className = 'ev-body';
  if (e.text) body.append(e.text);
  var a = e.attachment;
  if (a) {
    var link = document.createElement('a');
    link.className = 'ev-file';
    link.href = '/api/attachments/' + encodeURIComponent(a.id);
    link.download = a.name;
    link.setAttribute('data-attachment', a.id);
    link.setAttribute('aria-label', t('download', { name: a.name }) + ' (' + sizeText(a.size) + ')');
    link.innerHTML = '<svg width="18" height="18" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2.2" ' +
      'stroke-linecap="round" aria-hidden="true"><path d="' + DOWNLOAD_ICON + '"/></svg>';  // a constant, no data
    var name = document.createElement('span');
    name.textContent = a.name;
    var size = document.createElement('span');
    size.className = 'ev-size';
    size.textContent = sizeText(a.size);
    link.append(name, size);
    body.append(link);
    if (/^image\/(png|jpeg|gif|webp)$/.test(a.type)) {
      var img = document.createElement('img');
      img.className = 'ev-preview';
      img.alt = '';
      img.loading = 'lazy';
      img.src = link.href + '?inline=1';
      img.onerror = function () { img.remove(); };
      body.append(img);
    }
  }
  item.append(head, body);
  var empty = events.querySelector('[data-empty]');
  if (empty) empty.remove();
  // in seq order (the stream and the reply's answer may come in either order)
  var after = null;
  for (var c = events.lastElementChild; c && +c.getAttribute('data-seq') > e.seq; c = c.previousElementSibling) after = c;
  events.insertBefore(item, after);
  if (nearEnd || by.kind === 'agent') events.scrollTop = events.scrollHeight;
}

function sendReply() {
  if (!conv) return;
  var x = trays[conv.id];
  if (x) x.tray.s();
  var text = reply.value.trim();
  if (!text) return;
  var id = conv.id, gen = convGen, body = { id: clientId(), text: text };
  reply.value = '';
  convAlert.textContent = '';
  api('POST', '/api/agent/tickets/' + encodeURIComponent(id) + '/messages', body).then(function (res) {
    if (res.status === 401) return showSignIn(L.sessionEnded);
    if (gen !== convGen) return;
    if (res.ok && res.body && res.body.event) return addEvent(res.body.event);
    convAlert.textContent = t('replyFailed', { m: errorOf(res).message });
    if (!reply.value) reply.value = text;
  }, function () {
    if (gen !== convGen) return;
    convAlert.textContent = t('replyFailed', { m: L.network });
    if (!reply.value) reply.value = text;
  });
}

$('reply-form').addEventListener('submit', function (ev) { ev.preventDefault(); sendReply(); });
reply.addEventListener('keydown', function (ev) {
  if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); sendReply(); }
});

// Files: the attach button (the picker opens within the click), drop onto the conversation, paste.
function addFiles(files) {
  if (!conv || !trays[conv.id] || !files || !files.length) return;
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

// ---- start

api('GET', '/api/agent/me').then(function (res) {
  if (res.ok) showInbox(res.body); else showSignIn('');
}, function () { showSignIn(L.network); });
})();
