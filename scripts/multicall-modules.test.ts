// Which of Node's built-in modules each program of the multicall bundle (bin/multicall.ts) loads.
// The watchdog runs on every server for the machine's life beside the agent; it has no use for an
// HTTPS client, and loading one (http, https, tls, crypto) costs it memory (docs/benchmarks.md).
// Nor, with its output on pipes or files, does it need `tty`: winston's debug channel loads it only
// in its development build, which the bundle must not take (NODE_ENV is production at build).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bundleMulticall } from './build.js';

const HTTPS_CLIENT = ['http', 'https', 'tls', 'crypto'];

describe('built-in modules loaded by the programs of the multicall bundle', () => {
  const dir = mkdtempSync(join(tmpdir(), 'oca-multicall-modules-'));
  const bundle = join(dir, 'aliyun-assist.cjs');
  const probe = join(dir, 'probe.cjs');
  after(() => rmSync(dir, { recursive: true, force: true }));

  before(async () => {
    await bundleMulticall(bundle);
    writeFileSync(
      probe,
      `process.on('exit', () => require('node:fs').writeFileSync(process.env.PROBE_OUT, process.moduleLoadList.join('\\n')));\n`,
    );
  });

  /** The built-in modules loaded by the time `program args…` exits (process.moduleLoadList). */
  function builtinsLoadedBy(program: string, args: string[]): string[] {
    const out = join(dir, `${program}.modules`);
    const r = spawnSync(process.execPath, ['--require', probe, bundle, program, ...args], {
      env: { ...process.env, NODE_OPTIONS: '', PROBE_OUT: out },
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.signal, null, `${program} ended by ${r.signal}: ${r.stderr}`);
    return readFileSync(out, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('NativeModule '))
      .map((l) => l.slice('NativeModule '.length));
  }

  it('the agent loads the HTTPS client (so the probe sees it when it is there)', () => {
    const loaded = builtinsLoadedBy('aliyun-service', ['--version']);
    for (const m of HTTPS_CLIENT) {
      assert.ok(loaded.includes(m), `aliyun-service should load ${m}; loaded: ${loaded.join(' ')}`);
    }
  });

  it('assist_daemon loads none of it', () => {
    const loaded = builtinsLoadedBy('assist_daemon', ['--status', '--state-dir', join(dir, 'state')]);
    assert.ok(loaded.includes('child_process'), 'the watchdog entry was evaluated');
    assert.deepEqual(
      HTTPS_CLIENT.filter((m) => loaded.includes(m)),
      [],
    );
    assert.ok(!loaded.includes('tty'), `assist_daemon loaded tty (winston's development debug channel?)`);
  });
});
