/* Parley chat UI + CSS; widget.js loads it only when needed (budget: both <= 15 KB gzip).
 * Running it only registers Parley._c = {I, t, when, check, links, Log, ink, who, why, label, boot}; the
 * loader then calls boot(L) -> cmd('open'|'close'|'toggle'|'prompt'|'identify'|undefined: shown/hidden).
 * L = Parley._: id, b base URL, c config, l language, r shadow root, u bubble, g badge, a side, h colour,
 * i identity, e(name, v) emits, s() / s(obj) / s(null) reads (undefined: no storage) / writes / clears
 * localStorage "parley:ID" {ticket, token, seq, read, p: unsent [{id, text}], end: the visitor saw it end}.
 * Tabs share it: a tab writes only its own conversation and adopts another tab's (storage, visibility).
 * Strings: I.en, I.fr; cfg.strings[lang][key] replaces any. {x}: placeholders.
 *  bubble, header: openChat chat closeChat endChat minimized
 *  form: start send choose options empty{label} badEmail{label} badPhone{label} tooLong{label,max}
 *    nameLabel emailLabel subjectLabel messageLabel (the server's default field labels, translated)
 *  chat: placeholder waiting joined{name} agentLeft{name} typing{name} agent failed retry download{name}
 *  attach (upload.js, loaded for the first file, adds its keys)
 *  end: ended endConfirm yes no rate star{n} comment sendFeedback skip thanks newChat
 *  closed: closed away nextOpening{when} today{time} tomorrow{time} onDay{day,time} onDate{date,time}
 *    leaveMessage leftMessage
 *  errors: error errorNetwork errorClosed errorRate identityFailed; prompt: close */
((w, d) => {
'use strict';
var P = w.Parley;
if (!P || P._c) return;

var I = {
  en: {
    chat: 'Chat', openChat: 'Open chat', closeChat: 'Minimize chat', endChat: 'End chat',
    start: 'Start chat', send: 'Send', placeholder: 'Write a message…', choose: 'Choose…',
    options: 'How can we help?', waiting: 'Waiting for an agent…',
    joined: '{name} joined the conversation', agentLeft: '{name} left the conversation',
    minimized: 'Chat minimized: click to continue', typing: '{name} is typing…', agent: 'Agent',
    ended: 'This conversation has ended.', endConfirm: 'End this conversation?', yes: 'Yes', no: 'No',
    rate: 'How was this conversation?', star: '{n} out of 5', comment: 'Comment (optional)',
    sendFeedback: 'Send', skip: 'Skip', thanks: 'Thank you for your feedback!', newChat: 'Start chat',
    empty: '{label} cannot be empty.', badEmail: '{label} is not a valid email address.',
    badPhone: '{label} is not a valid phone number.',
    tooLong: '{label} is too long (at most {max} characters).',
    closed: 'We are closed right now.', away: 'No one is available right now.',
    nextOpening: 'We open again {when}.', today: 'today at {time}', tomorrow: 'tomorrow at {time}',
    onDay: 'on {day} at {time}', onDate: 'on {date} at {time}',
    leaveMessage: 'Leave a message', leftMessage: 'Thank you! We will get back to you by email.',
    errorNetwork: 'Connection problem. Please try again.', errorClosed: 'The chat is closed right now.',
    errorRate: 'Too many requests. Please wait a moment.', error: 'Something went wrong. Please try again.',
    identityFailed: 'We could not confirm who you are. Please fill in your details.',
    failed: 'Not sent.', retry: 'Retry', close: 'Close', download: 'Download {name}', attach: 'Attach files',
    nameLabel: 'Name', emailLabel: 'Email', subjectLabel: 'Subject', messageLabel: 'Message'
  },
  fr: {
    chat: 'Chat', openChat: 'Ouvrir le chat', closeChat: 'Réduire le chat', endChat: 'Terminer le chat',
    start: 'Démarrer le chat', send: 'Envoyer', placeholder: 'Écrivez un message…', choose: 'Choisir…',
    options: 'Comment pouvons-nous vous aider ?', waiting: 'En attente d’un conseiller…',
    joined: '{name} a rejoint la conversation', agentLeft: '{name} a quitté la conversation',
    minimized: 'Chat réduit : cliquez pour reprendre', typing: '{name} est en train d’écrire…',
    agent: 'Conseiller', ended: 'Cette conversation est terminée.',
    endConfirm: 'Terminer cette conversation ?', yes: 'Oui', no: 'Non',
    rate: 'Comment s’est passée cette conversation ?', star: '{n} sur 5', comment: 'Commentaire (facultatif)',
    sendFeedback: 'Envoyer', skip: 'Passer', thanks: 'Merci pour votre avis !', newChat: 'Démarrer le chat',
    empty: '{label} ne peut pas être vide.', badEmail: '{label} n’est pas une adresse e-mail valide.',
    badPhone: '{label} n’est pas un numéro de téléphone valide.',
    tooLong: '{label} est trop long (au plus {max} caractères).',
    closed: 'Nous sommes fermés pour le moment.', away: 'Personne n’est disponible pour le moment.',
    nextOpening: 'Nous rouvrons {when}.', today: 'aujourd’hui à {time}', tomorrow: 'demain à {time}',
    onDay: '{day} à {time}', onDate: 'le {date} à {time}',
    leaveMessage: 'Laisser un message', leftMessage: 'Merci ! Nous vous répondrons par e-mail.',
    errorNetwork: 'Problème de connexion. Veuillez réessayer.', errorClosed: 'Le chat est fermé pour le moment.',
    errorRate: 'Trop de demandes. Patientez un instant.', error: 'Une erreur s’est produite. Veuillez réessayer.',
    identityFailed: 'Nous n’avons pas pu confirmer votre identité. Merci de saisir vos coordonnées.',
    failed: 'Non envoyé.', retry: 'Réessayer', close: 'Fermer', download: 'Télécharger {name}',
    attach: 'Joindre des fichiers',
    nameLabel: 'Nom', emailLabel: 'E-mail', subjectLabel: 'Objet', messageLabel: 'Message'
  }
};

// t(lang, cfg.strings)(key, vars)
function t(l, ov) {
  var o = (ov || {})[l] || {};
  return (k, v) => String(typeof o[k] == 'string' ? o[k] : (I[l] || I.en)[k] || I.en[k])
    .replace(/\{(\w+)\}/g, (m, n) => v && v[n] != null ? v[n] : m);
}

// "We open again today at 09:00." (tz: for tests; default the visitor's), '' if not ahead.
function when(iso, now, l, S, tz) {
  var at = new Date(iso), f = (o, x) => new Intl.DateTimeFormat(o ? l : 'en-CA',
      Object.assign({ timeZone: tz }, o || { year: 'numeric', month: '2-digit', day: '2-digit' })).format(x || at),
    n = at > now && (Date.parse(f(0)) - Date.parse(f(0, now))) / 864e5;
  return n === false ? '' : S('nextOpening', { when: S(n < 1 ? 'today' : n < 2 ? 'tomorrow' : n < 7 ? 'onDay' : 'onDate', {
    time: f({ hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }),
    day: f({ weekday: 'long' }), date: f({ day: 'numeric', month: 'long' }) }) });
}

// The server's form rules: {field id: message}.
function check(fields, v, S) {
  var e = {};
  fields.forEach((f) => {
    var x = (v[f.id] || '').trim(), o = { label: label(f, S), max: f.maxLength }, p = x.split('@'), m = p[1];
    if (!x) { if (f.required) e[f.id] = S('empty', o); }
    else if ([...x].length > f.maxLength) e[f.id] = S('tooLong', o);
    else if (f.type == 'email' && (p.length != 2 || !p[0] || p[0].length > 64 || !/\./.test(m) ||
      /^\.|\.$|\.\./.test(m) || /[\s<>,]/.test(x))) e[f.id] = S('badEmail', o);
    else if (f.type == 'phone' && (/[^+0-9 ()\-./]/.test(x) || x.replace(/\D/g, '').length < 4)) e[f.id] = S('badPhone', o);
  });
  return e;
}

// A field's label; the server's defaults (id name, label "Name"…) in the visitor's language.
function label(f, S, k) {
  k = f.id + 'Label';
  return I.en[k] && I.en[k] == f.label ? S(k) : f.label;
}

// Parley('identify', x) as the server reads it (strings, a whole ts); not an object: none.
function who(x, o) {
  if (x && typeof x == 'object') {
    o = {};
    ['name', 'email', 'signature', 'ts'].forEach((k) => {
      if (x[k] != null) o[k] = k == 'ts' ? Math.trunc(x[k]) : String(x[k]);
    });
    return o;
  }
}

// The error band for a failed call: none for a ticket that is gone (a fresh form follows).
function why(e, S) {
  return e.code == 'ticket_not_found' ? '' : e.net ? S('errorNetwork') : e.code == 'widget_closed' ? S('errorClosed') :
    e.code == 'ticket_closed' ? S('ended') : e.status == 429 ? S('errorRate') : S('error');
}

// Text → strings and {u: http(s) URL}.
function links(s) {
  var out = [], i = 0, m, u, re = /\bhttps?:\/\/[^\s<>"]+/gi;
  while ((m = re.exec(s))) {
    u = m[0].replace(/[.,;:!?'")\]]+$/, '');
    out.push(s.slice(i, m.index), { u });
    re.lastIndex = i = m.index + u.length;
  }
  out.push(s.slice(i));
  return out.filter((x) => x !== '');
}

// White text on c if that reaches 4.5:1 (WCAG), else black.
function ink(c) {
  c = c.length < 5 ? c.replace(/\w/g, '$&$&') : c;
  return [.2126, .7152, .0722].reduce((y, k, i) => (i = parseInt(c.substr(1 + 2 * i, 2), 16) / 255,
    y + k * (i < .04 ? i / 12.92 : ((i + .055) / 1.055) ** 2.4)), 0) > .183 ? '#000' : '#fff';
}

// The log: events by seq + own messages (add → sending, ack or echo by clientId → sent, fail →
// failed, retry → sending, same id). ev(): 0 seen, 2 echo of own, 1 new.
function Log() {
  var all = [], by = {}, M = {
    max: 0,
    list: () => all.slice().sort((a, b) => (a.seq || 1e15) - (b.seq || 1e15)),
    ev(e) {
      var o = by['e' + e.seq] ? 0 : e.clientId && by['c' + e.clientId];
      M.max = Math.max(M.max, e.seq);
      if (o === 0) return 0;
      o ? (o.seq = e.seq, o.state = 'sent') : all.push(o = { k: 'e' + e.seq, seq: e.seq, e });
      by['e' + e.seq] = o;
      return o.id ? 2 : 1;
    },
    add(text, id) {
      id = id || Date.now().toString(36) + Math.random().toString(36).slice(2, 10);
      var o = { k: 'c' + id, id, text, state: 'sending', e: { type: 'message', by: { kind: 'visitor' }, text, clientId: id } };
      all.push(by['c' + id] = o);
      return o;
    },
    ack(id, e) {
      var o = by['c' + id];
      if (o) {
        o.state = 'sent';
        if (e && e.seq && !by['e' + e.seq]) by['e' + (o.seq = e.seq)] = o;
      }
      return o;
    },
    fail(id, o) { if ((o = by['c' + id]) && o.state == 'sending') o.state = 'failed'; return o; },
    retry(id, o) { if ((o = by['c' + id]) && o.state == 'failed') return o.state = 'sending', o; }
  };
  return M;
}

var css = (a) => `[hidden]{display:none!important}*{box-sizing:border-box}
.panel,.pr{position:fixed;${a}:20px;bottom:calc(var(--s) + 72px);background:#fff;color:#222;font:15px/1.4 system-ui,sans-serif;box-shadow:0 8px 30px #0003;border-radius:14px}
.panel{width:370px;max-width:calc(100vw - 40px);height:580px;max-height:calc(100vh - var(--s) - 92px);display:flex;flex-direction:column;overflow:hidden;animation:up .2s}
@keyframes up{from{opacity:0;transform:translateY(12px)}}
button,input,select,textarea{font:inherit;color:inherit}button{cursor:pointer;border:0;background:none;padding:0}
:focus-visible{outline:3px solid #111;box-shadow:0 0 0 6px #fff}
header{background:var(--c);color:var(--f);padding:14px 90px 14px 16px}
h2{margin:0;font-size:17px}p,h3{margin:8px 0}
.hb{position:absolute;top:8px;right:8px;display:flex}.i{padding:7px;display:flex}
.err{background:#c62828;color:#fff;padding:8px 16px}
.bd{flex:1;overflow-y:auto;padding:4px 16px 14px}
label{display:block;font-weight:600;margin:12px 0 4px}
input,select,textarea{width:100%;padding:8px 10px;border:1px solid #767676;border-radius:8px;background:#fff}
.hi,.no,.ty,.by,.fa,.wa{font-size:13px;color:#555}.wa,.fa{color:#b3261e}
.pri,.sec{width:100%;margin-top:10px;border-radius:8px;padding:9px;font-weight:600;border:1px solid var(--c)}
.pri{background:var(--c);color:var(--f)}
.m{display:flex;flex-direction:column;align-items:flex-start;margin:8px 0}.visitor{align-items:flex-end}
.tx{max-width:85%;padding:8px 12px;border-radius:14px;background:#eef0f3;white-space:pre-wrap;overflow-wrap:anywhere}
.visitor .tx{background:var(--c);color:var(--f)}.tx a{color:inherit}[data-state=sending] .tx:after{content:' …'}
.fa button,.at{text-decoration:underline;padding:0 4px}.at{display:inline-flex;align-items:center;gap:4px}.at .i{padding:0}.pv{max-width:85%;max-height:160px;border-radius:8px;margin-top:4px}.no{text-align:center}.ty{padding:0 16px 4px}
.co{display:flex;gap:6px;border-top:1px solid #ddd;padding:10px}.co textarea{resize:none;max-height:120px}
.st button{font-size:28px;color:#767676}.st .on{color:#b36200}
.pr{max-width:280px;padding:12px 40px 12px 14px}.pb{text-align:left}.pb strong{display:block}.pc{position:absolute;top:4px;right:4px}
.badge{position:absolute;top:-4px;right:-4px;padding:0 6px;border-radius:9px;background:#c62828;color:#fff;font:700 12px/18px sans-serif}
@media(max-width:480px){.panel{inset:0;width:auto;max-width:none;height:auto;max-height:none;border-radius:0}}
@media(prefers-reduced-motion:reduce){*{animation:none!important}}`;

function boot(L) {
  var c = L.c, S = t(L.l, c.strings), r = L.r, av = c.availability || 'open', off = c.offline || {},
    fields = c.fields || [], T, seen, M, enc = encodeURIComponent,
    view, isOpen, es, ab, gen = 0, fails = 0, unread = 0, fb, over, thanked, endNote, busy, lt = 0, pd,
    typT, audio, rating, pr, U, us, els = {}, ans = {}, ins = {}, ws = {}, Q = [],
    h = (tag, a, ...k) => {
      var e = d.createElement(tag);
      for (var n in a) if (a[n] != null) n == 'on' ? e.addEventListener('click', a[n]) : e.setAttribute(n, a[n]);
      e.append(...k.filter((x) => x != null && x !== false));
      return e;
    },
    btn = (p, x, on, cls, lab) => h('button', { type: 'button', 'data-p': p, class: cls, 'aria-label': lab, on }, x),
    ico = (p, e) => ((e = h('span', { 'aria-hidden': 'true', class: 'i' })).innerHTML =
      `<svg width=20 height=20 viewBox="0 0 24 24" fill=none stroke=currentColor stroke-width=2.2 stroke-linecap=round><path d="${p}"/></svg>`, e),
    // href only after checking the scheme
    lk = (s) => links(s).map((x) => {
      if (x.u) try {
        var u = new URL(x.u);
        if (/^https?:$/.test(u.protocol)) return h('a', { href: u.href, target: '_blank', rel: 'noopener noreferrer nofollow' }, x.u);
      } catch (e) { /* not a URL: text */ }
      return x.u || x;
    }),
    badge = L.g,
    mini = btn('minimize', ico('M5 12h14'), () => open(0), 'i', S('closeChat')),
    endB = btn('end', ico('M6 6l12 12M18 6L6 18'), () => show('confirm', 1), 'i', S('endChat')),
    err = h('div', { 'data-p': 'error', role: 'alert', class: 'err', hidden: '' }),
    x = av == 'closed' && c.nextOpening && when(c.nextOpening, new Date(), L.l, S),
    cl = h('div', { 'data-p': 'closed' },
      h('p', { 'data-p': 'closed-message' }, av == 'away' ? off.awayMessage || S('away') : off.message || S('closed')),
      x && h('p', { 'data-p': 'next-opening' }, x),
      off.contact && h('p', { 'data-p': 'contact' }, ...lk(off.contact))),
    fm = h('div'),
    op = h('div', { 'data-p': 'options' }),
    log = h('div', { 'data-p': 'log', role: 'log', 'aria-live': 'polite' }),
    cf = h('div', { 'data-p': 'confirm' }, h('p', 0, S('endConfirm')),
      btn('confirm-yes', S('yes'), () => tk('leave', {}).then(() => { over = 1; after(1); }, fail), 'pri'),
      btn('confirm-no', S('no'), () => show('chat', 1), 'sec')),
    stars = [1, 2, 3, 4, 5].map((v) => h('button', { type: 'button', 'data-p': 'rate', 'data-v': v,
      'aria-pressed': false, 'aria-label': S('star', { n: v }), on: () => pick(v) }, '★')),
    cm = h('textarea', { 'data-p': 'comment', rows: 2, maxlength: 1000, 'aria-label': S('comment'), placeholder: S('comment') }),
    sfb = btn('send-feedback', S('sendFeedback'), () => tk('feedback', { rating, comment: cm.value.trim() || undefined })
      .then(() => { fb = thanked = 1; show('ended', 1); }, (e) => e.code == 'feedback_disabled' ? show('ended', 1) : fail(e)), 'pri'),
    fbx = h('div', { 'data-p': 'feedback' }, h('p', { id: 'prt' }, S('rate')),
      h('div', { class: 'st', role: 'group', 'aria-labelledby': 'prt' }, ...stars), cm, sfb,
      btn('skip-feedback', S('skip'), () => show('ended', 1), 'sec')),
    th = h('p', { class: 'no' }, S('thanks')),
    en = h('div', { 'data-p': 'ended' }, th, btn('new-chat', S('newChat'), () => fresh(0, 1), 'pri')),
    bd = h('div', { class: 'bd' }, cl, fm, op, log, cf, fbx, en),
    ty = h('div', { 'data-p': 'typing', class: 'ty', hidden: '' }),
    inp = h('textarea', { 'data-p': 'input', rows: 1, maxlength: 4000, placeholder: S('placeholder'), 'aria-label': S('placeholder') }),
    // the picker opens in the visitor's click; upload.js draws the tray in ut
    fi = h('input', { type: 'file', 'data-p': 'file', multiple: '', hidden: '' }),
    ut = h('div'),
    co = h('div', { class: 'co' }, btn('attach', ico('M15 7l-7 7a2 2 0 003 3l7-7a4 4 0 00-6-6l-7 7a6 6 0 008 8l6-6'), () => fi.click(), 'i', S('attach')),
      fi, inp, btn('send', ico('M4 12l16-8-6 16-3-7z'), send, 'i', S('send'))),
    pa = h('div', { 'data-p': 'panel', class: 'panel', role: 'dialog', 'aria-label': c.name || S('chat'), hidden: '' },
      h('header', 0, h('h2', { 'data-p': 'title' }, c.name || ''), h('p', { 'data-p': 'welcome' }, c.welcome || ''),
        h('div', { class: 'hb' }, mini, endB)), err, bd, ty, ut, co);

  function pick(v) {
    rating = v;
    sfb.disabled = !v;
    stars.forEach((b, i) => { b.setAttribute('aria-pressed', i + 1 == v); b.classList.toggle('on', i < v); });
  }

  function band(x) { err.textContent = x || ''; err.hidden = !x; }

  function fail(e) { band(why(e, S)); }

  function call(u, b, sig, k) {
    var hd = {};
    if (b) hd['Content-Type'] = 'application/json';
    if (k) hd.Authorization = 'Bearer ' + k;
    // keepalive: a message sent just before the page goes away still arrives
    return fetch(u, { method: b ? 'POST' : 'GET', headers: hd, body: b ? JSON.stringify(b) : null, signal: sig, keepalive: !!b }).then((r) =>
      r.status == 204 ? {} : r.json().catch(() => ({})).then((j) => {
        if (r.ok) return j;
        j = j.error || {};
        j.status = r.status;
        throw j;
      }), () => { throw { net: 1 }; });
  }

  // ticket_not_found (404 from parley, not from a proxy): the ticket is gone (erased, restored
  // backup) or the token is wrong: forget it.
  function tk(p, b, sig, me) {
    me = T;
    return call(L.b + '/api/tickets/' + enc(me.ticket) + '/' + p, b, sig, me.token)
      .catch((e) => { if (e.code == 'ticket_not_found' && me == T) fresh(); throw e; });
  }

  // f: the visitor did it (only then focus moves); the log scrolls if it was at its end.
  function show(v, f, n) {
    n = near();
    view = v;
    [[cl, !T && av != 'open'], [fm, v == 'form'], [op, v == 'options'], [log, T], [co, v == 'chat'], [ut, v == 'chat'],
      [cf, v == 'confirm'], [fbx, v == 'feedback'], [en, v == 'ended'], [th, thanked],
      [endB, !over && /chat|confirm/.test(v)], [ty, v == 'chat' && !ty.hidden]].forEach((p) => { p[0].hidden = !p[1]; });
    f && isOpen && focusIn();
    count();
    (f || n) && end();
  }

  function after(f) { show(c.feedback && !fb ? 'feedback' : 'ended', f); }

  function near() { return bd.scrollHeight - bd.scrollTop - bd.clientHeight < 60; }

  function end() { bd.scrollTop = 1e9; }

  function focusIn() {
    var x = view == 'chat' ? inp : [...bd.querySelectorAll('input,select,textarea,button')]
      .find((e) => e.getClientRects().length && !log.contains(e));
    (x || mini).focus();
  }

  // Shows conversation t (re-posting its unsent messages, same ids: the server dedupes) or, without
  // one, a fresh form (the stored conversation forgotten if it is this tab's). f: as in show().
  function fresh(t, f, s) {
    stop();
    s = L.s();
    if (T && s && s.ticket == T.ticket) L.s(null);
    T = t && !t.end ? t : 0;
    M = Log();
    els = {};
    ans = {};
    log.textContent = '';
    fb = over = thanked = endNote = fails = 0;
    seen = T && T.seq || 0;
    pick(0);
    cm.value = '';
    band();
    ty.hidden = true;
    if (T) {
      if (T.read == null) T.read = T.seq || 0;
      (T.p || []).forEach((x) => x.id && post(M.add(x.text, x.id)));
      show('chat', f);
      sync();
      return connect();
    }
    if (av == 'open' || off.mode == 'message' && off.leaveMessage) form();
    show(fm.firstChild ? 'form' : 'closed', f);
  }

  // Another tab changed the stored conversation: follow it. 1 if this tab now shows another one.
  function adopt(s) {
    s = L.s();
    if (s === undefined) return; // no storage: nothing shared
    if (s && !s.end ? !T || s.ticket != T.ticket : T && (!s || s.ticket != T.ticket)) return fresh(s) || 1;
    if (T && s.end && !T.end) T.end = fb = over = 1, show('ended');
    count();
  }

  // Writes T only while it is the stored conversation (not replaced or ended by another tab),
  // merged with what other tabs stored of it (seq, read: the highest; their unsent messages), in
  // one canonical form written only when it changes: tabs answering each other's writes settle.
  function save(s, a, o) {
    s = L.s();
    if (s && s.ticket == T.ticket && !s.end) {
      a = M.list();
      o = { ticket: T.ticket, token: T.token, seq: T.seq = Math.max(T.seq, s.seq || 0),
        read: T.read = Math.max(T.read, s.read || 0),
        p: (s.p || []).filter((x) => !a.some((o) => o.e.clientId == x.id))
          .concat(a.filter((o) => o.id && o.state != 'sent' && !o.x).map((o) => ({ id: o.id, text: o.text })))
          .sort((x, y) => x.id < y.id ? -1 : 1),
        end: T.end ? 1 : 0 };
      JSON.stringify(o) != JSON.stringify(s) && L.s(o);
    }
  }

  function form() {
    var idn = who(L.i) || {}, f = h('form', { 'data-p': 'form', novalidate: '' }, av != 'open' && h('h3', 0, S('leaveMessage')));
    ins = {};
    fields.forEach((x, i) => {
      var n = 'pf' + i, y = x.type, pre = (y == 'name' || y == 'email') && idn[y],
        e = ins[x.id] = y == 'category' ? h('select', 0, h('option', { value: '' }, S('choose')),
          ...(x.options || []).map((o) => h('option', 0, o))) :
          h(y == 'reason' ? 'textarea' : 'input', y == 'reason' ? { rows: 3 } :
            { type: { email: y, phone: 'tel' }[y] || 'text', autocomplete: { name: y, email: y, phone: 'tel' }[y] });
      e.id = n;
      e.name = x.id;
      e.value = pre || ans[x.id] || '';
      e.setAttribute('aria-describedby', (x.hint ? n + 'h ' : '') + n + 'w');
      x.required && e.setAttribute('aria-required', true);
      f.append(h('div', { hidden: pre ? '' : null },
        h('label', { for: n }, label(x, S), x.required && h('span', { 'aria-hidden': 'true' }, ' *')),
        x.hint && h('div', { id: n + 'h', class: 'hi' }, x.hint), e,
        ws[x.id] = h('div', { 'data-p': 'warn-' + x.id, id: n + 'w', class: 'wa' })));
    });
    f.append(h('button', { type: 'submit', 'data-p': 'start', class: 'pri' }, S(av != 'open' ? 'send' : 'start')));
    f.addEventListener('submit', (e) => {
      e.preventDefault();
      fields.forEach((x) => { ans[x.id] = ins[x.id].value.trim(); });
      if (warn(check(fields, ans, S))) return;
      if (!(c.options || []).length) return create();
      op.textContent = '';
      op.append(h('p', 0, S('options')), ...c.options.map((o, i) => btn('option', o.label, () => create(i), 'sec')));
      show('options', 1);
    });
    fm.textContent = '';
    fm.append(f);
  }

  function warn(e, first) {
    fields.forEach((x) => {
      var m = e[x.id] || '', i = ins[x.id];
      ws[x.id].textContent = m;
      i.setAttribute('aria-invalid', !!m);
      if (m) i.parentNode.hidden = false, first = first || i;
    });
    first && first.focus();
    return first;
  }

  function create(i) {
    if (busy) return;
    busy = 1;
    var f = {}, b = { fields: f, page: { url: location.href, title: d.title }, language: L.l }, k;
    for (k in ans) if (ans[k]) f[k] = ans[k];
    if (i != null) b.option = i;
    if (k = who(L.i)) b.identity = k;
    call(L.b + '/api/widgets/' + enc(L.id) + '/tickets', b).then((x) => {
      // the newest conversation wins: other tabs adopt it
      L.s(T = { ticket: x.ticket.id, token: x.token, seq: 0, read: 0 });
      band();
      show('chat', 1);
      connect();
    }, (e) => {
      // refused identity (or a body the server can't read): drop it, show its fields
      var fe = e.fields || {}, y = L.i && /identity|invalid_json/.test(JSON.stringify(e));
      if (y) L.i = 0, form();
      show('form', 1);
      fail(e);
      y ? band(S('identityFailed')) : e.fields && band(fe.option && S('error'));
      warn(fe);
    }).finally(() => { busy = 0; });
  }

  function send() {
    var x = inp.value.trim(), o;
    if (!T) return;
    if (x) {
      inp.value = '';
      grow();
      o = M.add(x);
      sync(1);
      post(o);
    }
    U && U.s();
  }

  // files picked, dropped or pasted → the tray
  function up(f) {
    f = [...f];
    if (!f[0] || view != 'chat') return;
    if (U) return U.a(f);
    Q.push(...f);
    if (us) return;
    us = h('script', { src: L.b + (c.upload || '/upload.js') });
    us.onload = () => {
      U = w.ParleyTus.tray({ at: ut, S, I, l: L.l, t: () => T, b: L.b, max: c.maxFileSize, n: c.maxFiles, f: inp });
      U.a(Q.splice(0));
    };
    us.onerror = () => { us = 0; Q = []; band(S('errorNetwork')); };
    d.head.append(us);
  }

  function post(o) {
    tk('messages', { id: o.id, text: o.text }).then((x) => {
      M.ack(o.id, x.event);
      sync();
      band();
    }, (e) => {
      M.fail(o.id);
      o.x = e.status < 500 && e.status != 429; // refused for good: not re-posted on the next page
      sync();
      fail(e);
      if (e.code == 'ticket_closed' && !over) over = 1, after(1);
    });
  }

  function grow() {
    inp.style.height = 'auto';
    inp.style.height = inp.scrollHeight + 2 + 'px';
  }

  function stop() {
    gen++;
    es && es.close();
    ab && ab.abort();
    es = ab = 0;
  }

  // One stream per tab, none while hidden; long-poll if SSE is missing or keeps failing (SSE again
  // after a minute of polling, or when the tab is shown again).
  function connect() {
    stop();
    if (!T || d.hidden) return;
    var g = gen, s, u = L.b + '/api/tickets/' + enc(T.ticket) + '/';
    if (!w.EventSource || fails > 2) return poll(g, Date.now());
    s = es = new EventSource(u + 'live?access_token=' + enc(T.token) + '&after=' + M.max);
    s.onopen = () => { fails = 0; };
    s.onmessage = (m) => got(JSON.parse(m.data));
    s.addEventListener('typing', (m) => typing(JSON.parse(m.data)));
    s.onerror = () => {
      if (++fails > 2 || s.readyState > 1) {
        s.close();
        // refused: ticket gone (404)? else catch up
        tk('events?after=' + M.max).then((x) => { x.events.forEach(got); g == gen && connect(); },
          () => setTimeout(() => g == gen && connect(), 5e3));
      }
    };
  }

  function poll(g, t0) {
    ab = new AbortController();
    tk('events?after=' + M.max + '&wait=25', 0, ab.signal).then((x) => {
      if (g == gen) x.events.forEach(got), fails = 0, Date.now() - t0 > 6e4 ? connect() : poll(g, t0);
    }, () => setTimeout(() => g == gen && poll(g, t0), 5e3));
  }

  var agentMsg = (e) => /agent|bot/.test(e.by.kind) && /message|attachment/.test(e.type),
    inView = () => isOpen && !d.hidden && r.host.style.display != 'none';

  function got(e) {
    var y = e.type;
    if (!T || !M.ev(e)) return;
    if (agentMsg(e)) {
      ty.hidden = true;
      if (e.seq > seen) L.e('message', e), inView() || beep();
    }
    if (y == 'feedback') fb = thanked = 1, view == 'feedback' && show('ended');
    if ((y == 'visitor.left' || y == 'status' && e.status == 'closed') && !over) {
      over = 1;
      /chat|confirm/.test(view) ? after() : show(view);
    }
    sync();
  }

  function typing(x) {
    if (x.by.kind == 'visitor') return;
    ty.textContent = S('typing', { name: x.by.name || S('agent') });
    ty.hidden = false;
    clearTimeout(typT);
    typT = setTimeout(() => { ty.hidden = true; }, 6e3);
  }

  function count(n) {
    if (T) {
      // once the visitor has seen the end, the next pages forget the conversation
      if (inView()) T.read = M.max, T.end = T.end || over;
      if (view == 'ended') T.end = 1;
      T.seq = Math.max(T.seq, M.max);
      save();
    }
    n = T ? M.list().filter((o) => o.seq > T.read && agentMsg(o.e)).length : 0;
    L.u.title = T && !over && !isOpen ? S('minimized') : '';
    if (n != unread) {
      badge.textContent = unread = n;
      badge.hidden = !n;
      L.e('unread', n);
    }
  }

  function beep(o, g) {
    if (c.sound) try { // browsers mute pages the visitor hasn't used yet
      audio = audio || new AudioContext();
      audio.resume();
      o = audio.createOscillator();
      g = audio.createGain();
      o.frequency.value = 880;
      g.gain.value = .1;
      o.connect(g).connect(audio.destination);
      o.start();
      o.stop(audio.currentTime + .15);
    } catch (e) { /* as said */ }
  }

  function render(o) {
    var e = o.e, k = e.by.kind, n = e.by.name || (k == 'agent' ? S('agent') : c.name), y = e.type, a = e.attachment;
    if (y == 'message' || y == 'attachment') {
      return h('div', { 'data-p': 'msg', 'data-kind': k, 'data-state': o.state || 'sent', class: 'm ' + k },
        k != 'visitor' && h('div', { class: 'by' }, n),
        h('div', { 'data-p': 'text', class: 'tx' }, ...lk(e.text || ''), a && h('button', { type: 'button', class: 'at',
          'aria-label': S('download', { name: a.name }), on: () => download(a) }, ico('M12 4v11m-5-5l5 5 5-5M5 20h14'), a.name)),
        // raster images: a preview (blob URL: the file needs the token)
        a && /^image\/(png|jpeg|gif|webp)$/.test(a.type) && (y = h('img', { alt: '', class: 'pv', 'data-p': 'preview' }),
          get(a).then((b) => { y.src = URL.createObjectURL(b); }, () => y.remove()), y));
    }
    y = y == 'ticket.opened' ? S(av == 'open' ? 'waiting' : 'leftMessage') : y == 'agent.joined' ? S('joined', { name: n }) :
      y == 'agent.left' ? S('agentLeft', { name: n }) :
      (y == 'visitor.left' || y == 'status' && e.status == 'closed') && !endNote++ ? S('ended') : '';
    return y && h('div', { 'data-p': 'notice', class: 'no' }, y);
  }

  function get(a) {
    return fetch(L.b + '/api/attachments/' + enc(a.id), { headers: { Authorization: 'Bearer ' + T.token } })
      .then((r) => { if (!r.ok) throw r; return r.blob(); });
  }

  function download(a) {
    get(a).then((b) => {
      var u = URL.createObjectURL(b);
      h('a', { href: u, download: a.name }).click();
      setTimeout(() => URL.revokeObjectURL(u), 6e4);
    }, fail);
  }

  function sync(me) {
    var i = 0, n = near();
    M.list().forEach((o) => {
      var e = o.k in els ? els[o.k] : els[o.k] = render(o), f;
      if (!e) return;
      if (o.id) {
        e.setAttribute('data-state', o.state);
        f = e.querySelector('.fa');
        if (o.state != 'failed') f && f.remove();
        else f || e.append(h('div', { class: 'fa' }, S('failed'), btn('retry', S('retry'), () => M.retry(o.id) && (sync(), post(o)))));
      }
      if (log.children[i] != e) log.insertBefore(e, log.children[i] || null);
      i++;
    });
    (me || n) && end();
    count();
  }

  function open(v) {
    if (!v == !isOpen) return;
    isOpen = v;
    pa.hidden = !v;
    L.u.setAttribute('aria-expanded', !!v);
    if (v) {
      pr && pr.remove();
      focusIn();
      end();
    } else if (r.activeElement) L.u.focus();
    count();
    L.e(v ? 'open' : 'close');
  }

  function prompt(p) {
    p = c.prompt;
    if (!p || isOpen || T || pr) return;
    pr = h('div', { 'data-p': 'prompt', class: 'pr', role: 'status' },
      h('button', { type: 'button', class: 'pb', on: () => open(1) },
        h('strong', { 'data-p': 'prompt-title' }, p.title || ''), h('span', { 'data-p': 'prompt-message' }, p.message || '')),
      btn('prompt-close', ico('M6 6l12 12M18 6L6 18'), () => pr.remove(), 'i pc', S('close')));
    r.append(pr);
  }

  inp.addEventListener('keydown', (e) => {
    if (e.key == 'Enter' && !e.shiftKey && !e.isComposing) e.preventDefault(), send();
  });
  // Typing: at most one signal per 2 s, the first at once; input during the 2 s sends one more at its end with
  // the draft as it is then (the agent's preview follows the whole burst), none once the draft is empty.
  const tp = () => T && inp.value.trim() &&
    (tk('typing', c.typingPreview ? { text: inp.value.slice(0, 100) } : {}).catch(() => { /* harmless */ }),
    lt = setTimeout(() => { lt = 0; pd && (pd = 0, tp()); }, 2e3));
  inp.addEventListener('input', () => { grow(); lt ? pd = 1 : tp(); });
  pa.addEventListener('keydown', (e) => { if (e.key == 'Escape') open(0); });
  fi.onchange = () => { up(fi.files); fi.value = ''; };
  pa.addEventListener('dragover', (e) => e.preventDefault());
  ['drop', 'paste'].forEach((n) => pa.addEventListener(n, (e, f) =>
    (f = (e.dataTransfer || e.clipboardData).files)[0] && (e.preventDefault(), up(f))));
  d.addEventListener('visibilitychange', () => { d.hidden ? stop() : (fails = 0, adopt() || connect()); count(); });
  w.addEventListener('storage', (e) => (!e.key || e.key == 'parley:' + L.id) && adopt());

  L.u.setAttribute('aria-label', S('openChat'));
  r.append(h('style', 0, `:host{--f:${ink(L.h)}}` + css(L.a)), pa);
  fresh(L.s());
  return (x) => x == 'open' ? open(1) : x == 'close' ? open(0) : x == 'toggle' ? open(!isOpen) :
    x == 'prompt' ? prompt() : x == 'identify' ? view == 'form' && form() : count();
}

P._c = { I, t, when, check, links, Log, ink, who, why, label, boot };
P._ && P._.k && P._.k();
})(window, document);
