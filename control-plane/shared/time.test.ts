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
  it('formats times that alternate between seconds, more of them than it keeps', () => {
    const base = Date.UTC(2026, 0, 1);
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 10_000; i++) {
        const ms = base + (i % 2 === 0 ? i : 20_000_000 - i) * 1000 + (i % 1000);
        assert.equal(isoTime(ms), `${new Date(ms).toISOString().slice(0, 19)}Z`);
      }
    }
  });
});
