// `aliyun-service --install | --start | --stop | --remove`, and the service restart after
// `--register`, run as real processes. The service files go under a temporary root
// (ALIYUN_ASSIST_SERVICE_ROOT) and the init system is chosen with ALIYUN_ASSIST_INIT_SYSTEM, so
// nothing in /etc is touched: sysvinit end to end (its script really starts the agent), systemd as
// far as it works without systemd running (`systemctl --root` enables offline).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { serviceLayout } from '../../installer/index.js';
import { runAgentCli } from '../harness/agent.js';
import { startControlPlane } from '../harness/control-plane.js';
import { eventually } from '../harness/eventually.js';

const isRunning = (pid: number): boolean => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8') !== '';
  } catch {
    return false;
  }
};

function tempRoot(t: TestContext, init: string) {
  const root = mkdtempSync(join(tmpdir(), 'oca-svc-'));
  const installDir = join(root, 'usr', 'local', 'share', 'aliyun-assist');
  const layout = serviceLayout(root);
  const pidFile = join(layout.runDir, 'aliyun-service.pid');
  const env = {
    ALIYUN_ASSIST_INIT_SYSTEM: init,
    ALIYUN_ASSIST_SERVICE_ROOT: root,
    ALIYUN_ASSIST_INSTALL_DIR: installDir,
    ALIYUN_ASSIST_SERVER_HOST: '127.0.0.1:1',
  };
  const pid = (): number => Number(readFileSync(pidFile, 'utf8').trim());
  t.after(() => {
    if (existsSync(pidFile)) {
      try {
        process.kill(pid(), 'SIGKILL');
      } catch {
        // gone
      }
    }
    rmSync(root, { recursive: true, force: true });
  });
  return { root, installDir, layout, pidFile, env, pid };
}

describe('aliyun-service service flags', () => {
  it('sysvinit: --install, --start (twice), --stop, --remove print the stock messages and do it', async (t) => {
    const r = tempRoot(t, 'sysvinit');
    const cli = async (flag: string) => runAgentCli([flag], r.env);
    const script = join(r.layout.initScriptDir, 'aliyun-service');

    const install = await cli('--install');
    assert.deepEqual([install.status, install.stdout], [0, 'install assist ok\n'], install.stderr);
    // The script runs this agent, by node and the absolute script it was started with.
    assert.match(
      readFileSync(script, 'utf8'),
      /^MATCH='?.*\/node --import \S+loader\.mjs \S+\/bin\/aliyun-service\.ts'?$/m,
    );
    assert.equal(readlinkSync(join(r.layout.rcDir, 'rc5.d', 'S50aliyun-service')), '../init.d/aliyun-service');

    const start = await cli('--start');
    assert.deepEqual([start.status, start.stdout], [0, 'start assist ok\n'], start.stderr);
    const pid = r.pid();
    assert.ok(isRunning(pid));
    const again = await cli('--start');
    assert.deepEqual([again.status, again.stdout], [0, 'start assist ok\n']);
    assert.equal(r.pid(), pid, 'the running agent was kept');

    const stop = await cli('--stop');
    assert.deepEqual([stop.status, stop.stdout], [0, 'stop assist ok\n'], stop.stderr);
    assert.equal(isRunning(pid), false);
    assert.equal(existsSync(r.pidFile), false);

    const remove = await cli('--remove');
    assert.deepEqual([remove.status, remove.stdout], [0, 'uninstall assist ok\n'], remove.stderr);
    assert.equal(existsSync(script), false);
    assert.equal(existsSync(join(r.layout.rcDir, 'rc5.d', 'S50aliyun-service')), false);

    const late = await cli('--start');
    assert.equal(late.status, 1);
    assert.equal(late.stdout, '');
    assert.equal(late.stderr, 'start assist failed: the sysvinit service aliyun-service is not installed\n');
  });

  it('systemd under another root: --install writes and enables the unit offline, --remove undoes it', async (t) => {
    const r = tempRoot(t, 'systemd');
    const unit = join(r.layout.systemdUnitDir, 'aliyun.service');
    const wants = join(r.layout.systemdUnitDir, 'multi-user.target.wants', 'aliyun.service');

    const install = await runAgentCli(['--install'], r.env);
    assert.deepEqual([install.status, install.stdout], [0, 'install assist ok\n'], install.stderr);
    assert.match(readFileSync(unit, 'utf8'), /^KillMode=process$/m);
    assert.equal(readlinkSync(wants), '/etc/systemd/system/aliyun.service', 'enabled by systemctl --root');

    const start = await runAgentCli(['--start'], r.env);
    assert.equal(start.status, 1);
    assert.match(start.stderr, /^start assist failed: cannot start aliyun\.service under another root/);

    const remove = await runAgentCli(['--remove'], r.env);
    assert.deepEqual([remove.status, remove.stdout], [0, 'uninstall assist ok\n'], remove.stderr);
    assert.equal(existsSync(unit), false);
    assert.equal(existsSync(wants), false);
  });

  it('an unknown ALIYUN_ASSIST_INIT_SYSTEM fails the install with the stock prefix', async (t) => {
    const r = tempRoot(t, 'launchd');
    const install = await runAgentCli(['--install'], r.env);
    assert.equal(install.status, 1);
    assert.match(install.stderr, /^install assist failed: ALIYUN_ASSIST_INIT_SYSTEM must be/);
  });

  it('--register restarts an installed service, whose new agent comes online with the new identity', async (t) => {
    const h = await startControlPlane(t);
    const r = tempRoot(t, 'sysvinit');
    const env = { ...r.env, ALIYUN_ASSIST_SERVER_HOST: h.hostPort, ALIYUN_ASSIST_CERT_PATH: h.caPath };
    // The service reads its server from the environment file, as an operator would set it.
    mkdirSync(r.layout.sysconfigDir, { recursive: true });
    writeFileSync(
      join(r.layout.sysconfigDir, 'aliyun'),
      `ALIYUN_ASSIST_SERVER_HOST=${h.hostPort}\nALIYUN_ASSIST_CERT_PATH=${h.caPath}\n`,
    );
    assert.equal((await runAgentCli(['--install'], env)).status, 0);
    assert.equal((await runAgentCli(['--start'], env)).status, 0);
    const before = r.pid();

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
    assert.equal(reg.status, 0, reg.stderr);
    const m = /^register ok\ninstance id: (\S+)\nrestart service\n$/.exec(reg.stdout);
    assert.ok(m, reg.stdout);
    const after = r.pid();
    assert.notEqual(after, before, 'the service runs a new agent');
    assert.equal(isRunning(before), false);
    assert.ok(isRunning(after));
    await eventually(() => h.cp.gateway.isConnected(m[1]!), {
      timeoutMs: 30_000,
      what: `the restarted agent ${m[1]} to connect`,
    });

    const stop = await runAgentCli(['--stop'], env);
    assert.deepEqual([stop.status, stop.stdout], [0, 'stop assist ok\n'], stop.stderr);
  });

  it('--register with no service installed just registers, as before', async (t) => {
    const h = await startControlPlane(t);
    const r = tempRoot(t, 'sysvinit');
    const env = { ...r.env, ALIYUN_ASSIST_SERVER_HOST: h.hostPort, ALIYUN_ASSIST_CERT_PATH: h.caPath };
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
    assert.equal(reg.status, 0, reg.stderr);
    assert.match(reg.stdout, /^register ok\ninstance id: \S+\n$/);
  });
});
