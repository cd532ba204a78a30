// The README's first command, as a user runs it (dependencies are already installed by the test
// command): it must build, start everything, and print the sample command's output, the exports
// for `assist` and how to open the console. Run again, it keeps the CA, the AccessKey and the
// agent's registration (yesterday's exports and browser trust still work); --reset replaces them.
// The first run goes through scripts/quickstart (install check and build); the next two run its
// main part on the bundles the first one built, which is all that differs between runs.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const ROOT = join(import.meta.dirname, '..', '..');

interface Run {
  out: string;
  keyId: string;
  secret: string;
  caPath: string;
  caFingerprint: string;
  spki: string;
  instanceId: string;
}

function quickstart(state: string, command: string[]): Promise<Run> {
  const [cmd, ...args] = command;
  const p = spawn(cmd!, args, {
    cwd: ROOT,
    env: { ...process.env, QUICKSTART_EXIT: '1', QUICKSTART_STATE: state, QUICKSTART_PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) =>
    p.on('close', (code) => {
      assert.equal(code, 0, out);
      const get = (re: RegExp) => re.exec(out)?.[1] ?? assert.fail(`no ${re} in:\n${out}`);
      resolve({
        out,
        keyId: get(/^AccessKeyId: +(\S+)$/m),
        secret: get(/^AccessKeySecret: +(\S+)$/m),
        caPath: get(/^CA certificate: +(\S+)$/m),
        caFingerprint: get(/^CA fingerprint: +SHA-256 (\S+)$/m),
        spki: get(/--ignore-certificate-errors-spki-list=(\S+) /),
        instanceId: get(/^Agent: +(mi-\S+) /m),
      });
    }),
  );
}

describe('scripts/quickstart', { timeout: 300_000 }, () => {
  it('prints the sample output, the addresses and the exports; keeps its CA, key and agent across runs', async (t) => {
    const state = mkdtempSync(join(tmpdir(), 'oca-quickstart-'));
    t.after(() => rmSync(state, { recursive: true, force: true }));

    const first = await quickstart(state, ['scripts/quickstart']);
    const out = first.out;
    assert.match(out, /Sample command t-\S+ on mi-\S+: Finished \(exit code 0\)/);
    assert.match(out, /hello from .+, running as \S+ in \//);
    assert.match(out, /Control plane API \(ECS Cloud Assistant OpenAPI\): https:\/\/127\.0\.0\.1:\d+\//);
    assert.match(out, /Console: +https:\/\/127\.0\.0\.1:\d+\/console\//);
    assert.match(out, /Agent: +mi-\S+ \(registered now\)/);
    const ready = /Ready ([\d.]+) s after the build/.exec(out);
    assert.ok(ready, out);

    // What it prints is true: the CA file, its fingerprint, the server key's SPKI hash.
    const endpoint = /^Console: +(https:\/\/\S+)\/console\/$/m.exec(out)![1]!;
    const ca = new X509Certificate(readFileSync(first.caPath));
    assert.equal(first.caFingerprint, ca.fingerprint256);
    const server = new X509Certificate(readFileSync(join(state, 'server', 'tls', 'server.pem')));
    assert.ok(server.verify(ca.publicKey), 'the server certificate is signed by the printed CA');
    const spki = createHash('sha256')
      .update(server.publicKey.export({ type: 'spki', format: 'der' }))
      .digest('base64');
    assert.equal(first.spki, spki);
    assert.match(out, /Chrome\/Chromium on Linux: certutil -d sql:\$HOME\/\.pki\/nssdb -A -t C,, -n \S+ -i \S+ca\.pem/);
    assert.match(out, /update-ca-certificates/);

    // The exports `assist` reads (cli/credentials.ts), printed and in the env file (0600).
    const exports = [
      `export ASSIST_ENDPOINT=${endpoint}`,
      `export ASSIST_ACCESS_KEY_ID=${first.keyId}`,
      `export ASSIST_ACCESS_KEY_SECRET=${first.secret}`,
      `export ASSIST_CA_FILE=${first.caPath}`,
    ];
    for (const line of exports) {
      assert.ok(out.includes(`    ${line}\n`), `${line} in:\n${out}`);
    }
    const envFile = join(state, 'env');
    assert.deepEqual(readFileSync(envFile, 'utf8').split('\n').slice(1, 5), exports);
    assert.equal(statSync(envFile).mode & 0o777, 0o600);
    assert.match(out, new RegExp(`alias assist='node ${join(ROOT, 'dist', 'assist.cjs')}'`));

    // Again: the same key, CA, server key and instance; the sample command runs on it.
    const second = await quickstart(state, [process.execPath, '--import', 'tsx', 'scripts/quickstart.ts']);
    assert.deepEqual(
      [second.keyId, second.secret, second.caPath, second.caFingerprint, second.spki, second.instanceId],
      [first.keyId, first.secret, first.caPath, first.caFingerprint, first.spki, first.instanceId],
    );
    assert.match(second.out, /Agent: +mi-\S+ \(registration kept\)/);
    assert.match(second.out, new RegExp(`Sample command t-\\S+ on ${second.instanceId}: Finished \\(exit code 0\\)`));

    // --reset: everything new.
    const third = await quickstart(state, [process.execPath, '--import', 'tsx', 'scripts/quickstart.ts', '--reset']);
    assert.notEqual(third.keyId, first.keyId);
    assert.notEqual(third.caFingerprint, first.caFingerprint);
    assert.notEqual(third.instanceId, first.instanceId);
    assert.match(third.out, /Agent: +mi-\S+ \(registered now\)/);
    assert.match(third.out, /Sample command t-\S+ on mi-\S+: Finished \(exit code 0\)/);
  });
});
