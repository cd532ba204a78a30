import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { detectColdStart } from './index.js';

void describe('detectColdStart', () => {
  void it('is true the first time, then false, and leaves a 0600 flag', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'coldstart-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    assert.equal(detectColdStart(dir), true);
    assert.equal(detectColdStart(dir), false);
    assert.equal(detectColdStart(dir), false);
    const st = statSync(join(dir, 'aliyun-assist-agent-coldstarted'));
    assert.equal(st.mode & 0o777, 0o600);
    // A different flag name is independent.
    assert.equal(detectColdStart(dir, 'other-flag'), true);
  });

  void it('is false without throwing when the directory is missing or not a directory', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'coldstart-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    assert.equal(detectColdStart(join(dir, 'missing')), false);
    // A regular file as the "directory": unwritable even for root, unlike a chmod-ed directory.
    const file = join(dir, 'file');
    writeFileSync(file, '');
    assert.equal(detectColdStart(file), false);
    // A read-only directory (root ignores the mode, so only checked for other users).
    if (process.getuid?.() !== 0) {
      const ro = join(dir, 'ro');
      mkdirSync(ro, { mode: 0o500 });
      assert.equal(detectColdStart(ro), false);
    }
  });
});
