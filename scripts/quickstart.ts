// The quickstart's main job, on the built bundles in dist/: see scripts/quickstart.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import RPCClient from '@alicloud/pop-core';

const ROOT = resolve(import.meta.dirname, '..');
const STATE = process.env['QUICKSTART_STATE'] ?? join(ROOT, '.quickstart');
const SERVER_DIR = join(STATE, 'server');
const AGENT_DIR = join(STATE, 'agent');
const children: ChildProcess[] = [];

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

/** The preferred port if free, else any free port. */
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

async function main(): Promise<void> {
  const t0 = Date.now();
  rmSync(STATE, { recursive: true, force: true });
  mkdirSync(STATE, { recursive: true, mode: 0o700 });
  const port = await pickPort(Number(process.env['QUICKSTART_PORT'] ?? 8443));
  const server = join(ROOT, 'dist', 'assist-server.cjs');
  const agentBin = join(ROOT, 'dist', 'aliyun-service.cjs');

  const key = JSON.parse(
    await runToEnd([server, 'keys', 'create', '--data-dir', SERVER_DIR, '--description', 'quickstart']),
  ) as {
    AccessKeyId: string;
    AccessKeySecret: string;
  };
  const cp = node([server, 'start', '--data-dir', SERVER_DIR, '--port', String(port), '--log-level', 'warn']);
  cp.stderr!.pipe(process.stderr);
  // The bound address comes from the server itself (the port may have been chosen by the OS).
  const ready = JSON.parse(await waitForLine(cp, /\{"event":"ready".*\}/, 30_000)) as { url: string };
  const hostPort = new URL(ready.url).host;
  const caPath = join(SERVER_DIR, 'tls', 'ca.pem');
  // The official SDK, pointed at the local control plane.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const Pop = ((RPCClient as any).default ?? RPCClient) as any;
  const api = new Pop({
    accessKeyId: key.AccessKeyId,
    accessKeySecret: key.AccessKeySecret,
    endpoint: `https://${hostPort}`,
    apiVersion: '2014-05-26',
    opts: { agent: new https.Agent({ ca: readFileSync(caPath, 'utf8') }) },
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const call = (action: string, params: Record<string, unknown>): Promise<any> =>
    api.request(action, { RegionId: 'cn-local', ...params }, { method: 'POST' });

  const act = await call('CreateActivation', { InstanceName: 'quickstart', InstanceCount: 1, TimeToLiveInHours: 1 });
  const agentEnv = {
    ALIYUN_ASSIST_SERVER_HOST: hostPort,
    ALIYUN_ASSIST_CERT_PATH: caPath,
    ALIYUN_ASSIST_INSTALL_DIR: AGENT_DIR,
  };
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
  const instanceId = /instance id: (\S+)/.exec(reg)![1]!;
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
  const lines = [
    '',
    `Sample command ${run.InvokeId} on ${instanceId}: ${result?.InvokeRecordStatus ?? 'no result'} (exit code ${result?.ExitCode ?? '?'}), output:`,
    ...Buffer.from(result?.Output ?? '', 'base64')
      .toString('utf8')
      .trimEnd()
      .split('\n')
      .map((l) => `    ${l}`),
    '',
    `Control plane API (ECS Cloud Assistant OpenAPI): https://${hostPort}/`,
    `Console:                                        https://${hostPort}/console/`,
    `AccessKeyId:     ${key.AccessKeyId}`,
    `AccessKeySecret: ${key.AccessKeySecret}`,
    `CA certificate:  ${caPath}`,
    `Agent:           ${instanceId}, logs in ${AGENT_DIR}`,
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
