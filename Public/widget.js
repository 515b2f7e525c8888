/* Parley loader (placeholder: bubble only). Keep < 2 KB. */
(function (w, d) {
'use strict';
// Command queue: calls made before we load stay in Parley.q.
var P = w.Parley = w.Parley || function () { (P.q = P.q || []).push(arguments); };
if (P.loaded) return; // tag pasted twice
var s = d.currentScript, id = s && s.getAttribute('data-widget');
if (!id) return;
P.loaded = 1;
function draw(cfg) {
  if (d.getElementById('parley-widget')) return;
  // Hex only: config text never becomes CSS.
  var c = /^#[0-9a-f]{3,8}$/i.test(cfg.color) ? cfg.color : '#2f6fed',
    h = d.createElement('div'), r = h.attachShadow({mode: 'open'}),
    st = d.createElement('style'), b = d.createElement('button'), p = d.createElement('div');
  h.id = 'parley-widget';
  st.textContent = ':host{all:initial;position:fixed;right:20px;bottom:25px;z-index:2147483000;font:14px sans-serif}' +
    '.bubble{width:56px;height:56px;border:0;border-radius:50%;background:' + c + ';cursor:pointer;box-shadow:0 4px 14px #0004}' +
    '.panel{position:absolute;right:0;bottom:68px;width:200px;padding:12px;border-radius:10px;background:#fff;color:#222;box-shadow:0 6px 24px #0003}';
  b.className = 'bubble';
  b.type = 'button';
  b.setAttribute('aria-label', 'Open chat');
  b.setAttribute('aria-expanded', 'false');
  b.innerHTML = '<svg width="26" viewBox="0 0 24 24" aria-hidden="true"><path fill="#fff" d="M3 4h18v12H9l-6 5z"/></svg>';
  p.className = 'panel';
  p.setAttribute('role', 'status');
  p.hidden = true;
  p.textContent = 'Chat is coming soon';
  b.addEventListener('click', () => {
    p.hidden = !p.hidden;
    b.setAttribute('aria-expanded', !p.hidden);
  });
  r.append(st, p, b);
  d.body.append(h);
}
fetch(new URL(s.src).origin + '/api/widgets/' + encodeURIComponent(id) + '/config')
  .then((x) => { if (!x.ok) throw Error('HTTP ' + x.status); return x.json(); })
  .then((f) => d.body ? draw(f) : d.addEventListener('DOMContentLoaded', () => draw(f)))
  .catch((e) => console.warn('Parley: widget not shown', e));
})(window, document);
