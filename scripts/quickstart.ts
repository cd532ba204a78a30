// The quickstart's main job, on the built bundles in dist/: see scripts/quickstart.
//   node --import tsx scripts/quickstart.ts [--reset]
// State lives in .quickstart/ (QUICKSTART_STATE overrides) and is kept across runs, so the CA a
// browser trusts, the AccessKey a shell exports and the agent's registration stay valid:
//   server/           the control plane's data dir (database, tls/ca.pem, tls/server.pem)
//   agent/            the agent's install dir (hybrid/ identity, logs)
//   quickstart.json   the AccessKey pair and the port (0600)
//   env               the export lines for `assist` (0600): `source .quickstart/env`
// --reset deletes it all first: a new CA, a new AccessKey, a new registration.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import RPCClient from '@alicloud/pop-core';

const ROOT = resolve(import.meta.dirname, '..');
const STATE = resolve(process.env['QUICKSTART_STATE'] ?? join(ROOT, '.quickstart'));
const SERVER_DIR = join(STATE, 'server');
const AGENT_DIR = join(STATE, 'agent');
const SAVED_FILE = join(STATE, 'quickstart.json');
const ENV_FILE = join(STATE, 'env');
const USAGE = 'usage: scripts/quickstart [--reset]   (--reset: a new CA, AccessKey and agent registration)';
const children: ChildProcess[] = [];

interface Saved {
  accessKeyId: string;
  accessKeySecret: string;
  port: number;
}

function node(args: string[], env: Record<string, string> = {}): ChildProcess {
  const c = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(c);
  return c;
}

function runToEnd(args: string[], env: Record<string, string> = {}): Promise<string> {
  return new Promise((res, rej) => {
    const c = node(args, env);
    let out = '';
    let err = '';
    c.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    c.on('close', (code) =>
      code === 0 ? res(out) : rej(new Error(`${args.join(' ')} exited ${code}: ${err || out}`)),
    );
  });
}

/** The preferred port if free (0: any), else any free port. */
function pickPort(preferred: number): Promise<number> {
  return new Promise((res) => {
    const s = createServer();
    s.once('error', () => {
      const any = createServer().listen(0, '127.0.0.1', () => {
        const p = (any.address() as { port: number }).port;
        any.close(() => res(p));
      });
    });
    s.listen(preferred, '127.0.0.1', () => s.close(() => res(preferred)));
  });
}

function waitForLine(c: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((res, rej) => {
    let buf = '';
    const t = setTimeout(() => rej(new Error(`timed out waiting for ${pattern}; output so far:\n${buf}`)), timeoutMs);
    c.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = pattern.exec(buf);
      if (m) {
        clearTimeout(t);
        res(m[0]);
      }
    });
    c.once('exit', (code) => rej(new Error(`process exited ${code} before ${pattern}:\n${buf}`)));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function readSaved(): Saved | undefined {
  try {
    const s = JSON.parse(readFileSync(SAVED_FILE, 'utf8')) as Partial<Saved>;
    if (typeof s.accessKeyId === 'string' && typeof s.accessKeySecret === 'string' && typeof s.port === 'number') {
      return { accessKeyId: s.accessKeyId, accessKeySecret: s.accessKeySecret, port: s.port };
    }
  } catch {
    // none yet, or unreadable: start afresh
  }
  return undefined;
}

/** Writes a file only its owner can read (it holds the AccessKey secret). */
function writePrivate(path: string, text: string): void {
  rmSync(path, { force: true });
  writeFileSync(path, text, { mode: 0o600, flag: 'wx' });
}

/** The SHA-256 of a certificate's public key, base64: what Chromium's SPKI allow-list takes. */
function spkiSha256(certPem: string): string {
  const der = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('base64');
}

function parseArgs(argv: string[]): { reset: boolean } {
  const unknown = argv.filter((a) => a !== '--reset');
  if (unknown.length > 0 || argv.includes('-h') || argv.includes('--help')) {
    console.error(USAGE);
    process.exit(unknown.length > 0 ? 2 : 0);
  }
  return { reset: argv.includes('--reset') };
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const { reset } = parseArgs(process.argv.slice(2));
  if (reset) {
    rmSync(STATE, { recursive: true, force: true });
  }
  // Without the server's data dir nothing saved can be used: its key and registration lived there.
  if (!existsSync(SERVER_DIR)) {
    rmSync(STATE, { recursive: true, force: true });
  }
  mkdirSync(STATE, { recursive: true, mode: 0o700 });
  const saved = readSaved();
  const wanted = process.env['QUICKSTART_PORT'] ?? String(saved?.port ?? 8443);
  const port = await pickPort(Number(wanted));
  const server = join(ROOT, 'dist', 'assist-server.cjs');
  const agentBin = join(ROOT, 'dist', 'aliyun-service.cjs');
  const assistBin = join(ROOT, 'dist', 'assist.cjs');

  const key = saved
    ? { AccessKeyId: saved.accessKeyId, AccessKeySecret: saved.accessKeySecret }
    : (JSON.parse(
        await runToEnd([server, 'keys', 'create', '--data-dir', SERVER_DIR, '--description', 'quickstart']),
      ) as { AccessKeyId: string; AccessKeySecret: string });
  const cp = node([server, 'start', '--data-dir', SERVER_DIR, '--port', String(port), '--log-level', 'warn']);
  cp.stderr!.pipe(process.stderr);
  // The bound address comes from the server itself (the port may have been chosen by the OS).
  const ready = JSON.parse(await waitForLine(cp, /\{"event":"ready".*\}/, 30_000)) as { url: string };
  const hostPort = new URL(ready.url).host;
  const endpoint = `https://${hostPort}`;
  const caPath = join(SERVER_DIR, 'tls', 'ca.pem');
  const caFingerprint = new X509Certificate(readFileSync(caPath)).fingerprint256;
  const spki = spkiSha256(readFileSync(join(SERVER_DIR, 'tls', 'server.pem'), 'utf8'));
  const saving: Saved = {
    accessKeyId: key.AccessKeyId,
    accessKeySecret: key.AccessKeySecret,
    port: Number(new URL(ready.url).port),
  };
  writePrivate(SAVED_FILE, `${JSON.stringify(saving, null, 2)}\n`);
  // The official SDK, pointed at the local control plane.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const Pop = ((RPCClient as any).default ?? RPCClient) as any;
  const api = new Pop({
    accessKeyId: key.AccessKeyId,
    accessKeySecret: key.AccessKeySecret,
    endpoint,
    apiVersion: '2014-05-26',
    opts: { agent: new https.Agent({ ca: readFileSync(caPath, 'utf8') }) },
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const call = (action: string, params: Record<string, unknown>): Promise<any> =>
    api.request(action, { RegionId: 'cn-local', ...params }, { method: 'POST' });

  // The saved key must still be in the store (someone may have replaced server/ by hand).
  await call('DescribeManagedInstances', { PageSize: 1 }).catch((e: unknown) => {
    throw new Error(
      `the saved AccessKey ${key.AccessKeyId} does not work (${e instanceof Error ? e.message : String(e)}); ` +
        'run scripts/quickstart --reset to start afresh',
    );
  });

  const agentEnv = {
    ALIYUN_ASSIST_SERVER_HOST: hostPort,
    ALIYUN_ASSIST_CERT_PATH: caPath,
    ALIYUN_ASSIST_INSTALL_DIR: AGENT_DIR,
  };
  // Keep the agent's registration while the control plane still knows the instance.
  const idFile = join(AGENT_DIR, 'hybrid', 'instance-id');
  let instanceId = existsSync(idFile) ? readFileSync(idFile, 'utf8').trim() : '';
  const known =
    instanceId !== '' && (await call('DescribeManagedInstances', { 'InstanceId.1': instanceId })).TotalCount === 1;
  if (!known) {
    rmSync(join(AGENT_DIR, 'hybrid'), { recursive: true, force: true });
    const act = await call('CreateActivation', { InstanceName: 'quickstart', InstanceCount: 1, TimeToLiveInHours: 1 });
    const reg = await runToEnd(
      [
        agentBin,
        '--register',
        '--RegionId',
        'cn-local',
        '--ActivationCode',
        act.ActivationCode,
        '--ActivationId',
        act.ActivationId,
      ],
      agentEnv,
    );
    instanceId = /instance id: (\S+)/.exec(reg)![1]!;
  }
  const agent = node([agentBin], agentEnv);
  agent.stderr!.pipe(process.stderr);
  await waitForLine(agent, /Started successfully/, 60_000);

  const run = await call('RunCommand', {
    Type: 'RunShellScript',
    CommandContent: 'echo "hello from $(hostname), running as $(whoami) in $(pwd)"; uname -sr',
    'InstanceId.1': instanceId,
  });
  let result: { InvokeRecordStatus: string; Output: string; ExitCode: number } | undefined;
  for (let i = 0; i < 300 && !(result && ['Finished', 'Failed'].includes(result.InvokeRecordStatus)); i++) {
    await sleep(200);
    result = (await call('DescribeInvocationResults', { InvokeId: run.InvokeId })).Invocation.InvocationResults
      .InvocationResult[0];
  }

  const exports = [
    `export ASSIST_ENDPOINT=${endpoint}`,
    `export ASSIST_ACCESS_KEY_ID=${key.AccessKeyId}`,
    `export ASSIST_ACCESS_KEY_SECRET=${key.AccessKeySecret}`,
    `export ASSIST_CA_FILE=${caPath}`,
  ];
  writePrivate(ENV_FILE, `# written by scripts/quickstart: source ${ENV_FILE}\n${exports.join('\n')}\n`);
  const lines = [
    '',
    `Sample command ${run.InvokeId} on ${instanceId}: ${result?.InvokeRecordStatus ?? 'no result'} (exit code ${result?.ExitCode ?? '?'}), output:`,
    ...Buffer.from(result?.Output ?? '', 'base64')
      .toString('utf8')
      .trimEnd()
      .split('\n')
      .map((l) => `    ${l}`),
    '',
    `Control plane API (ECS Cloud Assistant OpenAPI): ${endpoint}/`,
    `Console:                                        ${endpoint}/console/`,
    `AccessKeyId:     ${key.AccessKeyId}`,
    `AccessKeySecret: ${key.AccessKeySecret}`,
    `CA certificate:  ${caPath}`,
    `CA fingerprint:  SHA-256 ${caFingerprint}`,
    `Agent:           ${instanceId} (${known ? 'registration kept' : 'registered now'}), logs in ${AGENT_DIR}`,
    '',
    `The assist CLI (docs/cli.md) reads these; they are also in ${ENV_FILE} (source it):`,
    ...exports.map((l) => `    ${l}`),
    `    alias assist='node ${assistBin}'   # in ${ROOT}, npx assist works too`,
    '    assist instances',
    '',
    'Browsers do not know the quickstart CA (ERR_CERT_AUTHORITY_INVALID). Open the console in a',
    "Chromium that accepts this server's key and nothing else:",
    `    chromium --user-data-dir="$HOME/.cache/assist-quickstart-chromium" --ignore-certificate-errors-spki-list=${spki} ${endpoint}/console/`,
    'or trust the CA once (docs/configuration.md, "Trusting the control plane\'s CA"; it stays the same across runs):',
    `    Chrome/Chromium on Linux: certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n assist-quickstart -i ${caPath}`,
    '                              (certutil is in libnss3-tools; restart the browser)',
    '    Firefox:                  Settings > Privacy & Security > View Certificates > Authorities > Import',
    `    curl, wget (Debian):      sudo cp ${caPath} /usr/local/share/ca-certificates/assist-quickstart.crt && sudo update-ca-certificates`,
    '    macOS (with ca.pem copied there): sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain ca.pem',
    '    Windows (as admin, ca.pem copied there): certutil -addstore -f Root ca.pem',
    '',
    `The CA, the AccessKey and the registration stay in ${STATE} for the next run; scripts/quickstart --reset starts afresh.`,
    `Ready ${((Date.now() - t0) / 1000).toFixed(1)} s after the build. Ctrl-C stops the control plane and the agent.`,
  ];
  console.log(lines.join('\n'));
  if (process.env['QUICKSTART_EXIT'] === '1') {
    shutdown(0);
  }
}

function shutdown(code: number): void {
  for (const c of children) {
    if (c.exitCode === null) {
      c.kill('SIGTERM');
    }
  }
  setTimeout(() => process.exit(code), 1500).unref();
}

process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));
main().catch((e: unknown) => {
  console.error(`quickstart failed: ${e instanceof Error ? e.message : String(e)}`);
  shutdown(1);
});
