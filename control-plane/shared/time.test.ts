import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isoTime } from './time.js';

describe('isoTime', () => {
  it('formats a time without milliseconds, and shows no time as empty', () => {
    assert.equal(isoTime(Date.UTC(2024, 1, 29, 12, 30, 5, 999)), '2024-02-29T12:30:05Z');
    assert.equal(isoTime(0), '');
    assert.equal(isoTime(null), '');
    assert.equal(isoTime(undefined), '');
  });
  it('never throws: a stored time out of range shows as empty', () => {
    for (const ms of [9e15, 8.64e15 + 1, 1e300, -1, -9e15, Number.NaN, Infinity, -Infinity, 253402300800000]) {
      assert.equal(isoTime(ms), '', String(ms));
    }
    assert.equal(isoTime(253402300799999), '9999-12-31T23:59:59Z');
    assert.equal(isoTime('1700000000000' as unknown as number), '');
  });
});
