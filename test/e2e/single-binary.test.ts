// The single executable (scripts/build-sea.ts), built once for this file: it answers to each
// program name, and, started as `aliyun-service` through a link, registers with a real activation
// and runs a command end to end against a real control plane; started as `assist_daemon`, it
// supervises itself as the agent. Also prints the cold start to the first heartbeat the control
// plane sees, for docs/packaging.md.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { AGENT_VERSION } from '../../agent/shared/version.js';
import { buildSea, PROGRAM_NAMES, type SeaBuild } from '../../scripts/build-sea.js';
import { startControlPlane, suiteCleanup, type TestControlPlane } from '../harness/control-plane.js';
import { eventually } from '../harness/eventually.js';
import { runProcess, type Ran } from '../harness/run-process.js';

function runTo(command: string, args: string[], env: Record<string, string> = {}, cwd?: string): Promise<Ran> {
  return runProcess(command, args, { env: { ...process.env, ...env }, timeoutMs: 60_000, ...(cwd ? { cwd } : {}) });
}

describe('single executable', () => {
  const cleanup = suiteCleanup();
  let sea: SeaBuild;
  let h: TestControlPlane;
  /** dist-like dir with the binary and its program-name links. */
  let outDir: string;
  let agentLink: string;
  /** The instance the agent registered as, and the environment it runs with. */
  let registered: { instanceId: string; env: Record<string, string>; installDir: string } | undefined;

  before(async () => {
    outDir = mkdtempSync(join(tmpdir(), 'oca-sea-'));
    cleanup.after(() => rmSync(outDir, { recursive: true, force: true }));
    sea = await buildSea(outDir);
    agentLink = join(outDir, 'aliyun-service');
    console.log(`# single executable: ${(sea.bytes / 2 ** 20).toFixed(1)} MiB, built in ${sea.ms} ms`);
    h = await startControlPlane(cleanup);
  });

  it('is one executable with a link for each program name', () => {
    assert.ok((statSync(sea.binary).mode & 0o111) !== 0, 'executable');
    // Node's own binary is tens of MiB; anything much smaller is not a working executable.
    assert.ok(sea.bytes > 30 * 2 ** 20, `size ${sea.bytes}`);
    for (const name of PROGRAM_NAMES) {
      assert.equal(readlinkSync(join(outDir, name)), 'aliyun-assist');
    }
  });

  it('prints the version as aliyun-service, by link name and as a first argument, and says nothing else', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'oca-sea-cwd-'));
    cleanup.after(() => rmSync(cwd, { recursive: true, force: true }));
    // From an empty directory with no NODE_OPTIONS: the binary needs nothing outside itself.
    const env = { NODE_OPTIONS: '', NODE_PATH: '' };
    for (const [cmd, args] of [
      [agentLink, ['-v']],
      [agentLink, ['--version']],
      [sea.binary, ['aliyun-service', '-v']],
    ] as const) {
      const r = await runTo(cmd, [...args], env, cwd);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, `${AGENT_VERSION}\n`);
      // The SEA warns on stderr when anything require()s a non-built-in module.
      assert.equal(r.stderr, '');
    }
  });

  it('aliyun_assist_update answers -v by its link; acs-plugin-manager answers by its link and by name', async () => {
    const updater = await runTo(join(outDir, 'aliyun_assist_update'), ['-v']);
    assert.equal(updater.status, 0, updater.stderr);
    assert.match(updater.stdout, new RegExp(AGENT_VERSION.replaceAll('.', '\\.')));
    const byLink = await runTo(join(outDir, 'acs-plugin-manager'), ['--help']);
    assert.equal(byLink.status, 0, byLink.stderr);
    assert.match(byLink.stdout, /^Usage:\n {2}acs-plugin-manager \[Flags\]/);
    const byArg = await runTo(sea.binary, ['acs-plugin-manager', '-v']);
    assert.equal(byArg.status, 0, byArg.stderr);
    assert.equal(byArg.stdout, `${AGENT_VERSION}\n`);
  });

  it('prints usage and exits 64 when started by another name without a program', async () => {
    const r = await runTo(sea.binary, ['--frobnicate']);
    assert.equal(r.status, 64);
    assert.match(r.stderr, /programs: aliyun-service, assist_daemon, aliyun_assist_update, acs-plugin-manager/);
  });

  it('registers, heartbeats and runs a command end to end as aliyun-service', async (t) => {
    const installDir = mkdtempSync(join(tmpdir(), 'oca-sea-agent-'));
    cleanup.after(() => rmSync(installDir, { recursive: true, force: true }));
    const env = {
      ALIYUN_ASSIST_SERVER_HOST: h.hostPort,
      ALIYUN_ASSIST_CERT_PATH: h.caPath,
      ALIYUN_ASSIST_INSTALL_DIR: installDir,
    };
    const act = await h.pop.call('CreateActivation', { InstanceCount: 1, TimeToLiveInHours: 1 });
    const reg = await runTo(
      agentLink,
      [
        '--register',
        '--RegionId',
        'cn-local',
        '--ActivationCode',
        act.ActivationCode,
        '--ActivationId',
        act.ActivationId,
        '--InstanceName',
        'sea-box',
      ],
      env,
    );
    assert.equal(reg.status, 0, `${reg.stdout}${reg.stderr}`);
    const instanceId = /instance id: (\S+)/.exec(reg.stdout)?.[1];
    assert.ok(instanceId, reg.stdout);
    registered = { instanceId, env, installDir };
    assert.equal((await h.cp.instances.get(instanceId))?.last_heartbeat_at, null);

    let stderr = '';
    const spawnedAt = Date.now();
    const child = spawn(agentLink, [], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    t.after(() => {
      child.kill('SIGTERM');
    });
    child.stdout.resume();
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

    // The control plane stamps the heartbeat with its own clock, which is this process's.
    const seen = await eventually(() => h.cp.instances.get(instanceId), {
      until: (row) => row?.last_heartbeat_at != null,
      intervalMs: 20,
      timeoutMs: 30_000,
      what: 'the first heartbeat',
    });
    const coldStartMs = seen!.last_heartbeat_at! - spawnedAt;
    console.log(`# cold start, binary started → control plane sees its heartbeat: ${coldStartMs} ms`);
    assert.ok(coldStartMs >= 0);

    await eventually(() => h.cp.gateway.isConnected(instanceId), { timeoutMs: 30_000, what: 'notify channel' });
    const r = await h.ecs.call('runCommand', {
      regionId: 'cn-local',
      type: 'RunShellScript',
      commandContent: 'echo "hello from $(id -un)"; exit 3',
      instanceId: [instanceId],
    });
    const res = await eventually(() => h.pop.call('DescribeInvocationResults', { InvokeId: r.invokeId }), {
      until: (x) =>
        ['Finished', 'Failed'].includes(x.Invocation.InvocationResults.InvocationResult[0]?.InvokeRecordStatus),
      timeoutMs: 30_000,
      what: 'the command to finish',
    }).catch((e: unknown) => {
      const log = join(installDir, AGENT_VERSION, 'log', 'aliyun_assist_main.log');
      console.log(readFileSync(log, 'utf8'));
      throw e;
    });
    const result = res.Invocation.InvocationResults.InvocationResult[0];
    assert.equal(result.InvokeRecordStatus, 'Finished');
    assert.equal(result.ExitCode, 3);
    assert.equal(Buffer.from(result.Output, 'base64').toString(), `hello from ${userInfo().username}\n`);

    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.doesNotMatch(stderr, /single-executable|Warning/);
    // The agent logs under the install dir it was given, named after its version.
    assert.match(readFileSync(join(installDir, AGENT_VERSION, 'log', 'aliyun_assist_main.log'), 'utf8'), /Started/);
  });

  it('runs as assist_daemon, which keeps the same binary running as the agent', async (t) => {
    assert.ok(registered, 'needs the registered agent of the previous test');
    const { instanceId, env } = registered;
    await eventually(() => !h.cp.gateway.isConnected(instanceId), { what: 'the previous agent to disconnect' });
    const stateDir = mkdtempSync(join(tmpdir(), 'oca-sea-watchdog-'));
    t.after(() => rmSync(stateDir, { recursive: true, force: true }));
    const daemon = join(outDir, 'assist_daemon');
    const wd = spawn(daemon, ['--start', '--state-dir', stateDir, '--agent', agentLink], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    wd.stdout.on('data', (d: Buffer) => (output += d.toString()));
    wd.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => wd.once('exit', (code) => resolve(code)));
    t.after(() => {
      wd.kill('SIGKILL');
    });
    await eventually(() => h.cp.gateway.isConnected(instanceId), {
      timeoutMs: 30_000,
      what: 'the agent started by the watchdog to connect',
    }).catch((e: unknown) => {
      console.log(output);
      throw e;
    });
    const st = await runTo(daemon, ['--status', '--json', '--state-dir', stateDir]);
    assert.equal(st.status, 0, st.stdout + st.stderr);
    const probe = JSON.parse(st.stdout) as { state: string; pid: number; status?: { agent: { pid: number } | null } };
    assert.equal(probe.state, 'running');
    assert.equal(probe.pid, wd.pid);
    assert.ok(probe.status?.agent?.pid, 'the watchdog reports its agent');

    wd.kill('SIGTERM');
    assert.equal(await exited, 0, output);
    await eventually(() => !h.cp.gateway.isConnected(instanceId), { what: 'the agent to stop with the watchdog' });
  });
});
