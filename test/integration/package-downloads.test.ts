// The control plane's package downloads (/assist/packages/<file>) against a real server, and the
// install scripts CreateActivation returns refusing what they must refuse: a package whose SHA-256
// does not match SHA256SUMS, and a server whose certificate does not chain to the pinned CA.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { ensureTls } from '../../control-plane/tls/index.js';
import { renderInstallScripts, type InstallScripts } from '../../control-plane/install/index.js';
import { startControlPlane, suiteCleanup, type TestControlPlane } from '../harness/control-plane.js';

const DEB = 'aliyun-assist_9.9.9.9_amd64.deb';
const DEB_BYTES = Buffer.from('not really a deb\n');

function get(h: TestControlPlane, path: string, method = 'GET') {
  return new Promise<{ status: number; type: string | undefined; length: string | undefined; body: Buffer }>(
    (resolve, reject) => {
      const req = https.request(`https://${h.hostPort}${path}`, { method, ca: h.cp.tls.caCert }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            type: res.headers['content-type'],
            length: res.headers['content-length'],
            body: Buffer.concat(chunks),
          }),
        );
      });
      req.on('error', reject);
      req.end();
    },
  );
}

/** Runs an install script as `sh -s` installing below `root`; resolves with its exit status and output. */
function runScript(script: string, root: string, env: Record<string, string> = {}) {
  return new Promise<{ status: number | null; stderr: string }>((resolve, reject) => {
    const p = spawn('sh', ['-s'], {
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ASSIST_INSTALL_ROOT: root, ...env },
      stdio: ['pipe', 'ignore', 'pipe'],
      timeout: 60_000,
    });
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('close', (status) => resolve({ status, stderr }));
    p.stdin.end(script);
  });
}

function freshDpkgRoot(parent: string, name: string): string {
  const root = join(parent, name);
  mkdirSync(join(root, 'var/lib/dpkg/info'), { recursive: true });
  writeFileSync(join(root, 'var/lib/dpkg/status'), '');
  return root;
}

describe('package downloads and install-script refusals', () => {
  const cleanup = suiteCleanup();
  let work: string;
  let h: TestControlPlane;
  let scripts: InstallScripts;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'oca-pkgdl-'));
    cleanup.after(() => rmSync(work, { recursive: true, force: true }));
    const dir = join(work, 'packages');
    mkdirSync(join(dir, 'sub'), { recursive: true });
    writeFileSync(join(dir, DEB), DEB_BYTES);
    // A checksum that does not match the file: the script must refuse to install it.
    writeFileSync(join(dir, 'SHA256SUMS'), `${'0'.repeat(64)}  ${DEB}\n`);
    writeFileSync(join(dir, '.hidden'), 'secret');
    symlinkSync('/etc/passwd', join(dir, 'link.zip'));
    h = await startControlPlane(cleanup, { packagesDir: dir });
    const act = await h.pop.call('CreateActivation', {
      InstanceCount: 2,
      InstanceName: `web'$(touch /tmp/oca-pwned)`,
      Description: `"; Remove-Item C:\\ -Recurse; "`,
    });
    scripts = act.InstallScripts as InstallScripts;
  });

  it('serves SHA256SUMS as text and a package with its type and length', async () => {
    const sums = await get(h, '/assist/packages/SHA256SUMS');
    assert.equal(sums.status, 200);
    assert.equal(sums.type, 'text/plain; charset=utf-8');
    assert.match(sums.body.toString(), new RegExp(`  ${DEB}\\n$`));
    const deb = await get(h, `/assist/packages/${DEB}`);
    assert.equal(deb.status, 200);
    assert.equal(deb.type, 'application/vnd.debian.binary-package');
    assert.equal(deb.length, String(DEB_BYTES.length));
    assert.deepEqual(deb.body, DEB_BYTES);
    const head = await get(h, `/assist/packages/${DEB}`, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.length, String(DEB_BYTES.length));
  });

  it('serves nothing but plain regular files of the directory', async () => {
    for (const path of [
      '/assist/packages/..%2F..%2F..%2Fetc%2Fpasswd',
      '/assist/packages/%2e%2e',
      '/assist/packages/.hidden',
      '/assist/packages/link.zip',
      '/assist/packages/sub',
      '/assist/packages/missing.deb',
      '/assist/packages/',
    ]) {
      const r = await get(h, path);
      assert.equal(r.status, 404, path);
      assert.ok(!r.body.toString().includes('root:'), path);
    }
  });

  it('returns install scripts with CreateActivation, without the operator-supplied name or description', () => {
    for (const k of ['Linux', 'LinuxProxy', 'Windows', 'LinuxCommand', 'LinuxProxyCommand'] as const) {
      assert.equal(typeof scripts[k], 'string', k);
    }
    for (const s of [scripts.Linux, scripts.LinuxProxy, scripts.Windows]) {
      assert.ok(s.includes(`'${h.hostPort}'`), 'the server host agents use');
      assert.ok(s.includes(h.cp.tls.caCert!.trim()), 'the pinned CA');
      assert.ok(!s.includes('oca-pwned') && !s.includes('Remove-Item C:'));
    }
  });

  it('a script refuses a package whose SHA-256 does not match SHA256SUMS, and installs nothing', async () => {
    const root = freshDpkgRoot(work, 'root-sum');
    const r = await runScript(scripts.Linux, root);
    assert.equal(r.status, 1, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`${DEB.replaceAll('.', '\\.')}: SHA-256 ${sha256(DEB_BYTES)} does not match SHA256SUMS`),
    );
    assert.ok(!existsSync(join(root, 'etc/sysconfig/aliyun')));
    assert.ok(!existsSync(join(root, 'usr/local/share/aliyun-assist')));
  });

  it('a script pinned to another CA does not download from this server', async () => {
    const other = ensureTls({ dataDir: join(work, 'other-ca'), hostnames: ['localhost'], ipAddresses: ['127.0.0.1'] });
    const pinnedElsewhere = renderInstallScripts(
      { serverHost: h.hostPort, regionId: 'cn-local', caPem: other.caCert },
      { activationId: 'x', activationCode: 'a-x' },
    );
    const root = freshDpkgRoot(work, 'root-ca');
    const r = await runScript(pinnedElsewhere.Linux, root);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /cannot download https:\/\/127\.0\.0\.1:\d+\/assist\/packages\/SHA256SUMS/);
    assert.match(r.stderr, /certificate/i, 'curl says why');
  });

  it('a server without a packages directory returns no install scripts', async () => {
    const bare = await startControlPlane(cleanup);
    const act = await bare.pop.call('CreateActivation', {});
    assert.equal(typeof act.ActivationCode, 'string');
    assert.equal(act.InstallScripts, undefined);
    assert.equal((await get(bare, '/assist/packages/SHA256SUMS')).status, 404);
  });
});

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
