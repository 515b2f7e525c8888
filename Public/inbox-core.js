/* Parley inbox logic: the pure part of the agent page (/agent), with no DOM, no fetch and no clock of its own
 * (now is always passed in). Loaded by a script tag before agent.js → globalThis.ParleyInbox; tests:
 * Tests/js/inbox.test.mjs. A summary is a ticket as GET /api/agent/tickets and the agent stream give it
 * (TicketSummary.json(): fields that are nil on the server are left out, so absent = null here).
 *  ParleyInbox.timer(summary, nowMs, targetSeconds) → null | {elapsed, left, colour, expired}: the response timer.
 *  ParleyInbox.isNew(summary, me) → bool: a new chat (open, nobody assigned, the visitor wrote).
 *  ParleyInbox.sections(summaries, me, myTeams, f?) → {new, mine, team, unassigned, others}, each sorted;
 *    f: a filter() criteria object (default {} = open + pending, closed tickets left out).
 *  ParleyInbox.filter(summaries, {status, widget, tag, assignee, q}, me) → the matching summaries, in order.
 *  ParleyInbox.displayName(summary, fallback) → visitor name, else email, else fallback.
 *  ParleyInbox.titleCount(summaries, me) → n; ParleyInbox.title(base, n) → "(n) base" | base.
 *  ParleyInbox.shortTime(iso, nowMs, lang, timeZone?) → "now", "5 min", "14:32", "Mon 14:32", "12 Mar".
 * Strings (ParleyInbox.I, en/fr): now, min{n} */
((w) => {
'use strict';
var X = w.ParleyInbox = w.ParleyInbox || {};
if (X.timer) return;
X.I = {
  en: { now: 'now', min: '{n} min' },
  fr: { now: 'à l’instant', min: '{n} min' }
};
X.TARGET = 120;                 // seconds, when the widget gives no (valid) target response time
var PRIO = { urgent: 3, high: 2, normal: 1, low: 0 },
  ms = (iso) => { var t = iso ? Date.parse(iso) : NaN; return isNaN(t) ? null : t; },
  // null (absent, invalid) sorts after any time, whatever the direction
  cmpTime = (a, b, desc) => a === b ? 0 : a === null ? 1 : b === null ? -1 : desc ? b - a : a - b,
  byId = (a, b) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0,
  open = (s) => s.status != 'closed';

/* The response timer, for the visitor's oldest unanswered message (awaitingSince). null when nothing waits:
 * no awaitingSince (never wrote, or an agent answered: the timer "resets"), a closed ticket, an unreadable time.
 * elapsed = whole seconds since awaitingSince (floor; 0 if the server's clock is ahead of ours);
 * left = target - elapsed (negative once past); expired = left <= 0. Colour, left being whole seconds:
 *   yellow  left > 45         (46 s and more)
 *   orange  15 <= left <= 45  (both ends orange: "orange 15–45 s")
 *   red     left < 15         (14 s and less, expiry included, until an agent answers)
 * A target of 45 s or less starts orange (e.g. 30 s: orange 0–15 s elapsed, red from 16 s), under 15 s red.
 * target: whole seconds (a string is read as a number, decimals dropped); anything else (absent, under 1, not a
 * number, Infinity) → X.TARGET (120 s). */
X.timer = (s, now, target) => {
  var since = s && open(s) ? ms(s.awaitingSince) : null, t = Math.floor(Number(target)), elapsed, left;
  if (since === null) return null;
  if (!(t >= 1 && t < 1 / 0)) t = X.TARGET;
  elapsed = Math.max(0, Math.floor((now - since) / 1000));
  left = t - elapsed;
  return { elapsed, left, colour: left > 45 ? 'yellow' : left >= 15 ? 'orange' : 'red', expired: left <= 0 };
};

// New chat: open (not pending), nobody assigned, and the visitor has sent at least one message. `me` does not
// matter (a chat assigned to me is "mine", even before I opened it); kept for the callers' symmetry.
X.isNew = (s) => s.status == 'open' && !s.assignee && (s.visitorMessages || 0) >= 1;

/* Order of the new chats: oldest waiting first: awaitingSince ascending (none last), then createdAt ascending,
 * then id. */
var newOrder = (a, b) => cmpTime(ms(a.awaitingSince), ms(b.awaitingSince)) ||
  cmpTime(ms(a.createdAt), ms(b.createdAt)) || byId(a, b);
/* Order of the other sections, most urgent first:
 *  1. chats waiting for an agent (timer not null) before the others, the longest-waiting first (awaitingSince
 *     ascending: with one target for all, the expired and red ones come first);
 *  2. then priority: urgent, high, normal, low (unknown = normal);
 *  3. then the latest activity first: lastMessageAt, or createdAt when no message yet, descending;
 *  4. then id ascending, so that equal tickets keep one order across renders. */
var activeOrder = (a, b) => {
  var wa = open(a) ? ms(a.awaitingSince) : null, wb = open(b) ? ms(b.awaitingSince) : null,
    p = (s) => PRIO[s.priority] ?? PRIO.normal;
  return cmpTime(wa, wb) || p(b) - p(a) ||
    cmpTime(ms(a.lastMessageAt || a.createdAt), ms(b.lastMessageAt || b.createdAt), 1) || byId(a, b);
};

/* The inbox: each summary (after filter(f)) in exactly one section, first match wins:
 *  new: isNew; mine: assignee == me; team: assigned to someone else, summary.team in myTeams;
 *  unassigned: nobody assigned (not new: pending, no visitor message yet, or closed); others: the rest
 *  (assigned elsewhere, outside my teams: visible because the agent may see the widget). */
X.sections = (list, me, teams, f) => {
  var r = { new: [], mine: [], team: [], unassigned: [], others: [] }, k;
  X.filter(list, f, me).forEach((s) => {
    r[X.isNew(s) ? 'new' : !s.assignee ? 'unassigned' : s.assignee === me ? 'mine' :
      s.team != null && (teams || []).includes(s.team) ? 'team' : 'others'].push(s);
  });
  for (k in r) r[k].sort(k == 'new' ? newOrder : activeOrder);
  return r;
};

// Lower case without accents ("Élodie" → "elodie"), for the search.
var fold = (v) => String(v).normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase();

/* f.status: "active" (the default: open + pending), "closed", "all", or "open" / "pending" alone.
 * f.widget: that widget id; f.tag: has that tag (exact); f.assignee: "me", "none" (nobody) or an agent id.
 * f.q (trimmed; empty = any): case- and accent-insensitive part of the visitor's name or email, the subject,
 * the last message preview or a tag; or the start of the ticket id, whole ("20261121-k3") or its part after
 * the date ("k3x9"). Empty or absent criteria match everything. */
X.filter = (list, f, me) => {
  f = f || {};
  var st = f.status || 'active', q = fold(f.q == null ? '' : f.q).trim(), a = f.assignee;
  return (list || []).filter((s) => {
    var id = fold(s.id || '');
    return (st == 'all' || (st == 'active' ? open(s) : s.status == st)) &&
      (!f.widget || s.widget == f.widget) &&
      (!f.tag || (s.tags || []).includes(f.tag)) &&
      (!a || (a == 'me' ? s.assignee === me : a == 'none' ? !s.assignee : s.assignee === a)) &&
      (!q || id.startsWith(q) || id.slice(id.indexOf('-') + 1).startsWith(q) ||
        [s.visitorName, s.visitorEmail, s.subject, s.lastMessagePreview].concat(s.tags || [])
          .some((v) => v != null && fold(v).includes(q)));
  });
};

X.displayName = (s, fallback) => [s.visitorName, s.visitorEmail].map((v) => (v || '').trim()).find(Boolean) ||
  fallback;

/* The tab title's number: new chats (one each) + unread visitor messages (unreadByAgent) in my chats that are
 * not closed. */
X.titleCount = (list, me) => (list || []).reduce((n, s) => n +
  (X.isNew(s) ? 1 : s.assignee === me && me != null && open(s) ? s.unreadByAgent || 0 : 0), 0);
X.title = (base, n) => n > 0 ? '(' + n + ') ' + base : base;

/* A message's time in the list, in language `lang` (fr*: French, else English; Intl formats in that same
 * language) and time zone `tz` (an IANA name; default the runtime's). Less than 60 s ago (or ahead: clocks
 * differ) "now"; less than 60 min "5 min" (floor); the same calendar day in tz "14:32" (24 h); the 6 days before
 * "Mon 14:32"; older "12 Mar", with the year when not this year ("12 Mar 2025"). '' for an unreadable time. */
var fmts = {},
  parts = (lang, tz, at, o) => {
    var k = lang + '|' + tz + '|' + Object.keys(o), f = fmts[k], r = {};
    if (!f) {
      o = Object.assign({ timeZone: tz, hourCycle: 'h23' }, o);
      f = fmts[k] = new Intl.DateTimeFormat(lang, o);
    }
    f.formatToParts(at).forEach((p) => { r[p.type] = p.value; });
    return r;
  };
X.shortTime = (iso, now, lang, tz) => {
  var at = ms(iso), l = /^fr\b/i.test(lang || '') ? 'fr' : 'en', d = (now - at) / 1000,
    day = (t) => { var p = parts('en', tz, t, { year: 'numeric', month: 'numeric', day: 'numeric' });
      return { y: p.year, n: Date.UTC(p.year, p.month - 1, p.day) / 864e5 }; }, a, b, p, hm;
  if (at === null) return '';
  if (d < 60) return X.I[l].now;
  if (d < 3600) return X.I[l].min.replace('{n}', Math.floor(d / 60));
  a = day(at); b = day(now);
  p = parts(l, tz, at, { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit',
    minute: '2-digit' });
  hm = p.hour + ':' + p.minute;
  return b.n - a.n < 1 ? hm : b.n - a.n < 7 ? p.weekday + ' ' + hm : p.day + ' ' + p.month + (a.y == b.y ? '' : ' ' + p.year);
};
})(typeof globalThis != 'undefined' ? globalThis : this);
