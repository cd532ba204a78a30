// Issue 18 end to end: a real control plane, a real agent, the repo's own plugins. Publish →
// `acs-plugin-manager --list` → `--exec` through RunCommand → a persistent plugin started, upgraded
// by the agent's update check, restarted when its heartbeat stops; bad packages refused.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { writeZip } from '../../protocol/index.js';
import { startAgent, type TestAgent } from '../harness/agent.js';
import { startControlPlane, suiteCleanup, type TestControlPlane } from '../harness/control-plane.js';
import { eventually } from '../harness/eventually.js';
import { apiError } from '../harness/sdk.js';
import { runProcess } from '../harness/run-process.js';

const ROOT = join(import.meta.dirname, '..', '..');
const TSX = join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs');
const MANAGER = join(ROOT, 'bin', 'acs-plugin-manager.ts');
const ASSIST = join(ROOT, 'bin', 'assist.ts');
const VERSION_DIR = '2.6.0.1';

/** A plugin dir of the repo as zip files, config.json changed by `patch`. */
function pluginZip(dir: string, patch: Record<string, unknown> = {}): Buffer {
  const base = join(ROOT, 'plugins', dir);
  const config = { ...JSON.parse(readFileSync(join(base, 'config.json'), 'utf8')), ...patch };
  return writeZip([
    { name: 'config.json', data: Buffer.from(JSON.stringify(config)) },
    { name: 'main.sh', data: readFileSync(join(base, 'main.sh')), mode: 0o755 },
  ]);
}

/** Kills the process group of every plugin daemon whose pid file is under `pluginDir`. */
function stopPluginDaemons(pluginDir: string): void {
  const dirs = (dir: string) =>
    existsSync(dir) ? readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()) : [];
  for (const plugin of dirs(pluginDir)) {
    for (const version of dirs(join(pluginDir, plugin.name))) {
      const pidFile = join(pluginDir, plugin.name, version.name, 'daemon.pid');
      const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : NaN;
      try {
        if (pid > 1) {
          process.kill(-pid, 'SIGKILL'); // the daemon and its sleep
        }
      } catch {
        // gone already
      }
    }
  }
}

type StatusSet = {
  InstanceId: string;
  PluginStatusSet: { PluginStatus: { PluginName: string; PluginVersion: string; PluginStatus: string }[] };
}[];

describe('plugins end to end', () => {
  let h: TestControlPlane;
  let agent: TestAgent;
  /** The acs-plugin-manager a task runs: the install's link, with the service's environment. */
  let manager: string;
  const cleanup = suiteCleanup();

  before(async () => {
    h = await startControlPlane(cleanup);
    agent = await startAgent(cleanup, h, { instanceName: 'plugins-box' });
    // Quick plugin timers (the stock override file), read when the agent starts: restart it.
    const config = join(agent.installDir, VERSION_DIR, 'config');
    mkdirSync(config, { recursive: true });
    writeFileSync(
      join(config, 'PluginCheckInterval'),
      'pluginHealthScanInterval=600,pluginHealthPullInterval=1,pluginUpdateCheckInterval=2,pluginListReportInterval=600',
    );
    await agent.stop();
    await agent.start();
    // A persistent plugin's daemon is a session of its own, made to outlive the agent: end it with the suite.
    cleanup.after(() => stopPluginDaemons(join(agent.installDir, 'plugin')));
    manager = join(agent.installDir, VERSION_DIR, 'acs-plugin-manager');
    writeFileSync(
      manager,
      `#!/bin/sh
export ALIYUN_ASSIST_INSTALL_DIR='${agent.installDir}' ALIYUN_ASSIST_SERVER_HOST='${h.hostPort}' ALIYUN_ASSIST_CERT_PATH='${h.caPath}'
exec '${process.execPath}' --import '${TSX}' '${MANAGER}' "$@"
`,
      { mode: 0o755 },
    );
  });

  const publish = (zip: Buffer) => h.pop.call('PublishPlugin', { Package: zip.toString('base64') });

  /** acs-plugin-manager on the agent's host, by hand. */
  function manage(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
    return runProcess(manager, args);
  }

  async function runCommand(content: string) {
    const r = await h.ecs.call('runCommand', {
      regionId: 'cn-local',
      type: 'RunShellScript',
      commandContent: content,
      instanceId: [agent.instanceId],
      timeout: 120,
    });
    const body = await eventually(() => h.pop.call('DescribeInvocationResults', { InvokeId: r.invokeId }), {
      until: (x) =>
        ['Finished', 'Failed', 'Stopped'].includes(
          x.Invocation.InvocationResults.InvocationResult[0]?.InvokeRecordStatus,
        ),
      timeoutMs: 90_000,
      what: `invocation ${r.invokeId} to end`,
    });
    const res = body.Invocation.InvocationResults.InvocationResult[0];
    return { exitCode: res.ExitCode as number, output: Buffer.from(res.Output, 'base64').toString('utf8') };
  }

  async function pluginStatus(name: string) {
    const r = await h.pop.call('ListPluginStatus', { 'InstanceId.1': agent.instanceId, Name: name });
    const set = r.InstancePluginStatusSet.InstancePluginStatus as StatusSet;
    return set[0]!.PluginStatusSet.PluginStatus[0]!;
  }

  const daemonPid = (version: string): number =>
    Number(readFileSync(join(agent.installDir, 'plugin', 'health-reporter', version, 'daemon.pid'), 'utf8').trim());
  const alive = (pid: number): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  it('publishes a plugin and the agent host lists it', async () => {
    const r = await publish(pluginZip('system-inventory'));
    assert.equal(r.Plugin.Name, 'system-inventory');
    assert.equal(r.Plugin.Version, '1.0');
    assert.match(r.Plugin.Md5, /^[0-9a-f]{32}$/);
    const list = await manage(['--list']);
    assert.equal(list.status, 0, list.stderr);
    assert.match(list.stdout, /^Name\s+\| Version \| Publisher/m);
    assert.match(list.stdout, /^system-inventory \| 1\.0\s+\| Open Cloud Assistant \| linux\s+\| all\s+\| Once/m);
    const local = await manage(['--list', '--local']);
    assert.doesNotMatch(local.stdout, /system-inventory/, 'nothing is installed before the first --exec');
  });

  it('runs a plugin through RunCommand with its parameters, output and exit code', async () => {
    const ok = await runCommand(`${manager} --exec --plugin system-inventory --params --section,os`);
    assert.equal(ok.exitCode, 0, ok.output);
    assert.match(ok.output, /^== os$/m);
    assert.match(ok.output, /^KERNEL=Linux /m);
    assert.doesNotMatch(ok.output, /== disks/, '--section os printed only that section');
    // The plugin's own exit code comes back as the command's (an unknown section exits 2).
    const bad = await runCommand(`${manager} --exec --plugin system-inventory --params --section,nonsense`);
    assert.equal(bad.exitCode, 2);
    assert.match(bad.output, /unknown section: nonsense/);
    const local = await manage(['--list', '--local']);
    assert.match(local.stdout, /^system-inventory \| 1\.0/m);
    assert.equal((await pluginStatus('system-inventory')).PluginStatus, 'Installed');
  });

  it('starts a persistent plugin, upgrades it by the update check, and restarts it when its heartbeat stops', async () => {
    await publish(pluginZip('health-reporter', { heartbeatInterval: 2 }));
    const started = await runCommand(`${manager} --exec --plugin health-reporter --params --start`);
    assert.equal(started.exitCode, 0, started.output);
    assert.match(started.output, /health-reporter started/);
    const v1 = daemonPid('1.0');
    assert.ok(alive(v1));
    const first = await eventually(() => pluginStatus('health-reporter'), {
      until: (s) => s.PluginStatus === 'Running',
      what: 'health-reporter 1.0 Running',
    });
    assert.equal(first.PluginVersion, '1.0');

    // v2 published: the agent's update check (every 2 s here) installs it and runs --upgrade.
    await publish(pluginZip('health-reporter', { version: '2.0', heartbeatInterval: 2 }));
    const upgraded = await eventually(() => pluginStatus('health-reporter'), {
      until: (s) => s.PluginVersion === '2.0' && s.PluginStatus === 'Running',
      timeoutMs: 60_000,
      what: 'health-reporter 2.0 Running',
    });
    assert.equal(upgraded.PluginVersion, '2.0');
    const v2 = daemonPid('2.0');
    assert.ok(alive(v2));
    await eventually(() => !alive(v1), { what: 'the 1.0 daemon to be stopped by the upgrade' });
    const local = await manage(['--list', '--local']);
    assert.match(local.stdout, /^health-reporter\s+\| 2\.0/m);

    // The daemon hangs (SIGSTOP): its heartbeat goes stale → PERSIST_FAIL (Crashed), then restarted.
    process.kill(v2, 'SIGSTOP');
    await eventually(() => pluginStatus('health-reporter'), {
      until: (s) => s.PluginStatus === 'Crashed',
      timeoutMs: 40_000,
      intervalMs: 50,
      what: 'health-reporter reported Crashed',
    });
    const restarted = await eventually(() => daemonPid('2.0'), {
      until: (pid) => pid !== v2 && alive(pid),
      timeoutMs: 40_000,
      what: 'a new health-reporter daemon',
    });
    assert.ok(!alive(v2) || readFileSync(`/proc/${v2}/stat`, 'utf8').includes(' Z '), 'the hung daemon was killed');
    await eventually(() => pluginStatus('health-reporter'), {
      until: (s) => s.PluginStatus === 'Running',
      timeoutMs: 40_000,
      what: 'health-reporter Running again',
    });
    const heartbeat = Number(
      readFileSync(join(agent.installDir, 'plugin', 'health-reporter', '2.0', 'heartbeat'), 'utf8'),
    );
    assert.ok(Date.now() / 1000 - heartbeat < 10, 'the restarted daemon writes its heartbeat');
    assert.ok(alive(restarted));
  });

  it('refuses a package whose checksum does not match, and runs nothing', async () => {
    const marker = join(agent.installDir, 'tampered-ran');
    const good = writeZip([
      {
        name: 'config.json',
        data: Buffer.from(JSON.stringify({ name: 'tamper-me', version: '1.0', runPath: 'run.sh', osType: 'linux' })),
      },
      { name: 'run.sh', data: Buffer.from(`#!/bin/sh\necho ok\n`), mode: 0o755 },
    ]);
    const published = await publish(good);
    // The stored bytes change after publishing (a corrupted store or a hostile mirror); the listed MD5 stays.
    const evil = writeZip([
      {
        name: 'config.json',
        data: Buffer.from(JSON.stringify({ name: 'tamper-me', version: '1.0', runPath: 'run.sh', osType: 'linux' })),
      },
      { name: 'run.sh', data: Buffer.from(`#!/bin/sh\ntouch '${marker}'\n`), mode: 0o755 },
    ]);
    await h.cp.db
      .updateTable('plugin_versions')
      .set({ package: evil })
      .where('plugin_id', '=', published.Plugin.PluginId)
      .execute();
    const r = await manage(['--exec', '--plugin', 'tamper-me']);
    assert.equal(r.status, 239, r.stderr);
    assert.match(r.stderr, /^ExecutePluginOnlineOrLocal MD5_CHECK_FAIL: /m);
    assert.equal(existsSync(marker), false, 'nothing ran');
    assert.equal(existsSync(join(agent.installDir, 'plugin', 'tamper-me', '1.0')), false, 'nothing was unpacked');
  });

  it('refuses a zip that escapes its directory, on publish and on the agent, and runs nothing', async () => {
    const marker = join(agent.installDir, 'escaped-ran');
    const evil = writeZip([
      { name: 'config.json', data: Buffer.from(JSON.stringify({ name: 'escape', version: '1.0', runPath: 'run.sh' })) },
      { name: 'run.sh', data: Buffer.from(`#!/bin/sh\ntouch '${marker}'\n`), mode: 0o755 },
      { name: '../../escaped.sh', data: Buffer.from('#!/bin/sh\n'), mode: 0o755 },
    ]);
    const refused = await apiError(publish(evil));
    assert.equal(refused.code, 'InvalidParameter.Package');
    assert.match(refused.message, /escapes/);
    const file = join(agent.installDir, 'evil.zip');
    writeFileSync(file, evil);
    const r = await manage(['--exec', '--file', file]);
    assert.equal(r.status, 236, r.stderr);
    assert.match(r.stderr, /UNZIP_ERR: .*escapes/);
    assert.equal(existsSync(marker), false, 'nothing ran');
    assert.equal(existsSync(join(agent.installDir, 'escaped.sh')), false);
    assert.deepEqual(
      readdirSync(join(agent.installDir, 'plugin')).filter((n) => n.startsWith('escape')),
      [],
      'nothing was unpacked',
    );
  });

  it('refuses catalogue misuse with documented codes', async () => {
    const other = pluginZip('system-inventory', { publisher: 'someone else' });
    assert.equal((await apiError(publish(other))).code, 'PluginVersion.AlreadyExists');
    assert.equal(
      (await apiError(h.pop.call('PublishPlugin', { Package: 'not base64!' }))).code,
      'InvalidParameter.Package',
    );
    assert.equal((await apiError(h.pop.call('PublishPlugin', {}))).code, 'MissingParameter');
    assert.equal(
      (await apiError(h.pop.call('RetirePluginVersion', { Name: 'system-inventory', PluginVersion: '9.9' }))).code,
      'InvalidPlugin.NotFound',
    );
    assert.equal(
      (await apiError(h.pop.call('ListPluginStatus', { 'InstanceId.1': agent.instanceId, 'InstanceId.2': 'mi-other' })))
        .code,
      'InvalidParameter.InstanceIds',
    );
    // Republishing the same bytes is idempotent.
    const again = await publish(pluginZip('system-inventory'));
    assert.equal(again.Plugin.Version, '1.0');
  });

  it('assist plugin publish, list, retire and status', async (t) => {
    const home = mkdtempSync(join(tmpdir(), 'oca-plugin-cli-'));
    t.after(() => rmSync(home, { recursive: true, force: true }));
    const assist = (args: string[]) =>
      runProcess(process.execPath, ['--import', TSX, ASSIST, ...args], {
        env: {
          PATH: process.env['PATH'] ?? '',
          HOME: home,
          ASSIST_ACCESS_KEY_ID: h.key.accessKeyId,
          ASSIST_ACCESS_KEY_SECRET: h.key.accessKeySecret,
          ASSIST_ENDPOINT: h.hostPort,
          ASSIST_CA_FILE: h.caPath,
        },
      });
    const dir = join(home, 'cli-demo');
    mkdirSync(dir);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ name: 'cli-demo', version: '0.1', runPath: 'run.sh' }));
    writeFileSync(join(dir, 'run.sh'), '#!/bin/sh\necho demo\n', { mode: 0o755 });
    const pub = await assist(['plugin', 'publish', dir]);
    assert.equal(pub.status, 0, pub.stderr);
    assert.match(
      pub.stdout,
      /^published cli-demo 0\.1 \(Once, any OS\/any arch\) as pl-[0-9a-f]{20}, md5 [0-9a-f]{32}$/m,
    );
    const listed = await assist(['plugin', 'list']);
    assert.match(listed.stdout, /^NAME +VERSION +TYPE/m);
    assert.match(listed.stdout, /^cli-demo +0\.1 +Once +any +any/m);
    assert.match(listed.stdout, /^health-reporter +2\.0 +Persist/m);
    const retired = await assist(['plugin', 'retire', 'cli-demo', '0.1']);
    assert.equal(retired.status, 0, retired.stderr);
    assert.doesNotMatch((await assist(['plugin', 'list'])).stdout, /cli-demo/);
    assert.match((await assist(['plugin', 'list', '--retired'])).stdout, /^cli-demo +0\.1 .* yes$/m);
    const offered = await manage(['--list']);
    assert.doesNotMatch(offered.stdout, /cli-demo/, 'a retired version is not offered to agents');
    const status = await assist(['plugin', 'status', agent.instanceId]);
    assert.equal(status.status, 0, status.stderr);
    assert.match(status.stdout, new RegExp(`^${agent.instanceId} +system-inventory +1\\.0 +Installed`, 'm'));
    assert.match(status.stdout, new RegExp(`^${agent.instanceId} +health-reporter +2\\.0 +(Running|Crashed)`, 'm'));
    const bad = await assist(['plugin', 'publish', join(home, 'missing')]);
    assert.equal(bad.status, 2);
    writeFileSync(join(dir, 'config.json'), '{"name":"cli-demo"}');
    const invalid = await assist(['plugin', 'publish', dir]);
    assert.equal(invalid.status, 2);
    assert.match(invalid.stderr, /not a valid plugin package: .*version/);
  });
});
