// Self-update end to end: a real control plane offering packages from --updates-dir, a real agent
// (the multicall bundle, built here as version A and again as B) installed under
// <tmp>/usr/local/share/aliyun-assist and run by the real watchdog, which starts whatever
// <ROOT>/version names. The agent finds B, its updater waits for a running command, switches and
// stops it; the watchdog starts B, which keeps serving. Then a broken C (its executable exits at
// once) is offered: the updater rolls back to B by itself, and C is never tried again.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { build } from 'esbuild';
import { AGENT_VERSION } from '../../agent/shared/version.js';
import { updateArch, updateOs } from '../../protocol/index.js';
import { runAgentCli } from '../harness/agent.js';
import { startControlPlane, suiteCleanup, type TestControlPlane } from '../harness/control-plane.js';
import { eventually, SLACK_MS } from '../harness/eventually.js';

const REPO = join(import.meta.dirname, '..', '..');
const TSX = join(REPO, 'node_modules', 'tsx', 'dist', 'loader.mjs');
const bump = (v: string, n: number) => v.replace(/\d+$/, (d) => String(Number(d) + n));
const A = AGENT_VERSION;
const B = bump(A, 1);
const C = bump(A, 2);

/** The multicall program as one Node script (scripts/build.ts's options), with AGENT_VERSION replaced. */
async function bundleAs(version: string, outfile: string): Promise<void> {
  await build({
    absWorkingDir: REPO,
    entryPoints: ['bin/multicall.ts'],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    banner: {
      js: "#!/usr/bin/env node\nconst __import_meta_url = require('node:url').pathToFileURL(__filename).href;",
    },
    define: {
      'import.meta.url': '__import_meta_url',
      'import.meta.dirname': '__dirname',
      'import.meta.filename': '__filename',
    },
    external: ['bufferutil', 'utf-8-validate'],
    logLevel: 'warning',
    plugins: [
      {
        name: 'agent-version',
        setup(b) {
          b.onLoad({ filter: /agent[\\/]shared[\\/]version\.ts$/ }, () => ({
            contents: `export const AGENT_VERSION = ${JSON.stringify(version)};`,
            loader: 'ts',
          }));
        },
      },
    ],
  });
}

/** `<top>/<version>/` as the update zip lays it out (docs/packaging.md), with `agent` as the executable. */
function layVersion(top: string, version: string, agent: { file: string } | { script: string }): void {
  const dir = join(top, version);
  mkdirSync(dir, { recursive: true });
  const exe = join(dir, 'aliyun-service');
  if ('file' in agent) {
    copyFileSync(agent.file, exe);
  } else {
    writeFileSync(exe, agent.script);
  }
  chmodSync(exe, 0o755);
  symlinkSync('aliyun-service', join(dir, 'aliyun_assist_update'));
  copyFileSync(join(REPO, 'packaging', 'update_install'), join(dir, 'update_install'));
  chmodSync(join(dir, 'update_install'), 0o755);
}

interface Result {
  InvokeRecordStatus: string;
  ExitCode: number;
  Output: string;
}

describe('agent self-update', () => {
  const cleanup = suiteCleanup();
  let h: TestControlPlane;
  let base: string;
  let root: string;
  let stateDir: string;
  let offerDir: string;
  let instanceId: string;
  let watchdog: ChildProcess;
  let watchdogOut = '';
  /** B's agent pid once the switch to B is done. */
  let bPid: number;

  const readJson = <T>(path: string): T | undefined => {
    try {
      return JSON.parse(readFileSync(path, 'utf8')) as T;
    } catch {
      return undefined;
    }
  };
  const agentPid = () => Number.parseInt(readFileSync(join(stateDir, 'aliyun-service.lock'), 'utf8'), 10);
  const activeVersion = () => readFileSync(join(root, 'version'), 'utf8').trim();
  const pending = () => readJson<{ to: string; updaterPid: number }>(join(stateDir, 'update', 'pending.json'));
  const badVersions = () => readJson<Record<string, { reason: string }>>(join(stateDir, 'update', 'bad-versions.json'));
  const readLog = (version: string, name: string) => {
    try {
      return readFileSync(join(root, version, 'log', name), 'utf8');
    } catch {
      return '';
    }
  };
  const logs = () =>
    [A, B]
      .flatMap((v) =>
        ['aliyun_assist_main.log', 'aliyun_assist_update.log'].map((n) => `--- ${v}/${n}\n${readLog(v, n)}`),
      )
      .join('\n') + `\n--- watchdog\n${watchdogOut}`;
  /** Awaits `p`; on failure prints the logs that say why. */
  const explained = async <T>(p: Promise<T>): Promise<T> =>
    p.catch((e: unknown) => {
      console.log(logs());
      throw e;
    });

  /** Puts `<version>_update.zip` where the control plane offers it (renamed in, never half-written). */
  function publish(version: string, agent: { file: string } | { script: string }): void {
    const top = mkdtempSync(join(base, 'pkg-'));
    layVersion(top, version, agent);
    const name = `${version}_update.zip`;
    execFileSync('zip', ['-q', '-r', '-y', '-X', name, version], { cwd: top });
    renameSync(join(top, name), join(offerDir, name));
  }

  async function runCommand(script: string): Promise<string> {
    const r = await h.ecs.call('runCommand', {
      regionId: 'cn-local',
      type: 'RunShellScript',
      commandContent: script,
      instanceId: [instanceId],
    });
    return r.invokeId as string;
  }
  const resultOf = async (invokeId: string): Promise<Result> =>
    (await h.pop.call('DescribeInvocationResults', { InvokeId: invokeId })).Invocation.InvocationResults
      .InvocationResult[0];
  const finished = (invokeId: string) =>
    explained(
      eventually(() => resultOf(invokeId), {
        until: (x) => ['Finished', 'Failed', 'Stopped'].includes(x?.InvokeRecordStatus),
        timeoutMs: 30_000,
        what: `invocation ${invokeId} to end`,
      }),
    );
  const output = (r: Result) => Buffer.from(r.Output, 'base64').toString();

  before(async () => {
    base = mkdtempSync(join(tmpdir(), 'oca-self-update-'));
    cleanup.after(() => rmSync(base, { recursive: true, force: true }));
    root = join(base, 'usr', 'local', 'share', 'aliyun-assist');
    stateDir = join(root, 'state');
    const updatesDir = join(base, 'updates');
    offerDir = join(updatesDir, updateOs(process.platform), updateArch(process.arch));
    mkdirSync(offerDir, { recursive: true });
    mkdirSync(root, { recursive: true });

    const started = Date.now();
    await Promise.all([bundleAs(A, join(base, 'agent-a.cjs')), bundleAs(B, join(base, 'agent-b.cjs'))]);
    console.log(`# bundles of ${A} and ${B} in ${Date.now() - started} ms`);
    // Version A, installed as a package would: its directory and its update_install.
    layVersion(root, A, { file: join(base, 'agent-a.cjs') });
    execFileSync('/bin/sh', [join(root, A, 'update_install')], { stdio: 'ignore' });

    h = await startControlPlane(cleanup, { updatesDir });
    const env: Record<string, string> = {
      ALIYUN_ASSIST_SERVER_HOST: h.hostPort,
      ALIYUN_ASSIST_CERT_PATH: h.caPath,
      ALIYUN_ASSIST_INSTALL_DIR: root,
    };
    const act = await h.pop.call('CreateActivation', { InstanceCount: 1, TimeToLiveInHours: 1 });
    const reg = await runAgentCli(
      [
        '--register',
        '--RegionId',
        'cn-local',
        '--ActivationCode',
        act.ActivationCode,
        '--ActivationId',
        act.ActivationId,
      ],
      env,
    );
    instanceId = /instance id: (\S+)/.exec(reg.stdout)?.[1] ?? assert.fail(`register: ${reg.stdout}${reg.stderr}`);

    const { INVOCATION_ID: _notUnderSystemd, ...inherited } = process.env;
    watchdog = spawn(
      process.execPath,
      [
        '--import',
        TSX,
        join(REPO, 'bin', 'assist-daemon.ts'),
        '--start',
        '--state-dir',
        join(base, 'watchdog'),
        '--backoff-ms',
        '200',
        '--backoff-max-ms',
        '1000',
      ],
      {
        env: {
          ...inherited,
          ...env,
          ALIYUN_ASSIST_BOOT_MARKER_DIR: join(base, 'boot'),
          ALIYUN_ASSIST_UPDATE_INTERVAL_MS: '1000',
          ALIYUN_ASSIST_UPDATE_HEALTH_MS: '10000',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const wd = watchdog;
    wd.stdout!.on('data', (d: Buffer) => (watchdogOut += d.toString()));
    wd.stderr!.on('data', (d: Buffer) => (watchdogOut += d.toString()));
    const wdExited = new Promise<void>((resolve) => wd.once('exit', () => resolve()));
    cleanup.after(async () => {
      wd.kill('SIGTERM'); // it stops the agent
      await wdExited;
      const p = pending();
      if (p && p.updaterPid > 1) {
        try {
          process.kill(p.updaterPid, 'SIGKILL'); // an updater left over by a failed run
        } catch {
          // gone already
        }
      }
    });
    await explained(
      eventually(
        async () => (await h.cp.instances.get(instanceId))?.agent_version === A && h.cp.gateway.isConnected(instanceId),
        {
          timeoutMs: 30_000,
          what: `agent ${A} to connect`,
        },
      ),
    );
  });

  it(`updates from ${A} to ${B} once a running command has finished, and keeps serving`, async () => {
    const aPid = agentPid();
    const slow = await runCommand('sleep 3; echo survived');
    await explained(
      eventually(() => readdirSync(join(stateDir, 'running')).some((n) => n.endsWith('.json')), {
        timeoutMs: 20_000,
        what: 'the command to run',
      }),
    );
    publish(B, { file: join(base, 'agent-b.cjs') });

    await explained(
      eventually(
        async () => (await h.cp.instances.get(instanceId))?.agent_version === B && h.cp.gateway.isConnected(instanceId),
        {
          timeoutMs: 40_000,
          what: `heartbeats from ${B}`,
        },
      ),
    );
    // The updater waited for it: the command ended normally, output and all.
    const r = await finished(slow);
    assert.equal(r.InvokeRecordStatus, 'Finished');
    assert.equal(r.ExitCode, 0);
    assert.equal(output(r), 'survived\n');
    assert.match(readLog(A, 'aliyun_assist_update.log'), /update waits for running tasks/);

    await explained(eventually(() => pending() === undefined, { timeoutMs: 20_000, what: 'the switch to finish' }));
    assert.equal(activeVersion(), B);
    bPid = agentPid();
    assert.notEqual(bPid, aPid);
    assert.ok(existsSync(join(root, A, 'aliyun-service')), `${A} stays, to go back to`);
    assert.match(readLog(A, 'aliyun_assist_update.log'), /update done/);

    const hello = await finished(await runCommand('echo "hello from $0"'));
    assert.equal(hello.InvokeRecordStatus, 'Finished');
    assert.equal(hello.ExitCode, 0);
  });

  it(`rolls back from a broken ${C} to ${B} by itself, and never tries ${C} again`, async () => {
    assert.ok(bPid, 'needs the update to B of the previous test');
    publish(C, { script: '#!/bin/sh\necho "broken build" >&2\nexit 1\n' });

    // The next check (1 s), then the 10 s health deadline, then the rollback; plus slack.
    await explained(
      eventually(() => badVersions()?.[C], { timeoutMs: 1000 + 10_000 + SLACK_MS, what: `${C} to be recorded as bad` }),
    );
    assert.match(badVersions()![C]!.reason, /did not start and reach the control plane within 10000 ms/);
    await explained(
      eventually(
        async () =>
          pending() === undefined &&
          (await h.cp.instances.get(instanceId))?.agent_version === B &&
          h.cp.gateway.isConnected(instanceId),
        { timeoutMs: 30_000, what: `${B} to be back` },
      ),
    );
    assert.equal(activeVersion(), B);
    assert.ok(!existsSync(join(root, C)), `${C} is removed`);
    const backPid = agentPid();
    assert.notEqual(backPid, bPid, `${B} was stopped for ${C} and started again`);
    assert.match(readLog(B, 'aliyun_assist_update.log'), /rolled back/);

    // The control plane keeps offering C at every check (1 s); the agent keeps declining it.
    const declined = () =>
      readLog(B, 'aliyun_assist_main.log')
        .split('\n')
        .filter((l) => l.includes('"reason":"failed-before"')).length;
    const before = declined();
    await explained(
      // Three checks, 1 s apart; plus slack.
      eventually(() => declined() >= before + 3, { timeoutMs: 3 * 1000 + SLACK_MS, what: `${C} to be declined again` }),
    );
    assert.equal(agentPid(), backPid, 'no restart');
    assert.ok(!existsSync(join(root, C)), `${C} is not downloaded again`);
    assert.equal(pending(), undefined);

    const r = await finished(await runCommand('echo still here'));
    assert.equal(r.InvokeRecordStatus, 'Finished');
    assert.equal(output(r), 'still here\n');
  });
});
