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
 *  ParleyInbox.titleCount(summaries, me, seen?) → n; ParleyInbox.title(base, n) → "(n) base" | base.
 *  ParleyInbox.unseen(summary, seen) → the unread visitor messages the agent has not had in view (badge, title).
 *  ParleyInbox.shortTime(iso, nowMs, lang, timeZone?) → "now", "5 min", "14:32", "Mon 14:32", "12 Mar".
 *  ParleyInbox.clock(seconds) → "0:07", "12:30", "1:02:03": the response timer's text.
 *  ParleyInbox.openMode(summary, me) → "join" | "readonly" | "closed": what opening the ticket does.
 *  ParleyInbox.forWidget(items, widget) → the canned responses / dispositions that apply to that widget.
 *  ParleyInbox.cannedQuery(text) → null | query; ParleyInbox.canned(items, widget, query) → matches, best first.
 *  ParleyInbox.order(sections) → ticket ids in the order shown; ParleyInbox.step(ids, id, ±1) → next/previous id;
 *    ParleyInbox.stepFrom(snapshot, ids, id, ±1): the same through the order as it was when `id` was opened.
 *  ParleyInbox.shortcut(keyEvent, typing) → "next" | "prev" | "reply" | "end" | "help" | "search" | null.
 *  ParleyInbox.nextOffset(offset, pageLength, total, added) → the next page's offset, or null: list paging.
 *  ParleyInbox.skew(dateHeader, sentMs, receivedMs) → server clock minus ours (ms) from one answer, or null;
 *    ParleyInbox.skewOf(samples) → the offset to use: their median, 0 when under 2 s.
 *  ParleyInbox.settles(pending, event, me) → bool: that event is the stored copy of a reply or note still pending;
 *    ParleyInbox.retryable(note, status) → bool: a failed send may be sent again.
 *  ParleyInbox.typingDue(lastMs, nowMs) → bool: send a typing signal now (at most one per 2 s).
 *  ParleyInbox.notice(summary, event, me, inView, nowMs) → "new" | "message" | null: what a stream entry notifies.
 *  ParleyInbox.wrapup(disposition, notes) → null | the wrap-up body ({disposition?, notes?}, trimmed).
 *  ParleyInbox.systemLine(event, lang, labels?) → the text of a system line in the conversation ("Ann joined"), or null.
 * Strings (ParleyInbox.I, en/fr): now, min{n}, the system lines' texts (sys*) and the priorities (prio*). */
((w) => {
'use strict';
var X = w.ParleyInbox = w.ParleyInbox || {};
if (X.timer) return;
X.I = {
  en: { now: 'now', min: '{n} min',
    sysOpened: 'Chat started', sysOpenedOn: 'Chat started on {page}', sysJoined: '{name} joined',
    sysLeft: '{name} left', sysVisitorLeft: 'Visitor left', sysAssigned: 'Assigned to {name}',
    sysAssignedBy: 'Assigned to {name} by {by}', sysAssignedTeam: 'Assigned to team {team}',
    sysAssignedTeamBy: 'Assigned to team {team} by {by}', sysUnassigned: 'Unassigned by {by}',
    sysTakeover: '{name} took over from {from}', sysClosed: 'Closed by {by}', sysClosedAuto: 'Closed',
    sysReopened: 'Reopened by {by}', sysPending: 'Set to pending by {by}', sysPriority: 'Priority set to {priority} by {by}',
    sysTagAdded: '{by} added the tag {tag}', sysTagRemoved: '{by} removed the tag {tag}', sysWrapup: 'Wrap-up by {by}',
    sysWrapupWith: 'Wrap-up by {by}: {what}', sysFeedback: 'The visitor rated the chat {rating}/5',
    sysFeedbackWith: 'The visitor rated the chat {rating}/5: “{comment}”', sysAutoresponder: 'Automatic reply sent ({rule})',
    sysAutoreplyOff: '{by} asked to skip the next automatic reply', sysAutoreplyOn: '{by} let the next automatic reply go out again',
    sysSomeone: 'An agent', sysBot: 'Bot', sysSystem: 'Parley',
    prioLow: 'low', prioNormal: 'normal', prioHigh: 'high', prioUrgent: 'urgent' },
  fr: { now: 'à l’instant', min: '{n} min',
    sysOpened: 'Conversation démarrée', sysOpenedOn: 'Conversation démarrée sur {page}',
    sysJoined: '{name} a rejoint la conversation', sysLeft: '{name} a quitté la conversation',
    sysVisitorLeft: 'Le visiteur est parti', sysAssigned: 'Attribué à {name}', sysAssignedBy: 'Attribué à {name} par {by}',
    sysAssignedTeam: 'Attribué à l’équipe {team}', sysAssignedTeamBy: 'Attribué à l’équipe {team} par {by}',
    sysUnassigned: 'Désattribué par {by}', sysTakeover: '{name} a repris la conversation de {from}',
    sysClosed: 'Clôturé par {by}', sysClosedAuto: 'Clôturé', sysReopened: 'Rouvert par {by}',
    sysPending: 'Mis en attente par {by}', sysPriority: 'Priorité « {priority} » choisie par {by}',
    sysTagAdded: '{by} a ajouté l’étiquette {tag}', sysTagRemoved: '{by} a retiré l’étiquette {tag}',
    sysWrapup: 'Bilan de {by}', sysWrapupWith: 'Bilan de {by} : {what}',
    sysFeedback: 'Le visiteur a noté la conversation {rating}/5',
    sysFeedbackWith: 'Le visiteur a noté la conversation {rating}/5 : « {comment} »',
    sysAutoresponder: 'Réponse automatique envoyée ({rule})',
    sysAutoreplyOff: '{by} a demandé de sauter la prochaine réponse automatique',
    sysAutoreplyOn: '{by} a rétabli la prochaine réponse automatique',
    sysSomeone: 'Un conseiller', sysBot: 'Robot', sysSystem: 'Parley',
    prioLow: 'basse', prioNormal: 'normale', prioHigh: 'haute', prioUrgent: 'urgente' }
};
X.TARGET = 120;                 // seconds, when the widget gives no (valid) target response time
var PRIO = { urgent: 3, high: 2, normal: 1, low: 0 },
  // Date.parse, remembered: sorting compares each time many times (2,000 tickets: 24 → 4 ms per render).
  seen = new Map(),
  ms = (iso) => {
    var t = iso ? seen.get(iso) : NaN;
    if (t === undefined) { if (seen.size > 5e4) seen.clear(); seen.set(iso, t = Date.parse(iso)); }
    return isNaN(t) ? null : t;
  },
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
var last = (t) => t === null ? 1 / 0 : t,    // an absent time sorts after any time, whatever the direction
  newKey = (s) => [last(ms(s.awaitingSince)), last(ms(s.createdAt)), s.id];
/* Order of the other sections, most urgent first:
 *  1. chats waiting for an agent (timer not null) before the others, the longest-waiting first (awaitingSince
 *     ascending: with one target for all, the expired and red ones come first);
 *  2. then priority: urgent, high, normal, low (unknown = normal);
 *  3. then the latest activity first: lastMessageAt, or createdAt when no message yet, descending;
 *  4. then id ascending, so that equal tickets keep one order across renders. */
var activeKey = (s) => [last(open(s) ? ms(s.awaitingSince) : null), -(PRIO[s.priority] ?? PRIO.normal),
    -(ms(s.lastMessageAt || s.createdAt) ?? -1 / 0), s.id],
  // Sorts by keys computed once per ticket (not once per comparison): arrays compared element by element.
  sortBy = (list, key) => list.map((s) => [key(s), s]).sort((a, b) => {
    for (var x = a[0], y = b[0], i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
    return 0;
  }).map((p) => p[1]);

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
  for (k in r) r[k] = sortBy(r[k], k == 'new' ? newKey : activeKey);
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
      (!q || id.startsWith(q) || id.slice(id.indexOf('-') + 1).startsWith(q) || hay(s).some((v) => v.includes(q)));
  });
};
// The folded texts a search looks in, once per summary object (an update brings a new object).
var hays = new WeakMap(),
  hay = (s) => hays.get(s) || hays.set(s, [s.visitorName, s.visitorEmail, s.subject, s.lastMessagePreview]
    .concat(s.tags || []).filter((v) => v != null).map(fold)).get(s);

X.displayName = (s, fallback) => [s.visitorName, s.visitorEmail].map((v) => (v || '').trim()).find(Boolean) ||
  fallback;

/* Unread visitor messages minus those the agent already had in view. seen: {ticket id: the unreadByAgent it had
 * while in view} (absent = none seen). unreadByAgent only grows until an agent answers (then 0), so a count below
 * the seen one means it was reset since: all of it is new again. */
X.unseen = (s, seen) => {
  var u = s.unreadByAgent || 0, k = seen && Object.prototype.hasOwnProperty.call(seen, s.id) ? +seen[s.id] || 0 : 0;
  return u < k ? u : u - k;
};

/* The tab title's number: new chats (one each) + unread visitor messages (unreadByAgent, less what was seen: see
 * unseen) in my chats that are not closed. */
X.titleCount = (list, me, seen) => (list || []).reduce((n, s) => n +
  (X.isNew(s) ? 1 : s.assignee === me && me != null && open(s) ? (seen ? X.unseen(s, seen) : s.unreadByAgent || 0) : 0), 0);
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

/* The response timer's text: whole seconds as m:ss, h:mm:ss from an hour; negative counts as 0. */
X.clock = (sec) => {
  sec = Math.max(0, Math.floor(Number(sec) || 0));
  var h = Math.floor(sec / 3600), m = Math.floor(sec / 60) % 60, s = sec % 60, two = (n) => (n < 10 ? '0' : '') + n;
  return h ? h + ':' + two(m) + ':' + two(s) : m + ':' + two(s);
};

/* What opening a ticket does: "closed" (shown, nothing to join), "join" (nobody or I hold it: POST .../open assigns it
 * to me if nobody holds it and joins me), "readonly" (another agent holds it: shown read-only, with "take over"). */
X.openMode = (s, me) => s.status == 'closed' ? 'closed' : !s.assignee || s.assignee === me ? 'join' : 'readonly';

/* Canned responses and dispositions apply to the widgets they list; none listed (absent or empty) = every widget. */
X.forWidget = (items, widget) => (items || []).filter((c) => !c.widgets || !c.widgets.length || c.widgets.includes(widget));

/* The canned-response picker opens while the reply is one line starting with "/": the query is what follows it. */
X.cannedQuery = (text) => /^\/[^\n]*$/.test(text || '') ? text.slice(1) : null;

/* The canned responses of `widget` that match `query` (trimmed, case- and accent-insensitive; empty = all), best first:
 * shortcut starting with it, then shortcut containing it, then title containing it; by shortcut within each. */
X.canned = (items, widget, query) => {
  var q = fold(query == null ? '' : query).trim(), rank = (c) => {
    var k = fold(c.shortcut || ''), t = fold(c.title || '');
    return k.startsWith(q) ? 0 : k.includes(q) ? 1 : t.includes(q) ? 2 : 3;
  };
  return X.forWidget(items, widget).map((c) => [rank(c), c]).filter((p) => p[0] < 3)
    .sort((a, b) => a[0] - b[0] || (a[1].shortcut < b[1].shortcut ? -1 : a[1].shortcut > b[1].shortcut ? 1 : 0))
    .map((p) => p[1]);
};

/* The order of the list on screen (sections new, mine, team, unassigned, others), as ticket ids; step() moves by
 * `d` (+1 next, -1 previous) from `id`, stopping at the ends; from nothing (or an id not in the list) it starts at the
 * first (next) or the last (previous). null when the list is empty. */
X.SECTIONS = ['new', 'mine', 'team', 'unassigned', 'others'];
X.order = (sec) => X.SECTIONS.reduce((r, k) => r.concat(((sec || {})[k] || []).map((s) => s.id)), []);
X.step = (ids, id, d) => {
  var i = ids.indexOf(id);
  if (!ids.length) return null;
  if (i < 0) return d > 0 ? ids[0] : ids[ids.length - 1];
  return ids[Math.min(ids.length - 1, Math.max(0, i + d))];
};

/* j/k after an open: opening a new chat assigns it, so it moves (from "new" to the end of "mine") and stepping from
 * its new place would skip the chats that were after it. snapshot: the order (ids) as it was just before `id` was
 * opened; the step goes from id's place there to the next (d = +1) or previous (-1) id still in `ids`, and stops at
 * the end of the snapshot (returns id; null if id is no longer listed). Without a snapshot, or id not in it:
 * step(ids, id, d). */
X.stepFrom = (snap, ids, id, d) => {
  var i = snap && id != null ? snap.indexOf(id) : -1, listed;
  if (i < 0) return X.step(ids, id, d);
  listed = new Set(ids);
  for (i += d; i >= 0 && i < snap.length; i += d) if (listed.has(snap[i])) return snap[i];
  return listed.has(id) ? id : null;
};

/* The inbox's keyboard shortcuts, from a keydown's {key, altKey, ctrlKey, metaKey}; `typing`: the focus is in a
 * text field (there only the Alt ones apply), or "select" in a select (there Alt+arrows open it: none apply).
 * Alt+ArrowDown/ArrowUp, j/k: next/previous chat; r: focus the reply; e: end the chat; ?: the shortcuts' help;
 * /: the search. */
X.KEYS = { j: 'next', k: 'prev', r: 'reply', e: 'end', '?': 'help', '/': 'search' };
X.shortcut = (e, typing) => {
  if (!e || e.ctrlKey || e.metaKey || e.isComposing) return null;
  if (e.altKey) return e.shiftKey || typing == 'select' ? null : e.key == 'ArrowDown' ? 'next' : e.key == 'ArrowUp' ? 'prev' : null;
  return typing || !Object.prototype.hasOwnProperty.call(X.KEYS, e.key) ? null : X.KEYS[e.key];
};

/* Typing signals to the visitor: at most one per 2 s (the first one at once). */
X.TYPING_EVERY = 2000;
X.typingDue = (last, now) => last == null || now - last >= X.TYPING_EVERY || now < last;

/* What a live entry {ticket: summary, event} notifies (browser notification + sound): only a visitor's message or
 * file, less than 2 minutes old (not a replay after a reconnect), in a chat that is not in view:
 *   "new"      the first visitor message of a new chat (isNew, visitorMessages 1);
 *   "message"  a later one in a new chat, or in one of mine that is not closed;  null otherwise. */
X.notice = (s, e, me, inView, now) => {
  var at = e && ms(e.at);
  if (!s || !e || (e.type != 'message' && e.type != 'attachment') || !e.by || e.by.kind != 'visitor' || inView ||
    at === null || now - at > 120000) return null;
  if (X.isNew(s)) return s.visitorMessages == 1 ? 'new' : 'message';
  return me != null && s.assignee === me && open(s) ? 'message' : null;
};

/* Paging through the list (GET /api/agent/tickets?limit=&offset=, answers {tickets, total}): the offset of the next
 * page after one of `got` tickets at `offset`, or null when done: all `total` read, an empty page, or a page that
 * added no ticket not seen before (a server that ignores offset would otherwise be asked forever). */
X.nextOffset = (offset, got, total, added) => {
  var next = (offset || 0) + (got || 0);
  return !got || !added || !(next < total) ? null : next;
};

/* The server's clock minus ours, in ms, from one answer: its Date header (whole seconds, so the server's time was
 * somewhere in that second: its middle is taken) against the middle of our request (sent..received, our ms).
 * null when there is no readable header. skewOf(samples) → their median, rounded; 0 when under 2 s (not worth it). */
X.skew = (date, sent, received) => {
  var d = date ? Date.parse(date) : NaN;
  return isNaN(d) || !(received >= sent) ? null : Math.round(d + 500 - (sent + received) / 2);
};
X.skewOf = (samples) => {
  var a = (samples || []).filter((v) => typeof v == 'number' && isFinite(v)).sort((x, y) => x - y), m;
  if (!a.length) return 0;
  m = a.length % 2 ? a[(a.length - 1) / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
  return Math.abs(m) < 2000 ? 0 : Math.round(m);
};

/* The outbox: a reply or note shown at once as "sending…", then as "not sent" if it fails, until its stored copy
 * comes back (in the POST's answer, the live stream or a reload). pending: {clientId, note, text, afterSeq (the
 * ticket's lastSeq when it was sent)}. A reply's copy carries its clientId; a note has none: its copy is a note by
 * `me` with the same text (trimmed), stored after afterSeq. */
X.settles = (p, e, me) => {
  if (!p || !e) return false;
  if (!p.note) return e.type == 'message' && e.clientId != null && e.clientId === p.clientId;
  return e.type == 'note' && !!e.by && e.by.kind == 'agent' && me != null && e.by.id === me &&
    String(e.text || '').trim() === String(p.text || '').trim() && e.seq > (p.afterSeq || 0);
};
/* May a failed send be sent again? A reply: always (it carries its clientId, which the server dedupes). A note has
 * no id: only when it surely did not land as an answer said so, i.e. after a network failure (status 0) or a server
 * error (5xx), where a retry is the only way; after any other answer (4xx) the server refused it and would again. */
X.retryable = (note, status) => !note || !status || status >= 500;

/* The wrap-up to POST: null when nothing was entered (then nothing is sent), else the trimmed non-empty fields. */
X.wrapup = (disposition, notes) => {
  var d = String(disposition == null ? '' : disposition).trim(), n = String(notes == null ? '' : notes).trim(), r = {};
  if (d) r.disposition = d;
  if (n) r.notes = n;
  return d || n ? r : null;
};

/* A system line of the conversation (joins, assignments, status, tags, wrap-up, feedback...) in `lang` (fr* French,
 * else English); null for messages, files, notes and unknown types (drawn otherwise, or not at all).
 * labels: {disposition code: label} (a wrap-up shows the label; an unknown code shows as is). */
X.systemLine = (e, lang, labels) => {
  var I = X.I[/^fr\b/i.test(lang || '') ? 'fr' : 'en'], by = e && e.by || {},
    S = (k, v) => I[k].replace(/\{(\w+)\}/g, (_, n) => v && v[n] != null ? String(v[n]) : ''),
    who = by.name || (by.kind == 'bot' ? I.sysBot : by.kind == 'system' ? I.sysSystem : I.sysSomeone),
    self = by.kind == 'agent' && by.id != null && by.id === e.agent, p, what;
  if (!e) return null;
  switch (e.type) {
    case 'ticket.opened':
      p = e.page && (String(e.page.title || '').trim() || e.page.url);
      return p ? S('sysOpenedOn', { page: p }) : I.sysOpened;
    case 'agent.joined': return S('sysJoined', { name: who });
    case 'agent.left': return S('sysLeft', { name: who });
    case 'visitor.left': return I.sysVisitorLeft;
    case 'assigned':
      if (e.takeover) return S('sysTakeover', { name: e.agentName || who, from: e.fromAgentName || I.sysSomeone });
      if (e.agent) return S(self || by.kind != 'agent' ? 'sysAssigned' : 'sysAssignedBy', { name: e.agentName || e.agent, by: who });
      if (e.team) return S(by.kind == 'agent' ? 'sysAssignedTeamBy' : 'sysAssignedTeam', { team: e.team, by: who });
      return S('sysUnassigned', { by: who });
    case 'status':
      if (e.status == 'closed') return by.kind == 'system' ? I.sysClosedAuto : S('sysClosed', { by: who });
      return S(e.status == 'pending' ? 'sysPending' : 'sysReopened', { by: who });
    case 'priority':
      p = I['prio' + String(e.priority || '').replace(/^./, (c) => c.toUpperCase())];
      return S('sysPriority', { priority: p || e.priority, by: who });
    case 'tag.added': return S('sysTagAdded', { tag: e.tag, by: who });
    case 'tag.removed': return S('sysTagRemoved', { tag: e.tag, by: who });
    case 'wrapup':
      what = [e.disposition && (labels && labels[e.disposition] || e.disposition), e.notes].filter(Boolean).join(' · ');
      return what ? S('sysWrapupWith', { by: who, what }) : S('sysWrapup', { by: who });
    case 'feedback':
      return S(e.comment ? 'sysFeedbackWith' : 'sysFeedback', { rating: e.rating, comment: e.comment });
    case 'autoresponder': return S('sysAutoresponder', { rule: e.rule || '' }).replace(' ()', '');
    case 'autoreply.skip': return S(e.skip ? 'sysAutoreplyOff' : 'sysAutoreplyOn', { by: who });
  }
  return null;
};
})(typeof globalThis != 'undefined' ? globalThis : this);
