// The rendered systemd units pass `systemd-analyze verify` with no complaint at all (warnings
// such as an unknown key count as failures), for the stock layout and for paths that need quoting.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { renderServiceFiles, type ServiceSpec } from '../../installer/index.js';

const SYSTEMD_ANALYZE = '/usr/bin/systemd-analyze';
const skip = existsSync(SYSTEMD_ANALYZE) ? false : `${SYSTEMD_ANALYZE} is not installed`;

function verify(t: TestContext, specs: ServiceSpec[]): { status: number | null; output: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'oca-units-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const units = specs
    .flatMap((s) => renderServiceFiles('systemd', s))
    .map((f) => {
      const path = join(dir, f.path.split('/').at(-1)!);
      writeFileSync(path, f.content, { mode: f.mode });
      return path;
    });
  const r = spawnSync(SYSTEMD_ANALYZE, ['verify', ...units], {
    encoding: 'utf8',
    env: { ...process.env, SYSTEMD_LOG_COLOR: '0' },
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}`.trim(), dir };
}

/** An executable at `path` (a copy of /bin/true), so ExecStart names a real program. */
function program(path: string): string {
  mkdirSync(join(path, '..'), { recursive: true });
  copyFileSync('/bin/true', path);
  chmodSync(path, 0o755);
  return path;
}

describe('systemd-analyze verify', { skip }, () => {
  it('aliyun.service and assist_daemon.service, as the installer writes them for this agent', (t) => {
    const base = mkdtempSync(join(tmpdir(), 'oca-root-'));
    t.after(() => rmSync(base, { recursive: true, force: true }));
    const agent: ServiceSpec = {
      kind: 'agent',
      // What `aliyun-service --install` writes when run with node: node, then the script.
      command: [process.execPath, join(import.meta.dirname, '..', '..', 'bin', 'aliyun-service.ts')],
      installDir: join(base, 'aliyun-assist'),
      version: '2.6.0.1',
    };
    const watchdog: ServiceSpec = {
      ...agent,
      kind: 'watchdog',
      command: [program(join(base, 'assist-daemon', 'assist_daemon'))],
    };
    const r = verify(t, [agent, watchdog]);
    assert.equal(r.output, '', 'systemd-analyze verify printed something');
    assert.equal(r.status, 0);
  });

  it('a program path with spaces, % and $, and arguments with quotes, are quoted so systemd finds them', (t) => {
    const base = mkdtempSync(join(tmpdir(), 'oca-root-'));
    t.after(() => rmSync(base, { recursive: true, force: true }));
    // Unquoted, systemd would look for `<base>/my`; with % unescaped, %n would become the unit name.
    const exe = program(join(base, 'my oca %n $HOME', 'aliyun-service'));
    const r = verify(t, [
      {
        kind: 'agent',
        command: [exe, '--flag=50%', 'two "quoted" words', '$HOME\\x'],
        installDir: join(base, 'install dir %i "q"'),
        version: '2.6.0.1',
      },
    ]);
    assert.equal(r.output, '');
    assert.equal(r.status, 0);
  });

  it('fails for a unit whose program does not exist (the check above can fail)', (t) => {
    const r = verify(t, [
      {
        kind: 'agent',
        command: ['/nonexistent/oca/aliyun-service'],
        installDir: '/nonexistent/oca',
        version: '2.6.0.1',
      },
    ]);
    assert.notEqual(r.status, 0);
    assert.match(r.output, /\/nonexistent\/oca\/aliyun-service is not executable/);
  });

  it('deploy/assist-server.service (a control-plane node) verifies, and sets an open-file limit and an allocator setting for its agents', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'oca-units-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const unit = readFileSync(join(import.meta.dirname, '..', '..', 'deploy', 'assist-server.service'), 'utf8');
    // The shipped unit names /usr/bin/node; point it at this machine's node so the check is real.
    const path = join(dir, 'assist-server.service');
    writeFileSync(path, unit.replace('ExecStart=/usr/bin/node ', `ExecStart=${process.execPath} `));
    const r = spawnSync(SYSTEMD_ANALYZE, ['verify', path], {
      encoding: 'utf8',
      env: { ...process.env, SYSTEMD_LOG_COLOR: '0' },
    });
    assert.equal(`${r.stdout}${r.stderr}`.trim(), '');
    assert.equal(r.status, 0);
    const nofile = Number(/^LimitNOFILE=(\d+)$/m.exec(unit)?.[1]);
    assert.ok(nofile >= 2 * 20_000, `LimitNOFILE=${nofile} holds two sockets for each of 20,000 agents`);
    // Each agent's 64 KiB TLS read buffer falls at or above glibc's mmap threshold (mapped, so only
    // its pages in use count); the 20 and 36 KiB blocks allocated and freed thousands of times a
    // second during a fan-out stay below it (on the heap, not an mmap and a munmap each).
    const threshold = Number(/^Environment=MALLOC_MMAP_THRESHOLD_=(\d+)$/m.exec(unit)?.[1]);
    assert.ok(threshold > 36 * 1024 && threshold <= 64 * 1024, `MALLOC_MMAP_THRESHOLD_=${threshold}`);
  });
});
