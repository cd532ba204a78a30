import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelay, sleep } from './backoff.js';

describe('backoffDelay', () => {
  it('doubles up to the cap without jitter', () => {
    const o = { initialMs: 100, maxMs: 1000, jitter: false };
    assert.deepEqual(
      [0, 1, 2, 3, 4, 10].map((a) => backoffDelay(a, o)),
      [100, 200, 400, 800, 1000, 1000],
    );
  });
  it('keeps jittered delays between half and all of the step', () => {
    const o = { initialMs: 100, maxMs: 1000 };
    assert.equal(backoffDelay(3, { ...o, random: () => 0 }), 400);
    assert.equal(backoffDelay(3, { ...o, random: () => 1 }), 800);
  });
});

describe('sleep', () => {
  it('returns false at once when aborted', async () => {
    const ac = new AbortController();
    const p = sleep(10_000, ac.signal);
    ac.abort();
    assert.equal(await p, false);
  });
  it('returns true after the delay', async () => {
    assert.equal(await sleep(5), true);
  });
});
