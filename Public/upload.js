/* Parley uploads (<= 5 KB gzip): a small tus 1.0 client and the file tray, shared by the widget (widget-chat.js
 * loads this file when the visitor first picks, drops or pastes a file) and the agent page (a script tag).
 * HTTP contract: tus core + creation + termination at {base}/api/uploads; tests: Tests/js/upload.test.mjs.
 *  ParleyTus.upload(file, {endpoint, ticket, headers, onProgress(sent, total), onDone(attachment id), onError(e)})
 *    → {start, cancel, url, offset}. start(): POST then PATCH chunk by chunk; again after a failure it resumes:
 *    HEAD for the server's offset, PATCH from there (404: the upload is gone, a new POST). cancel() → Promise:
 *    aborts, then DELETE (a POST on its way is let finish so its upload can be deleted). e: the server's JSON
 *    error {code, message} + status, or {net: 1}; e.retry: worth a Retry (network, 5xx, 423...).
 *  ParleyTus.pick(files, have, maxSize, maxFiles, S, lang) → {ok: the files that fit, m: limit message or ''}.
 *  ParleyTus.tray({at, S, I, l, t, b, max, n, f}) draws the tray in element `at` → {a(files): add, s(): send}.
 *    S(key, vars): the page's strings; I: its table ({en, fr}: this file's keys are added where missing, so a
 *    page's overrides win); l: language; t() → {ticket, token?} (token: Bearer auth; none: the agent's cookie);
 *    b: base URL; max, n: maxFileSize, maxFiles; f: what gets the focus when a focused item goes.
 *  ParleyTus.chunkSize (bytes per PATCH, default 1 MB) and ParleyTus.delay (ms before each PATCH, default 0) may
 *    be set before this file loads (window.ParleyTus = {chunkSize: 1024}) or after: tests slow uploads with them.
 * Strings: size0 size1 size2 ({n} bytes/KB/MB) fileTooBig{name,size,max} tooManyFiles{max} fileEmpty{name}
 *  removeFile{name} cancelUpload{name} retryFile{name} retryUpload uploading{name} uploadNetwork uploadFailed
 *  typeRefused{name,type} */
((w) => {
'use strict';
var X = w.ParleyTus = w.ParleyTus || {};
if (X.upload) return;
X.chunkSize = X.chunkSize || 1 << 20;
X.delay = X.delay || 0;
X.I = {
  en: {
    size0: '{n} B', size1: '{n} KB', size2: '{n} MB',
    fileTooBig: '{name} is {size}; the limit is {max}.', tooManyFiles: 'You can send at most {max} files at a time.',
    fileEmpty: '{name} is empty.', removeFile: 'Remove {name}', cancelUpload: 'Cancel the upload of {name}',
    retryFile: 'Retry {name}', retryUpload: 'Retry', uploading: 'Uploading {name}',
    uploadNetwork: 'Connection problem: the upload stopped.', uploadFailed: 'The upload failed.',
    typeRefused: '{name} is {type}, which this chat does not accept.'
  },
  fr: {
    size0: '{n} o', size1: '{n} Ko', size2: '{n} Mo',
    fileTooBig: '{name} fait {size} ; la limite est de {max}.',
    tooManyFiles: 'Vous pouvez envoyer au plus {max} fichiers à la fois.',
    fileEmpty: '{name} est vide.', removeFile: 'Retirer {name}', cancelUpload: 'Annuler l’envoi de {name}',
    retryFile: 'Réessayer {name}', retryUpload: 'Réessayer', uploading: 'Envoi de {name}',
    uploadNetwork: 'Problème de connexion : l’envoi s’est interrompu.', uploadFailed: 'L’envoi a échoué.',
    typeRefused: '{name} est de type {type}, refusé par cette discussion.'
  }
};

// base64 of the UTF-8 bytes (tus metadata)
var b64 = (s) => btoa(String.fromCharCode(...new TextEncoder().encode(s)));

X.upload = (file, o) => {
  var x, dead, tries = 0, size = file.size, U = { url: null, offset: 0, start, cancel },
    hd = (r, k) => r.getResponseHeader(k),
    is = (r, s) => r && r.status == s,
    // cb(xhr) on an answer, cb() on a network failure; an abort calls nothing
    req = (m, url, h, body, cb, prog) => {
      var r = x = new XMLHttpRequest(), k;
      r.open(m, url);
      h = Object.assign({ 'Tus-Resumable': '1.0.0' }, o.headers, h);
      for (k in h) r.setRequestHeader(k, h[k]);
      if (prog) r.upload.onprogress = (e) => dead || prog(e.loaded);
      r.onload = () => cb(r);
      r.onerror = r.ontimeout = () => cb();
      r.m = m;
      r.send(body);
    };

  function start() {
    dead = tries = 0;
    U.url ? head() : create();
  }

  function create() {
    req('POST', o.endpoint, { 'Upload-Length': size, 'Upload-Metadata': [['ticket', o.ticket], ['filename', file.name],
      ['filetype', file.type]].filter((p) => p[1]).map((p) => p[0] + ' ' + b64(p[1])).join(',') }, null, (r) => {
      var l = is(r, 201) && hd(r, 'Location');
      // Location is absolute; a relative one is read against the endpoint
      if (l) U.url = new URL(l, new URL(o.endpoint, w.location.href)).href, U.offset = 0;
      if (dead) return U.url ? del(0) : dead();
      l ? patch() : fail(r);
    });
  }

  function head() {
    req('HEAD', U.url, {}, null, (r) => {
      if (dead) return;
      if (r && r.status == 404 || is(r, 410)) return U.url = null, create(); // expired or swept: start over
      is(r, 200) ? next(r) : fail(r);
    });
  }

  function patch() {
    var go = () => dead || req('PATCH', U.url, { 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': U.offset },
      file.slice(U.offset, U.offset + X.chunkSize), (r) => {
        if (dead) return;
        if (is(r, 204)) tries = 0, next(r);
        else if (is(r, 404) && tries++ < 3) head(); // gone (expired)? HEAD says so, then a new POST
        else fail(r);
      }, (n) => o.onProgress(U.offset + n, size));
    X.delay ? setTimeout(go, X.delay) : go();
  }

  // After a HEAD or a PATCH: done (Parley-Attachment), more to send, or a server that makes no sense.
  function next(r, a) {
    a = hd(r, 'Parley-Attachment');
    U.offset = parseInt(hd(r, 'Upload-Offset'), 10);
    if (U.offset >= 0) o.onProgress(Math.min(U.offset, size), size);
    // a HEAD saying all is in but no attachment yet (its finish failed half-way): an empty PATCH finishes it
    a ? o.onDone(a) : U.offset >= 0 && (U.offset < size || U.offset == size && r.m == 'HEAD') ? patch() : fail(r);
  }

  function fail(r) {
    var e = {}, s = r ? r.status : 0;
    try { e = JSON.parse(r.responseText).error || {}; } catch (_) { /* HEAD, a proxy, the network */ }
    e.status = s;
    if (!r) e.net = 1;
    // busy (another PATCH still running) or out of step: ask the server where it is, a few times
    if ((s == 423 || e.code == 'offset_mismatch') && tries++ < 3) return setTimeout(() => dead || head(), 500 * tries);
    e.retry = !r || s < 300 || s >= 500 || /^(408|409|423|429)$/.test(s) && e.code != 'ticket_closed';
    o.onError(e);
  }

  function del(n) {
    req('DELETE', U.url, {}, null, (r) => is(r, 423) && n < 5 ? setTimeout(() => del(n + 1), 300) : (U.url = null, dead()));
  }

  function cancel() {
    return new Promise((res) => {
      dead = res;
      if (x && x.m == 'POST' && x.readyState < 4) return; // create() deletes it once it knows where it is
      x && x.abort();
      U.url ? del(0) : res();
    });
  }

  return U;
};

// size(bytes) → "7.3 MB"; over: a limit this size is above, never shown as equal to it
X.size = (n, S, l, over) => {
  var u = n < 1024 ? 0 : n < 1 << 20 ? 1 : 2, k = 1024 ** u, v = Math.round(n / k * 10) / 10;
  if (over && v * k <= over) v = Math.ceil(n / k * 10) / 10;
  return S('size' + u, { n: v.toLocaleString(l) });
};

X.pick = (f, have, max, n, S, l) => {
  var ok = [], m = [], many;
  f.forEach((x) => {
    var name = x.name;
    if (!x.size) m.push(S('fileEmpty', { name }));
    else if (max && x.size > max) m.push(S('fileTooBig', { name, size: X.size(x.size, S, l, max), max: X.size(max, S, l) }));
    else if (n && have + ok.length >= n) many = 1;
    else ok.push(x);
  });
  many && m.push(S('tooManyFiles', { max: n }));
  return { ok, m: m.join(' ') };
};

var css = `.upi{display:flex;flex-wrap:wrap;align-items:center;gap:2px 8px;padding:6px 10px;border-top:1px solid #ddd;font-size:13px}
.upn{flex:1;min-width:0;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;font-weight:600}.ups{color:#555}
.upi progress{flex-basis:100%;height:6px;accent-color:var(--c,#2553c7)}.upe{flex-basis:100%;margin:0;color:#b3261e;font-size:13px}
.upe:empty{display:none}p.upe{padding:6px 10px}.upr{text-decoration:underline}.upx{font-size:20px;line-height:1;padding:0 6px}
.upi[data-state=canceled]{opacity:.5}`;

X.tray = (o) => {
  var S = o.S, at = o.at, d = at.ownerDocument, all = [], I = o.I, l, k,
    h = (t, a, ...c) => {
      var e = d.createElement(t);
      for (var n in a) if (a[n] != null) e.setAttribute(n, a[n]);
      e.append(...c);
      return e;
    },
    lim = h('p', { 'data-p': 'upload-limit', class: 'upe', role: 'alert' });
  if (I) for (l in X.I) for (k in X.I[l]) if (!(k in (I[l] = I[l] || {}))) I[l][k] = X.I[l][k];
  at.append(h('style', 0, css), lim);

  function set(it, s, m) {
    var name = it.f.name;
    it.s = s;
    it.e.setAttribute('data-state', s);
    it.p.hidden = s == 'ready';
    it.m.textContent = m || '';
    it.r.hidden = s != 'error' || !it.retry;
    it.x.setAttribute('aria-label', S(s == 'uploading' ? 'cancelUpload' : 'removeFile', { name }));
  }

  // out of the tray; the focus, if it was in the item, goes to the next one or to o.f
  function rm(it, i, r, had) {
    i = all.indexOf(it);
    if (i < 0) return;
    all.splice(i, 1);
    r = it.e.getRootNode();
    had = it.e.contains(r.activeElement);
    it.e.remove();
    if (had && (r = (all[i] || all[i - 1] || {}).x || o.f)) r.focus();
  }

  function why(e, f) {
    return e.code == 'file_too_large' && o.max ?
      S('fileTooBig', { name: f.name, size: X.size(f.size, S, o.l, o.max), max: X.size(o.max, S, o.l) }) :
      e.code == 'too_many_files' && o.n ? S('tooManyFiles', { max: o.n }) :
      e.code == 'type_not_allowed' && e.fields ? S('typeRefused', { name: f.name, type: e.fields.type }) :
      !e.net && e.status >= 400 && e.status < 500 && e.message || S(e.net ? 'uploadNetwork' : 'uploadFailed');
  }

  function go(it, t) {
    if (!it.u) {
      if (!(t = o.t())) return;
      it.u = X.upload(it.f, { endpoint: o.b + '/api/uploads', ticket: t.ticket,
        headers: t.token ? { Authorization: 'Bearer ' + t.token } : {},
        onProgress: (n) => { it.p.value = n; },
        onDone: () => { set(it, 'done'); rm(it); },
        onError: (e) => { it.retry = e.retry; set(it, 'error', why(e, it.f)); } });
    }
    set(it, 'uploading');
    it.u.start();
  }

  function add(f) {
    var r = X.pick([...f], all.filter((it) => it.s != 'canceled').length, o.max, o.n, S, o.l);
    lim.textContent = r.m;
    r.ok.forEach((f) => {
      var name = f.name, it = { f,
        p: h('progress', { max: f.size, value: 0, 'aria-label': S('uploading', { name }) }),
        m: h('span', { 'data-p': 'upload-error', class: 'upe', role: 'alert' }),
        r: h('button', { type: 'button', 'data-p': 'upload-retry', class: 'upr', 'aria-label': S('retryFile', { name }) }, S('retryUpload')),
        x: h('button', { type: 'button', 'data-p': 'upload-cancel', class: 'upx' }, '×') };
      it.e = h('div', { 'data-p': 'upload', 'data-name': name, class: 'upi' },
        h('span', { class: 'upn' }, name), h('span', { class: 'ups' }, X.size(f.size, S, o.l)), it.x, it.p, it.m, it.r);
      it.r.addEventListener('click', () => { go(it); it.x.focus(); });
      it.x.addEventListener('click', () => {
        var u = it.u;
        if (it.s == 'canceled') return;
        set(it, 'canceled');
        u ? u.cancel().then(() => rm(it)) : rm(it);
      });
      set(it, 'ready');
      all.push(it);
      at.append(it.e);
    });
  }

  return { a: add, s: () => { lim.textContent = ''; all.forEach((it) => it.s == 'ready' && go(it)); } };
};
})(globalThis);
