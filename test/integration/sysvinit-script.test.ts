// The sysvinit script, run for real: rendered and registered under a temporary root (nothing in
// /etc is touched), driving the real agent (bin/aliyun-service.ts through tsx) pointed at a
// server that never answers, so it keeps retrying discovery until it is stopped.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  createServiceManager,
  nodeServiceHost,
  serviceLayout,
  type ServiceManager,
  type ServiceSpec,
} from '../../installer/index.js';
import { eventually } from '../harness/eventually.js';

const ROOT_DIR = join(import.meta.dirname, '..', '..');
const TSX = join(ROOT_DIR, 'node_modules', 'tsx', 'dist', 'loader.mjs');
const AGENT_ENTRY = join(ROOT_DIR, 'bin', 'aliyun-service.ts');

const root = mkdtempSync(join(tmpdir(), 'oca-sysv-'));
const installDir = join(root, 'usr', 'local', 'share', 'aliyun-assist');
const layout = serviceLayout(root);
const script = join(layout.initScriptDir, 'aliyun-service');
const pidFile = join(layout.runDir, 'aliyun-service.pid');
const lockFile = join(layout.lockDir, 'aliyun-service');
const started = new Set<number>();
const spec: ServiceSpec = {
  kind: 'agent',
  command: [process.execPath, '--import', TSX, AGENT_ENTRY],
  installDir,
  version: '2.6.0.1',
};

/** Runs the init script as init would: its own environment is just PATH. */
function sysv(action: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(script, [action], { encoding: 'utf8', env: { PATH: process.env['PATH'] }, timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const cmdline = (pid: number): string => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
};
/** A zombie (exited, not yet reaped by whoever adopted it) has an empty command line. */
const isRunning = (pid: number): boolean => cmdline(pid) !== '';
const environ = (pid: number): string[] => readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
const procs = (): number[] =>
  readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number);
/** Live agents of this test: processes whose environment names this test's install dir. */
function ourAgents(): number[] {
  const mine = `ALIYUN_ASSIST_INSTALL_DIR=${installDir}`;
  return procs().filter((pid) => {
    try {
      return isRunning(pid) && cmdline(pid).includes(AGENT_ENTRY) && environ(pid).includes(mine);
    } catch {
      return false;
    }
  });
}

function startedPid(stdout: string): number {
  const m = /^Started aliyun-service \(pid (\d+)\)$/m.exec(stdout);
  assert.ok(m, `start printed: ${stdout}`);
  const pid = Number(m[1]);
  started.add(pid);
  return pid;
}

let manager: ServiceManager;

describe('sysvinit script, for real', () => {
  before(async () => {
    mkdirSync(layout.sysconfigDir, { recursive: true });
    mkdirSync(layout.lockDir, { recursive: true });
    // The agent reads its server from the file systemd also reads; the service's own file comes second.
    writeFileSync(join(layout.sysconfigDir, 'aliyun'), 'ALIYUN_ASSIST_SERVER_HOST=127.0.0.1:1\n');
    writeFileSync(join(layout.sysconfigDir, 'aliyun-service'), 'ALIYUN_ASSIST_LOG_LEVEL="debug"\n');
    manager = createServiceManager('sysvinit', spec, nodeServiceHost(), layout);
    await manager.install();
  });

  after(() => {
    for (const pid of [...started, ...ourAgents()]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    rmSync(root, { recursive: true, force: true });
  });

  it('install wrote an executable script and the stock rc links under the temporary root', () => {
    assert.equal(statSync(script).mode & 0o777, 0o755);
    assert.equal(readlinkSync(join(layout.rcDir, 'rc3.d', 'S50aliyun-service')), '../init.d/aliyun-service');
    assert.equal(readlinkSync(join(layout.rcDir, 'rc6.d', 'K02aliyun-service')), '../init.d/aliyun-service');
    assert.equal(readFileSync(script, 'utf8').split('\n')[0], '#!/bin/sh');
  });

  it('status of a service never started exits 3 (LSB: not running)', () => {
    const r = sysv('status');
    assert.equal(r.status, 3);
    assert.equal(r.stdout.trim(), 'Stopped');
  });

  let first = 0;
  it('start backgrounds the agent in a session of its own, records its pid and returns', async () => {
    const r = sysv('start');
    assert.equal(r.status, 0, r.stderr);
    first = startedPid(r.stdout);
    assert.equal(readFileSync(pidFile, 'utf8').trim(), String(first));
    assert.ok(isRunning(first));
    assert.ok(cmdline(first).startsWith(`${process.execPath} --import ${TSX} ${AGENT_ENTRY}`), cmdline(first));
    // setsid(1) exec'd the agent in place: the pid in the file leads its own session.
    const stat = readFileSync(`/proc/${first}/stat`, 'utf8');
    const session = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3]);
    assert.equal(session, first);
    assert.ok(existsSync(lockFile), 'the RHEL lock file');
    // The environment files were read (the script's own environment had only PATH).
    const env = environ(first);
    assert.ok(env.includes('ALIYUN_ASSIST_SERVER_HOST=127.0.0.1:1'));
    assert.ok(env.includes('ALIYUN_ASSIST_LOG_LEVEL=debug'));
    assert.ok(env.includes(`ALIYUN_ASSIST_INSTALL_DIR=${installDir}`));
    // And it is the agent, doing its work: that very process retrying the server it was given.
    const log = join(installDir, '2.6.0.1', 'log', 'aliyun_assist_main.log');
    const probed = () =>
      existsSync(log) &&
      readFileSync(log, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .some(
          (e) => e['message'] === 'server probe failed, retrying' && e['host'] === '127.0.0.1:1' && e['pid'] === first,
        );
    await eventually(probed, { timeoutMs: 30_000, what: `agent ${first} to log a failed probe of 127.0.0.1:1` });
  });

  it('status says running and exits 0', () => {
    const r = sysv('status');
    assert.equal(r.status, 0);
    assert.equal(r.stdout.trim(), `Running (pid ${first})`);
  });

  it('start again is idempotent: same pid, still one agent', () => {
    const r = sysv('start');
    assert.equal(r.status, 0);
    assert.equal(r.stdout.trim(), `aliyun-service is already running (pid ${first})`);
    assert.equal(readFileSync(pidFile, 'utf8').trim(), String(first));
    assert.deepEqual(ourAgents(), [first]);
  });

  let second = 0;
  it('restart replaces the agent', () => {
    const r = sysv('restart');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Stopped aliyun-service$/m);
    second = startedPid(r.stdout);
    assert.notEqual(second, first);
    assert.equal(isRunning(first), false, 'the old agent is gone');
    assert.deepEqual(ourAgents(), [second]);
  });

  it('a restart whose caller is killed half-way still brings the agent back (the script runs detached)', async () => {
    const old = second;
    // The caller: this installer's restart() in a process group of its own, as a task running
    // `aliyun-service --register` is, which the stopping agent kills.
    const callerFile = join(root, 'restart-caller.mts');
    writeFileSync(
      callerFile,
      `import { createServiceManager, nodeServiceHost, serviceLayout } from ${JSON.stringify(join(ROOT_DIR, 'installer', 'index.js'))};
const spec = ${JSON.stringify(spec)};
await createServiceManager('sysvinit', spec, nodeServiceHost(), serviceLayout(${JSON.stringify(root)})).restart();
`,
    );
    const caller = spawn(process.execPath, ['--import', TSX, callerFile], {
      detached: true,
      stdio: 'ignore',
      // Its output file (see runCommand) then goes with the temporary root.
      env: { PATH: process.env['PATH'], TMPDIR: root },
    });
    // Kill the caller's whole group as soon as the script is running.
    const restarting = `${script} restart`;
    const deadline = Date.now() + 30_000;
    while (!procs().some((p) => cmdline(p).includes(restarting))) {
      assert.ok(Date.now() < deadline, 'the restart script never ran');
      await new Promise((r) => setTimeout(r, 5));
    }
    process.kill(-caller.pid!, 'SIGKILL');
    const next = await eventually(
      () => {
        const p = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : 0;
        return p !== old && isRunning(p) ? p : 0;
      },
      { timeoutMs: 30_000, what: 'the script to start a new agent' },
    );
    started.add(next);
    assert.equal(isRunning(old), false);
    assert.deepEqual(ourAgents(), [next]);
    second = next;
  });

  it('stop ends the agent, removes the pid and lock files; status then exits 3', () => {
    const r = sysv('stop');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'Stopped aliyun-service');
    assert.equal(isRunning(second), false);
    assert.deepEqual(ourAgents(), []);
    assert.equal(existsSync(pidFile), false);
    assert.equal(existsSync(lockFile), false);
    const s = sysv('status');
    assert.equal(s.status, 3);
    assert.equal(s.stdout.trim(), 'Stopped');
    const again = sysv('stop');
    assert.equal(again.status, 0);
    assert.equal(again.stdout.trim(), 'aliyun-service is not running');
  });

  it('a stale pid file naming an unrelated live process: status 1, and stop leaves that process alone', async () => {
    const bystander: ChildProcess = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const pid = bystander.pid!;
      writeFileSync(pidFile, `${pid}\n`);
      const s = sysv('status');
      assert.equal(s.status, 1);
      assert.match(s.stdout, /^Stopped \(stale pid file /);
      const r = sysv('stop');
      assert.equal(r.status, 0);
      assert.equal(r.stdout.trim(), 'aliyun-service is not running');
      assert.ok(isRunning(pid), 'the unrelated process survived');
      assert.equal(existsSync(pidFile), false);
      // start does not mistake it for the agent either.
      writeFileSync(pidFile, `${pid}\n`);
      const st = sysv('start');
      assert.equal(st.status, 0, st.stderr);
      const agent = startedPid(st.stdout);
      assert.notEqual(agent, pid);
      assert.equal(sysv('stop').status, 0);
    } finally {
      bystander.kill('SIGKILL');
    }
  });

  it('an unknown action prints usage and exits 2', () => {
    const r = sysv('reload');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^Usage: .*aliyun-service \{start\|stop\|status\|restart\|try-restart\|force-reload\}$/m);
  });

  it('the manager reads the script: status, then uninstall removes the script and its links', async () => {
    assert.deepEqual(await manager.status(), { state: 'stopped', detail: 'Stopped' });
    await manager.uninstall();
    assert.equal(existsSync(script), false);
    assert.equal(existsSync(join(layout.rcDir, 'rc3.d', 'S50aliyun-service')), false);
    assert.equal((await manager.status()).state, 'not-installed');
  });
});
