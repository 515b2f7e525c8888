// Tests for the pure parts of the chat bundle (Public/widget-chat.js), run with `node --test Tests/js/`.
//
// Evaluating widget-chat.js only registers Parley._c (strings, hours phrasing, form check, link
// splitting, the message log / retry model, colour contrast, boot); the DOM is touched only by
// boot(), which the browser tests cover. Here the file runs in a `vm` context whose document throws
// on any use, which also proves that loading the bundle does no DOM work before it is booted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import vm from 'node:vm';
import { CHAT } from './fakepage.mjs';

function evaluate(extra = {}) {
  const untouchable = new Proxy({}, { get: (_, k) => { throw new Error(`document.${String(k)} used at load`); } });
  const window = { Parley: function Parley() {}, document: untouchable, ...extra };
  window.window = window;
  vm.runInContext(CHAT, vm.createContext(window), { filename: 'widget-chat.js' });
  return window.Parley._c;
}

const C = evaluate();
const plain = (x) => JSON.parse(JSON.stringify(x));

test('registers itself without touching the page, and only once', () => {
  for (const k of ['I', 't', 'when', 'check', 'links', 'Log', 'ink', 'who', 'why', 'label', 'boot']) assert.ok(C[k], k);
  const booted = [];
  const w = { Parley: function () {}, document: {} };
  w.Parley._ = { k: () => booted.push('k') };
  w.window = w;
  const ctx = vm.createContext(w);
  vm.runInContext(CHAT, ctx);
  const first = w.Parley._c;
  vm.runInContext(CHAT, ctx);
  assert.equal(w.Parley._c, first, 'a second copy does not replace the first');
  assert.deepEqual(booted, ['k'], 'tells the loader it is there, once');
  const alone = { document: {} };
  alone.window = alone;
  vm.runInContext(CHAT, vm.createContext(alone));
  assert.equal(alone.Parley, undefined, 'without the loader it does nothing');
});

test('strings: every key exists, non-empty, in English and French, with the same placeholders', () => {
  const en = Object.keys(C.I.en).sort();
  const fr = Object.keys(C.I.fr).sort();
  assert.deepEqual(fr, en);
  assert.ok(en.length >= 45, `only ${en.length} strings`);
  const holes = (s) => (s.match(/\{\w+\}/g) ?? []).sort().join();
  for (const k of en) {
    assert.equal(typeof C.I.en[k], 'string');
    assert.ok(C.I.en[k].trim() && C.I.fr[k].trim(), k);
    assert.equal(holes(C.I.fr[k]), holes(C.I.en[k]), `placeholders of ${k}`);
  }
  for (const k of ['start', 'send', 'placeholder', 'waiting', 'joined', 'agentLeft', 'minimized', 'ended',
    'endConfirm', 'yes', 'no', 'rate', 'comment', 'sendFeedback', 'skip', 'thanks', 'newChat', 'empty',
    'badEmail', 'badPhone', 'tooLong', 'closed', 'away', 'nextOpening', 'leaveMessage', 'leftMessage',
    'errorNetwork', 'errorClosed', 'retry', 'failed', 'typing', 'today', 'tomorrow', 'openChat',
    'closeChat', 'endChat']) assert.ok(k in C.I.en, k);
});

test('strings: every key is documented in the comment block at the top of the file', () => {
  const header = CHAT.slice(0, CHAT.indexOf('*/'));
  for (const k of Object.keys(C.I.en)) assert.match(header, new RegExp(`\\b${k}\\b`), k);
});

test('strings: overrides per language, fallbacks, interpolation', () => {
  const strings = { en: { start: 'Chat now', send: 42 }, fr: { start: 'Discutons', joined: '{name} est là' } };
  const cases = [
    ['en', strings, 'start', undefined, 'Chat now'],
    ['fr', strings, 'start', undefined, 'Discutons'],
    ['fr', strings, 'send', undefined, 'Envoyer'],
    ['en', strings, 'send', undefined, 'Send', 'a non-string override is ignored'],
    ['fr', strings, 'joined', { name: 'Anna' }, 'Anna est là'],
    ['en', strings, 'joined', { name: 'Anna' }, 'Anna joined the conversation'],
    ['en', undefined, 'empty', { label: 'Email' }, 'Email cannot be empty.'],
    ['fr', null, 'tooLong', { label: 'Nom', max: 80 }, 'Nom est trop long (au plus 80 caractères).'],
    ['en', {}, 'typing', { name: '$& <b>x</b>' }, '$& <b>x</b> is typing…', 'values are inserted literally'],
    ['en', {}, 'typing', {}, '{name} is typing…', 'a missing value leaves the placeholder'],
    ['de', {}, 'yes', undefined, 'Yes', 'unknown language: English'],
  ];
  for (const [lang, ov, key, vars, want, why] of cases) {
    assert.equal(C.t(lang, ov)(key, vars), want, why ?? `${lang} ${key}`);
  }
});

test('next opening: today / tomorrow / weekday / date, in the given time zone', () => {
  const now = new Date('2026-11-23T06:00:00Z'); // Monday 07:00 in Paris, Monday 01:00 in New York
  const cases = [
    ['2026-11-23T08:00:00.000Z', 'Europe/Paris', 'en', 'We open again today at 09:00.'],
    ['2026-11-23T08:00:00.000Z', 'America/New_York', 'en', 'We open again today at 03:00.'],
    ['2026-11-24T08:00:00.000Z', 'Europe/Paris', 'en', 'We open again tomorrow at 09:00.'],
    ['2026-11-24T08:00:00.000Z', 'Europe/Paris', 'fr', 'Nous rouvrons demain à 09:00.'],
    ['2026-11-23T23:30:00.000Z', 'Europe/Paris', 'en', 'We open again tomorrow at 00:30.', 'after local midnight'],
    ['2026-11-23T23:30:00.000Z', 'America/New_York', 'en', 'We open again today at 18:30.'],
    ['2026-11-25T08:00:00.000Z', 'Europe/Paris', 'en', 'We open again on Wednesday at 09:00.', 'two days ahead'],
    ['2026-11-26T08:00:00.000Z', 'Europe/Paris', 'en', 'We open again on Thursday at 09:00.'],
    ['2026-11-26T08:00:00.000Z', 'Europe/Paris', 'fr', 'Nous rouvrons jeudi à 09:00.'],
    ['2026-11-29T13:15:00.000Z', 'Europe/Paris', 'en', 'We open again on Sunday at 14:15.', 'six days ahead'],
    ['2026-11-30T08:00:00.000Z', 'Europe/Paris', 'en', 'We open again on November 30 at 09:00.', 'a week ahead'],
    ['2026-12-25T08:00:00.000Z', 'Europe/Paris', 'fr', 'Nous rouvrons le 25 décembre à 09:00.'],
    ['2026-11-23T05:00:00.000Z', 'Europe/Paris', 'en', '', 'already past'],
    ['not a date', 'Europe/Paris', 'en', ''],
  ];
  for (const [iso, tz, lang, want, why] of cases) {
    assert.equal(C.when(iso, now, lang, C.t(lang, {}), tz), want, why ?? `${iso} ${tz} ${lang}`);
  }
  const custom = C.t('en', { en: { nextOpening: 'Back {when}!', today: 'at {time} today' } });
  assert.equal(C.when('2026-11-23T08:00:00Z', now, 'en', custom, 'Europe/Paris'), 'Back at 09:00 today!');
});

test('pre-chat form check mirrors the server', () => {
  const F = (type, extra = {}) => ({ id: 'f', type, label: 'Field', required: true, maxLength: 10, ...extra });
  const cases = [
    [F('name'), 'Ada', null],
    [F('name'), '', 'Field cannot be empty.'],
    [F('name'), '   \n ', 'Field cannot be empty.'],
    [F('name', { required: false }), '', null],
    [F('name', { required: false }), 'abcdefghijk', 'Field is too long (at most 10 characters).'],
    [F('name'), 'abcdefghij', null, 'exactly maxLength'],
    [F('name'), '  abcdefghij  ', null, 'trimmed first'],
    [F('name'), '😀😀😀😀😀😀😀😀😀😀', null, 'characters, not UTF-16 units'],
    [F('email', { maxLength: 100 }), 'ada@example.com', null],
    [F('email', { maxLength: 100 }), 'ada@example', 'Field is not a valid email address.'],
    [F('email', { maxLength: 100 }), 'ada@@example.com', 'Field is not a valid email address.'],
    [F('email', { maxLength: 100 }), '@example.com', 'Field is not a valid email address.'],
    [F('email', { maxLength: 100 }), 'ada@.example.com', 'Field is not a valid email address.'],
    [F('email', { maxLength: 100 }), 'ada@example.com.', 'Field is not a valid email address.'],
    [F('email', { maxLength: 100 }), 'ada@example..com', 'Field is not a valid email address.'],
    [F('email', { maxLength: 100 }), 'a da@example.com', 'Field is not a valid email address.'],
    [F('email', { maxLength: 100 }), 'ada@exa,mple.com', 'Field is not a valid email address.'],
    [F('email', { maxLength: 100 }), 'a'.repeat(65) + '@example.com', 'Field is not a valid email address.'],
    [F('phone', { maxLength: 30 }), '+33 (1) 23-45.67/89', null],
    [F('phone', { maxLength: 30 }), '12 3', 'Field is not a valid phone number.', 'three digits'],
    [F('phone', { maxLength: 30 }), '1234', null],
    [F('phone', { maxLength: 30 }), '0612345678 ext', 'Field is not a valid phone number.'],
    [F('reason', { maxLength: 2000 }), 'line 1\nline 2', null],
  ];
  for (const [field, value, want, why] of cases) {
    const got = C.check([field], { f: value }, C.t('en', {}));
    assert.deepEqual(plain(got), want ? { f: want } : {}, why ?? `${field.type} ${JSON.stringify(value)}`);
  }
  const fields = [F('name', { id: 'name', label: 'Nom' }), F('email', { id: 'email', label: 'E-mail', maxLength: 99 })];
  assert.deepEqual(plain(C.check(fields, {}, C.t('fr', {}))),
    { name: 'Nom ne peut pas être vide.', email: 'E-mail ne peut pas être vide.' }, 'every bad field at once');
});

test('links: only http(s) URLs become links', () => {
  const u = (x) => ({ u: x });
  const cases = [
    ['no links here', ['no links here']],
    ['see https://shop.example/a?b=1#c now', ['see ', u('https://shop.example/a?b=1#c'), ' now']],
    ['HTTP://SHOP.EXAMPLE', [u('HTTP://SHOP.EXAMPLE')]],
    ['end https://x.example/a.', ['end ', u('https://x.example/a'), '.'], 'trailing punctuation stays text'],
    ['(http://x.example/p)', ['(', u('http://x.example/p'), ')']],
    ['a http://a.example b https://b.example', ['a ', u('http://a.example'), ' b ', u('https://b.example')]],
    ['javascript:alert(1)', ['javascript:alert(1)']],
    ['javascript://https://x.example', ['javascript://', u('https://x.example')], 'only the https part links'],
    ['JaVaScRiPt:alert(1)//http://x', ['JaVaScRiPt:alert(1)//', u('http://x')]],
    ['data:text/html,<script>alert(1)</script>', ['data:text/html,<script>alert(1)</script>']],
    ['<a href="http://x.example">x</a>', ['<a href="', u('http://x.example'), '">x</a>']],
    ['ftp://x.example', ['ftp://x.example']],
    ['', []],
  ];
  for (const [text, want, why] of cases) assert.deepEqual(plain(C.links(text)), want, why ?? text);
});

test('message log: outbox states, retry with the same id, echo dedupe, order by seq', () => {
  const view = (log) => log.list().map((o) => `${o.e.text ?? o.e.type}:${o.state ?? '-'}:${o.seq ?? '?'}`);
  const msg = (seq, text, extra = {}) => ({ seq, type: 'message', by: { kind: 'agent' }, text, ...extra });
  const cases = [
    {
      why: 'add → sending; ack → sent, placed by its seq',
      steps: (L) => { L.ev(msg(1, 'hi')); const a = L.add('hello', 'c1'); L.ev(msg(2, 'there')); L.ack('c1', msg(3, 'hello', { clientId: 'c1' })); },
      want: ['hi:-:1', 'there:-:2', 'hello:sent:3'],
    },
    {
      why: 'an unsent message stays last while newer events arrive',
      steps: (L) => { L.add('mine', 'c1'); L.ev(msg(1, 'agent')); },
      want: ['agent:-:1', 'mine:sending:?'],
    },
    {
      why: 'the echo (SSE) before the ack: one message, not two',
      steps: (L) => {
        L.add('hello', 'c1');
        assert.equal(L.ev(msg(5, 'hello', { clientId: 'c1', by: { kind: 'visitor' } })), 2);
        L.ack('c1', msg(5, 'hello', { clientId: 'c1' }));
        assert.equal(L.ev(msg(5, 'hello', { clientId: 'c1' })), 0);
      },
      want: ['hello:sent:5'],
    },
    {
      why: 'fail → failed; retry keeps the id; a lost ack healed by the echo',
      steps: (L) => {
        const o = L.add('flaky', 'c9');
        L.fail('c9');
        assert.equal(o.state, 'failed');
        assert.equal(L.retry('c9').id, 'c9');
        assert.equal(o.state, 'sending');
        L.fail('c9');
        L.ev(msg(7, 'flaky', { clientId: 'c9' }));
      },
      want: ['flaky:sent:7'],
    },
    {
      why: 'retry only applies to failed messages; fail only to sending ones',
      steps: (L) => {
        L.add('a', 'c1');
        assert.equal(L.retry('c1'), undefined);
        L.ack('c1', msg(1, 'a', { clientId: 'c1' }));
        L.fail('c1');
        assert.equal(L.retry('nope'), undefined);
      },
      want: ['a:sent:1'],
    },
    {
      why: 'a duplicate ack without an event still marks it sent',
      steps: (L) => { L.add('dup', 'c2'); L.ack('c2', null); },
      want: ['dup:sent:?'],
    },
    {
      why: 'events delivered twice (reconnect, poll overlap) appear once, in seq order',
      steps: (L) => {
        assert.equal(L.ev(msg(2, 'b')), 1);
        assert.equal(L.ev(msg(1, 'a')), 1);
        assert.equal(L.ev(msg(2, 'b')), 0);
        L.ev({ seq: 3, type: 'agent.joined', by: { kind: 'agent', name: 'Anna' } });
      },
      want: ['a:-:1', 'b:-:2', 'agent.joined:-:3'],
    },
    {
      why: 'own messages from an earlier page (no outbox entry) are plain events',
      steps: (L) => { L.ev(msg(1, 'old', { clientId: 'x1', by: { kind: 'visitor' } })); },
      want: ['old:-:1'],
    },
  ];
  for (const c of cases) {
    const log = C.Log();
    c.steps(log);
    assert.deepEqual(plain(view(log)), c.want, c.why);
  }
  const L = C.Log();
  L.ev(msg(4, 'x'));
  L.ack(L.add('y').id, msg(9, 'y'));
  assert.equal(L.max, 4, 'max is what the stream delivered: an ack must not skip unseen events');
  const ids = new Set(Array.from({ length: 50 }, () => C.Log().add('z').id));
  assert.equal(ids.size, 50);
  for (const id of ids) assert.match(id, /^[A-Za-z0-9_-]{1,64}$/);
});

test('text colour on the widget colour reaches 4.5:1', () => {
  const lum = (hex) => {
    const h = hex.length === 4 ? hex.replace(/\w/g, '$&$&') : hex;
    return [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16) / 255)
      .map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4))
      .reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
  };
  const contrast = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  assert.equal(C.ink('#2f6fed'), '#fff');
  assert.ok(contrast('#2f6fed', '#ffffff') >= 4.5, 'the default colour with white text');
  for (const c of ['#2f6fed', '#000', '#fff', '#ffd600', '#e91e63', '#777777', '#767676', '#808080', '#0a0', '#1565c0', '#ff5722']) {
    const ink = C.ink(c);
    assert.ok(contrast(c, ink) >= 4.5, `${ink} on ${c}: ${contrast(c, ink).toFixed(2)}`);
  }
});

test("the server's default field labels speak the visitor's language; the shop's own labels stay", () => {
  const fr = C.t('fr', {});
  const en = C.t('en', {});
  const cases = [
    [{ id: 'name', label: 'Name' }, 'Nom', 'Name'],
    [{ id: 'email', label: 'Email' }, 'E-mail', 'Email'],
    [{ id: 'subject', label: 'Subject' }, 'Objet', 'Subject'],
    [{ id: 'message', label: 'Message' }, 'Message', 'Message'],
    [{ id: 'name', label: 'Full name' }, 'Full name', 'Full name', "the shop's own label"],
    [{ id: 'name', label: 'Nom complet' }, 'Nom complet', 'Nom complet'],
    [{ id: 'full', label: 'Name' }, 'Name', 'Name', 'another field that happens to be called Name'],
    [{ id: 'topic', label: undefined }, undefined, undefined, 'no label, no default'],
    [{ id: 'constructor', label: 'X' }, 'X', 'X'],
  ];
  for (const [field, inFrench, inEnglish, why] of cases) {
    assert.equal(C.label(field, fr), inFrench, why ?? JSON.stringify(field));
    assert.equal(C.label(field, en), inEnglish, why ?? JSON.stringify(field));
  }
  assert.equal(C.label({ id: 'name', label: 'Name' }, C.t('fr', { fr: { nameLabel: 'Votre nom' } })), 'Votre nom',
    'the widget strings can replace them too');
  const fields = [{ id: 'name', type: 'name', label: 'Name', required: true, maxLength: 3 }];
  assert.deepEqual(plain(C.check(fields, {}, fr)), { name: 'Nom ne peut pas être vide.' }, 'the warnings use them');
  assert.deepEqual(plain(C.check(fields, { name: 'Anna' }, fr)), { name: 'Nom est trop long (au plus 3 caractères).' });
});

test("identify: what the shop passed, as the server's types, so a sloppy payload can't block every chat", () => {
  const cases = [
    [{ name: 'Ada', email: 'ada@example.com', ts: 1700000000, signature: 'ab12' },
      { name: 'Ada', email: 'ada@example.com', signature: 'ab12', ts: 1700000000 }],
    [{ name: 42, email: 'a@b.example', ts: '1700000000', signature: 12345 },
      { name: '42', email: 'a@b.example', signature: '12345', ts: 1700000000 }, 'numbers and strings swapped'],
    [{ ts: '1700000000.9' }, { ts: 1700000000 }, 'a whole number of seconds'],
    [{ ts: 'soon' }, { ts: null }, 'not a number: sent as null (the server then refuses the signature, 422)'],
    [{ name: null, email: undefined, extra: 'x' }, {}, 'missing values stay missing; unknown keys go'],
    [{ name: { first: 'A' } }, { name: '[object Object]' }],
    ['Ada', undefined, 'not an object: no identity'],
    [null, undefined],
    [undefined, undefined],
    [7, undefined],
  ];
  for (const [given, want, why] of cases) {
    const got = C.who(given);
    assert.deepEqual(got === undefined ? got : JSON.parse(JSON.stringify(got)), want, why ?? JSON.stringify(given));
  }
});

test('the error band: nothing only for a ticket that is gone; a deleted widget (404) is an error', () => {
  const S = C.t('en', {});
  const cases = [
    [{ status: 404, code: 'ticket_not_found' }, ''],
    [{ status: 404, code: 'widget_not_found' }, 'Something went wrong. Please try again.'],
    [{ status: 404 }, 'Something went wrong. Please try again.', 'a 404 from a proxy, without parley\'s code'],
    [{ net: 1 }, 'Connection problem. Please try again.'],
    [{ status: 409, code: 'widget_closed' }, 'The chat is closed right now.'],
    [{ status: 409, code: 'ticket_closed' }, 'This conversation has ended.'],
    [{ status: 429, code: 'rate_limited' }, 'Too many requests. Please wait a moment.'],
    [{ status: 500 }, 'Something went wrong. Please try again.'],
  ];
  for (const [e, want, why] of cases) assert.equal(C.why(e, S), want, why ?? JSON.stringify(e));
});
