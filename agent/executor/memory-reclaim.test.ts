import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { runInNewContext } from 'node:vm';
import { collectYoung, IdleReclaimer, outputRead, RECLAIM_EVERY_BYTES } from './memory-reclaim.js';

void describe('outputRead', () => {
  void it('collects past the threshold without exposing gc() to the agent, or leaving --expose-gc on', () => {
    const hadGc = 'gc' in globalThis;
    outputRead(RECLAIM_EVERY_BYTES - 1);
    outputRead(1); // the threshold: makes the collector and runs it
    outputRead(RECLAIM_EVERY_BYTES * 3); // one collection for a large chunk, then the count starts over
    assert.equal('gc' in globalThis, hadGc);
    // Contexts made from now on do not get gc() either: the flag was set only while making ours.
    assert.equal(runInNewContext('typeof gc'), 'undefined');
  });
});

void describe('collectYoung', () => {
  void it('has V8 collect the young generation each time', async () => {
    const minors: number[] = [];
    const obs = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        if ((e as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) {
          minors.push(e.startTime);
        }
      }
    });
    obs.observe({ entryTypes: ['gc'] });
    for (let i = 0; i < 3; i++) {
      collectYoung();
    }
    await sleep(50); // gc entries are delivered after the collection
    obs.disconnect();
    assert.ok(minors.length >= 3, `${minors.length} young-generation collections`);
  });
});

void describe('IdleReclaimer', () => {
  /** A reclaimer that counts its collections. */
  function counting(delayMs: number) {
    const c = { collections: 0 };
    const r = new IdleReclaimer({ delayMs, collect: () => (c.collections += 1) });
    return { c, r };
  }

  void it('collects once the work has stayed ended for the delay', async () => {
    const { c, r } = counting(20);
    r.drained();
    assert.equal(c.collections, 0);
    await sleep(200);
    assert.equal(c.collections, 1);
    await sleep(100);
    assert.equal(c.collections, 1); // once per drain, not periodically
    r.stop();
  });

  void it('waits again when work ends again before the delay, and stop() cancels', async () => {
    const { c, r } = counting(300);
    r.drained();
    await sleep(100);
    r.drained(); // new work came and went: the delay starts over
    await sleep(100);
    assert.equal(c.collections, 0);
    r.stop();
    await sleep(400);
    assert.equal(c.collections, 0);
    r.drained();
    await sleep(1000);
    assert.equal(c.collections, 1);
  });
});
