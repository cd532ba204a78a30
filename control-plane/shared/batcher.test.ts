import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Batcher } from './batcher.js';

describe('Batcher', () => {
  it('hands calls of one event-loop turn to one flush and answers each caller', async () => {
    const batches: number[][] = [];
    const b = new Batcher<number, number>(async (items) => {
      batches.push(items);
      return items.map((i) => i * 10);
    });
    assert.deepEqual(await Promise.all([b.add(1), b.add(2), b.add(3)]), [10, 20, 30]);
    assert.equal(await b.add(4), 40);
    assert.deepEqual(batches, [[1, 2, 3], [4]]);
  });

  it('with a window, hands calls of several turns within it to one flush', async () => {
    const batches: number[][] = [];
    const b = new Batcher<number, number>(
      async (items) => {
        batches.push(items);
        return items;
      },
      { windowMs: 200 },
    );
    const first = b.add(1);
    await new Promise((r) => setImmediate(r));
    const second = b.add(2);
    assert.deepEqual(await Promise.all([first, second]), [1, 2]);
    assert.deepEqual(batches, [[1, 2]]);
  });

  it('fails every caller of a batch whose flush throws, and goes on with the next batch', async () => {
    let fail = true;
    const b = new Batcher<string, string>(async (items) => {
      if (fail) {
        throw new Error('store down');
      }
      return items;
    });
    const r = await Promise.allSettled([b.add('a'), b.add('b')]);
    assert.deepEqual(
      r.map((x) => x.status),
      ['rejected', 'rejected'],
    );
    fail = false;
    assert.equal(await b.add('c'), 'c');
  });
});
