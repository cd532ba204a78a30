import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import SQLite from 'better-sqlite3';
import { withRowObjects } from './row-objects.js';

describe('withRowObjects', () => {
  const db = new SQLite(':memory:');
  db.exec(`create table a (id text primary key, n integer, b blob);
           create table c (id text, n integer);
           insert into a values ('x', 1, x'00ff'), ('y', null, x'');
           insert into c values ('x', 7);`);

  it('gives the objects better-sqlite3 gives, from all() and iterate()', () => {
    const sql = 'select * from a order by id';
    const ours = withRowObjects(db.prepare(sql));
    const theirs = db.prepare(sql).all();
    assert.deepEqual(ours.all([]), theirs);
    assert.deepEqual([...ours.iterate([])], theirs);
    assert.deepEqual(ours.all([]), [
      { id: 'x', n: 1, b: Buffer.from([0, 255]) },
      { id: 'y', n: null, b: Buffer.alloc(0) },
    ]);
  });

  it('lets a later column of the same name win, as better-sqlite3 does', () => {
    const sql = 'select a.*, c.n from a join c on c.id = a.id where a.id = ?';
    assert.deepEqual(withRowObjects(db.prepare(sql)).all(['x']), db.prepare(sql).all('x'));
    assert.deepEqual(withRowObjects(db.prepare(sql)).all(['x']), [{ id: 'x', n: 7, b: Buffer.from([0, 255]) }]);
  });

  it('returns RETURNING rows as objects and runs writes as they are', () => {
    const ins = withRowObjects(db.prepare('insert into c (id, n) values (?, ?) returning id, n'));
    assert.equal(ins.reader, true);
    assert.deepEqual(ins.all(['z', 3]), [{ id: 'z', n: 3 }]);
    const del = withRowObjects(db.prepare('delete from c where id = ?'));
    assert.equal(del.reader, false);
    assert.equal(Number(del.run(['z']).changes), 1);
  });
});
