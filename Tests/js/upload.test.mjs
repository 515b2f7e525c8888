// Tests for Public/upload.js (the tus client and the file tray), run with `node --test Tests/js/`.
//
// The file runs in a `vm` context like the widget's scripts; its XMLHttpRequest is a fake that hands each
// request to an in-process tus server (FakeTus below: the contract of /tmp/contract/uploads.md, with
// faults a test can plan: a dropped connection, a lost answer, a request that hangs, any status).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import vm from 'node:vm';
import { FakeElement } from './fakepage.mjs';

const SRC = readFileSync(new URL('../../Public/upload.js', import.meta.url), 'utf8');
const BASE = 'https://chat.example.com:8443';
const ENDPOINT = BASE + '/api/uploads';
const b64 = (s) => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s) => Buffer.from(s, 'base64').toString('utf8');
const json = (status, code, message, fields) => ({ status, headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify({ error: { code, message, ...(fields ? { fields } : {}) } }) });

/**
 * A tus 1.0 server in memory. `faults`: [{method, fault, name?}], each used by the first request of that method
 * (for the upload of file `name`, if given); `fault: null` lets one through.
 */
class FakeTus {
  constructor({ relative = false, maxSize = 5 << 20, ticket = 't1' } = {}) {
    Object.assign(this, { relative, maxSize, ticket, uploads: new Map(), log: [], faults: [], n: 0, hanging: [] });
  }
  once(method, fault) { this.faults.push({ method, fault }); }
  async handle(req) {
    const name = this.uploads.get(req.url.split('/').pop())?.meta.filename;
    const i = this.faults.findIndex((f) => f.method === req.method && (!f.name || f.name === name));
    const fault = i >= 0 ? this.faults.splice(i, 1)[0].fault : null;
    this.log.push({ method: req.method, url: req.url, headers: req.headers, size: req.body?.length ?? 0 });
    if (fault?.net) return { net: true };                       // the request never arrived
    if (fault?.status) return fault.body ? json(fault.status, fault.code, fault.body) : { status: fault.status, headers: {} };
    if (fault?.hang) {                                           // arrives, takes part of the body, then waits
      const u = this.uploads.get(req.url.split('/').pop());
      if (u && req.body) u.data.push(...req.body.slice(0, fault.hang)), u.offset += fault.hang;
      await new Promise((resolve) => this.hanging.push(resolve));
      return { net: true };
    }
    if (fault?.netAfter !== undefined) {                         // takes part of the body, then the connection drops
      const u = this.uploads.get(req.url.split('/').pop());
      u.data.push(...req.body.slice(0, fault.netAfter));
      u.offset += fault.netAfter;
      return { net: true };
    }
    const res = this.answer(req);
    return fault?.lost ? { net: true } : res;                    // done, but the answer is lost
  }
  answer({ method, url, headers, body }) {
    const H = { 'Tus-Resumable': '1.0.0' };
    if (headers['tus-resumable'] !== '1.0.0') return { status: 412, headers: { 'Tus-Version': '1.0.0' } };
    if (method === 'POST') {
      const length = Number(headers['upload-length']);
      const meta = Object.fromEntries((headers['upload-metadata'] ?? '').split(',').filter(Boolean)
        .map((p) => p.split(' ')).map(([k, v]) => [k, unb64(v ?? '')]));
      if (meta.ticket !== this.ticket) return json(404, 'ticket_not_found', 'This conversation does not exist.');
      if (!length) return json(422, 'empty_file', 'This file is empty.');
      if (length > this.maxSize) return json(413, 'file_too_large', 'This file is 7.3 MB; the limit is 5 MB.');
      if (this.uploads.size >= 5) return json(422, 'too_many_files', 'You can send at most 5 files at a time.');
      const id = 'up' + ++this.n;
      this.uploads.set(id, { length, offset: 0, data: [], meta, attachment: null });
      return { status: 201, headers: { ...H, Location: (this.relative ? '' : BASE) + '/api/uploads/' + id } };
    }
    const id = url.split('/').pop();
    const u = this.uploads.get(id);
    if (!u) return json(404, 'upload_not_found', 'This upload does not exist.');
    if (method === 'HEAD') {
      return { status: 200, headers: { ...H, 'Upload-Offset': String(u.offset), 'Upload-Length': String(u.length),
        ...(u.attachment ? { 'Parley-Attachment': u.attachment } : {}) } };
    }
    if (method === 'DELETE') { this.uploads.delete(id); return { status: 204, headers: H }; }
    if (method === 'PATCH') {
      if (headers['content-type'] !== 'application/offset+octet-stream') return json(415, 'bad_request', 'content type');
      if (Number(headers['upload-offset']) !== u.offset) return json(409, 'offset_mismatch', 'Upload-Offset is not the server\'s.');
      if (u.offset + body.length > u.length) return json(413, 'file_too_large', 'past Upload-Length');
      u.data.push(...body);
      u.offset += body.length;
      if (u.offset === u.length) {
        if (u.meta.filetype === 'text/html') {
          this.uploads.delete(id);
          return json(415, 'type_not_allowed', 'This file is text/html, which this chat does not accept.',
            this.typeField ? { type: 'text/html' } : undefined);
        }
        u.attachment = 'att-' + id;
      }
      return { status: 204, headers: { ...H, 'Upload-Offset': String(u.offset), ...(u.attachment ? { 'Parley-Attachment': u.attachment } : {}) } };
    }
    return { status: 405, headers: H };
  }
  /** The XMLHttpRequest the page gets: each send() goes to this server. */
  xhr() {
    const server = this;
    return class FakeXHR {
      constructor() { this.readyState = 0; this.headers = {}; this.upload = {}; this.status = 0; this.responseText = ''; }
      open(method, url) { this.method = method; this.url = url; this.readyState = 1; }
      setRequestHeader(k, v) { this.headers[k.toLowerCase()] = String(v); }
      getResponseHeader(k) {
        const e = Object.entries(this.res ?? {}).find(([n]) => n.toLowerCase() === k.toLowerCase());
        return e ? e[1] : null;
      }
      send(body) {
        (async () => {
          const bytes = body ? new Uint8Array(await body.arrayBuffer()) : null;
          const res = await server.handle({ method: this.method, url: this.url, headers: this.headers, body: bytes });
          if (this.aborted) return;
          this.readyState = 4;
          if (res.net) return this.onerror?.({});
          if (bytes) this.upload.onprogress?.({ loaded: bytes.length, total: bytes.length });
          this.status = res.status;
          this.res = res.headers;
          this.responseText = res.body ?? '';
          this.onload?.({});
        })();
      }
      abort() {
        if (this.readyState === 4) return;
        this.aborted = true;
        this.readyState = 4;
        server.log.push({ method: 'abort', url: this.url });
        this.onabort?.({});
      }
    };
  }
}

function load(server, extra = {}) {
  const delays = [];
  const g = { XMLHttpRequest: server.xhr(), btoa, TextEncoder, URL, location: { href: 'https://shop.example/cart' },
    setTimeout: (fn, ms) => { delays.push(ms); setImmediate(fn); }, ...extra };
  vm.runInContext(SRC, vm.createContext(g), { filename: 'upload.js' });
  g.ParleyTus.delays = delays;
  return g.ParleyTus;
}

const bytes = (n) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) % 251);
const file = (n, name = 'photo.png', type = 'image/png') => new File([bytes(n)], name, { type });

/** An upload whose outcome (done / error) a test can await, step after step. */
function track(X, f, opts = {}) {
  const ev = { progress: [], done: [], errors: [] };
  let wake = () => {};
  const u = X.upload(f, { endpoint: ENDPOINT, ticket: 't1', headers: { Authorization: 'Bearer tok' },
    onProgress: (sent, total) => ev.progress.push([sent, total]),
    onDone: (a) => { ev.done.push(a); wake('done'); },
    onError: (e) => { ev.errors.push(e); wake('error'); }, ...opts });
  ev.u = u;
  ev.run = (fn = () => u.start()) => new Promise((resolve) => { wake = resolve; fn(); });
  return ev;
}

const calls = (server) => server.log.map((r) => `${r.method}${r.headers?.['upload-offset'] !== undefined ? '@' + r.headers['upload-offset'] : ''}`);
const stored = (server, id) => Uint8Array.from(server.uploads.get(id).data);

test('creates with POST, then PATCHes chunk by chunk with the tus headers, until Parley-Attachment', async () => {
  const server = new FakeTus();
  const X = load(server);
  X.chunkSize = 1000;
  const name = 'Reçu n°3 – été 📄.pdf';
  const t = track(X, file(2500, name, 'application/pdf'));
  assert.equal(await t.run(), 'done');
  assert.deepEqual(t.done, ['att-up1']);
  assert.deepEqual(calls(server), ['POST', 'PATCH@0', 'PATCH@1000', 'PATCH@2000']);
  const [post, ...patches] = server.log;
  assert.equal(post.url, ENDPOINT);
  assert.equal(post.headers['tus-resumable'], '1.0.0');
  assert.equal(post.headers['upload-length'], '2500');
  assert.equal(post.headers.authorization, 'Bearer tok');
  assert.equal(post.headers['upload-metadata'], `ticket ${b64('t1')},filename ${b64(name)},filetype ${b64('application/pdf')}`);
  assert.equal(unb64(post.headers['upload-metadata'].split(',')[1].split(' ')[1]), name, 'base64 of the UTF-8 bytes');
  assert.equal(post.size, 0, 'no body with the POST');
  for (const p of patches) {
    assert.equal(p.url, ENDPOINT + '/up1');
    assert.equal(p.headers['content-type'], 'application/offset+octet-stream');
    assert.equal(p.headers['tus-resumable'], '1.0.0');
    assert.equal(p.headers.authorization, 'Bearer tok');
  }
  assert.deepEqual(patches.map((p) => p.size), [1000, 1000, 500]);
  assert.deepEqual(stored(server, 'up1'), bytes(2500));
  assert.deepEqual(t.progress.at(-1), [2500, 2500]);
  assert.ok(t.progress.every(([s, n], i) => n === 2500 && (i === 0 || s >= t.progress[i - 1][0])), 'progress only grows');
  assert.equal(t.u.url, ENDPOINT + '/up1');
});

test('a file without a type sends no filetype; a relative Location is read against the endpoint', async () => {
  const server = new FakeTus({ relative: true });
  const X = load(server);
  const t = track(X, file(10, 'notes', ''));
  assert.equal(await t.run(), 'done');
  assert.equal(server.log[0].headers['upload-metadata'], `ticket ${b64('t1')},filename ${b64('notes')}`);
  assert.equal(server.log[1].url, BASE + '/api/uploads/up1');
  // the agent page: endpoint '/api/uploads' on the page's own origin
  const agent = track(X, file(10), { endpoint: '/api/uploads', headers: {} });
  assert.equal(await agent.run(), 'done');
  assert.equal(server.log[2].url, '/api/uploads');
  assert.equal(server.log[3].url, 'https://shop.example/api/uploads/up2');
  assert.equal(server.log[2].headers.authorization, undefined, 'the cookie, no Authorization');
});

test('the default chunk is 1 MB; ParleyTus set before the file loads keeps its chunkSize and delay', async () => {
  const server = new FakeTus();
  assert.equal(load(server).chunkSize, 1 << 20);
  const X = load(server, { ParleyTus: { chunkSize: 300, delay: 50 } });
  assert.equal(X.chunkSize, 300);
  const t = track(X, file(700));
  assert.equal(await t.run(), 'done');
  assert.deepEqual(calls(server), ['POST', 'PATCH@0', 'PATCH@300', 'PATCH@600']);
  assert.deepEqual(X.delays, [50, 50, 50], 'each PATCH waits ParleyTus.delay ms');
  const again = X.upload;
  vm.runInContext(SRC, vm.createContext({ ParleyTus: X }));
  assert.equal(X.upload, again, 'loading the file twice changes nothing');
});

test('after a dropped PATCH, retry resumes from the offset HEAD gives, never from 0', async () => {
  const server = new FakeTus();
  const X = load(server);
  X.chunkSize = 1000;
  const t = track(X, file(3000));
  // the second PATCH: 300 bytes reach the server, then the connection drops
  server.faults.push({ method: 'PATCH', fault: null }, { method: 'PATCH', fault: { netAfter: 300 } });
  const first = t.run();
  assert.equal(await first, 'error');
  const e = t.errors[0];
  assert.equal(e.net, 1);
  assert.equal(e.retry, true);
  assert.deepEqual(calls(server), ['POST', 'PATCH@0', 'PATCH@1000']);
  assert.equal(server.uploads.get('up1').offset, 1300);
  assert.equal(await t.run(), 'done');
  assert.deepEqual(calls(server), ['POST', 'PATCH@0', 'PATCH@1000', 'HEAD', 'PATCH@1300', 'PATCH@2300']);
  assert.equal(server.log.filter((r) => r.method === 'POST').length, 1, 'the upload was not created again');
  assert.deepEqual(stored(server, 'up1'), bytes(3000));
});

test('5xx: an error worth a Retry, which resumes; 423 busy: HEAD again by itself, after a pause', async () => {
  const server = new FakeTus();
  const X = load(server);
  X.chunkSize = 1000;
  const t = track(X, file(2000));
  server.once('PATCH', { status: 503 });
  assert.equal(await t.run(), 'error');
  assert.equal(t.errors[0].status, 503);
  assert.equal(t.errors[0].retry, true);
  assert.equal(await t.run(), 'done');
  assert.deepEqual(calls(server), ['POST', 'PATCH@0', 'HEAD', 'PATCH@0', 'PATCH@1000']);

  const s2 = new FakeTus();
  const Y = load(s2);
  Y.chunkSize = 1000;
  const busy = track(Y, file(2000));
  s2.faults.push({ method: 'PATCH', fault: null }, { method: 'PATCH', fault: { status: 423, body: 'Another PATCH is running.', code: 'upload_busy' } });
  assert.equal(await busy.run(), 'done');
  assert.deepEqual(busy.errors, [], 'not shown to the visitor');
  assert.deepEqual(calls(s2), ['POST', 'PATCH@0', 'PATCH@1000', 'HEAD', 'PATCH@1000']);
  assert.deepEqual(Y.delays, [500]);

  const s3 = new FakeTus();
  const Z = load(s3);
  const stuck = track(Z, file(10));
  for (let i = 0; i < 4; i++) s3.faults.push({ method: 'PATCH', fault: { status: 423, body: 'busy', code: 'upload_busy' } });
  assert.equal(await stuck.run(), 'error', 'busy for good: shown, after 3 tries');
  assert.equal(stuck.errors[0].retry, true);
  assert.deepEqual(Z.delays, [500, 1000, 1500]);
});

test('cancel aborts the running PATCH, then DELETEs the upload; nothing is reported after', async () => {
  const server = new FakeTus();
  const X = load(server);
  X.chunkSize = 1000;
  const t = track(X, file(3000));
  server.faults.push({ method: 'PATCH', fault: null }, { method: 'PATCH', fault: { hang: 400 } });
  t.run();
  while (!server.hanging.length) await new Promise(setImmediate);
  assert.equal(server.uploads.get('up1').offset, 1400);
  await t.u.cancel();
  assert.deepEqual(calls(server), ['POST', 'PATCH@0', 'PATCH@1000', 'abort', 'DELETE']);
  assert.equal(server.log.at(-1).url, ENDPOINT + '/up1');
  assert.equal(server.log.at(-1).headers.authorization, 'Bearer tok');
  assert.equal(server.uploads.size, 0, 'the partial file is gone');
  server.hanging.forEach((f) => f());
  await new Promise(setImmediate);
  assert.deepEqual([t.done, t.errors], [[], []]);
  assert.equal(t.u.url, null);
});

test('cancel while the POST is on its way: the POST finishes, then its upload is deleted', async () => {
  const server = new FakeTus();
  const X = load(server);
  const t = track(X, file(100));
  t.run();
  const gone = t.u.cancel();
  await gone;
  assert.deepEqual(calls(server), ['POST', 'DELETE']);
  assert.equal(server.uploads.size, 0);
  assert.deepEqual([t.done, t.errors], [[], []]);
  // before start, or after a failed POST: nothing to delete
  const idle = track(X, file(100));
  await idle.u.cancel();
  assert.deepEqual(calls(server), ['POST', 'DELETE']);
});

test('HEAD says 404 (expired, swept): start over with a new POST', async () => {
  const server = new FakeTus();
  const X = load(server);
  X.chunkSize = 1000;
  const t = track(X, file(2000));
  server.faults.push({ method: 'PATCH', fault: null }, { method: 'PATCH', fault: { net: true } });
  assert.equal(await t.run(), 'error');
  server.uploads.clear();
  assert.equal(await t.run(), 'done');
  assert.deepEqual(calls(server), ['POST', 'PATCH@0', 'PATCH@1000', 'HEAD', 'POST', 'PATCH@0', 'PATCH@1000']);
  assert.equal(t.u.url, ENDPOINT + '/up2');
  assert.deepEqual(t.done, ['att-up2']);
  assert.deepEqual(stored(server, 'up2'), bytes(2000));
});

test("the last PATCH's answer lost: Retry learns from HEAD that it is done (Parley-Attachment)", async () => {
  const server = new FakeTus();
  const X = load(server);
  const t = track(X, file(500));
  server.once('PATCH', { lost: true });
  assert.equal(await t.run(), 'error');
  assert.equal(server.uploads.get('up1').attachment, 'att-up1');
  assert.equal(await t.run(), 'done');
  assert.deepEqual(calls(server), ['POST', 'PATCH@0', 'HEAD']);
  assert.deepEqual(t.done, ['att-up1']);
  assert.deepEqual(t.progress.at(-1), [500, 500]);
});

test('all bytes in but the finish failed half-way (500): Retry sends an empty PATCH at the end, which finishes it', async () => {
  const server = new FakeTus();
  const X = load(server);
  const t = track(X, file(500));
  server.once('PATCH', { status: 500 });
  assert.equal(await t.run(), 'error');
  // What a server that stored every byte but failed to finish looks like: offset == length, no attachment.
  const u = server.uploads.get('up1');
  u.data = [...bytes(500)]; u.offset = 500;
  assert.equal(await t.run(), 'done');
  assert.deepEqual(calls(server), ['POST', 'PATCH@0', 'HEAD', 'PATCH@500']);
  assert.deepEqual(t.done, ['att-up1']);
  assert.equal(server.log.at(-1).size, 0, 'the last PATCH carries no bytes');
});

test("refusals carry the server's code and message and are not worth a Retry", async () => {
  const cases = [
    [{ maxSize: 100 }, file(200), 413, 'file_too_large', 'This file is 7.3 MB; the limit is 5 MB.'],
    [{}, file(20, 'page.html', 'text/html'), 415, 'type_not_allowed', 'This file is text/html, which this chat does not accept.'],
    [{ ticket: 'other' }, file(20), 404, 'ticket_not_found', 'This conversation does not exist.'],
  ];
  for (const [opts, f, status, code, message] of cases) {
    const server = new FakeTus(opts);
    const t = track(load(server), f);
    assert.equal(await t.run(), 'error', code);
    assert.deepEqual({ ...t.errors[0] }, { code, message, status, retry: false }, code);
  }
  const server = new FakeTus();
  const X = load(server);
  for (let i = 0; i < 5; i++) server.uploads.set('x' + i, { length: 9, offset: 0, data: [], meta: {} });
  const t = track(X, file(20));
  assert.equal(await t.run(), 'error');
  assert.deepEqual({ ...t.errors[0] }, { code: 'too_many_files', message: 'You can send at most 5 files at a time.', status: 422, retry: false });
  const closed = new FakeTus();
  closed.once('POST', { status: 409, code: 'ticket_closed', body: 'This conversation has ended.' });
  const c = track(load(closed), file(20));
  assert.equal(await c.run(), 'error');
  assert.equal(c.errors[0].retry, false, 'a closed ticket stays closed');
});

const en = (X) => (k, v) => X.I.en[k].replace(/\{(\w+)\}/g, (m, n) => (v && v[n] != null ? v[n] : m));
const fr = (X) => (k, v) => X.I.fr[k].replace(/\{(\w+)\}/g, (m, n) => (v && v[n] != null ? v[n] : m));

test('limits before any upload: too big and too many name the limit; empty files are refused', () => {
  const X = load(new FakeTus());
  const f = (size, name) => ({ size, name });
  const MB = 1 << 20;
  const cases = [
    [[f(7.3 * MB, 'photo.png')], 0, 5 * MB, 5, 'en', [], 'photo.png is 7.3 MB; the limit is 5 MB.'],
    [[f(5 * MB, 'exact.png')], 0, 5 * MB, 5, 'en', ['exact.png'], ''],
    [[f(5 * MB + 1, 'over.png')], 0, 5 * MB, 5, 'en', [], 'over.png is 5.1 MB; the limit is 5 MB.', 'never "5 MB; the limit is 5 MB"'],
    [[f(7.3 * MB, 'photo.png')], 0, 5 * MB, 5, 'fr', [], 'photo.png fait 7,3 Mo ; la limite est de 5 Mo.'],
    [[f(1500, 'a.txt')], 0, 1000, 5, 'en', [], 'a.txt is 1.5 KB; the limit is 1,000 B.'],
    [[1, 2, 3, 4, 5, 6].map((i) => f(10, i + '.txt')), 0, MB, 5, 'en', ['1.txt', '2.txt', '3.txt', '4.txt', '5.txt'],
      'You can send at most 5 files at a time.'],
    [[f(10, 'a'), f(10, 'b')], 4, MB, 5, 'en', ['a'], 'You can send at most 5 files at a time.', 'counts what the tray has'],
    [[f(10, 'a')], 5, MB, 5, 'fr', [], 'Vous pouvez envoyer au plus 5 fichiers à la fois.'],
    [[f(0, 'empty.txt'), f(9 * MB, 'big.zip'), f(10, 'ok.txt')], 0, 5 * MB, 5, 'en', ['ok.txt'],
      'empty.txt is empty. big.zip is 9 MB; the limit is 5 MB.'],
    [[f(9 * MB, 'big.zip')], 0, undefined, undefined, 'en', ['big.zip'], '', 'no limits known: the server decides'],
  ];
  for (const [files, have, max, n, lang, ok, m, why] of cases) {
    const r = X.pick(files, have, max, n, lang === 'fr' ? fr(X) : en(X), lang);
    assert.deepEqual([...r.ok.map((x) => x.name)], ok, why ?? m);
    assert.equal(r.m, m, why ?? m);
  }
});

test('strings: every key in English and French, same placeholders, each documented at the top', () => {
  const X = load(new FakeTus());
  const keys = Object.keys(X.I.en).sort();
  assert.deepEqual(Object.keys(X.I.fr).sort(), keys);
  const holes = (s) => (s.match(/\{\w+\}/g) ?? []).sort().join();
  for (const k of keys) {
    assert.ok(X.I.en[k].trim() && X.I.fr[k].trim(), k);
    assert.equal(holes(X.I.fr[k]), holes(X.I.en[k]), k);
  }
  const header = SRC.slice(0, SRC.indexOf('*/'));
  for (const k of keys) assert.match(header, new RegExp(`\\b${k}\\b`), k);
});

// ---- the tray, on a fake DOM

class El extends FakeElement {
  remove() { if (this.parentNode) this.parentNode.children = this.parentNode.children.filter((c) => c !== this); this.parentNode = null; }
  contains(x) { return x === this || [...this.walk()].includes(x); }
  getRootNode() { let n = this; while (n.parentNode) n = n.parentNode; return n; }
  focus() { this.getRootNode().activeElement = this; }
  all(attr, value) { return [...this.walk()].filter((e) => e.getAttribute?.(attr) === value); }
}

function trayPage(opts = {}) {
  const server = new FakeTus();
  const X = load(server);
  const doc = { createElement: (t) => new El(t) };
  const root = new El('#root');
  const at = new El('div');
  at.ownerDocument = doc;
  const input = new El('textarea');
  root.append(at, input);
  const I = { en: { retryUpload: 'Try again' }, fr: {} };
  const S = (k, v) => (I[opts.l ?? 'en'][k] ?? I.en[k]).replace(/\{(\w+)\}/g, (m, n) => (v && v[n] != null ? v[n] : m));
  const tray = X.tray({ at, S, I, l: 'en', t: () => ({ ticket: 't1', token: 'tok' }), b: BASE, max: 1000, n: 3, f: input, ...opts });
  const items = () => at.all('data-p', 'upload');
  const item = (name) => items().find((e) => e.getAttribute('data-name') === name);
  const part = (e, p) => e.find('data-p', p);
  const settle = async () => { for (let i = 0; i < 20; i++) await new Promise(setImmediate); };
  return { server, X, at, root, input, I, tray, items, item, part, settle, limit: () => part(at, 'upload-limit') };
}

test('tray: picked files wait with name, size and a remove button; limits are said, named, before any upload', () => {
  const p = trayPage();
  p.tray.a([file(10, 'a.png'), file(2000, 'big.png'), file(20, 'b.pdf')]);
  assert.deepEqual(p.items().map((e) => [e.getAttribute('data-name'), e.getAttribute('data-state')]), [['a.png', 'ready'], ['b.pdf', 'ready']]);
  assert.equal(p.limit().textContent, 'big.png is 2 KB; the limit is 1,000 B.');
  assert.equal(p.limit().getAttribute('role'), 'alert');
  const a = p.item('a.png');
  assert.match(a.textContent, /a\.png10 B/);
  assert.equal(p.part(a, 'upload-cancel').getAttribute('aria-label'), 'Remove a.png');
  assert.equal(a.find('PROGRESS').hidden, true);
  assert.equal(p.part(a, 'upload-retry').hidden, true);
  p.tray.a([file(1, 'c'), file(1, 'd')]);
  assert.deepEqual(p.items().map((e) => e.getAttribute('data-name')), ['a.png', 'b.pdf', 'c']);
  assert.equal(p.limit().textContent, 'You can send at most 3 files at a time.');
  p.part(a, 'upload-cancel').focus();
  p.part(a, 'upload-cancel').click();
  assert.deepEqual(p.items().map((e) => e.getAttribute('data-name')), ['b.pdf', 'c'], 'removed, no upload');
  assert.equal(p.root.activeElement, p.part(p.item('b.pdf'), 'upload-cancel'), 'the focus goes to the next item');
  p.tray.a([file(1, 'e')]);
  assert.equal(p.limit().textContent, '', 'the message goes with the next pick that fits');
  assert.equal(p.server.log.length, 0);
  assert.equal(p.I.en.retryUpload, 'Try again', "the page's own strings win");
  assert.equal(p.I.en.removeFile, 'Remove {name}', 'missing keys are added to its table');
});

test('tray: send uploads each file with its progress; done leaves the tray; failures offer a Retry that resumes', async () => {
  const p = trayPage();
  p.X.chunkSize = 100;
  p.tray.a([file(250, 'ok.png'), file(300, 'flaky.png'), file(20, 'page.html', 'text/html')]);
  p.server.faults.push({ method: 'PATCH', fault: null, name: 'flaky.png' }, { method: 'PATCH', fault: { net: true }, name: 'flaky.png' });
  p.tray.s();
  assert.deepEqual(p.items().map((e) => e.getAttribute('data-state')), ['uploading', 'uploading', 'uploading']);
  const flaky = p.item('flaky.png');
  assert.equal(p.part(flaky, 'upload-cancel').getAttribute('aria-label'), 'Cancel the upload of flaky.png');
  assert.equal(flaky.find('PROGRESS').hidden, false);
  await p.settle();
  assert.equal(p.item('ok.png'), undefined, 'done: out of the tray');
  assert.equal(flaky.getAttribute('data-state'), 'error');
  assert.equal(p.part(flaky, 'upload-error').textContent, 'Connection problem: the upload stopped.');
  assert.equal(p.part(flaky, 'upload-retry').hidden, false);
  assert.equal(p.part(flaky, 'upload-retry').textContent, 'Try again');
  const sent = flaky.find('PROGRESS').value;
  assert.ok(sent > 0 && sent < 300, `progress kept at ${sent}`);
  const html = p.item('page.html');
  assert.equal(html.getAttribute('data-state'), 'error');
  assert.equal(p.part(html, 'upload-error').textContent, 'This file is text/html, which this chat does not accept.');
  assert.equal(p.part(html, 'upload-retry').hidden, true, 'a refusal is not retried');
  const posts = p.server.log.filter((r) => r.method === 'POST').length;
  p.part(flaky, 'upload-retry').click();
  assert.equal(flaky.getAttribute('data-state'), 'uploading');
  assert.equal(p.part(flaky, 'upload-error').textContent, '');
  await p.settle();
  assert.equal(p.item('flaky.png'), undefined);
  assert.equal(p.server.log.filter((r) => r.method === 'POST').length, posts, 'resumed, not created again');
  assert.ok(p.server.log.some((r) => r.method === 'HEAD'));
  p.part(html, 'upload-cancel').click();
  await p.settle();
  assert.deepEqual(p.items(), []);
});

test('tray: cancel mid-way marks the item canceled, DELETEs the upload, then removes it', async () => {
  const p = trayPage();
  p.X.chunkSize = 100;
  p.tray.a([file(500, 'slow.png')]);
  p.server.faults.push({ method: 'PATCH', fault: null }, { method: 'PATCH', fault: { hang: 50 } });
  p.tray.s();
  while (!p.server.hanging.length) await new Promise(setImmediate);
  const slow = p.item('slow.png');
  p.part(slow, 'upload-cancel').click();
  assert.equal(slow.getAttribute('data-state'), 'canceled');
  await p.settle();
  assert.equal(p.item('slow.png'), undefined);
  assert.deepEqual(calls(p.server).slice(-2), ['abort', 'DELETE']);
  assert.equal(p.server.uploads.size, 0);
  p.server.hanging.forEach((f) => f());
});

test("tray: the server's refusals: its message, or the limit in the page's language when the page knows it", async () => {
  const p = trayPage({ max: undefined });
  p.server.maxSize = 10;
  p.tray.a([file(50, 'x.png')]);
  p.tray.s();
  await p.settle();
  assert.equal(p.part(p.item('x.png'), 'upload-error').textContent, 'This file is 7.3 MB; the limit is 5 MB.');
  const q = trayPage();
  for (let i = 0; i < 5; i++) q.server.uploads.set('x' + i, { length: 9, offset: 0, data: [], meta: {} });
  q.tray.a([file(50, 'y.png')]);
  q.tray.s();
  await q.settle();
  assert.equal(q.part(q.item('y.png'), 'upload-error').textContent, 'You can send at most 3 files at a time.');
  // A refused type: the detected type comes in `fields.type`, the sentence in the page's language.
  for (const [l, said] of [['en', 'page.html is text/html, which this chat does not accept.'],
    ['fr', 'page.html est de type text/html, refusé par cette discussion.']]) {
    const r = trayPage({ l });
    r.server.typeField = true;
    r.tray.a([file(20, 'page.html', 'text/html')]);
    r.tray.s();
    await r.settle();
    assert.equal(r.part(r.item('page.html'), 'upload-error').textContent, said, l);
  }
});
