// Tests for Public/inbox-core.js (the agent inbox's pure logic), run with `node --test Tests/js/`.
//
// The file runs in an empty `vm` context (no DOM, no fetch: it must need neither). Its results are arrays and
// objects of that context, so they go through plain() before a deepEqual (strict equality compares prototypes).
// Every time is computed from one fixed clock, NOW, and every expected value is written out by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import vm from 'node:vm';

const SRC = readFileSync(new URL('../../Public/inbox-core.js', import.meta.url), 'utf8');
const load = (g = {}) => { vm.runInContext(SRC, vm.createContext(g), { filename: 'inbox-core.js' }); return g.ParleyInbox; };
const X = load();
const plain = (x) => JSON.parse(JSON.stringify(x));

const NOW = Date.parse('2026-03-19T14:40:00Z');           // a Thursday
const ago = (s) => new Date(NOW - s * 1000).toISOString();  // `s` seconds before NOW, ISO like the server's
const ME = 'a1';

/** A ticket summary as TicketSummary.json() gives it: nil fields are absent. */
const sum = (id, o = {}) => ({ id, widget: 'w1', status: 'open', priority: 'normal', tags: [], device: 'desktop',
  createdAt: ago(3600), visitorMessages: 0, unreadByAgent: 0, unreadByVisitor: 0, visitorLeft: false, lastSeq: 1, ...o });

test('loads as globalThis.ParleyInbox in an empty context; loading it twice keeps the first copy', () => {
  const g = {};
  const a = load(g);
  for (const f of ['timer', 'isNew', 'sections', 'filter', 'displayName', 'titleCount', 'title', 'shortTime', 'clock',
    'openMode', 'forWidget', 'cannedQuery', 'canned', 'order', 'step', 'shortcut', 'typingDue', 'notice', 'wrapup',
    'systemLine', 'unseen', 'stepFrom', 'nextOffset', 'skew', 'skewOf', 'settles', 'retryable']) {
    assert.equal(typeof a[f], 'function', f);
  }
  const timer = a.timer;
  vm.runInContext(SRC, vm.createContext(g));
  assert.equal(g.ParleyInbox.timer, timer);
  assert.deepEqual(Object.keys(a.I.fr).sort(), Object.keys(a.I.en).sort(), 'en and fr have the same strings');
});

// --- the response timer -----------------------------------------------------------------------------------

test('timer colours at the boundaries (target 120 s): yellow > 45 s left, orange 15–45, red < 15 and after', () => {
  // [seconds left, colour, expired]; elapsed = 120 - left
  const rows = [
    [46, 'yellow', false], [45, 'orange', false], [44, 'orange', false], [16, 'orange', false],
    [15, 'orange', false], [14, 'red', false], [1, 'red', false], [0, 'red', true], [-1, 'red', true],
    [-100, 'red', true], [120, 'yellow', false],
  ];
  for (const [left, colour, expired] of rows) {
    const t = X.timer(sum('t', { awaitingSince: ago(120 - left) }), NOW, 120);
    assert.deepEqual(plain(t), { elapsed: 120 - left, left, colour, expired }, `left ${left}`);
  }
});

test('timer: elapsed is whole seconds, rounded down, so a colour changes on the second', () => {
  const at = (msAgo) => plain(X.timer(sum('t', { awaitingSince: new Date(NOW - msAgo).toISOString() }), NOW, 120));
  assert.deepEqual(at(74_999), { elapsed: 74, left: 46, colour: 'yellow', expired: false });
  assert.deepEqual(at(75_000), { elapsed: 75, left: 45, colour: 'orange', expired: false });
  assert.deepEqual(at(105_999), { elapsed: 105, left: 15, colour: 'orange', expired: false });
  assert.deepEqual(at(106_000), { elapsed: 106, left: 14, colour: 'red', expired: false });
  assert.deepEqual(at(119_999), { elapsed: 119, left: 1, colour: 'red', expired: false });
  assert.deepEqual(at(120_000), { elapsed: 120, left: 0, colour: 'red', expired: true });
  assert.deepEqual(at(999), { elapsed: 0, left: 120, colour: 'yellow', expired: false });
  assert.deepEqual(at(-5000), { elapsed: 0, left: 120, colour: 'yellow', expired: false }, 'server clock ahead');
});

test('timer: a target of 45 s or less starts orange, under 15 s starts red', () => {
  // [target, elapsed, left, colour, expired]
  const rows = [
    [30, 0, 30, 'orange', false], [30, 15, 15, 'orange', false], [30, 16, 14, 'red', false],
    [30, 29, 1, 'red', false], [30, 30, 0, 'red', true], [30, 31, -1, 'red', true],
    [10, 0, 10, 'red', false], [10, 9, 1, 'red', false], [10, 10, 0, 'red', true], [10, 200, -190, 'red', true],
    [45, 0, 45, 'orange', false], [46, 0, 46, 'yellow', false], [46, 1, 45, 'orange', false],
    [15, 0, 15, 'orange', false], [14, 0, 14, 'red', false], [1, 0, 1, 'red', false], [1, 1, 0, 'red', true],
  ];
  for (const [target, elapsed, left, colour, expired] of rows) {
    const t = X.timer(sum('t', { awaitingSince: ago(elapsed) }), NOW, target);
    assert.deepEqual(plain(t), { elapsed, left, colour, expired }, `target ${target}, elapsed ${elapsed}`);
  }
});

test('timer: null when nothing waits (never wrote, answered, closed, unreadable time); pending still counts', () => {
  assert.equal(X.timer(sum('t'), NOW, 120), null, 'no awaitingSince field');
  assert.equal(X.timer(sum('t', { awaitingSince: null, visitorMessages: 2 }), NOW, 120), null, 'answered');
  assert.equal(X.timer(sum('t', { status: 'closed', awaitingSince: ago(500) }), NOW, 120), null, 'closed');
  assert.equal(X.timer(sum('t', { awaitingSince: 'yesterday-ish' }), NOW, 120), null, 'unreadable');
  assert.equal(X.timer(sum('t', { awaitingSince: '' }), NOW, 120), null, 'empty');
  assert.equal(X.timer(null, NOW, 120), null);
  assert.equal(plain(X.timer(sum('t', { status: 'pending', awaitingSince: ago(110) }), NOW, 120)).colour, 'red');
});

test('timer resets: red after expiry until an agent answers, then null, then a new message starts it again', () => {
  const t = sum('t', { awaitingSince: ago(300) });
  assert.equal(X.timer(t, NOW, 120).colour, 'red');
  assert.equal(X.timer(t, NOW + 3_600_000, 120).colour, 'red', 'still red an hour later');
  const answered = { ...t, awaitingSince: null, lastMessageBy: { kind: 'agent', id: ME } };
  assert.equal(X.timer(answered, NOW, 120), null);
  const again = { ...answered, awaitingSince: ago(2) };
  assert.deepEqual(plain(X.timer(again, NOW, 120)), { elapsed: 2, left: 118, colour: 'yellow', expired: false });
});

test('timer: a missing or invalid target falls back to 120 s; a numeric string or a decimal is read', () => {
  const t = sum('t', { awaitingSince: ago(70) });
  for (const target of [undefined, null, 0, -30, NaN, Infinity, 'soon', '', 0.5]) {
    assert.deepEqual(plain(X.timer(t, NOW, target)), { elapsed: 70, left: 50, colour: 'yellow', expired: false },
      `target ${String(target)}`);
  }
  assert.equal(X.timer(t, NOW, '90').left, 20);
  assert.equal(X.timer(t, NOW, 100.9).left, 30);
});

// --- new chats and the inbox's sections ---------------------------------------------------------------------

test('isNew: open, nobody assigned, the visitor wrote at least once', () => {
  const rows = [
    [{ visitorMessages: 1 }, true],
    [{ visitorMessages: 4, awaitingSince: ago(10) }, true],
    [{ visitorMessages: 0 }, false],
    [{ visitorMessages: 1, assignee: ME }, false],
    [{ visitorMessages: 1, assignee: 'a2' }, false],
    [{ visitorMessages: 1, assignee: null }, true],
    [{ visitorMessages: 1, status: 'pending' }, false],
    [{ visitorMessages: 1, status: 'closed' }, false],
  ];
  for (const [o, want] of rows) assert.equal(X.isNew(sum('t', o), ME), want, JSON.stringify(o));
});

// One inbox for the ordering tests: me = a1, my teams: sales, support-fr.
const TEAMS = ['sales', 'support-fr'];
const INBOX = [
  // new chats: awaitingSince ascending, then createdAt, then id; none waiting last
  sum('n-late', { visitorMessages: 2, awaitingSince: ago(300), createdAt: ago(400) }),
  sum('n-oldest', { visitorMessages: 1, awaitingSince: ago(600), createdAt: ago(600) }),
  sum('n-tie-older', { visitorMessages: 1, awaitingSince: ago(300), createdAt: ago(500) }),
  sum('n-answered', { visitorMessages: 1, createdAt: ago(900), lastMessageBy: { kind: 'agent', id: 'a2' } }),
  sum('n-team', { visitorMessages: 1, awaitingSince: ago(100), team: 'sales' }),
  // unassigned, not new
  sum('u-silent', { visitorMessages: 0, createdAt: ago(50) }),
  sum('u-pending', { status: 'pending', visitorMessages: 3, awaitingSince: ago(700), lastMessageAt: ago(700) }),
  sum('u-team', { visitorMessages: 0, team: 'sales', createdAt: ago(20) }),
  // mine: waiting first (longest first), then priority, then latest activity, then id
  sum('m-low-waiting', { assignee: ME, priority: 'low', awaitingSince: ago(200), lastMessageAt: ago(200) }),
  sum('m-urgent-recent', { assignee: ME, priority: 'urgent', lastMessageAt: ago(10) }),
  sum('m-waiting-longest', { assignee: ME, awaitingSince: ago(500), lastMessageAt: ago(20) }),
  sum('m-urgent-older', { assignee: ME, priority: 'urgent', lastMessageAt: ago(50) }),
  sum('m-high-newest', { assignee: ME, priority: 'high', lastMessageAt: ago(5) }),
  sum('m-normal-created', { assignee: ME, createdAt: ago(30) }),
  sum('m-normal-old', { assignee: ME, lastMessageAt: ago(100) }),
  sum('m-tie-b', { assignee: ME, lastMessageAt: ago(300) }),
  sum('m-tie-a', { assignee: ME, lastMessageAt: ago(300) }),
  sum('m-same-wait-low', { assignee: ME, priority: 'low', awaitingSince: ago(400) }),
  sum('m-same-wait-high', { assignee: ME, priority: 'high', awaitingSince: ago(400) }),
  sum('m-pending', { assignee: ME, status: 'pending', awaitingSince: ago(150) }),
  sum('m-team-sales', { assignee: ME, team: 'sales', lastMessageAt: ago(1000) }),
  sum('m-closed', { assignee: ME, status: 'closed', lastMessageAt: ago(1) }),
  // assigned to others
  sum('t-sales', { assignee: 'a2', team: 'sales', lastMessageAt: ago(60) }),
  sum('t-fr-waiting', { assignee: 'a3', team: 'support-fr', awaitingSince: ago(30) }),
  sum('o-support', { assignee: 'a2', team: 'support', awaitingSince: ago(900) }),
  sum('o-noteam', { assignee: 'a3', priority: 'urgent' }),
  sum('o-closed', { assignee: 'a2', status: 'closed', team: 'sales' }),
];
const ids = (r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Array.from(v, (s) => s.id)]));

test('sections: each active ticket in one section, each section in its order', () => {
  const want = {
    new: ['n-oldest', 'n-tie-older', 'n-late', 'n-team', 'n-answered'],
    mine: ['m-waiting-longest', 'm-same-wait-high', 'm-same-wait-low', 'm-low-waiting', 'm-pending',
      'm-urgent-recent', 'm-urgent-older', 'm-high-newest', 'm-normal-created', 'm-normal-old', 'm-tie-a',
      'm-tie-b', 'm-team-sales'],
    team: ['t-fr-waiting', 't-sales'],
    unassigned: ['u-pending', 'u-team', 'u-silent'],
    others: ['o-support', 'o-noteam'],
  };
  assert.deepEqual(ids(X.sections(INBOX, ME, TEAMS)), want);
  assert.deepEqual(ids(X.sections([...INBOX].reverse(), ME, TEAMS)), want, 'the input order does not matter');
  assert.equal(INBOX[0].id, 'n-late', 'the input is not sorted in place');
});

test('sections: another agent sees the same tickets in other sections; no teams → no team section', () => {
  const r = ids(X.sections(INBOX, 'a2', ['support']));
  assert.deepEqual(r.mine, ['o-support', 't-sales']);
  assert.deepEqual(r.team, []);
  assert.ok(r.others.includes('m-waiting-longest') && r.others.includes('t-fr-waiting'));
  assert.deepEqual(ids(X.sections(INBOX, ME)).team, []);
  assert.deepEqual(ids(X.sections(INBOX, ME, [])).others, ['o-support', 't-fr-waiting', 'o-noteam', 't-sales']);
});

test('sections: closed tickets only when the filter asks; the filter applies first', () => {
  const closed = ids(X.sections(INBOX, ME, TEAMS, { status: 'closed' }));
  assert.deepEqual(closed, { new: [], mine: ['m-closed'], team: ['o-closed'], unassigned: [], others: [] });
  const all = X.sections(INBOX, ME, TEAMS, { status: 'all' });
  assert.equal(Object.values(all).reduce((n, v) => n + v.length, 0), INBOX.length);
  const c = [sum('c', { assignee: ME, status: 'closed', priority: 'urgent', awaitingSince: ago(999) }),
    sum('w', { assignee: ME, priority: 'low', awaitingSince: ago(5) })];
  assert.deepEqual(ids(X.sections(c, ME, [], { status: 'all' })).mine, ['w', 'c'], 'a closed ticket never waits');
  assert.deepEqual(ids(X.sections(INBOX, ME, TEAMS, { q: 'tie' })),
    { new: ['n-tie-older'], mine: ['m-tie-a', 'm-tie-b'], team: [], unassigned: [], others: [] });
  const active = X.sections(INBOX, ME, TEAMS);
  assert.equal(Object.values(active).reduce((n, v) => n + v.length, 0), INBOX.length - 2);
});

test('sections: priority order urgent > high > normal > low, unknown as normal; absent times sort last', () => {
  const list = ['low', 'urgent', 'weird', 'normal', 'high'].map((p, i) => sum('p' + i, { assignee: ME, priority: p,
    lastMessageAt: ago(10) }));
  assert.deepEqual(ids(X.sections(list, ME, [])).mine, ['p1', 'p4', 'p2', 'p3', 'p0']);
  const times = [sum('no-times', { assignee: ME, createdAt: '' }), sum('has-time', { assignee: ME, lastMessageAt: ago(9999) })];
  assert.deepEqual(ids(X.sections(times, ME, [])).mine, ['has-time', 'no-times']);
});

// --- filters ---------------------------------------------------------------------------------------------

const F = [
  sum('20260319-k3x9m2q7fa', { widget: 'shop', tags: ['billing', 'vip'], visitorName: 'Élodie Fèvre',
    visitorEmail: 'elodie@example.fr', assignee: ME, subject: 'Remboursement', lastMessagePreview: 'Où est ma commande ?' }),
  sum('20260318-ab12cd34ef', { widget: 'shop', status: 'pending', tags: ['shipping'], visitorEmail: 'BOB@Example.com',
    assignee: 'a2', lastMessagePreview: 'Thanks!' }),
  sum('20260301-zz99yy88xx', { widget: 'docs', status: 'closed', tags: ['billing'], visitorName: 'Zoë', subject: 'Invoice' }),
  sum('20260317-qq11ww22ee', { widget: 'docs', visitorName: 'Chloe', lastMessagePreview: 'hello' }),
];
const fids = (f, me = ME) => Array.from(X.filter(F, f, me), (s) => s.id.slice(0, 8));

test('filter: status active (default), open, pending, closed, all', () => {
  assert.deepEqual(fids(), ['20260319', '20260318', '20260317']);
  assert.deepEqual(fids({}), ['20260319', '20260318', '20260317']);
  assert.deepEqual(fids({ status: 'active' }), ['20260319', '20260318', '20260317']);
  assert.deepEqual(fids({ status: 'open' }), ['20260319', '20260317']);
  assert.deepEqual(fids({ status: 'pending' }), ['20260318']);
  assert.deepEqual(fids({ status: 'closed' }), ['20260301']);
  assert.deepEqual(fids({ status: 'all' }), ['20260319', '20260318', '20260301', '20260317']);
});

test('filter: widget, tag, assignee (me, none, an id), and all criteria together', () => {
  assert.deepEqual(fids({ widget: 'docs', status: 'all' }), ['20260301', '20260317']);
  assert.deepEqual(fids({ widget: 'nope' }), []);
  assert.deepEqual(fids({ tag: 'billing', status: 'all' }), ['20260319', '20260301']);
  assert.deepEqual(fids({ tag: 'bill' }), [], 'a tag matches whole');
  assert.deepEqual(fids({ assignee: 'me' }), ['20260319']);
  assert.deepEqual(fids({ assignee: 'me' }, 'a2'), ['20260318']);
  assert.deepEqual(fids({ assignee: 'none', status: 'all' }), ['20260301', '20260317']);
  assert.deepEqual(fids({ assignee: 'a2' }), ['20260318']);
  assert.deepEqual(fids({ widget: 'shop', tag: 'vip', assignee: 'me', q: 'elodie' }), ['20260319']);
  assert.deepEqual(fids({ widget: 'shop', tag: 'vip', assignee: 'none' }), []);
  assert.deepEqual(fids({ widget: '', tag: '', assignee: '', q: '' }), ['20260319', '20260318', '20260317']);
});

test('filter: q ignores case and accents, searches name, email, subject, preview, tags, the id start', () => {
  const rows = [
    ['elodie', ['20260319']], ['ÉLODIE', ['20260319']], ['fevre', ['20260319']], ['FÈVRE', ['20260319']],
    ['zoe', ['20260301']], ['Zoë', ['20260301']], ['chloé', ['20260317']],
    ['bob@example', ['20260318']], ['@EXAMPLE.', ['20260319', '20260318']],
    ['rembourse', ['20260319']], ['invoice', ['20260301']],
    ['ou est', ['20260319']], ['thanks', ['20260318']],
    ['shipping', ['20260318']], ['vip', ['20260319']],
    ['20260319-k3', ['20260319']], ['2026031', ['20260319', '20260318', '20260317']],
    ['K3X9', ['20260319']], ['ab12cd', ['20260318']],
    ['x9m2', []], ['cd34', []], ['-k3', []],
    ['  hello  ', ['20260317']], ['nothing like it', []],
  ];
  for (const [q, want] of rows) assert.deepEqual(fids({ q, status: 'all' }), want, `q ${JSON.stringify(q)}`);
});

// --- names, titles, times -------------------------------------------------------------------------------------

test('displayName: the visitor name, else the email, else the fallback', () => {
  assert.equal(X.displayName(sum('t', { visitorName: 'Ann', visitorEmail: 'ann@x.io' }), 'Visitor'), 'Ann');
  assert.equal(X.displayName(sum('t', { visitorEmail: 'ann@x.io' }), 'Visitor'), 'ann@x.io');
  assert.equal(X.displayName(sum('t', { visitorName: '  ', visitorEmail: 'ann@x.io' }), 'Visitor'), 'ann@x.io');
  assert.equal(X.displayName(sum('t', { visitorName: ' Ann ' }), 'Visitor'), 'Ann');
  assert.equal(X.displayName(sum('t', { visitorName: null, visitorEmail: '' }), 'Visiteur'), 'Visiteur');
  assert.equal(X.displayName(sum('t'), 'Visitor'), 'Visitor');
});

test('titleCount: new chats + unread messages in my open chats; title()', () => {
  const list = [
    sum('n1', { visitorMessages: 3, unreadByAgent: 3 }),            // new: counts 1, not 3
    sum('n2', { visitorMessages: 1, unreadByAgent: 1 }),            // new: 1
    sum('m1', { assignee: ME, unreadByAgent: 4 }),                  // mine: 4
    sum('m2', { assignee: ME, status: 'pending', unreadByAgent: 2 }), // mine, pending: 2
    sum('m3', { assignee: ME, status: 'closed', unreadByAgent: 7 }),  // closed: 0
    sum('m4', { assignee: ME }),                                    // nothing unread
    sum('o1', { assignee: 'a2', unreadByAgent: 5 }),                // someone else's: 0
    sum('u1', { status: 'pending', visitorMessages: 2, unreadByAgent: 2 }), // unassigned, not new: 0
  ];
  assert.equal(X.titleCount(list, ME), 8);
  assert.equal(X.titleCount(list, 'a2'), 7);
  assert.equal(X.titleCount([], ME), 0);
  assert.equal(X.titleCount(list, null), 2, 'nobody signed in: only the new chats');
  assert.equal(X.title('Parley · Inbox', 8), '(8) Parley · Inbox');
  assert.equal(X.title('Parley · Inbox', 1), '(1) Parley · Inbox');
  assert.equal(X.title('Parley · Inbox', 0), 'Parley · Inbox');
});

test('unseen: unread less what was in view; a count below the seen one was reset (an agent answered)', () => {
  const m = (id, u) => sum(id, { assignee: ME, unreadByAgent: u });
  assert.equal(X.unseen(m('a', 3), {}), 3);
  assert.equal(X.unseen(m('a', 3), undefined), 3);
  assert.equal(X.unseen(m('a', 3), { a: 3 }), 0, 'all of it seen');
  assert.equal(X.unseen(m('a', 5), { a: 3 }), 2, 'two came after');
  assert.equal(X.unseen(m('a', 0), { a: 3 }), 0, 'answered');
  assert.equal(X.unseen(m('a', 1), { a: 3 }), 1, 'answered, then one new message: 1, not 0');
  assert.equal(X.unseen(m('a', 2), { b: 2 }), 2, 'another ticket seen');
  assert.equal(X.unseen(sum('a'), { a: 2 }), 0, 'no unreadByAgent');
  assert.equal(X.unseen(m('toString', 2), {}), 2, 'ids are not object keys');
});

test('titleCount with seen: what was in view no longer counts; new chats still count one each', () => {
  const list = [
    sum('n1', { visitorMessages: 2, unreadByAgent: 2 }),   // new: 1 (seen does not matter)
    sum('m1', { assignee: ME, unreadByAgent: 4 }),         // seen 4: 0
    sum('m2', { assignee: ME, unreadByAgent: 3 }),         // seen 1: 2
    sum('m3', { assignee: ME, unreadByAgent: 1 }),         // seen 5 (then answered): 1
    sum('o1', { assignee: 'a2', unreadByAgent: 5 }),       // not mine: 0
  ];
  const seen = { n1: 2, m1: 4, m2: 1, m3: 5, o1: 0 };
  assert.equal(X.titleCount(list, ME), 1 + 4 + 3 + 1);
  assert.equal(X.titleCount(list, ME, {}), 9);
  assert.equal(X.titleCount(list, ME, seen), 1 + 0 + 2 + 1);
});

test('shortTime in UTC, English and French, against a fixed clock', () => {
  // NOW = Thu 19 Mar 2026 14:40:00 UTC; [time, en, fr]
  const rows = [
    ['2026-03-19T14:40:00Z', 'now', 'à l’instant'],
    ['2026-03-19T14:39:01Z', 'now', 'à l’instant'],
    ['2026-03-19T14:45:00Z', 'now', 'à l’instant'],     // ahead of our clock
    ['2026-03-19T14:39:00Z', '1 min', '1 min'],
    ['2026-03-19T14:35:00Z', '5 min', '5 min'],
    ['2026-03-19T13:40:01Z', '59 min', '59 min'],
    ['2026-03-19T13:40:00Z', '13:40', '13:40'],
    ['2026-03-19T09:05:00Z', '09:05', '09:05'],
    ['2026-03-19T00:00:00Z', '00:00', '00:00'],
    ['2026-03-18T23:59:00Z', 'Wed 23:59', 'mer. 23:59'],
    ['2026-03-16T14:32:00Z', 'Mon 14:32', 'lun. 14:32'],
    ['2026-03-13T00:00:00Z', 'Fri 00:00', 'ven. 00:00'],
    ['2026-03-12T23:59:00Z', '12 Mar', '12 mars'],
    ['2026-01-01T08:00:00Z', '1 Jan', '1 janv.'],
    ['2025-12-31T23:00:00Z', '31 Dec 2025', '31 déc. 2025'],
  ];
  for (const [iso, en, fr] of rows) {
    assert.equal(X.shortTime(iso, NOW, 'en', 'UTC'), en, `${iso} en`);
    assert.equal(X.shortTime(iso, NOW, 'fr', 'UTC'), fr, `${iso} fr`);
  }
  assert.equal(X.shortTime('2026-03-16T14:32:00Z', NOW, 'fr-CA', 'UTC'), 'lun. 14:32');
  assert.equal(X.shortTime('2026-03-16T14:32:00Z', NOW, 'de', 'UTC'), 'Mon 14:32', 'not fr: English');
  assert.equal(X.shortTime('2026-03-16T14:32:00Z', NOW, undefined, 'UTC'), 'Mon 14:32');
  assert.equal(X.shortTime('not a date', NOW, 'en', 'UTC'), '');
  assert.equal(X.shortTime(undefined, NOW, 'en', 'UTC'), '');
});

test('shortTime: days are calendar days in the given time zone', () => {
  // 00:30 UTC on the 19th is 20:30 on the 18th in New York (UTC-4 then) and 09:30 on the 19th in Tokyo
  assert.equal(X.shortTime('2026-03-19T00:30:00Z', NOW, 'en', 'UTC'), '00:30');
  assert.equal(X.shortTime('2026-03-19T00:30:00Z', NOW, 'en', 'America/New_York'), 'Wed 20:30');
  assert.equal(X.shortTime('2026-03-19T00:30:00Z', NOW, 'en', 'Asia/Tokyo'), '09:30');
  // 11:10 UTC on Thursday is already Friday 00:10 in Auckland (UTC+13): 10:00 UTC was Thursday 23:00 there
  const late = Date.parse('2026-03-19T11:10:00Z');
  assert.equal(X.shortTime('2026-03-19T10:00:00Z', late, 'en', 'Pacific/Auckland'), 'Thu 23:00');
  assert.equal(X.shortTime('2026-03-19T11:00:00Z', late + 3_600_000, 'en', 'Pacific/Auckland'), '00:00');
});

// --- the page's helpers: timer text, opening, canned responses, keyboard, typing, notifications, wrap-up ---------

test('clock: m:ss under an hour, h:mm:ss from an hour; nonsense and negatives as 0:00', () => {
  const rows = [[0, '0:00'], [7, '0:07'], [59, '0:59'], [60, '1:00'], [75, '1:15'], [754, '12:34'], [3599, '59:59'],
    [3600, '1:00:00'], [3723, '1:02:03'], [36000, '10:00:00'], [-5, '0:00'], [12.9, '0:12'], [NaN, '0:00'], [undefined, '0:00']];
  for (const [s, want] of rows) assert.equal(X.clock(s), want, String(s));
  // the timer's own elapsed seconds, as the list shows them
  assert.equal(X.clock(X.timer(sum('t', { awaitingSince: ago(75) }), NOW, 120).elapsed), '1:15');
});

test('openMode: closed, join (nobody or me), readonly (another agent holds it)', () => {
  assert.equal(X.openMode(sum('t'), ME), 'join');
  assert.equal(X.openMode(sum('t', { assignee: ME }), ME), 'join');
  assert.equal(X.openMode(sum('t', { assignee: ME, status: 'pending' }), ME), 'join');
  assert.equal(X.openMode(sum('t', { assignee: 'a2' }), ME), 'readonly');
  assert.equal(X.openMode(sum('t', { assignee: 'a2', status: 'pending' }), ME), 'readonly');
  assert.equal(X.openMode(sum('t', { status: 'closed' }), ME), 'closed');
  assert.equal(X.openMode(sum('t', { status: 'closed', assignee: 'a2' }), ME), 'closed');
});

const CANNED = [
  { shortcut: 'ship', title: 'Shipping', text: 'We ship within 2 days.', widgets: ['demo'] },
  { shortcut: 'hello', title: 'Greeting', text: 'Hello!' },
  { shortcut: 'refund', title: 'Remboursement éclair', text: 'Refunds take 5 days.', widgets: ['shop', 'demo'] },
  { shortcut: 'bye', title: 'Goodbye', text: 'Bye!', widgets: [] },
  { shortcut: 'help-desk', title: 'Shipping help', text: 'See our help desk.', widgets: ['shop'] },
];
const shortcuts = (list) => Array.from(list, (c) => c.shortcut);

test('forWidget: no widgets (or an empty list) = every widget; else the widget must be listed', () => {
  assert.deepEqual(shortcuts(X.forWidget(CANNED, 'demo')), ['ship', 'hello', 'refund', 'bye']);
  assert.deepEqual(shortcuts(X.forWidget(CANNED, 'shop')), ['hello', 'refund', 'bye', 'help-desk']);
  assert.deepEqual(shortcuts(X.forWidget(CANNED, 'other')), ['hello', 'bye']);
  assert.deepEqual(shortcuts(X.forWidget(undefined, 'demo')), []);
  const disp = [{ code: 'sale', label: 'Sale' }, { code: 'q', label: 'Question', widgets: ['demo'] }];
  assert.deepEqual(Array.from(X.forWidget(disp, 'shop'), (d) => d.code), ['sale']);
  assert.deepEqual(Array.from(X.forWidget(disp, 'demo'), (d) => d.code), ['sale', 'q']);
});

test('cannedQuery: one line starting with "/", the rest is the query', () => {
  const rows = [['/', ''], ['/sh', 'sh'], ['/ship it', 'ship it'], ['hello', null], [' /sh', null], ['', null],
    ['/sh\nmore', null], [undefined, null]];
  for (const [text, want] of rows) assert.equal(X.cannedQuery(text), want, JSON.stringify(text));
});

test('canned: matches the widget, then shortcut prefix, shortcut part, title part (accents and case ignored)', () => {
  assert.deepEqual(shortcuts(X.canned(CANNED, 'demo', '')), ['bye', 'hello', 'refund', 'ship'], 'all, by shortcut');
  assert.deepEqual(shortcuts(X.canned(CANNED, 'demo', 'sh')), ['ship']);
  assert.deepEqual(shortcuts(X.canned(CANNED, 'shop', 'sh')), ['help-desk'], 'ship is not for shop; a title match');
  assert.deepEqual(shortcuts(X.canned(CANNED, 'shop', 'e')), ['bye', 'hello', 'help-desk', 'refund'], 'all rank 1');
  const mixed = [{ shortcut: 'zship', title: 'Z' }, { shortcut: 'a', title: 'Ship soon' }, { shortcut: 'ship', title: 'S' },
    { shortcut: 'b', title: 'Other' }];
  assert.deepEqual(shortcuts(X.canned(mixed, 'w', 'Ship')), ['ship', 'zship', 'a'], 'prefix, then part, then title');
  assert.deepEqual(shortcuts(X.canned(CANNED, 'demo', 'ECLAIR')), ['refund'], 'title, accent-insensitive');
  assert.deepEqual(shortcuts(X.canned(CANNED, 'demo', ' HEL ')), ['hello']);
  assert.deepEqual(shortcuts(X.canned(CANNED, 'demo', 'nothing')), []);
  assert.deepEqual(shortcuts(X.canned([], 'demo', '')), []);
});

test('order and step: j/k move through the sections in the order shown, stopping at the ends', () => {
  const ids = plain(X.order(X.sections(INBOX, ME, TEAMS)));
  assert.deepEqual(ids.slice(0, 6), ['n-oldest', 'n-tie-older', 'n-late', 'n-team', 'n-answered', 'm-waiting-longest']);
  assert.deepEqual(ids.slice(-2), ['o-support', 'o-noteam']);
  assert.equal(ids.length, INBOX.length - 2);
  assert.equal(X.step(ids, null, 1), 'n-oldest');
  assert.equal(X.step(ids, null, -1), 'o-noteam');
  assert.equal(X.step(ids, 'gone', 1), 'n-oldest');
  assert.equal(X.step(ids, 'n-oldest', 1), 'n-tie-older');
  assert.equal(X.step(ids, 'n-answered', 1), 'm-waiting-longest', 'across sections');
  assert.equal(X.step(ids, 'n-oldest', -1), 'n-oldest', 'stops at the top');
  assert.equal(X.step(ids, 'o-noteam', 1), 'o-noteam', 'stops at the bottom');
  assert.equal(X.step([], null, 1), null);
  assert.deepEqual(plain(X.order({ mine: [sum('b')], new: [sum('a')] })), ['a', 'b']);
});

test('stepFrom: j/k through the order as it was when the chat was opened (it then moved to "mine")', () => {
  // before opening n1: new n1 n2 n3, mine m1; opening assigns n1: it moves to the end of mine
  const before = ['n1', 'n2', 'n3', 'm1'], after = ['n2', 'n3', 'm1', 'n1'];
  assert.equal(X.step(after, 'n1', 1), 'n1', 'from its new place: stuck at the end');
  assert.equal(X.stepFrom(before, after, 'n1', 1), 'n2');
  assert.equal(X.stepFrom(before, after, 'n1', -1), 'n1', 'stops at the top of the snapshot');
  assert.equal(X.stepFrom(before, after, 'm1', 1), 'm1', 'stops at the end of the snapshot');
  assert.equal(X.stepFrom(before, after, 'm1', -1), 'n3');
  // ids gone from the list since (closed, filtered out) are skipped
  assert.equal(X.stepFrom(before, ['n3', 'm1', 'n1'], 'n1', 1), 'n3', 'n2 is gone');
  assert.equal(X.stepFrom(before, ['n1'], 'n1', 1), 'n1', 'nothing after it is left');
  assert.equal(X.stepFrom(before, ['n2'], 'n1', -1), null, 'nothing before and the chat itself is gone');
  // no snapshot, or the chat was not in it: the current order
  assert.equal(X.stepFrom(null, after, 'n2', 1), 'n3');
  assert.equal(X.stepFrom([], after, 'n2', 1), 'n3');
  assert.equal(X.stepFrom(before, after, 'x9', 1), 'n2', 'not in the snapshot: the first of the current order');
  assert.equal(X.stepFrom(before, after, null, -1), 'n1', 'nothing open: the last of the current order');
  assert.equal(X.stepFrom(before, [], null, 1), null);
});

test('nextOffset: pages until total, an empty page, or a page that added nothing new', () => {
  assert.equal(X.nextOffset(0, 1000, 2500, 1000), 1000);
  assert.equal(X.nextOffset(1000, 1000, 2500, 990), 2000);
  assert.equal(X.nextOffset(2000, 500, 2500, 500), null, 'all read');
  assert.equal(X.nextOffset(0, 1000, 1000, 1000), null, 'exactly one page');
  assert.equal(X.nextOffset(0, 12, 12, 12), null);
  assert.equal(X.nextOffset(1000, 0, 2500, 0), null, 'an empty page (the list shrank meanwhile)');
  assert.equal(X.nextOffset(1000, 1000, 2500, 0), null, 'the same page again: a server that ignores offset');
  assert.equal(X.nextOffset(0, 1000, undefined, 1000), null, 'no total: one page');
});

test('skew: the server clock minus ours from the Date header; skewOf: the median, 0 under 2 s', () => {
  const date = 'Thu, 19 Mar 2026 14:40:00 GMT';                    // = NOW, whole seconds
  assert.equal(X.skew(date, NOW - 100, NOW + 100), 500, 'same clocks: the header is up to 1 s behind, its middle taken');
  assert.equal(X.skew(date, NOW - 60_100, NOW - 59_900), 60_500, 'we are a minute behind');
  assert.equal(X.skew(date, NOW + 9_900, NOW + 10_100), -9_500, 'we are 10 s ahead');
  assert.equal(X.skew(null, NOW, NOW), null);
  assert.equal(X.skew('not a date', NOW, NOW), null);
  assert.equal(X.skew(date, NOW, NOW - 1), null, 'an impossible round trip');
  assert.equal(X.skewOf([]), 0);
  assert.equal(X.skewOf([500, 1500, -1999]), 0, 'under 2 s: not worth correcting');
  assert.equal(X.skewOf([60_500, 60_400, 900_000]), 60_500, 'the median: one odd sample does not move it');
  assert.equal(X.skewOf([-9_500, -9_700]), -9_600);
  assert.equal(X.skewOf([null, 'x', 3000]), 3000);
});

test('settles: a pending reply by its clientId; a pending note by the same text from me, stored after it was sent', () => {
  const reply = { clientId: 'c1', note: false, text: 'Hello', afterSeq: 7 };
  const note = { clientId: 'c2', note: true, text: 'Check the stock ', afterSeq: 7 };
  const msg = (o) => ({ seq: 9, type: 'message', by: { kind: 'agent', id: ME }, text: 'Hello', clientId: 'c1', ...o });
  const nt = (o) => ({ seq: 9, type: 'note', by: { kind: 'agent', id: ME }, text: 'Check the stock', ...o });
  assert.equal(X.settles(reply, msg(), ME), true);
  assert.equal(X.settles(reply, msg({ clientId: 'c9' }), ME), false, 'another reply');
  assert.equal(X.settles(reply, msg({ clientId: undefined }), ME), false);
  assert.equal(X.settles(reply, msg({ seq: 3 }), ME), true, 'a reply is known by its id, whatever its seq');
  assert.equal(X.settles(reply, nt({ text: 'Hello' }), ME), false, 'a note never settles a reply');
  assert.equal(X.settles(note, nt(), ME), true);
  assert.equal(X.settles(note, nt({ seq: 7 }), ME), false, 'an older note with the same text');
  assert.equal(X.settles(note, nt({ by: { kind: 'agent', id: 'a2' } }), ME), false, 'someone else wrote it');
  assert.equal(X.settles(note, nt({ text: 'Other' }), ME), false);
  assert.equal(X.settles(note, msg({ text: 'Check the stock' }), ME), false, 'a message is not a note');
  assert.equal(X.settles(note, nt(), null), false);
  assert.equal(X.settles(null, nt(), ME), false);
  assert.equal(X.settles(note, null, ME), false);
});

test('retryable: a reply always (its clientId is deduped); a note only after a network failure or a 5xx', () => {
  for (const status of [0, undefined, 409, 422, 500, 503]) assert.equal(X.retryable(false, status), true, `reply ${status}`);
  assert.equal(X.retryable(true, 0), true);
  assert.equal(X.retryable(true, undefined), true);
  assert.equal(X.retryable(true, 500), true);
  assert.equal(X.retryable(true, 502), true);
  assert.equal(X.retryable(true, 409), false);
  assert.equal(X.retryable(true, 422), false);
  assert.equal(X.retryable(true, 404), false);
});

test('shortcut: letters only outside text fields; Alt+arrows anywhere; modifiers left alone', () => {
  const k = (key, o = {}) => ({ key, altKey: false, ctrlKey: false, metaKey: false, shiftKey: false, ...o });
  const rows = [
    [k('j'), false, 'next'], [k('k'), false, 'prev'], [k('r'), false, 'reply'], [k('e'), false, 'end'],
    [k('?', { shiftKey: true }), false, 'help'], [k('/'), false, 'search'],
    [k('j'), true, null], [k('e'), true, null], [k('?', { shiftKey: true }), true, null],
    [k('ArrowDown', { altKey: true }), true, 'next'], [k('ArrowUp', { altKey: true }), true, 'prev'],
    [k('ArrowDown', { altKey: true }), false, 'next'], [k('ArrowDown'), false, null],
    [k('ArrowDown', { altKey: true, shiftKey: true }), true, null],
    [k('j', { ctrlKey: true }), false, null], [k('r', { metaKey: true }), false, null], [k('j', { altKey: true }), false, null],
    [k('J', { shiftKey: true }), false, null], [k('x'), false, null], [k('toString'), false, null],
    [k('j', { isComposing: true }), false, null],
  ];
  for (const [e, typing, want] of rows) assert.equal(X.shortcut(e, typing), want, `${JSON.stringify(e)} typing=${typing}`);
  assert.equal(X.shortcut(null, false), null);
  // in a select, Alt+arrows open it (the browser's own key): not taken
  assert.equal(X.shortcut(k('ArrowDown', { altKey: true }), 'select'), null);
  assert.equal(X.shortcut(k('ArrowUp', { altKey: true }), 'select'), null);
  assert.equal(X.shortcut(k('j'), 'select'), null);
});

test('typingDue: the first signal at once, then at most one per 2 s', () => {
  assert.equal(X.typingDue(null, NOW), true);
  assert.equal(X.typingDue(undefined, NOW), true);
  assert.equal(X.typingDue(NOW, NOW), false);
  assert.equal(X.typingDue(NOW, NOW + 1999), false);
  assert.equal(X.typingDue(NOW, NOW + 2000), true);
  assert.equal(X.typingDue(NOW, NOW - 10_000), true, 'a clock that went back does not block it for good');
  // keystrokes every 300 ms for 5 s send 3 signals: at 0, 2.1 s and 4.2 s
  let last = null, sent = [];
  for (let t = 0; t <= 5000; t += 300) if (X.typingDue(last, NOW + t)) { last = NOW + t; sent.push(t); }
  assert.deepEqual(sent, [0, 2100, 4200]);
});

test('notice: a new chat, a message in a chat of mine or a new one; never in view, mine only, or old', () => {
  const msg = (o = {}) => ({ seq: 5, at: ago(1), type: 'message', by: { kind: 'visitor', name: 'Zoé' }, text: 'hi', ...o });
  const fresh = sum('n', { visitorMessages: 1, awaitingSince: ago(1) });
  assert.equal(X.notice(fresh, msg(), ME, false, NOW), 'new');
  assert.equal(X.notice(fresh, msg(), ME, true, NOW), null, 'in view');
  assert.equal(X.notice(sum('n', { visitorMessages: 3 }), msg(), ME, false, NOW), 'message', 'a new chat, again');
  assert.equal(X.notice(sum('m', { assignee: ME, visitorMessages: 3 }), msg(), ME, false, NOW), 'message');
  assert.equal(X.notice(sum('m', { assignee: ME, status: 'pending' }), msg(), ME, false, NOW), 'message');
  assert.equal(X.notice(sum('m', { assignee: ME, visitorMessages: 3 }), msg(), ME, true, NOW), null);
  assert.equal(X.notice(sum('o', { assignee: 'a2', visitorMessages: 3 }), msg(), ME, false, NOW), null, 'not mine');
  assert.equal(X.notice(sum('u', { status: 'pending', visitorMessages: 2 }), msg(), ME, false, NOW), null, 'not new');
  assert.equal(X.notice(fresh, msg({ type: 'attachment', text: undefined }), ME, false, NOW), 'new');
  assert.equal(X.notice(fresh, msg({ by: { kind: 'agent', id: 'a2' } }), ME, false, NOW), null, 'an agent wrote');
  assert.equal(X.notice(fresh, msg({ type: 'note' }), ME, false, NOW), null);
  assert.equal(X.notice(fresh, msg({ type: 'visitor.left' }), ME, false, NOW), null);
  assert.equal(X.notice(fresh, msg({ at: ago(121) }), ME, false, NOW), null, 'a replay of an old message');
  assert.equal(X.notice(fresh, msg({ at: ago(120) }), ME, false, NOW), 'new');
  assert.equal(X.notice(fresh, msg({ at: 'garbage' }), ME, false, NOW), null);
  assert.equal(X.notice(null, msg(), ME, false, NOW), null);
  assert.equal(X.notice(fresh, null, ME, false, NOW), null);
});

test('wrapup: nothing entered → null (nothing sent); else only the filled fields, trimmed', () => {
  assert.equal(X.wrapup('', ''), null);
  assert.equal(X.wrapup('  ', ' \n '), null);
  assert.equal(X.wrapup(null, undefined), null);
  assert.deepEqual(plain(X.wrapup('sale', '')), { disposition: 'sale' });
  assert.deepEqual(plain(X.wrapup('', '  Called back. ')), { notes: 'Called back.' });
  assert.deepEqual(plain(X.wrapup(' sale ', 'ok')), { disposition: 'sale', notes: 'ok' });
});

test('systemLine: each event type in English and French; messages, files and notes are not system lines', () => {
  const ann = { kind: 'agent', id: 'a1', name: 'Ann' }, bob = { kind: 'agent', id: 'a2', name: 'Bob' };
  const ev = (type, by, o = {}) => ({ seq: 1, at: ago(1), type, by, ...o });
  const rows = [
    [ev('ticket.opened', { kind: 'visitor' }, { page: { url: 'https://shop/x', title: 'Checkout' } }), 'Chat started on Checkout',
      'Conversation démarrée sur Checkout'],
    [ev('ticket.opened', { kind: 'visitor' }, { page: { url: 'https://shop/x' } }), 'Chat started on https://shop/x',
      'Conversation démarrée sur https://shop/x'],
    [ev('ticket.opened', { kind: 'visitor' }), 'Chat started', 'Conversation démarrée'],
    [ev('agent.joined', ann), 'Ann joined', 'Ann a rejoint la conversation'],
    [ev('agent.left', ann), 'Ann left', 'Ann a quitté la conversation'],
    [ev('visitor.left', { kind: 'visitor', name: 'Zoé' }), 'Visitor left', 'Le visiteur est parti'],
    [ev('assigned', ann, { agent: 'a1', agentName: 'Ann' }), 'Assigned to Ann', 'Attribué à Ann'],
    [ev('assigned', bob, { agent: 'a1', agentName: 'Ann' }), 'Assigned to Ann by Bob', 'Attribué à Ann par Bob'],
    [ev('assigned', { kind: 'system' }, { agent: 'a1', agentName: 'Ann' }), 'Assigned to Ann', 'Attribué à Ann'],
    [ev('assigned', bob, { team: 'sales' }), 'Assigned to team sales by Bob', 'Attribué à l’équipe sales par Bob'],
    [ev('assigned', { kind: 'system' }, { team: 'sales' }), 'Assigned to team sales', 'Attribué à l’équipe sales'],
    [ev('assigned', bob, {}), 'Unassigned by Bob', 'Désattribué par Bob'],
    [ev('assigned', ann, { agent: 'a1', agentName: 'Ann', takeover: true, fromAgent: 'a2', fromAgentName: 'Bob' }),
      'Ann took over from Bob', 'Ann a repris la conversation de Bob'],
    [ev('status', ann, { status: 'closed' }), 'Closed by Ann', 'Clôturé par Ann'],
    [ev('status', { kind: 'system' }, { status: 'closed' }), 'Closed', 'Clôturé'],
    [ev('status', ann, { status: 'open' }), 'Reopened by Ann', 'Rouvert par Ann'],
    [ev('status', ann, { status: 'pending' }), 'Set to pending by Ann', 'Mis en attente par Ann'],
    [ev('priority', ann, { priority: 'urgent' }), 'Priority set to urgent by Ann', 'Priorité « urgente » choisie par Ann'],
    [ev('tag.added', ann, { tag: 'vip' }), 'Ann added the tag vip', 'Ann a ajouté l’étiquette vip'],
    [ev('tag.removed', ann, { tag: 'vip' }), 'Ann removed the tag vip', 'Ann a retiré l’étiquette vip'],
    [ev('wrapup', ann, { disposition: 'sale', notes: 'Sold two lamps.' }), 'Wrap-up by Ann: Sale made · Sold two lamps.',
      'Bilan de Ann : Sale made · Sold two lamps.'],
    [ev('wrapup', ann, { disposition: 'gone' }), 'Wrap-up by Ann: gone', 'Bilan de Ann : gone'],
    [ev('wrapup', ann, {}), 'Wrap-up by Ann', 'Bilan de Ann'],
    [ev('feedback', { kind: 'visitor' }, { rating: 4 }), 'The visitor rated the chat 4/5', 'Le visiteur a noté la conversation 4/5'],
    [ev('feedback', { kind: 'visitor' }, { rating: 5, comment: 'Great' }), 'The visitor rated the chat 5/5: “Great”',
      'Le visiteur a noté la conversation 5/5 : « Great »'],
    [ev('autoresponder', { kind: 'bot' }, { rule: 'after-hours' }), 'Automatic reply sent (after-hours)',
      'Réponse automatique envoyée (after-hours)'],
    [ev('autoresponder', { kind: 'bot' }), 'Automatic reply sent', 'Réponse automatique envoyée'],
    [ev('autoreply.skip', ann, { skip: true }), 'Ann asked to skip the next automatic reply',
      'Ann a demandé de sauter la prochaine réponse automatique'],
    [ev('autoreply.skip', ann, { skip: false }), 'Ann let the next automatic reply go out again',
      'Ann a rétabli la prochaine réponse automatique'],
    [ev('agent.joined', { kind: 'agent', id: 'a9' }), 'An agent joined', 'Un conseiller a rejoint la conversation'],
  ];
  const labels = { sale: 'Sale made' };
  for (const [e, en, fr] of rows) {
    assert.equal(X.systemLine(e, 'en', labels), en, `${e.type} en`);
    assert.equal(X.systemLine(e, 'fr-FR', labels), fr, `${e.type} fr`);
  }
  for (const type of ['message', 'attachment', 'note', 'something.new']) {
    assert.equal(X.systemLine(ev(type, ann, { text: 'x' }), 'en'), null, type);
  }
  assert.equal(X.systemLine(null, 'en'), null);
});
