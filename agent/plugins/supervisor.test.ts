import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DEFAULT_PLUGIN_INTERVALS, heartbeatFresh, parsePluginCheckInterval } from './supervisor.js';

describe('plugin supervision settings', () => {
  it('reads PluginCheckInterval (seconds), ignoring unknown keys and bad values', () => {
    assert.deepEqual(
      parsePluginCheckInterval(
        'pluginHealthScanInterval=60, pluginHealthPullInterval=5,pluginUpdateCheckInterval=abc,pluginListReportInterval=9,x=1',
      ),
      { scanMs: 60_000, pullMs: 5_000, updateMs: DEFAULT_PLUGIN_INTERVALS.updateMs },
    );
    assert.deepEqual(parsePluginCheckInterval(''), DEFAULT_PLUGIN_INTERVALS);
    assert.deepEqual(parsePluginCheckInterval('pluginHealthPullInterval=0'), DEFAULT_PLUGIN_INTERVALS);
  });

  it('counts a heartbeat stale after heartbeatInterval + 5 s, and a missing or garbled one as stale', () => {
    const dir = mkdtempSync(join(tmpdir(), 'oca-hb-'));
    try {
      const now = 1_700_000_000_000;
      assert.equal(heartbeatFresh(dir, 10, now), false, 'missing');
      writeFileSync(join(dir, 'heartbeat'), `${now / 1000 - 15}\n`);
      assert.equal(heartbeatFresh(dir, 10, now), true, '15 s old, limit 15 s');
      writeFileSync(join(dir, 'heartbeat'), `${now / 1000 - 16}`);
      assert.equal(heartbeatFresh(dir, 10, now), false, '16 s old');
      writeFileSync(join(dir, 'heartbeat'), 'yesterday');
      assert.equal(heartbeatFresh(dir, 10, now), false, 'not a number');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
