// The README's first command, as a user runs it (dependencies are already installed by the test
// command): it must build, start everything, and print the sample command's output.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const ROOT = join(import.meta.dirname, '..', '..');

describe('scripts/quickstart', () => {
  it('prints the sample output and the API and console addresses', async (t) => {
    const state = mkdtempSync(join(tmpdir(), 'oca-quickstart-'));
    t.after(() => rmSync(state, { recursive: true, force: true }));
    const p = spawn('scripts/quickstart', [], {
      cwd: ROOT,
      env: { ...process.env, QUICKSTART_EXIT: '1', QUICKSTART_STATE: state, QUICKSTART_PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => p.on('close', resolve));
    assert.equal(code, 0, out);
    assert.match(out, /Sample command t-\S+ on mi-\S+: Finished \(exit code 0\)/);
    assert.match(out, /hello from .+, running as \S+ in \//);
    assert.match(out, /Control plane API \(ECS Cloud Assistant OpenAPI\): https:\/\/127\.0\.0\.1:\d+\//);
    assert.match(out, /Console: +https:\/\/127\.0\.0\.1:\d+\/console\//);
    const ready = /Ready ([\d.]+) s after the build/.exec(out);
    assert.ok(ready, out);
  });
});
