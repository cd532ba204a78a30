import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import SQLite from 'better-sqlite3';
import { withStatementCache } from './statement-cache.js';

describe('withStatementCache', () => {
  it('reuses the compiled statement for the same SQL and evicts the least recently used', () => {
    const raw = new SQLite(':memory:');
    const db = withStatementCache(raw, 2);
    const a = db.prepare('select 1 as x');
    assert.equal(db.prepare('select 1 as x'), a);
    const b = db.prepare('select 2 as x');
    db.prepare('select 1 as x'); // a is now the most recently used
    db.prepare('select 3 as x'); // evicts b
    assert.equal(db.prepare('select 1 as x'), a);
    assert.notEqual(db.prepare('select 2 as x'), b);
    assert.deepEqual(a.all([]), [{ x: 1 }]);
    db.close();
    assert.equal(raw.open, false);
  });
});
