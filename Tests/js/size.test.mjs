// The widget's size budgets (Tests/js/size.mjs): fails `make test` when a script grows past them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { measure } from './size.mjs';

test('the loader, the open chat and the upload module stay within their gzip budgets', () => {
  const rows = measure();
  assert.deepEqual(rows.filter((r) => r.budget !== null).map((r) => r.budget), [2560, 15360, 5120]);
  for (const r of rows) {
    if (r.budget !== null) assert.ok(r.gzip <= r.budget, `${r.what}: ${r.gzip} bytes gzip, budget ${r.budget}`);
  }
  assert.ok(rows[0].gzip > 500 && rows[1].gzip > 2000 && rows.at(-1).gzip > 1000, 'measures the real files');
});
