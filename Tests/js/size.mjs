// Size budgets of the widget (SPEC "Budgets"): what every shop page pays for (the loader),
// everything an open chat needs (loader + chat bundle, each gzipped as served), and the upload module
// (tus client + file tray) the chat loads only when the visitor first picks a file.
// `node Tests/js/size.mjs` prints the table and exits 1 over budget; size.test.mjs runs the same check.
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

const file = (name) => readFileSync(new URL(`../../Public/${name}`, import.meta.url));
const sizes = (buf) => ({ raw: buf.length, gzip: gzipSync(buf, { level: 9 }).length });

/** Rows of {what, raw, gzip, budget (gzip bytes) or null}. */
export function measure() {
  const loader = sizes(file('widget.js'));
  const chat = sizes(file('widget-chat.js'));
  const upload = sizes(file('upload.js'));
  return [
    { what: 'loader (widget.js)', ...loader, budget: 2560 },
    { what: 'chat bundle (widget-chat.js)', ...chat, budget: null },
    { what: 'open chat (loader + chat)', raw: loader.raw + chat.raw, gzip: loader.gzip + chat.gzip, budget: 15360 },
    { what: 'uploads (upload.js)', ...upload, budget: 5120 },
  ];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rows = measure();
  const over = rows.filter((r) => r.budget !== null && r.gzip > r.budget);
  console.log('what                            raw   gzip  budget (gzip)');
  for (const r of rows) {
    const budget = r.budget === null ? '' : `${r.budget}${r.gzip > r.budget ? '  OVER' : `  (${r.budget - r.gzip} left)`}`;
    console.log(`${r.what.padEnd(30)}${String(r.raw).padStart(6)}${String(r.gzip).padStart(7)}  ${budget}`);
  }
  process.exit(over.length ? 1 : 0);
}
