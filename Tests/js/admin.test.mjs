// Tests for the admin console's pure logic (Public/admin-core.js) and texts (Public/admin-text.js), run with
// `node --test Tests/js/`.
//
// admin-core.js runs in an empty `vm` context (no DOM, no fetch: it must need neither). Its results are objects of
// that context, so they go through plain() before a deepEqual (strict equality compares prototypes). Every expected
// value is written out by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import vm from 'node:vm';

const read = (f) => readFileSync(new URL('../../Public/' + f, import.meta.url), 'utf8');
const SRC = read('admin-core.js');
const load = (g = {}) => { vm.runInContext(SRC, vm.createContext(g), { filename: 'admin-core.js' }); return g.ParleyAdminCore; };
const A = load();
const plain = (x) => JSON.parse(JSON.stringify(x));
const VECTORS = JSON.parse(readFileSync(new URL('../vectors/path-rules.json', import.meta.url), 'utf8'));

const tg = { window: {} };
vm.runInContext(read('admin-text.js'), vm.createContext(tg), { filename: 'admin-text.js' });
const T = JSON.parse(JSON.stringify(tg.window.ParleyAdminText));
const html = read('admin.html'), js = read('admin.js');
const holes = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

/** A widget as GET /api/admin/widgets/{id} gives it (the server's defaults, with some settings made). */
const widget = (o = {}) => ({
  id: 'shop', name: 'Hearth & Hollow', welcome: 'Hi!', color: '#2f6fed', alignment: 'right', spacing: 25,
  allowedOrigins: ['https://shop.example'], pathRules: { mode: 'blacklist', paths: ['/checkout*'] }, hours: null,
  offline: { mode: 'message', message: null, contact: null, leaveMessage: true, noAgentAsClosed: false, awayMessage: null },
  fields: [
    { id: 'name', type: 'name', label: 'Name', hint: null, required: true, maxLength: 80, options: null },
    { id: 'topic', type: 'category', label: 'Topic', hint: 'Pick one', required: false, maxLength: 200, options: ['Orders', 'Returns'] },
  ],
  options: [{ label: 'Where is my order?', welcome: null, team: 'logistics' }],
  prompt: null, identity: 'agent', organisation: null, language: 'auto', strings: { fr: { start: 'Discuter' }, en: {} },
  feedback: true, sound: false, typingPreview: false, identitySecret: null, maxFileSize: 5242880, maxFiles: 5,
  targetResponseSeconds: 120, allowedTypes: ['image/png', 'application/pdf'], ...o,
});

// --- loading ----------------------------------------------------------------------------------------------------

test('loads as globalThis.ParleyAdminCore in an empty context; loading it twice keeps the first copy', () => {
  const g = {};
  const a = load(g);
  for (const f of ['lines', 'int', 'isColor', 'isCode', 'isDate', 'isOrigin', 'parseRange', 'pathShows', 'slug', 'ruleId', 'hex',
    'toMB', 'fromMB', 'move', 'embedCode', 'identityCode', 'detail', 'fromWidget', 'toWidget', 'check', 'localField',
    'conditionNeeds', 'actionNeeds', 'checkRules', 'checkTeams', 'checkInbox', 'fileSize', 'canon', 'sameWidget', 'masked',
    'hasDefaultPort', 'barState', 'plural', 'count', 'shellArg', 'eraseResult', 'purgeFound', 'purgeAsk', 'purgeDone', 'purgeButtons']) {
    assert.equal(typeof a[f], 'function', f);
  }
  const toWidget = a.toWidget;
  vm.runInContext(SRC, vm.createContext(g));
  assert.equal(g.ParleyAdminCore.toWidget, toWidget);
});

// --- texts ------------------------------------------------------------------------------------------------------

test('English and French have the same keys, none empty, with the same placeholders', () => {
  assert.deepEqual(Object.keys(T.fr).sort(), Object.keys(T.en).sort());
  for (const k of Object.keys(T.en)) {
    assert.ok(T.en[k].trim() && T.fr[k].trim(), k);
    assert.deepEqual(holes(T.fr[k]), holes(T.en[k]), k);
  }
});

test('every text the page and the checks ask for exists', () => {
  const used = new Set([
    ...[...html.matchAll(/data-t(?:-label)?="(\w+)"/g)].map((m) => m[1]),
    ...[...js.matchAll(/\bL\.(\w+)/g)].map((m) => m[1]),
    ...[...js.matchAll(/\bt\('(\w+)'/g)].map((m) => m[1]),
    // keys chosen at run time: t(cond ? 'a' : 'b'), the sections, the audit actions, the days, the check results
    ...[...js.matchAll(/\bt\(\w+(?:\.\w+)* \? '(\w+)' : '(\w+)'/g)].flatMap((m) => [m[1], m[2]]),
    ...[...js.matchAll(/\badd\('\w+', '(\w+)'(?:, '(\w+)')?\)/g)].flatMap((m) => [m[1], m[2]]).filter(Boolean),
    ...[...js.matchAll(/'[\w.]+': '(a[A-Z]\w+)'/g)].map((m) => m[1]),
    ...[...js.matchAll(/\w+: '(day[A-Z]\w+)'/g)].map((m) => m[1]),
    ...[...js.matchAll(/\['(err\w+)'/g)].map((m) => m[1]),
    ...[...SRC.matchAll(/\['(err\w+)'/g)].map((m) => m[1]),
    ...[...js.matchAll(/\['(audit\w+)'/g)].map((m) => m[1]),
    ...['auditWho', 'auditAction', 'auditTarget', 'auditDetails'],
  ]);
  // tables of keys built from a prefix and a value: type_<field type>, st_<status text>, cond_, act_, prio_
  const tables = {
    type_: ['name', 'email', 'phone', 'category', 'id', 'custom', 'reason'], st_: ['waiting', 'minimized', 'agentLeft'],
    cond_: ['widget', 'outsideHours', 'noAgentOnline', 'messageContains', 'emailDomain', 'fieldEquals', 'priority'],
    act_: ['reply', 'priority', 'tag', 'team', 'agent', 'close'], prio_: ['low', 'normal', 'high', 'urgent'],
  };
  for (const [prefix, values] of Object.entries(tables)) {
    assert.ok(js.includes(`L['${prefix}' + `), `admin.js no longer builds ${prefix} keys`);
    values.forEach((v) => used.add(prefix + v));
  }
  const missing = [...used].filter((k) => !(k in T.en));
  assert.deepEqual(missing, []);
  assert.ok(used.size > 300, `only ${used.size} keys found: the patterns above no longer match admin.js`);
});

// --- the loader's path rule -------------------------------------------------------------------------------------

test('path rules: every case of Tests/vectors/path-rules.json, as the loader and the server decide', () => {
  for (const c of VECTORS.cases) {
    assert.equal(A.pathShows({ mode: c.mode, paths: c.paths }, c.path), c.shows, JSON.stringify(c));
  }
});

test('path rules: * matches across slashes, the whole path must match, encoded paths are decoded', () => {
  const black = { mode: 'blacklist', paths: ['/checkout*'] };
  assert.equal(A.pathShows(black, '/checkout/step1'), false);
  assert.equal(A.pathShows(black, '/'), true);
  assert.equal(A.pathShows(black, '/shop/checkout'), true);
  assert.equal(A.pathShows({ mode: 'whitelist', paths: ['/caf\u00e9*'] }, '/caf%C3%A9/menu'), true);
  assert.equal(A.pathShows({ mode: 'whitelist', paths: ['/a.b'] }, '/aXb'), false, 'a dot is a dot');
  assert.equal(A.pathShows({ mode: 'whitelist', paths: ['/(x)'] }, '/(x)'), true, 'regex characters are literal');
});

// --- small readers ----------------------------------------------------------------------------------------------

test('opening-hours ranges: HH:MM-HH:MM, start before end, 24:00 allowed as an end only', () => {
  const rows = [
    ['09:00-17:00', { start: 540, end: 1020 }], ['00:00-24:00', { start: 0, end: 1440 }], [' 09:30 - 12:45 ', { start: 570, end: 765 }],
    ['9:00-17:00', null], ['09:00-09:00', null], ['17:00-09:00', null], ['09:00-24:30', null], ['24:00-24:00', null],
    ['09:60-10:00', null], ['09:00', null], ['09:00-12:00-14:00', null], ['', null], ['ab:cd-ef:gh', null],
  ];
  for (const [text, want] of rows) assert.deepEqual(plain(A.parseRange(text)), want, text);
});

test('lines, integers, colours, codes, dates and site addresses', () => {
  assert.deepEqual(plain(A.lines(' /a \n\n/b\r\n  ')), ['/a', '/b']);
  assert.deepEqual(plain(A.lines(null)), []);
  assert.equal(A.int(' 42 '), 42);
  assert.equal(A.int('-5'), -5);
  for (const bad of ['4.5', '', 'x', '1e3']) assert.ok(Number.isNaN(A.int(bad)), bad);
  for (const ok of ['#2f6fed', '#26E', '#ABCDEF']) assert.ok(A.isColor(ok), ok);
  for (const bad of ['blue', '2f6fed', '#12345', '#ggg', '#1234567']) assert.ok(!A.isColor(bad), bad);
  assert.ok(A.isCode('sales_team-2'));
  for (const bad of ['', 'a b', 'é', 'x'.repeat(41)]) assert.ok(!A.isCode(bad), bad);
  assert.ok(A.isDate('2026-12-25'));
  for (const bad of ['2026-13-01', '2026-12-32', '26-12-25', '2026/12/25']) assert.ok(!A.isDate(bad), bad);
  for (const ok of ['https://shop.example', 'http://127.0.0.1:8080', 'https://sub.shop-x.example:443', 'http://[::1]:3000']) assert.ok(A.isOrigin(ok), ok);
  for (const bad of ['shop.example', 'https://shop.example/', 'https://shop.example/path', 'ftp://shop.example', 'https://', 'https://a b']) {
    assert.ok(!A.isOrigin(bad), bad);
  }
});

test('ids from names: lower-case, accents dropped, 40 characters, unique, a fallback when nothing is left', () => {
  assert.equal(A.ruleId('Closed reply', []), 'closed-reply');
  assert.equal(A.ruleId('  Fermé le Dimanche !  ', []), 'ferme-le-dimanche');
  assert.equal(A.ruleId('Closed reply', ['closed-reply']), 'closed-reply-2');
  assert.equal(A.ruleId('Closed reply', ['closed-reply', 'closed-reply-2']), 'closed-reply-3');
  assert.equal(A.ruleId('', []), 'rule');
  assert.equal(A.ruleId('!!!', ['rule']), 'rule-2');
  const long = A.ruleId('a'.repeat(60), ['a'.repeat(40)]);
  assert.equal(long, 'a'.repeat(38) + '-2');
  assert.ok(A.isCode(long));
  assert.equal(A.slug('Logistics & Returns', [], 'team'), 'logistics-returns');
  assert.equal(A.slug('', [], 'widget'), 'widget');
});

test('sizes in MB, hex, moving list items, audit details', () => {
  assert.equal(A.toMB(5242880), '5');
  assert.equal(A.toMB(524288), '0.5');
  assert.equal(A.toMB(1024), '0.000977', '1 KB is not 0.001 MB (that is 1049 bytes)');
  assert.equal(A.toMB(10000000), '9.537');
  assert.equal(A.toMB(500), '0.000477', 'a size under 0.001 MB keeps 3 significant digits, never 0');
  assert.equal(A.toMB(1), '0.000000954');
  assert.equal(A.toMB(0), '0');
  assert.equal(A.fromMB('5'), 5242880);
  assert.equal(A.fromMB('0,5'), 524288);
  assert.equal(A.fromMB('.5'), 524288);
  assert.ok(Number.isNaN(A.fromMB('five')));
  assert.ok(Number.isNaN(A.fromMB('-1')));
  assert.equal(A.hex([0, 15, 16, 255]), '000f10ff');
  assert.equal(A.hex(new Uint8Array(32)).length, 64);
  assert.deepEqual(plain(A.move(['a', 'b', 'c'], 2, -1)), ['a', 'c', 'b']);
  assert.deepEqual(plain(A.move(['a', 'b', 'c'], 0, 1)), ['b', 'a', 'c']);
  assert.deepEqual(plain(A.move(['a', 'b', 'c'], 0, -1)), ['a', 'b', 'c'], 'the first cannot go up');
  assert.deepEqual(plain(A.move(['a', 'b', 'c'], 2, 1)), ['a', 'b', 'c'], 'the last cannot go down');
  assert.equal(A.detail({ version: 2, changed: ['alignment', 'spacing'], by: { id: 'a1' } }),
    'version: 2 · changed: alignment, spacing · by: {"id":"a1"}');
  assert.equal(A.detail({ changed: '', teams: [], note: null, version: '1' }), 'version: 1', 'empty values are left out');
  assert.equal(A.detail(null), '');
});

// --- the embed code ---------------------------------------------------------------------------------------------

test('embed snippet and identity recipe are filled with the origin and the widget id', () => {
  const snippet = '<script src="https://chat.shop.example/widget.js" data-widget="corner" async></script>';
  assert.equal(A.embedCode('https://chat.shop.example', 'corner'), snippet);
  assert.equal(A.embedCode('https://chat.shop.example/', 'corner'), snippet, 'no double slash');
  const recipe = A.identityCode('https://chat.shop.example', 'corner').split('\n');
  assert.deepEqual(recipe, [
    '<script>',
    '  window.Parley = window.Parley || function () { (Parley.q = Parley.q || []).push(arguments); };',
    "  Parley('identify', {name: NAME, email: EMAIL, ts: TS, signature: SIGNATURE});",
    '</script>',
    snippet,
  ]);
  assert.match(A.signatureCode.php, /hash_hmac\('sha256', \$email \. '\|' \. \$ts, \$secret\)/);
  assert.match(A.signatureCode.node, /createHmac\('sha256', secret\)\.update\(email \+ '\|' \+ ts\)\.digest\('hex'\)/);
});

// --- Widget ⇄ form ----------------------------------------------------------------------------------------------

test('a widget read into the form and written back is the same widget', () => {
  const w = widget();
  assert.deepEqual(plain(A.toWidget(A.fromWidget(w), w)), w);
  const h = widget({
    hours: { timeZone: 'Europe/Paris', weekly: { mon: ['09:00-12:30', '14:00-18:00'], tue: [], wed: [], thu: [], fri: ['09:00-17:00'], sat: [], sun: [] },
      closed: ['2026-12-25'] },
    prompt: { delay: 30, title: 'Need a hand?', message: 'We reply in minutes.' }, identitySecret: 'x'.repeat(64),
    offline: { mode: 'hide', message: 'Closed.', contact: 'hello@shop.example', leaveMessage: false, noAgentAsClosed: true, awayMessage: 'Away.' },
  });
  assert.deepEqual(plain(A.toWidget(A.fromWidget(h), h)), h);
});

test('the form holds what the controls show: text for numbers and lists, empty text for nulls', () => {
  const f = plain(A.fromWidget(widget()));
  assert.equal(f.spacing, '25');
  assert.equal(f.allowedOrigins, 'https://shop.example');
  assert.deepEqual(f.pathRules, { mode: 'blacklist', paths: '/checkout*' });
  assert.equal(f.maxFileSize, '5');
  assert.equal(f.allowedTypes, 'image/png\napplication/pdf');
  assert.equal(f.fields[1].options, 'Orders\nReturns');
  assert.equal(f.fields[0].hint, '');
  assert.deepEqual(f.options[0], { label: 'Where is my order?', welcome: '', team: 'logistics' });
  assert.equal(f.identitySecret, '');
  assert.deepEqual(f.hours, { enabled: false, timeZone: '', closed: [],
    weekly: { mon: [], tue: [], wed: [], thu: [], fri: [], sat: [], sun: [] } });
  assert.deepEqual(f.prompt, { enabled: false, delay: '30', title: '', message: '' });
  assert.deepEqual(f.strings, { fr: { start: 'Discuter' }, en: {} });
  // keys the server leaves out when null (offline.message…) read as empty texts too
  const sparse = widget({ offline: { mode: 'message', leaveMessage: true, noAgentAsClosed: false } });
  assert.deepEqual(plain(A.fromWidget(sparse).offline),
    { mode: 'message', message: '', contact: '', leaveMessage: true, noAgentAsClosed: false, awayMessage: '' });
});

test('the form written back: lines, numbers, MB to bytes, nulls for blanks, optional parts, unknown keys kept', () => {
  const base = widget({ futureSetting: { x: 1 } });
  const f = A.fromWidget(base);
  f.spacing = '80';
  f.alignment = 'left';
  f.allowedOrigins = ' https://a.example \n\nhttps://b.example\n';
  f.pathRules.paths = '/checkout*\n /cart ';
  f.maxFileSize = '0.5';
  f.maxFiles = '3';
  f.offline.message = '   ';
  f.offline.contact = 'Call us';
  f.fields[0].hint = 'Your full name';
  f.fields[0].options = 'ignored';          // only a choice list keeps options
  f.fields[1].maxLength = '50';
  f.options[0].team = '';
  f.strings.en.waiting = 'One moment…';
  f.strings.fr.start = '';                   // empty: the built-in text (not sent)
  f.hours.enabled = true;
  f.hours.timeZone = 'Europe/Paris';
  f.hours.weekly.mon = ['09:00-17:00', ' '];
  f.hours.closed = ['2026-12-25', ''];
  f.prompt.enabled = true;
  f.prompt.delay = '10';
  f.prompt.title = ' Hi ';
  f.prompt.message = 'Questions?';
  const w = plain(A.toWidget(f, base));
  assert.equal(w.spacing, 80);
  assert.equal(w.alignment, 'left');
  assert.deepEqual(w.allowedOrigins, ['https://a.example', 'https://b.example']);
  assert.deepEqual(w.pathRules, { mode: 'blacklist', paths: ['/checkout*', '/cart'] });
  assert.equal(w.maxFileSize, 524288);
  assert.equal(w.maxFiles, 3);
  assert.equal(w.offline.message, null);
  assert.equal(w.offline.contact, 'Call us');
  assert.deepEqual(w.fields[0], { id: 'name', type: 'name', label: 'Name', hint: 'Your full name', required: true, maxLength: 80, options: null });
  assert.deepEqual(w.fields[1].options, ['Orders', 'Returns']);
  assert.equal(w.fields[1].maxLength, 50);
  assert.equal(w.options[0].team, null);
  assert.deepEqual(w.strings, { fr: {}, en: { waiting: 'One moment…' } });
  assert.deepEqual(w.hours, { timeZone: 'Europe/Paris', weekly: { mon: ['09:00-17:00'], tue: [], wed: [], thu: [], fri: [], sat: [], sun: [] },
    closed: ['2026-12-25'] });
  assert.deepEqual(w.prompt, { delay: 10, title: 'Hi', message: 'Questions?' });
  assert.deepEqual(w.futureSetting, { x: 1 }, 'a key this editor does not know is kept');
  // optional parts switched off: null, whatever their boxes hold
  f.hours.enabled = false;
  f.prompt.enabled = false;
  const off = plain(A.toWidget(f, base));
  assert.equal(off.hours, null);
  assert.equal(off.prompt, null);
  // no empty text tables the widget did not have (an editor that changed nothing sends what it got)
  const bare = widget({ strings: {} });
  assert.deepEqual(plain(A.toWidget(A.fromWidget(bare), bare)).strings, {});
  const fb = A.fromWidget(bare);
  fb.strings.fr.send = 'Envoyer !';
  assert.deepEqual(plain(A.toWidget(fb, bare)).strings, { fr: { send: 'Envoyer !' } });
  // a number that is not one is sent as typed (the server names the field)
  f.spacing = 'abc';
  assert.equal(A.toWidget(f, base).spacing, 'abc');
});

// --- checks before sending --------------------------------------------------------------------------------------

test('the editor refuses the obvious mistakes, keyed by the path the server uses', () => {
  const ok = A.fromWidget(widget());
  assert.deepEqual(plain(A.check(ok)), {});
  const f = A.fromWidget(widget());
  f.name = ' ';
  f.color = 'blue';
  f.spacing = '-5';
  f.allowedOrigins = 'https://fine.example\nshop.example/';
  f.hours.enabled = true;
  f.hours.timeZone = '';
  f.hours.weekly.tue = ['09:00-17:00', '9-5', ''];
  f.hours.closed = ['2026-02-30', '25/12/2026'];
  f.fields[0].id = 'bad id';
  f.fields[1].options = '\n';
  f.fields[1].maxLength = '0';
  f.options[0].label = '';
  f.prompt.enabled = true;
  f.prompt.delay = '4000';
  f.prompt.message = '';
  f.identitySecret = 'short';
  f.targetResponseSeconds = '5';
  f.maxFileSize = '600';
  f.maxFiles = '21';
  assert.deepEqual(plain(A.check(f)), {
    name: ['errRequired'],
    color: ['errColor'],
    spacing: ['errRange', { min: 0, max: 2000 }],
    'allowedOrigins[1]': ['errOrigin'],
    'hours.timeZone': ['errTimeZone'],
    'hours.weekly.tue[1]': ['errHoursRange'],
    'hours.closed[1]': ['errDate'],
    'fields[0].id': ['errFieldId'],
    'fields[1].options': ['errOptions'],
    'fields[1].maxLength': ['errRange', { min: 1, max: 4000 }],
    'options[0].label': ['errRequired'],
    'prompt.delay': ['errRange', { min: 0, max: 3600 }],
    'prompt.title': ['errRequired'],
    'prompt.message': ['errRequired'],
    identitySecret: ['errSecret', { min: 16, max: 200 }],
    targetResponseSeconds: ['errRange', { min: 10, max: 86400 }],
    maxFileSize: ['errFileSize'],
    maxFiles: ['errRange', { min: 1, max: 20 }],
  });
});

test('checks at the edges: spacing 0 and 2000, 24:00, a duplicate field id, a secret with a space, sizes in KB', () => {
  const f = A.fromWidget(widget());
  f.spacing = '2000';
  f.hours.enabled = true;
  f.hours.timeZone = 'Europe/Paris';
  f.hours.weekly.sat = ['18:00-24:00'];
  f.maxFileSize = '0.001';
  assert.deepEqual(plain(A.check(f)), {});
  f.spacing = '0';
  f.fields[1].id = 'name';
  f.identitySecret = 'a secret with spaces in it';
  f.maxFileSize = '0.0000001';  // 0.1 byte
  f.name = 'x'.repeat(81);
  assert.deepEqual(plain(A.check(f)), {
    'fields[1].id': ['errDuplicate'], identitySecret: ['errSecret', { min: 16, max: 200 }], maxFileSize: ['errFileSize'],
    name: ['errTooLong', { max: 80 }],
  });
  // paths are the server's to judge (it answers 422 pathRules.paths[i]); our words for it come from localField
  f.pathRules.paths = 'checkout';
  assert.equal(A.check(f)['pathRules.paths[0]'], undefined);
});

test('our words for a field the server refused, when we know its rule', () => {
  assert.deepEqual(plain(A.localField('pathRules.paths[1]', 'checkout*')), ['errPathSlash']);
  assert.deepEqual(plain(A.localField('pathRules.paths[0]', '/check out')), ['errPathSpace']);
  assert.equal(A.localField('pathRules.paths[0]', '/' + 'x'.repeat(400)), null, 'another rule: the server\'s words');
  assert.deepEqual(plain(A.localField('allowedOrigins[0]', 'x')), ['errOrigin']);
  assert.deepEqual(plain(A.localField('spacing', -5)), ['errRange', { min: 0, max: 2000 }]);
  assert.deepEqual(plain(A.localField('teams[2].id', 'a b')), ['errCode']);
  assert.equal(A.localField('teams[2].id', 'sales'), null, 'a valid code refused for another reason (taken…)');
  assert.equal(A.localField('strings.fr.start', 'x'), null);
});

test('rules: the keys each condition and action needs, and the checks keyed like the server', () => {
  assert.deepEqual(plain(A.conditionNeeds('outsideHours')), { value: false, field: false });
  assert.deepEqual(plain(A.conditionNeeds('fieldEquals')), { value: true, field: true });
  assert.deepEqual(plain(A.actionNeeds('reply')), { value: false, text: true });
  assert.deepEqual(plain(A.actionNeeds('close')), { value: false, text: false });
  assert.deepEqual(plain(A.actionNeeds('team')), { value: true, text: false });
  const good = { id: 'closed-reply', name: 'Closed reply', on: ['opened', 'message'], match: 'all',
    conditions: [{ type: 'outsideHours' }], actions: [{ type: 'reply', text: 'We are closed…' }], repeats: false };
  assert.deepEqual(plain(A.checkRules([good])), {});
  const bad = { id: 'closed reply', name: '', on: [], match: 'any',
    conditions: [{ type: 'widget', value: '' }, { type: 'fieldEquals', value: '' }, { type: 'noAgentOnline' }],
    actions: [{ type: 'reply', text: ' ' }, { type: 'tag', value: '' }, { type: 'close' }], repeats: true };
  assert.deepEqual(plain(A.checkRules([good, bad, { ...good }, { ...good, id: 'other', actions: [] }])), {
    'rules[1].id': ['errCode'], 'rules[1].name': ['errRequired'], 'rules[1].on': ['errRuleOn'],
    'rules[1].conditions[0].value': ['errRequired'], 'rules[1].conditions[1].field': ['errRequired'],
    'rules[1].actions[0].text': ['errRequired'], 'rules[1].actions[1].value': ['errRequired'],
    'rules[2].id': ['errDuplicate'], 'rules[3].actions': ['errRuleActions'],
  });
});

test('teams and inbox settings: codes, duplicates (shortcuts ignore case), required texts', () => {
  assert.deepEqual(plain(A.checkTeams([{ id: 'sales', name: 'Sales' }, { id: 'sales', name: '' }, { id: 'a b', name: 'X' }])), {
    'teams[1].id': ['errDuplicate'], 'teams[1].name': ['errRequired'], 'teams[2].id': ['errCode'],
  });
  assert.deepEqual(plain(A.checkInbox({
    dispositions: [{ code: 'sale', label: 'Sale made' }, { code: 'sale', label: '' }],
    canned: [{ shortcut: 'ship', title: 'Shipping', text: 'Two days.' }, { shortcut: 'SHIP', title: 'x', text: '' }, { shortcut: '/x', title: '', text: 'y' }],
  })), {
    'dispositions[1].code': ['errDuplicate'], 'dispositions[1].label': ['errRequired'],
    'canned[1].shortcut': ['errDuplicate'], 'canned[1].text': ['errRequired'], 'canned[2].shortcut': ['errCode'], 'canned[2].title': ['errRequired'],
  });
});

// --- review fixes -----------------------------------------------------------------------------------------------

test('the largest file size is sent as loaded unless its MB box was edited (no drift from rounding)', () => {
  // 10,000,000 bytes shows as 9.537 MB, which is 10,000,269 bytes: a save that only renamed the widget sent that
  const w = widget({ maxFileSize: 10000000 });
  const f = A.fromWidget(w);
  f.name = 'Renamed';
  assert.equal(A.toWidget(f, w).maxFileSize, 10000000);
  assert.deepEqual(plain(A.check(f)), {});
  f.maxFileSize = ' 9.537 ';                   // the same text: still the loaded size
  assert.equal(A.toWidget(f, w).maxFileSize, 10000000);
  f.maxFileSize = '10';                        // edited: the MB typed
  assert.equal(A.toWidget(f, w).maxFileSize, 10485760);
  // tiny sizes (the server allows 1 byte): shown as a non-zero MB, kept, and accepted by the checks
  for (const bytes of [1, 300, 500, 1000]) {
    const t = widget({ maxFileSize: bytes }), g = A.fromWidget(t);
    assert.notEqual(Number(g.maxFileSize), 0, bytes + ' bytes shows as 0 MB');
    assert.equal(A.toWidget(g, t).maxFileSize, bytes);
    assert.deepEqual(plain(A.check(g)), {}, bytes + ' bytes is refused');
  }
  // the server's limits: 1 byte to 512 MB
  const g = A.fromWidget(widget());
  for (const [mb, ok] of [['0.000001', true], ['0.0000001', false], ['0', false], ['512', true], ['512.001', false]]) {
    g.maxFileSize = mb;
    assert.equal(!A.check(g).maxFileSize, ok, mb);
  }
  assert.deepEqual(plain(A.localField('maxFileSize', 0)), ['errFileSize']);
});

test('the proactive prompt needs a title and a message, within the server\'s lengths', () => {
  const f = A.fromWidget(widget({ prompt: { delay: 5, title: 'Need a hand?', message: 'Ask us.' } }));
  assert.deepEqual(plain(A.check(f)), {});
  f.prompt.title = '  ';
  assert.deepEqual(plain(A.check(f)), { 'prompt.title': ['errRequired'] });
  f.prompt.title = 'x'.repeat(81);
  f.prompt.message = 'y'.repeat(301);
  assert.deepEqual(plain(A.check(f)), { 'prompt.title': ['errTooLong', { max: 80 }], 'prompt.message': ['errTooLong', { max: 300 }] });
  f.prompt.enabled = false;                    // off: not sent, not checked
  assert.deepEqual(plain(A.check(f)), {});
});

test('texts the server judges even while unused (closed message in "hide" mode, away message) are checked', () => {
  const f = A.fromWidget(widget());
  f.offline.mode = 'hide';
  f.offline.message = 'x'.repeat(1001);
  f.offline.awayMessage = 'y'.repeat(1001);
  f.offline.contact = 'z'.repeat(501);
  f.welcome = 'w'.repeat(501);
  assert.deepEqual(plain(A.check(f)), {
    'offline.message': ['errTooLong', { max: 1000 }], 'offline.awayMessage': ['errTooLong', { max: 1000 }],
    'offline.contact': ['errTooLong', { max: 500 }], welcome: ['errTooLong', { max: 500 }],
  });
});

test('a site address with its default port is refused with its own words, here and for a server 422', () => {
  assert.equal(A.hasDefaultPort('https://shop.example:443'), true);
  assert.equal(A.hasDefaultPort('http://shop.example:80'), true);
  assert.equal(A.hasDefaultPort('HTTPS://Shop.example:443'), true);
  assert.equal(A.hasDefaultPort('https://shop.example:8443'), false);
  assert.equal(A.hasDefaultPort('http://shop.example:443'), false, 'not the default port of http');
  assert.equal(A.hasDefaultPort('https://shop.example'), false);
  const f = A.fromWidget(widget());
  f.allowedOrigins = 'https://shop.example:443\nhttp://localhost:3000\nhttp://shop.example:80';
  assert.deepEqual(plain(A.check(f)), { 'allowedOrigins[0]': ['errDefaultPort'], 'allowedOrigins[2]': ['errDefaultPort'] });
  assert.deepEqual(plain(A.localField('allowedOrigins[0]', 'https://shop.example:443')), ['errDefaultPort']);
  assert.deepEqual(plain(A.localField('allowedOrigins[0]', 'https://shop.example/x')), ['errOrigin']);
});

test('a save\'s answer is "as sent" whatever its key order and the null keys the server leaves out', () => {
  const sent = A.toWidget(A.fromWidget(widget()), widget());
  // the server's copy: keys in another order, unset nested keys left out
  const answer = JSON.parse(JSON.stringify(sent));
  answer.offline = { leaveMessage: true, noAgentAsClosed: false, mode: 'message' };
  answer.fields = answer.fields.map((x) => { const y = { ...x }; if (y.hint == null) delete y.hint; if (y.options == null) delete y.options; return y; });
  answer.options = [{ label: 'Where is my order?', team: 'logistics' }];
  const reordered = Object.fromEntries(Object.entries(answer).reverse());
  assert.equal(A.sameWidget(sent, reordered), true);
  assert.equal(A.sameWidget(sent, { ...reordered, spacing: 26 }), false, 'the server stored something else');
  assert.equal(A.sameWidget(sent, null), false);
  assert.equal(A.canon({ b: 1, a: { d: [2, { f: 1, e: 0 }], c: null } }), '{"a":{"c":null,"d":[2,{"e":0,"f":1}]},"b":1}');
});

test('the identity secret is masked for display, the widget itself untouched', () => {
  const w = widget({ identitySecret: 'a'.repeat(64) });
  const m = plain(A.masked(w));
  assert.equal(m.identitySecret, '••••••••');
  assert.ok(!JSON.stringify(m).includes('a'.repeat(16)));
  assert.equal(w.identitySecret, 'a'.repeat(64));
  assert.equal(A.masked(widget()).identitySecret, null, 'no secret: shown as none');
});

test('the action bar: Save, Publish, Discard and History are all off while one of them runs', () => {
  const rec = { version: 2, draft: widget() };
  assert.deepEqual(plain(A.barState({ rec, dirty: true, busy: null })), { save: true, publish: true, discard: true, history: true });
  for (const busy of ['save', 'publish', 'discard']) {
    assert.deepEqual(plain(A.barState({ rec, dirty: true, busy })), { save: false, publish: false, discard: false, history: false }, busy);
  }
  assert.deepEqual(plain(A.barState({ rec: { version: 2, draft: null }, dirty: false })), { save: false, publish: false, discard: false, history: true });
  assert.deepEqual(plain(A.barState({ rec: { version: 0, draft: widget() }, dirty: false })), { save: false, publish: true, discard: false, history: false },
    'a never-published widget: its draft can be published, not discarded');
});

test('the audit log names every action the server writes (also the invite link and the command line\'s erase and purge)', () => {
  for (const action of ['agent.password.set', 'erased', 'purged', 'widget.publish', 'agent.passwd']) {
    const m = js.match(new RegExp("'" + action.replace(/\./g, '\\.') + "': '(a[A-Z]\\w+)'"));
    assert.ok(m, action + ' has no label');
    assert.ok(T.en[m[1]] && T.fr[m[1]], m[1]);
  }
});

// --- the Data page: erase a visitor, remove old conversations ---------------------------------------------------

/** A [key, vars] in words, as admin.js's say() does it (a var that is itself [key, vars] first). */
const say = (lang, e) => {
  const vars = {};
  for (const [k, v] of Object.entries(e[1] || {})) vars[k] = Array.isArray(v) ? say(lang, v) : v;
  assert.ok(e[0] in T[lang], `no text ${e[0]} in ${lang}`);
  return T[lang][e[0]].replace(/\{(\w+)\}/g, (_, k) => (vars[k] != null ? String(vars[k]) : ''));
};

test('counts: English is singular for 1 only, French for 0 and 1', () => {
  assert.deepEqual([0, 1, 2, 5].map((n) => A.plural(n, 'en')), ['other', 'one', 'other', 'other']);
  assert.deepEqual([0, 1, 2, 5].map((n) => A.plural(n, 'fr')), ['one', 'one', 'other', 'other']);
  assert.deepEqual(plain(A.count('files', 3, 'en')), ['files_other', { n: 3 }]);
  assert.equal(say('en', A.count('files', 1, 'en')), '1 file');
  assert.equal(say('fr', A.count('files', 0, 'fr')), '0 fichier');
});

test('the erase answer in words: conversations and files counted, the contact entry, the mentions left and their command', () => {
  const words = (body, email, lang) => { const r = A.eraseResult(body, email, lang); return plain({ lines: r.lines.map((l) => say(lang, l)), command: r.command }); };
  assert.deepEqual(words({ tickets: 1, files: 1, contact: false, mentionedElsewhere: 0 }, 'sam@example.com', 'en'),
    { lines: ['Erased 1 conversation (1 file).'], command: null });
  assert.deepEqual(words({ tickets: 3, files: 0, contact: true, mentionedElsewhere: 0 }, 'sam@example.com', 'en'),
    { lines: ['Erased 3 conversations (0 files) and the contact entry.'], command: null });
  assert.deepEqual(words({ tickets: 2, files: 5, contact: true, mentionedElsewhere: 1 }, 'sam@example.com', 'fr'), {
    lines: ['2 conversations effacées (5 fichiers), ainsi que la fiche de contact.',
      '1 autre conversation mentionne encore cet e-mail (par exemple dans la note d’un agent). Pour effacer aussi ces mentions, arrêtez le serveur et lancez :'],
    command: 'parley erase --email sam@example.com' });
  assert.deepEqual(words({ tickets: 0, files: 0, contact: false, mentionedElsewhere: 2 }, 'sam@example.com', 'en'), {
    lines: ['No conversation was opened with sam@example.com.',
      '2 other conversations still mention this email (for example in an agent’s note). To remove those mentions too, stop the server and run:'],
    command: 'parley erase --email sam@example.com' });
  assert.deepEqual(words({ tickets: 0, files: 0, contact: true, mentionedElsewhere: 0 }, 'sam@example.com', 'fr'),
    { lines: ['Aucune conversation n’a été ouverte avec sam@example.com.', 'La fiche de contact a été effacée.'], command: null });
  // an answer missing counts (or with odd ones) says 0, never "undefined"
  assert.deepEqual(words({}, 'x@y.example', 'en'), { lines: ['No conversation was opened with x@y.example.'], command: null });
});

test('the command to copy quotes an email a shell would read otherwise', () => {
  assert.equal(A.shellArg('sam.o+shop@example.com'), 'sam.o+shop@example.com');
  assert.equal(A.shellArg("o'neil@example.com"), "'o'\\''neil@example.com'");
  assert.equal(A.shellArg('a$b@example.com'), "'a$b@example.com'");
  assert.equal(A.eraseResult({ tickets: 1, files: 1, contact: false, mentionedElsewhere: 1 }, "o'neil@example.com", 'en').command,
    "parley erase --email 'o'\\''neil@example.com'");
});

test('removing old conversations: the preview, the question and the result in words', () => {
  assert.equal(say('en', A.purgeFound(['a', 'b'], '1 January 2030', 'en')), '2 closed conversations were last closed before 1 January 2030.');
  assert.equal(say('en', A.purgeFound(['a'], '1 January 2030', 'en')), '1 closed conversation was last closed before 1 January 2030.');
  assert.equal(say('en', A.purgeFound([], '1 January 2030', 'en')), 'No closed conversation before 1 January 2030.');
  assert.equal(say('fr', A.purgeFound([], '1 janvier 2030', 'fr')), 'Aucune conversation fermée avant le 1 janvier 2030.');
  assert.equal(say('fr', A.purgeFound(['a', 'b', 'c'], '1 janvier 2030', 'fr')),
    '3 conversations ont été fermées pour la dernière fois avant le 1 janvier 2030.');
  assert.equal(say('en', A.purgeAsk(4, '1 January 2030', 'en')),
    'Remove 4 conversations closed before 1 January 2030, with their files? This cannot be undone.');
  assert.equal(say('fr', A.purgeAsk(1, '1 janvier 2030', 'fr')),
    'Supprimer 1 conversation fermée avant le 1 janvier 2030, avec ses fichiers ? Cette action est irréversible.');
  assert.equal(say('en', A.purgeDone({ tickets: ['a', 'b'], files: 1, dryRun: false }, 'en')), 'Removed 2 conversations (1 file).');
  assert.equal(say('fr', A.purgeDone({ tickets: ['a'], files: 3, dryRun: false }, 'fr')), '1 conversation supprimée (3 fichiers).');
});

test('Remove is on only after a Preview of the date still typed that found some, and never while a call runs', () => {
  const p = { date: '2030-01-01', count: 2 };
  assert.deepEqual(plain(A.purgeButtons({ busy: false, date: '2030-01-01', previewed: null })), { preview: true, remove: false });
  assert.deepEqual(plain(A.purgeButtons({ busy: false, date: '2030-01-01', previewed: p })), { preview: true, remove: true });
  assert.deepEqual(plain(A.purgeButtons({ busy: true, date: '2030-01-01', previewed: p })), { preview: false, remove: false });
  assert.deepEqual(plain(A.purgeButtons({ busy: false, date: '2030-02-01', previewed: p })), { preview: true, remove: false }, 'another date');
  assert.deepEqual(plain(A.purgeButtons({ busy: false, date: '2030-01-01', previewed: { date: '2030-01-01', count: 0 } })),
    { preview: true, remove: false }, 'nothing to remove');
});

test('a date the server refused for the removal is said in our words', () => {
  assert.deepEqual(plain(A.localField('closedBefore', '2030-02-31')), ['errDate']);
});
