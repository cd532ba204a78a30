import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PluginError } from './exit-codes.js';
import { withPluginLock } from './lock.js';

describe('per-plugin lock', () => {
  it('makes a second holder wait, then fail with LOCKING_ERR (232); a dead owner is taken over', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'oca-lock-'));
    try {
      await withPluginLock(dir, 'p', 1000, async () => {
        await assert.rejects(
          withPluginLock(dir, 'p', 300, async () => 'never'),
          (e: unknown) => e instanceof PluginError && e.exitCode === 232,
        );
        assert.equal(await withPluginLock(dir, 'other', 300, async () => 'free'), 'free', 'other plugins are not held');
      });
      assert.equal(existsSync(join(dir, 'p.lock')), false, 'released');
      // A lock left by a process that has exited (its pid is gone).
      const dead = spawnSync('sh', ['-c', 'echo $$']).stdout.toString().trim();
      writeFileSync(join(dir, 'p.lock'), dead);
      assert.equal(await withPluginLock(dir, 'p', 300, async () => 'taken over'), 'taken over');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
