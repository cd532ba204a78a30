// The updater's run on real files: an install root under a temp dir (laid out as
// …/usr/local/share/aliyun-assist, so the real packaging/update_install stays inside it), packages
// zipped with zip(1) and served over loopback HTTP, and stand-in agents (sh scripts that take the
// agent's lock and give the started word as the real agent does). Nothing supervises them, so the
// updater stops and starts them itself.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { createMemoryLogger, sleep } from '../shared/index.js';
import { HttpClient } from '../http/index.js';
import { isAlive, runningAgentPid } from './agent-process.js';
import { isUpdateError, type UpdateFailureKind } from './update-errors.js';
import { UpdateState } from './update-state.js';
import type { UpdaterSettings } from './updater-config.js';
import { runUpdater, type UpdaterOptions } from './updater.js';
import { activeVersion } from './versions.js';

const UPDATE_INSTALL = join(import.meta.dirname, '..', '..', 'packaging', 'update_install');
const A = '3.0.0.1';
const B = '3.0.0.2';

const SETTINGS: UpdaterSettings = {
  healthTimeoutMs: 3_000,
  downloadTimeoutMs: 10_000,
  taskWaitMs: 10_000,
  pollMs: 100,
  scriptTimeoutMs: 20_000,
  stopGraceMs: 3_000,
  supervisor: 'none',
};

/** A stand-in agent of `version`: lock, started word while a switch to it is pending, idle until SIGTERM. */
const goodAgent = (version: string, stateDir: string) => `#!/bin/sh
S='${stateDir}'
mkdir -p "$S"
echo $$ > "$S/aliyun-service.lock"
if grep -q '"to":"${version}"' "$S/update/pending.json" 2>/dev/null; then
  printf '{"version":"${version}","pid":%s,"at":"now"}' $$ > "$S/update/started.json"
fi
trap 'rm -f "$S/aliyun-service.lock"; exit 0' TERM
while :; do sleep 0.1; done
`;
const brokenAgent = '#!/bin/sh\necho "cannot start" >&2\nexit 1\n';

interface Rig {
  root: string;
  stateDir: string;
  requests: string[];
  /** Zips `<version>/` (agent script, update_install, aliyun_assist_update link) and serves it. */
  publish(version: string, agent: string, installScript?: string): { url: string; md5: string; sha256: string };
  /** Lays `<version>/` into the root and runs its update_install, as a package install would. */
  install(version: string): void;
  /** Starts the root's active version as the running agent; resolves once it holds the lock. */
  startAgent(): Promise<ChildProcess>;
  options(pkg: UpdaterOptions['pkg'], o?: Partial<UpdaterOptions>): UpdaterOptions;
}

function layVersion(top: string, version: string, agent: string, installScript: string): void {
  const dir = join(top, version);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'aliyun-service'), agent, { mode: 0o755 });
  writeFileSync(join(dir, 'update_install'), installScript, { mode: 0o755 });
  chmodSync(join(dir, 'update_install'), 0o755);
  symlinkSync('aliyun-service', join(dir, 'aliyun_assist_update'));
}

async function rig(t: TestContext): Promise<Rig> {
  const base = mkdtempSync(join(tmpdir(), 'oca-updater-'));
  const root = join(base, 'usr', 'local', 'share', 'aliyun-assist');
  const stateDir = join(root, 'state');
  const served = join(base, 'served');
  mkdirSync(root, { recursive: true });
  mkdirSync(served);
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(req.url ?? '');
    try {
      const body = readFileSync(join(served, (req.url ?? '').replace(/^\//, '')));
      res.writeHead(200, { 'Content-Length': body.length }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const http = new HttpClient({ userAgent: 'updater-test' });
  const children: ChildProcess[] = [];
  t.after(async () => {
    // Whatever agent runs now (the updater may have started it), and those started here.
    const pid = runningAgentPid(stateDir);
    if (pid !== undefined) {
      process.kill(pid, 'SIGKILL');
    }
    for (const c of children) {
      c.kill('SIGKILL');
    }
    http.close();
    await new Promise((r) => server.close(r));
    rmSync(base, { recursive: true, force: true });
  });
  const installScript = readFileSync(UPDATE_INSTALL, 'utf8');
  return {
    root,
    stateDir,
    requests,
    publish(version, agent, script = installScript) {
      const top = mkdtempSync(join(base, 'pkg-'));
      layVersion(top, version, agent, script);
      const zip = join(served, `${version}_update.zip`);
      execFileSync('zip', ['-q', '-r', '-y', '-X', zip, version], { cwd: top });
      const data = readFileSync(zip);
      return {
        url: `http://127.0.0.1:${port}/${version}_update.zip`,
        md5: createHash('md5').update(data).digest('hex'),
        sha256: createHash('sha256').update(data).digest('hex'),
      };
    },
    install(version) {
      layVersion(root, version, goodAgent(version, stateDir), installScript);
      execFileSync('/bin/sh', [join(root, version, 'update_install')], { stdio: 'ignore' });
    },
    async startAgent() {
      const child = spawn(join(root, activeVersion(root)!, 'aliyun-service'), [], { stdio: 'ignore' });
      children.push(child);
      for (let i = 0; i < 100 && runningAgentPid(stateDir) !== child.pid; i++) {
        await sleep(50);
      }
      assert.equal(runningAgentPid(stateDir), child.pid, 'the stand-in agent took the lock');
      return child;
    },
    options(pkg, o = {}) {
      return {
        installDir: root,
        stateDir,
        currentVersion: A,
        pkg,
        http,
        log: createMemoryLogger(),
        settings: SETTINGS,
        env: process.env,
        ...o,
      };
    },
  };
}

const exitOf = (c: ChildProcess) =>
  new Promise<number>((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) {
      resolve(Date.now());
    } else {
      c.once('exit', () => resolve(Date.now()));
    }
  });

async function rejectsWith(p: Promise<unknown>, kind: UpdateFailureKind): Promise<Error> {
  try {
    await p;
  } catch (e) {
    assert.ok(isUpdateError(e), String(e));
    assert.equal(e.kind, kind, e.message);
    return e;
  }
  assert.fail(`expected ${kind}`);
}

describe('runUpdater', () => {
  it('waits for running tasks, switches, stops the old agent, starts the new one and keeps the old version', async (t) => {
    const r = await rig(t);
    r.install(A);
    const old = await r.startAgent();
    const oldExit = exitOf(old);
    // A task is running: the journal lists it until its report is safe.
    mkdirSync(join(r.stateDir, 'running'), { recursive: true });
    writeFileSync(join(r.stateDir, 'running', 't-1-abc.json'), '{}');
    let taskDoneAt = 0;
    setTimeout(() => {
      taskDoneAt = Date.now();
      rmSync(join(r.stateDir, 'running', 't-1-abc.json'));
    }, 600);
    const opts = r.options(r.publish(B, goodAgent(B, r.stateDir)));
    const outcome = await runUpdater(opts);

    assert.deepEqual(outcome, { from: A, to: B, verified: true, removed: [] });
    assert.ok(taskDoneAt > 0 && (await oldExit) >= taskDoneAt, 'the old agent ran until the task was done');
    assert.equal(activeVersion(r.root), B);
    const agentPid = runningAgentPid(r.stateDir);
    assert.ok(agentPid !== undefined && agentPid !== old.pid, 'a new agent runs');
    assert.equal(readFileSync(join(r.root, B, 'aliyun-service'), 'utf8'), goodAgent(B, r.stateDir));
    assert.ok(existsSync(join(r.root, A, 'aliyun-service')), 'the previous version stays, to go back to');
    assert.equal(new UpdateState(r.stateDir).pending(), undefined);
    assert.ok(!existsSync(join(r.stateDir, 'aliyun_assist_update.lock')), 'the updater lock is released');
    const log = (opts.log as ReturnType<typeof createMemoryLogger>).events.map((e) => e.msg);
    assert.ok(log.includes('update waits for running tasks'), log.join(', '));
  });

  it('rolls back from a version that never starts, records it, removes it and refuses it afterwards', async (t) => {
    const r = await rig(t);
    r.install(A);
    const old = await r.startAgent();
    const pkg = r.publish(B, brokenAgent);
    const started = Date.now();
    const err = await rejectsWith(runUpdater(r.options(pkg)), 'HealthCheckFailed');
    assert.match(err.message, new RegExp(`${B} did not start .* back to ${A}`));
    assert.ok(Date.now() - started >= SETTINGS.healthTimeoutMs, 'it waited the whole health deadline');

    assert.equal(activeVersion(r.root), A);
    const agentPid = runningAgentPid(r.stateDir);
    assert.ok(agentPid !== undefined && agentPid !== old.pid && isAlive(agentPid), 'the previous version runs again');
    assert.ok(!existsSync(join(r.root, B)), 'the failed version is removed');
    const state = new UpdateState(r.stateDir);
    assert.deepEqual(Object.keys(state.badVersions()), [B]);
    assert.equal(state.pending(), undefined);

    // Offered again, it is refused before anything is downloaded.
    const downloads = r.requests.length;
    await rejectsWith(runUpdater(r.options(pkg)), 'VersionRefused');
    assert.equal(r.requests.length, downloads);
    assert.equal(runningAgentPid(r.stateDir), agentPid, 'the running agent is left alone');
  });

  it('goes back when the new version’s update script fails, without touching the running agent', async (t) => {
    const r = await rig(t);
    r.install(A);
    const old = await r.startAgent();
    const pkg = r.publish(B, goodAgent(B, r.stateDir), '#!/bin/sh\necho "no room" >&2\nexit 3\n');
    const err = await rejectsWith(runUpdater(r.options(pkg)), 'ExecuteUpdateScriptFailed');
    assert.match(err.message, /exited with 3: no room/);
    assert.equal(activeVersion(r.root), A);
    assert.equal(runningAgentPid(r.stateDir), old.pid);
    assert.deepEqual(Object.keys(new UpdateState(r.stateDir).badVersions()), [B]);
    assert.ok(!existsSync(join(r.root, B)));
  });

  it('changes nothing when the package does not match its digest, or tasks keep running', async (t) => {
    const r = await rig(t);
    r.install(A);
    const old = await r.startAgent();
    const pkg = r.publish(B, goodAgent(B, r.stateDir));
    await rejectsWith(runUpdater(r.options({ ...pkg, md5: 'f'.repeat(32) })), 'CheckMD5Failed');
    await rejectsWith(runUpdater(r.options({ ...pkg, sha256: 'f'.repeat(64) })), 'CheckSHA256Failed');
    assert.ok(!existsSync(join(r.root, B)));

    mkdirSync(join(r.stateDir, 'running'), { recursive: true });
    writeFileSync(join(r.stateDir, 'running', 't-2-abc.json'), '{}');
    await rejectsWith(runUpdater(r.options(pkg, { settings: { ...SETTINGS, taskWaitMs: 300 } })), 'TasksStillRunning');
    assert.equal(activeVersion(r.root), A);
    assert.equal(runningAgentPid(r.stateDir), old.pid);
    const state = new UpdateState(r.stateDir);
    assert.deepEqual(state.badVersions(), {}, 'none of these makes the version bad: the next check tries again');
    assert.equal(state.pending(), undefined);
  });
});
