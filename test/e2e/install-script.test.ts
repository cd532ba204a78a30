// The Linux install script CreateActivation returns, run for real: a real control plane serves the
// real agent packages (dist/packages, built by scripts/build-packages when missing), the script
// downloads the .deb over TLS pinned to the control plane's CA, checks it against SHA256SUMS,
// installs it with the real dpkg, writes the agent's settings, and the installed aliyun-service
// registers with the activation. Then that installed binary, started with the settings the script
// wrote, connects and runs a command.
//
// What is isolated: the script runs with ASSIST_INSTALL_ROOT=<tmp> (its documented "another root"
// mode, the one packages.test.ts uses through dpkg --root --force-script-chrootless), so this
// machine's own / and services are never touched; in that mode the script starts nothing (this
// machine runs no init system), so the test starts the installed agent itself.
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { InstallScripts } from '../../control-plane/install/index.js';
import { AGENT_VERSION } from '../../agent/shared/version.js';
import { buildPackages } from '../../scripts/build-packages.js';
import { buildSea } from '../../scripts/build-sea.js';
import { startControlPlane, suiteCleanup, type TestControlPlane } from '../harness/control-plane.js';
import { eventually } from '../harness/eventually.js';

const exec = promisify(execFile);
const ROOT_DIR = '/usr/local/share/aliyun-assist';
const DIST_PACKAGES = join(import.meta.dirname, '..', '..', 'dist', 'packages');

/** dist/packages when it holds this version's .deb; otherwise a fresh build into `work`. */
async function packagesDir(work: string): Promise<string> {
  const sums = join(DIST_PACKAGES, 'SHA256SUMS');
  if (existsSync(sums) && readFileSync(sums, 'utf8').includes(`  aliyun-assist_${AGENT_VERSION}_`)) {
    return DIST_PACKAGES;
  }
  const sea = await buildSea(join(work, 'sea'));
  const built = await buildPackages({ outDir: join(work, 'packages'), binary: sea.binary });
  return join(built.deb, '..');
}

function runScript(script: string, env: Record<string, string>) {
  return new Promise<{ status: number | null; stderr: string }>((resolve, reject) => {
    const p = spawn('sh', ['-s'], {
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env },
      stdio: ['pipe', 'ignore', 'pipe'],
      timeout: 90_000,
    });
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('close', (status) => resolve({ status, stderr }));
    p.stdin.end(script);
  });
}

describe('the Linux install script from CreateActivation', () => {
  const cleanup = suiteCleanup();
  let work: string;
  let h: TestControlPlane;
  let root: string;
  let activationId: string;
  let run: { status: number | null; stderr: string };
  const started = Date.now();

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'oca-install-'));
    cleanup.after(() => rmSync(work, { recursive: true, force: true }));
    h = await startControlPlane(cleanup, { packagesDir: await packagesDir(work) });
    const act = await h.pop.call('CreateActivation', { InstanceCount: 1, InstanceName: 'installed' });
    activationId = act.ActivationId as string;
    root = join(work, 'root');
    mkdirSync(join(root, 'var/lib/dpkg/info'), { recursive: true });
    mkdirSync(join(root, 'var/lib/dpkg/updates'), { recursive: true });
    writeFileSync(join(root, 'var/lib/dpkg/status'), '');
    run = await runScript((act.InstallScripts as InstallScripts).Linux, { ASSIST_INSTALL_ROOT: root });
    console.log(`# install script: ${Date.now() - started} ms (exit ${run.status})`);
  });

  it('exits 0 and says which managed instance this is', () => {
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, /downloading aliyun-assist_[0-9.]+_(amd64|arm64)\.deb from 127\.0\.0\.1:\d+/);
    assert.match(run.stderr, /register ok|registering with activation/);
    assert.match(run.stderr, /done: managed instance mi-/);
  });

  it('installed the package with dpkg and registered it with the control plane', async () => {
    const status = await exec('dpkg', [`--root=${root}`, '-s', 'aliyun-assist']);
    assert.match(status.stdout, /^Status: install ok installed$/m);
    const version = readFileSync(join(root, ROOT_DIR, 'version'), 'utf8').trim();
    assert.ok(statSync(join(root, ROOT_DIR, version, 'aliyun-service')).isFile());
    // The terminals' addon, which the executable loads from beside itself.
    assert.ok(statSync(join(root, ROOT_DIR, version, 'node_modules/node-pty/build/Release/pty.node')).isFile());
    const instanceId = readFileSync(join(root, ROOT_DIR, 'hybrid', 'instance-id'), 'utf8').trim();
    const listed = await h.pop.call('DescribeManagedInstances', { ActivationId: activationId });
    assert.deepEqual(
      listed.Instances.map((i: { InstanceId: string }) => i.InstanceId),
      [instanceId],
    );
  });

  it('wrote the CA and the agent settings where the units read them', () => {
    assert.equal(readFileSync(join(root, ROOT_DIR, 'config', 'server-ca.pem'), 'utf8'), `${h.cp.tls.caCert!.trim()}\n`);
    const envFile = join(root, 'etc/sysconfig/aliyun');
    assert.equal(statSync(envFile).mode & 0o777, 0o600);
    assert.equal(
      readFileSync(envFile, 'utf8'),
      `ALIYUN_ASSIST_SERVER_HOST=${h.hostPort}\nALIYUN_ASSIST_CERT_PATH=${ROOT_DIR}/config/server-ca.pem\n`,
    );
  });

  it('the installed agent, run with those settings, connects and runs a command', async (t) => {
    const version = readFileSync(join(root, ROOT_DIR, 'version'), 'utf8').trim();
    const instanceId = readFileSync(join(root, ROOT_DIR, 'hybrid', 'instance-id'), 'utf8').trim();
    const settings = Object.fromEntries(
      readFileSync(join(root, 'etc/sysconfig/aliyun'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    ) as Record<string, string>;
    // Paths in the file are the target system's; here that system lives below `root`.
    const env = {
      ...process.env,
      ...settings,
      ALIYUN_ASSIST_CERT_PATH: join(root, settings['ALIYUN_ASSIST_CERT_PATH']!),
      ALIYUN_ASSIST_INSTALL_DIR: join(root, ROOT_DIR),
    };
    const agent: ChildProcess = spawn(join(root, ROOT_DIR, version, 'aliyun-service'), [], {
      env,
      stdio: 'ignore',
    });
    const exited = new Promise((resolve) => agent.once('exit', resolve));
    t.after(async () => {
      agent.kill('SIGTERM');
      await exited;
    });
    await eventually(() => h.cp.gateway.isConnected(instanceId), { timeoutMs: 30_000, what: 'the agent to connect' });
    const r = await h.pop.call('RunCommand', {
      Type: 'RunShellScript',
      CommandContent: 'echo installed-by-script',
      'InstanceId.1': instanceId,
    });
    const res = await eventually(() => h.pop.call('DescribeInvocationResults', { InvokeId: r.InvokeId }), {
      until: (x) => x.Invocation.InvocationResults.InvocationResult[0]?.InvokeRecordStatus === 'Finished',
      timeoutMs: 30_000,
      what: 'the command to finish',
    }).catch((e: unknown) => {
      console.log(readFileSync(join(root, ROOT_DIR, version, 'log', 'aliyun_assist_main.log'), 'utf8'));
      throw e;
    });
    const out = res.Invocation.InvocationResults.InvocationResult[0];
    assert.equal(Buffer.from(out.Output, 'base64').toString(), 'installed-by-script\n', JSON.stringify(out));
  });
});
