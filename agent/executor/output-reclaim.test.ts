import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runInNewContext } from 'node:vm';
import { outputRead, RECLAIM_EVERY_BYTES } from './output-reclaim.js';

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
