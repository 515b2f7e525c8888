/* Parley admin logic: the pure part of the admin console (/admin), with no DOM and no fetch. Loaded by a script tag
 * before admin.js → globalThis.ParleyAdminCore; tests: Tests/js/admin.test.mjs.
 *
 * The widget editor keeps a "form": the Widget (see the contract, GET /api/admin/widgets/{id}) with every value
 * as its control holds it (numbers and lists as the text typed, absent texts as ''), plus `enabled` flags for the
 * optional parts (hours, prompt) and `maxFileSizeBytes` (the size as loaded: the MB box only approximates it). Controls are named by their path in it (`pathRules.paths`, `fields[2].label`),
 * which is also the path of the value in the Widget sent, so the server's 422 `fields` land on the right control.
 *
 *  A.fromWidget(widget) → form;  A.toWidget(form, base?) → the Widget to send (base: the stored one, whose keys
 *    this editor does not know are kept).
 *  A.check(form) → {path: [textKey, vars]}: what the editor refuses before sending (the server judges the rest).
 *  A.lines(text) → the non-empty lines, trimmed.  A.int(text) → integer or NaN.
 *  A.pathShows({mode, paths}, path) → bool: the loader's rule (widget.js match()).
 *  A.parseRange('09:00-17:30') → {start, end} (minutes) | null: one opening-hours range, as the server reads it.
 *  A.isDate('2026-12-25'), A.isOrigin('https://shop.example'), A.isColor('#2f6fed'), A.isCode('sales') → bool.
 *  A.slug(name, takenIds, fallback) → an id made from a name ("Closed reply" → "closed-reply"), unique;
 *    A.ruleId(name, takenIds) is the same for rules (fallback "rule").
 *  A.checkRules(rules) / A.checkTeams(teams) / A.checkInbox({dispositions, canned}) → {path: [textKey, vars]}.
 *  A.embedCode(origin, id), A.identityCode(origin, id) → the snippets "Show code" offers.
 *  A.hex(bytes) → lower-case hex (the identity secret: 32 random bytes).
 *  A.toMB(bytes) → '5', '0.5', '0.000954' (3 decimals, or 3 significant digits under 0.001 MB: never '0' for a size);
 *    A.fromMB('5') → 5242880 | NaN. A.fileSize(form) → the bytes to send: the loaded byte count while the MB box
 *    still shows it (so a size that MB cannot say exactly is never changed by a save), else the MB typed in bytes.
 *  A.canon(value) → JSON with the keys of every object sorted (to compare widgets whatever their key order).
 *  A.sameWidget(a, b) → whether two Widgets hold the same settings, as this editor would send them (keys the server
 *    leaves out when null, key order).  A.masked(widget) → a copy whose identity secret is hidden (for display).
 *  A.hasDefaultPort('https://shop.example:443') → true: an origin a browser never sends (the server refuses it).
 *  A.barState({rec, dirty, busy}) → {save, publish, discard, history}: which of the editor's buttons are enabled
 *    (none of the first three while a save, publish or discard runs: `busy`).
 *  A.detail(object) → 'key: value · key: value' (the audit log's details column).
 *  A.move(list, i, delta) → a copy with item i moved by delta (up/down buttons); unchanged when it cannot move.
 *  A.localField(path, value) → [textKey, vars] | null: our own words for a field the server refused, when we know
 *    its rule (the server's texts are English only).
 * The Data page (erase a visitor, remove old conversations):
 *  A.plural(n, lang) → 'one' | 'other' (French: 0 and 1 are singular);  A.count(key, n, lang) → [key_one|key_other, {n}].
 *  A.shellArg('o\'neil@x.example') → the text quoted for a shell when it needs it (the commands shown to copy).
 *  A.eraseResult(answer, email, lang) → {lines: [[key, vars]…], command: 'parley erase --email …' | null}: POST
 *    /api/admin/erase's answer in words (the command when other conversations still mention the email).
 *  A.purgeFound(tickets, date, lang), A.purgeAsk(n, date, lang), A.purgeDone(answer, lang) → [key, vars]: the
 *    preview's count, the question before removing, the removal's result (`date` as it is to be shown).
 *  A.purgeButtons({busy, date, previewed: {date, count} | null}) → {preview, remove}: which are enabled (Remove only
 *    after a Preview of the date still typed that found some, never while a call runs).
 * Texts are keys of admin-text.js: [key, vars]; a var may itself be [key, vars] (a counted phrase: "3 files"). */
((w) => {
'use strict';
var A = w.ParleyAdminCore = w.ParleyAdminCore || {};
if (A.toWidget) return;

var DAYS = A.DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
var LIMITS = A.LIMITS = {
  name: 80, spacing: [0, 2000], delay: [0, 3600], target: [10, 86400], maxFiles: [1, 20],
  fileSize: [1, 512 * 1024 * 1024], maxLength: [1, 4000], secret: [16, 200], code: 40, message: 4000,
  welcome: 500, offlineMessage: 1000, contact: 500, promptTitle: 80, promptMessage: 300
};

// ---- small readers ----------------------------------------------------------------------------------------------

A.lines = (text) => String(text == null ? '' : text).split(/\r?\n/).map((s) => s.trim()).filter(Boolean);
A.int = (text) => /^\s*-?\d+\s*$/.test(String(text)) ? parseInt(text, 10) : NaN;
A.isColor = (s) => /^#[0-9a-f]{3}([0-9a-f]{3})?$/i.test(String(s));
A.isCode = (s) => /^[A-Za-z0-9_-]{1,40}$/.test(String(s));
A.isDate = (s) => {
  var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(s));
  return !!m && +m[2] >= 1 && +m[2] <= 12 && +m[3] >= 1 && +m[3] <= 31;
};
/** scheme://host[:port], nothing after: how a browser names the shop's site (its Origin header). */
A.isOrigin = (s) => /^https?:\/\/(\[[0-9a-f:.]+\]|[a-z0-9]([a-z0-9.-]*[a-z0-9])?)(:\d{1,5})?$/i.test(String(s));
/** `https://shop.example:443`, `http://shop.example:80`: the default port, which a browser's Origin never names. */
A.hasDefaultPort = (s) => /^https:\/\/[^/?#]*:0*443\/?$/i.test(String(s)) || /^http:\/\/[^/?#]*:0*80\/?$/i.test(String(s));

/** One opening-hours range, "HH:MM-HH:MM" (end may be 24:00, start before end), as Hours.parseRange reads it. */
A.parseRange = (s) => {
  var p = String(s).split('-');
  if (p.length !== 2) return null;
  var a = minutes(p[0]), b = minutes(p[1]);
  return a != null && b != null && a < b ? { start: a, end: b } : null;
};
function minutes(s) {
  var m = /^(\d{2}):(\d{2})$/.exec(s.trim());
  if (!m) return null;
  var h = +m[1], n = +m[2];
  return h <= 24 && n <= 59 && (h < 24 || n === 0) ? h * 60 + n : null;
}

/** Whether the widget shows on `path`: the loader's rule (widget.js), `*` matches anything (also `/`), whole path. */
A.pathShows = (rules, path) => {
  var p = String(path || '');
  try { p = decodeURI(p); } catch (e) { /* raw */ }
  var hit = (rules && rules.paths || []).some((x) => RegExp('^' +
    x.split('*').map((t) => t.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$').test(p));
  return rules && rules.mode === 'whitelist' ? hit : !hit;
};

/** 'Closed reply' → 'closed-reply' (accents dropped, 40 characters at most; `fallback` when nothing is left), made
 *  unique among `taken` ('closed-reply-2'). Rule, widget and team ids. */
A.slug = (name, taken, fallback) => {
  var base = String(name || '').normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase()
    .replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40).replace(/-+$/, '') || fallback || 'item';
  var have = new Set(taken || []), id = base, n = 2;
  while (have.has(id)) { var s = '-' + n++; id = base.slice(0, 40 - s.length).replace(/-+$/, '') + s; }
  return id;
};
A.ruleId = (name, taken) => A.slug(name, taken, 'rule');

A.hex = (bytes) => Array.from(bytes, (b) => (b & 255).toString(16).padStart(2, '0')).join('');

var MB = 1024 * 1024;
A.toMB = (bytes) => {
  var mb = Number(bytes) / MB;
  if (!isFinite(mb)) return '';
  var d = mb === 0 || mb >= 0.001 ? 3 : Math.min(15, 2 - Math.floor(Math.log10(mb)));
  return mb.toFixed(d).replace(/\.?0+$/, '') || '0';
};
A.fromMB = (text) => {
  var s = String(text).trim().replace(',', '.');
  return /^\d+(\.\d+)?$|^\.\d+$/.test(s) ? Math.round(parseFloat(s) * MB) : NaN;
};

A.fileSize = (f) => {
  var typed = String(f.maxFileSize == null ? '' : f.maxFileSize).trim();
  if (typeof f.maxFileSizeBytes === 'number' && typed === A.toMB(f.maxFileSizeBytes)) return f.maxFileSizeBytes;
  return A.fromMB(typed);
};

/** Stable JSON: the keys of every object sorted. */
A.canon = (x) => JSON.stringify(x, (k, v) => v && typeof v === 'object' && !Array.isArray(v) ?
  Object.keys(v).sort().reduce((o, key) => { o[key] = v[key]; return o; }, {}) : v);
var norm = (w) => A.canon(A.toWidget(A.fromWidget(w), w));
A.sameWidget = (a, b) => !!a && !!b && norm(a) === norm(b);
A.masked = (w) => {
  var out = Object.assign({}, w);
  if (out.identitySecret) out.identitySecret = '\u2022'.repeat(8);
  return out;
};

A.barState = (o) => {
  var r = o.rec || {}, d = !!o.dirty, free = !o.busy;
  return {
    save: free && d,
    publish: free && (d || !!r.draft),
    discard: free && (d || !!(r.draft && r.version)),  // a never-published widget's draft is all it has
    history: free && !!r.version
  };
};

A.move = (list, i, delta) => {
  var j = i + delta, out = list.slice();
  if (i < 0 || i >= list.length || j < 0 || j >= list.length) return out;
  out.splice(j, 0, out.splice(i, 1)[0]);
  return out;
};

// ---- the snippets ("Show code") -----------------------------------------------------------------------------------

A.embedCode = (origin, id) => '<script src="' + String(origin).replace(/\/+$/, '') + '/widget.js" data-widget="' + id +
  '" async></script>';
A.identityCode = (origin, id) => [
  '<script>',
  '  window.Parley = window.Parley || function () { (Parley.q = Parley.q || []).push(arguments); };',
  "  Parley('identify', {name: NAME, email: EMAIL, ts: TS, signature: SIGNATURE});",
  '</script>',
  A.embedCode(origin, id)
].join('\n');
A.signatureCode = {
  php: "$ts = time();\n$signature = hash_hmac('sha256', $email . '|' . $ts, $secret);",
  node: "const ts = Math.floor(Date.now() / 1000);\n" +
    "const signature = require('crypto').createHmac('sha256', secret).update(email + '|' + ts).digest('hex');"
};

/** The audit log's details: `{from: 1, to: 2}` → 'from: 1 · to: 2' (lists joined with commas, objects as JSON; empty
 *  values left out). */
A.detail = (d) => {
  if (!d || typeof d !== 'object') return d == null ? '' : String(d);
  return Object.keys(d).filter((k) => d[k] != null && d[k] !== '' && !(Array.isArray(d[k]) && !d[k].length)).map((k) => {
    var v = d[k];
    v = Array.isArray(v) ? v.map((x) => typeof x === 'object' ? JSON.stringify(x) : String(x)).join(', ') :
      v && typeof v === 'object' ? JSON.stringify(v) : String(v);
    return k + ': ' + v;
  }).join(' · ');
};

// ---- the Data page: erase a visitor, remove old conversations ----------------------------------------------------

A.plural = (n, lang) => (lang === 'fr' ? Math.abs(n) < 2 : n === 1) ? 'one' : 'other';
A.count = (key, n, lang) => [key + '_' + A.plural(n, lang), { n: n }];
A.shellArg = (s) => {
  s = String(s);
  return /^[A-Za-z0-9@%+=:,./_-]+$/.test(s) ? s : "'" + s.replace(/'/g, "'\\''") + "'";
};
var num0 = (v) => typeof v === 'number' && isFinite(v) && v > 0 ? v : 0;
A.eraseResult = (body, email, lang) => {
  var b = body || {}, n = num0(b.tickets), files = A.count('files', num0(b.files), lang), more = num0(b.mentionedElsewhere);
  var lines = [];
  if (n) lines.push([(b.contact ? 'erasedContact' : 'erased') + '_' + A.plural(n, lang), { n: n, files: files }]);
  else {
    lines.push(['erasedNone', { email: email }]);
    if (b.contact) lines.push(['erasedContactOnly']);
  }
  if (more) lines.push(A.count('mentioned', more, lang));
  return { lines: lines, command: more ? 'parley erase --email ' + A.shellArg(email) : null };
};
A.purgeFound = (tickets, date, lang) => {
  var n = (tickets || []).length;
  return n ? ['purgeFound_' + A.plural(n, lang), { n: n, date: date }] : ['purgeNone', { date: date }];
};
A.purgeAsk = (n, date, lang) => ['purgeAskText_' + A.plural(n, lang), { n: n, date: date }];
A.purgeDone = (body, lang) => {
  var n = ((body || {}).tickets || []).length;
  return ['purged_' + A.plural(n, lang), { n: n, files: A.count('files', num0((body || {}).files), lang) }];
};
A.purgeButtons = (o) => {
  var p = o.previewed, free = !o.busy;
  return { preview: free, remove: free && !!p && p.count > 0 && p.date === o.date };
};

// ---- Widget ⇄ form ------------------------------------------------------------------------------------------------

var str = (v) => v == null ? '' : String(v);
var orNull = (v) => { v = String(v == null ? '' : v).trim(); return v ? v : null; };
/** A number typed: the integer, or the text as typed (the server says what is wrong with it). */
var num = (v) => { var n = A.int(v); return isNaN(n) ? String(v) : n; };

A.fromWidget = (wg) => {
  var h = wg.hours, weekly = {}, off = wg.offline || {};
  DAYS.forEach((d) => { weekly[d] = (h && h.weekly && h.weekly[d] || []).slice(); });
  var strings = {};
  Object.keys(wg.strings || {}).forEach((l) => { strings[l] = Object.assign({}, wg.strings[l]); });
  ['en', 'fr'].forEach((l) => { strings[l] = strings[l] || {}; });
  return {
    id: str(wg.id), name: str(wg.name), welcome: str(wg.welcome), color: str(wg.color),
    alignment: wg.alignment === 'left' ? 'left' : 'right', spacing: str(wg.spacing),
    allowedOrigins: (wg.allowedOrigins || []).join('\n'),
    pathRules: { mode: (wg.pathRules || {}).mode === 'whitelist' ? 'whitelist' : 'blacklist',
      paths: ((wg.pathRules || {}).paths || []).join('\n') },
    hours: { enabled: !!h, timeZone: h ? str(h.timeZone) : '', weekly: weekly, closed: h ? (h.closed || []).slice() : [] },
    offline: { mode: off.mode === 'hide' ? 'hide' : 'message', message: str(off.message), contact: str(off.contact),
      leaveMessage: off.leaveMessage !== false, noAgentAsClosed: !!off.noAgentAsClosed, awayMessage: str(off.awayMessage) },
    fields: (wg.fields || []).map((f) => ({ id: str(f.id), type: str(f.type || 'custom'), label: str(f.label), hint: str(f.hint),
      required: !!f.required, maxLength: str(f.maxLength == null ? 200 : f.maxLength), options: (f.options || []).join('\n') })),
    options: (wg.options || []).map((o) => ({ label: str(o.label), welcome: str(o.welcome), team: str(o.team) })),
    prompt: { enabled: !!wg.prompt, delay: str(wg.prompt ? wg.prompt.delay : 30), title: wg.prompt ? str(wg.prompt.title) : '',
      message: wg.prompt ? str(wg.prompt.message) : '' },
    identity: wg.identity === 'organisation' ? 'organisation' : 'agent', organisation: str(wg.organisation),
    language: wg.language === 'en' || wg.language === 'fr' ? wg.language : 'auto', strings: strings,
    feedback: wg.feedback !== false, sound: !!wg.sound, typingPreview: !!wg.typingPreview,
    identitySecret: str(wg.identitySecret),
    maxFileSize: wg.maxFileSize == null ? '' : A.toMB(wg.maxFileSize),
    maxFileSizeBytes: typeof wg.maxFileSize === 'number' ? wg.maxFileSize : null, maxFiles: str(wg.maxFiles),
    targetResponseSeconds: str(wg.targetResponseSeconds), allowedTypes: (wg.allowedTypes || []).join('\n')
  };
};

A.toWidget = (f, base) => {
  var out = Object.assign({}, base || {}), strings = {};
  var had = (base && base.strings) || {};
  Object.keys(f.strings || {}).forEach((l) => {
    var t = {};
    Object.keys(f.strings[l]).forEach((k) => { if (str(f.strings[l][k]).trim()) t[k] = f.strings[l][k]; });  // empty = built-in
    if (Object.keys(t).length || had[l]) strings[l] = t;  // no empty table the widget did not have
  });
  var weekly = {};
  DAYS.forEach((d) => { weekly[d] = (f.hours.weekly[d] || []).map((r) => String(r).trim()).filter(Boolean); });
  var size = A.fileSize(f);
  return Object.assign(out, {
    id: f.id, name: f.name.trim(), welcome: f.welcome, color: f.color.trim(), alignment: f.alignment, spacing: num(f.spacing),
    allowedOrigins: A.lines(f.allowedOrigins),
    pathRules: { mode: f.pathRules.mode, paths: A.lines(f.pathRules.paths) },
    hours: f.hours.enabled ? { timeZone: f.hours.timeZone, weekly: weekly,
      closed: f.hours.closed.map((d) => String(d).trim()).filter(Boolean) } : null,
    offline: { mode: f.offline.mode, message: orNull(f.offline.message), contact: orNull(f.offline.contact),
      leaveMessage: !!f.offline.leaveMessage, noAgentAsClosed: !!f.offline.noAgentAsClosed, awayMessage: orNull(f.offline.awayMessage) },
    fields: f.fields.map((x) => ({ id: x.id.trim(), type: x.type, label: x.label.trim(), hint: orNull(x.hint), required: !!x.required,
      maxLength: num(x.maxLength), options: x.type === 'category' ? A.lines(x.options) : null })),
    options: f.options.map((o) => ({ label: o.label.trim(), welcome: orNull(o.welcome), team: orNull(o.team) })),
    prompt: f.prompt.enabled ? { delay: num(f.prompt.delay), title: f.prompt.title.trim(), message: f.prompt.message.trim() } : null,
    identity: f.identity, organisation: orNull(f.organisation), language: f.language, strings: strings,
    feedback: !!f.feedback, sound: !!f.sound, typingPreview: !!f.typingPreview, identitySecret: orNull(f.identitySecret),
    maxFileSize: isNaN(size) ? String(f.maxFileSize) : size, maxFiles: num(f.maxFiles),
    targetResponseSeconds: num(f.targetResponseSeconds), allowedTypes: A.lines(f.allowedTypes)
  });
};

// ---- what the editor refuses before sending -----------------------------------------------------------------------

function range(e, path, text, lo, hi) {
  var n = A.int(text);
  if (!String(text).trim()) e[path] = ['errRequired'];
  else if (isNaN(n) || n < lo || n > hi) e[path] = ['errRange', { min: lo, max: hi }];
}
function most(e, path, text, max) {
  if (Array.from(str(text).trim()).length > max) e[path] = ['errTooLong', { max: max }];
}
function need(e, path, text, max) {
  var s = str(text).trim();
  if (!s) e[path] = ['errRequired'];
  else if (max && Array.from(s).length > max) e[path] = ['errTooLong', { max: max }];
}

A.check = (f) => {
  var e = {};
  need(e, 'name', f.name, LIMITS.name);
  most(e, 'welcome', f.welcome, LIMITS.welcome);
  if (!A.isColor(f.color.trim())) e.color = ['errColor'];
  range(e, 'spacing', f.spacing, LIMITS.spacing[0], LIMITS.spacing[1]);
  A.lines(f.allowedOrigins).forEach((o, i) => {
    if (A.hasDefaultPort(o)) e['allowedOrigins[' + i + ']'] = ['errDefaultPort'];
    else if (!A.isOrigin(o)) e['allowedOrigins[' + i + ']'] = ['errOrigin'];
  });
  if (f.hours.enabled) {
    if (!f.hours.timeZone) e['hours.timeZone'] = ['errTimeZone'];
    DAYS.forEach((d) => {
      (f.hours.weekly[d] || []).forEach((r, i) => {
        if (String(r).trim() && !A.parseRange(r)) e['hours.weekly.' + d + '[' + i + ']'] = ['errHoursRange'];
      });
    });
    f.hours.closed.forEach((d, i) => { if (String(d).trim() && !A.isDate(String(d).trim())) e['hours.closed[' + i + ']'] = ['errDate']; });
  }
  // checked whatever the mode: the server keeps (and judges) them even while they are not used
  most(e, 'offline.message', f.offline.message, LIMITS.offlineMessage);
  most(e, 'offline.contact', f.offline.contact, LIMITS.contact);
  most(e, 'offline.awayMessage', f.offline.awayMessage, LIMITS.offlineMessage);
  var ids = {};
  f.fields.forEach((x, i) => {
    var p = 'fields[' + i + '].', id = x.id.trim();
    if (!A.isCode(id)) e[p + 'id'] = ['errFieldId'];
    else if (ids[id]) e[p + 'id'] = ['errDuplicate'];
    ids[id] = 1;
    need(e, p + 'label', x.label, LIMITS.name);
    range(e, p + 'maxLength', x.maxLength, LIMITS.maxLength[0], LIMITS.maxLength[1]);
    if (x.type === 'category' && !A.lines(x.options).length) e[p + 'options'] = ['errOptions'];
  });
  f.options.forEach((o, i) => { need(e, 'options[' + i + '].label', o.label, LIMITS.name); });
  if (f.prompt.enabled) {
    range(e, 'prompt.delay', f.prompt.delay, LIMITS.delay[0], LIMITS.delay[1]);
    need(e, 'prompt.title', f.prompt.title, LIMITS.promptTitle);
    need(e, 'prompt.message', f.prompt.message, LIMITS.promptMessage);
  }
  var secret = f.identitySecret.trim();
  if (secret && (secret.length < LIMITS.secret[0] || secret.length > LIMITS.secret[1] || /\s/.test(secret))) {
    e.identitySecret = ['errSecret', { min: LIMITS.secret[0], max: LIMITS.secret[1] }];
  }
  range(e, 'targetResponseSeconds', f.targetResponseSeconds, LIMITS.target[0], LIMITS.target[1]);
  var size = A.fileSize(f);
  if (!String(f.maxFileSize).trim()) e.maxFileSize = ['errRequired'];
  else if (isNaN(size) || size < LIMITS.fileSize[0] || size > LIMITS.fileSize[1]) e.maxFileSize = ['errFileSize'];
  range(e, 'maxFiles', f.maxFiles, LIMITS.maxFiles[0], LIMITS.maxFiles[1]);
  return e;
};

/** Our words for a value the server refused, when we know the rule it broke (else null: show the server's). */
A.localField = (path, value) => {
  if (/^pathRules\.paths\[\d+\]$/.test(path) && typeof value === 'string') {
    return value[0] !== '/' ? ['errPathSlash'] : /\s/.test(value) ? ['errPathSpace'] : null;
  }
  if (/^allowedOrigins\[\d+\]$/.test(path)) return A.hasDefaultPort(value) ? ['errDefaultPort'] : ['errOrigin'];
  if (path === 'maxFileSize') return ['errFileSize'];
  if (path === 'hours.timeZone') return ['errTimeZone'];
  if (path === 'color') return ['errColor'];
  if (path === 'closedBefore') return ['errDate'];
  if (path === 'spacing') return ['errRange', { min: LIMITS.spacing[0], max: LIMITS.spacing[1] }];
  if (path === 'identitySecret') return ['errSecret', { min: LIMITS.secret[0], max: LIMITS.secret[1] }];
  if (/^(dispositions\[\d+\]\.code|canned\[\d+\]\.shortcut|teams\[\d+\]\.id|rules\[\d+\]\.id|fields\[\d+\]\.id)$/.test(path) &&
    typeof value === 'string' && !A.isCode(value)) return ['errCode'];
  return null;
};

// ---- rules, teams, inbox settings ---------------------------------------------------------------------------------

var VALUE_CONDITIONS = { widget: 1, messageContains: 1, emailDomain: 1, fieldEquals: 1, priority: 1 };
var VALUE_ACTIONS = { priority: 1, tag: 1, team: 1, agent: 1 };
A.conditionNeeds = (type) => ({ value: !!VALUE_CONDITIONS[type], field: type === 'fieldEquals' });
A.actionNeeds = (type) => ({ value: !!VALUE_ACTIONS[type], text: type === 'reply' });

A.checkRules = (rules) => {
  var e = {}, seen = {};
  rules.forEach((r, i) => {
    var p = 'rules[' + i + '].';
    if (!A.isCode(r.id)) e[p + 'id'] = ['errCode'];
    else if (seen[r.id]) e[p + 'id'] = ['errDuplicate'];
    seen[r.id] = 1;
    need(e, p + 'name', r.name, LIMITS.name);
    if (!r.on || !r.on.length) e[p + 'on'] = ['errRuleOn'];
    (r.conditions || []).forEach((c, j) => {
      var q = p + 'conditions[' + j + '].';
      if (c.type === 'fieldEquals' && !str(c.field).trim()) e[q + 'field'] = ['errRequired'];
      if (VALUE_CONDITIONS[c.type] && c.type !== 'fieldEquals' && !str(c.value).trim()) e[q + 'value'] = ['errRequired'];
    });
    if (!r.actions || !r.actions.length) e[p + 'actions'] = ['errRuleActions'];
    (r.actions || []).forEach((a, j) => {
      var q = p + 'actions[' + j + '].';
      if (a.type === 'reply') need(e, q + 'text', a.text, LIMITS.message);
      else if (VALUE_ACTIONS[a.type] && !str(a.value).trim()) e[q + 'value'] = ['errRequired'];
    });
  });
  return e;
};

A.checkTeams = (teams) => {
  var e = {}, seen = {};
  teams.forEach((t, i) => {
    var p = 'teams[' + i + '].';
    if (!A.isCode(t.id)) e[p + 'id'] = ['errCode'];
    else if (seen[t.id]) e[p + 'id'] = ['errDuplicate'];
    seen[t.id] = 1;
    need(e, p + 'name', t.name, LIMITS.name);
  });
  return e;
};

A.checkInbox = (s) => {
  var e = {}, codes = {}, shortcuts = {};
  s.dispositions.forEach((d, i) => {
    var p = 'dispositions[' + i + '].';
    if (!A.isCode(d.code)) e[p + 'code'] = ['errCode'];
    else if (codes[d.code]) e[p + 'code'] = ['errDuplicate'];
    codes[d.code] = 1;
    need(e, p + 'label', d.label, LIMITS.name);
  });
  s.canned.forEach((c, i) => {
    var p = 'canned[' + i + '].', k = String(c.shortcut).toLowerCase();
    if (!A.isCode(c.shortcut)) e[p + 'shortcut'] = ['errCode'];
    else if (shortcuts[k]) e[p + 'shortcut'] = ['errDuplicate'];
    shortcuts[k] = 1;
    need(e, p + 'title', c.title, LIMITS.name);
    need(e, p + 'text', c.text, LIMITS.message);
  });
  return e;
};
})(typeof globalThis != 'undefined' ? globalThis : this);
