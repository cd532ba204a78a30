import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { appendTo } from './multimap.js';

describe('appendTo', () => {
  it('groups values by key in arrival order, in linear time', () => {
    const m = new Map<string, number[]>();
    for (let i = 0; i < 200_000; i++) {
      appendTo(m, i % 2 === 0 ? 'even' : 'odd', i);
    }
    assert.equal(m.get('even')!.length, 100_000);
    assert.deepEqual(m.get('odd')!.slice(0, 3), [1, 3, 5]);
  });
});
