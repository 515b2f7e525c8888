// The widget's size budgets (Tests/js/size.mjs): fails `make test` when a script grows past them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { measure } from './size.mjs';

test('the loader and the open chat stay within their gzip budgets', () => {
  const rows = measure();
  assert.equal(rows.filter((r) => r.budget !== null).length, 2);
  for (const r of rows) {
    if (r.budget !== null) assert.ok(r.gzip <= r.budget, `${r.what}: ${r.gzip} bytes gzip, budget ${r.budget}`);
  }
  assert.ok(rows[0].gzip > 500 && rows[1].gzip > 2000, 'measures the real files');
});
