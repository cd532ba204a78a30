// Issue 19, parameter store: the real assist-server process (its log captured), a real agent, the
// official generic SDK clients for the OOS actions, and a real browser. A command with a plain and
// a secret parameter runs with the right values; the secret is masked in its output and appears
// nowhere in the store files, the API responses, the logs or the console.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startAgent, type TestAgent } from '../harness/agent.js';
import { suiteCleanup, type TestControlPlane } from '../harness/control-plane.js';
import { eventually } from '../harness/eventually.js';
import { OosClient, OosPopClient } from '../harness/oos-sdk.js';
import { apiError, EcsClient, PopClient } from '../harness/sdk.js';
import { openConsole, screenshot, signIn, openTab } from './console-helpers.js';

const ROOT = join(import.meta.dirname, '..', '..');
const SERVER = [
  '--import',
  join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs'),
  join(ROOT, 'bin', 'assist-server.ts'),
];

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? filesUnder(p) : e.isFile() ? [p] : [];
  });
}

function runServerCli(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [...SERVER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`assist-server ${args[0]} exited ${code}`))));
  });
}

describe('parameter store end to end', () => {
  const cleanup = suiteCleanup();
  const secret = `S3cr3t-${randomBytes(9).toString('hex')}`;
  const plain = `db-${randomBytes(4).toString('hex')}.internal`;
  const dataDir = mkdtempSync(join(tmpdir(), 'oca-params-'));
  let server: ChildProcess;
  let serverLog = '';
  let h: TestControlPlane;
  let agent: TestAgent;
  let oos: OosClient;
  let oosPop: OosPopClient;
  /** Every API response body of this suite, to search for the secret. */
  const responses: string[] = [];
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  /** Starts `assist-server start` on the data dir, its log captured; resolves to its ready line. */
  async function startServer(): Promise<{ url: string; caCert: string }> {
    const proc = spawn(
      process.execPath,
      [...SERVER, 'start', '--data-dir', dataDir, '--port', '0', '--log-level', 'debug'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    server = proc;
    cleanup.after(() => stopServer(proc));
    proc.stderr!.on('data', (d: Buffer) => (serverLog += d.toString()));
    return new Promise((resolve, reject) => {
      let out = '';
      proc.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        serverLog += d.toString();
        const line = out.split('\n').find((l) => l.includes('"ready"'));
        if (line) {
          resolve(JSON.parse(line) as { url: string; caCert: string });
        }
      });
      proc.once('exit', (code) => reject(new Error(`assist-server exited ${code}: ${serverLog}`)));
    });
  }

  function stopServer(proc: ChildProcess): Promise<void> {
    return new Promise<void>((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        resolve();
        return;
      }
      proc.once('exit', () => resolve());
      proc.kill('SIGTERM');
    });
  }

  before(async () => {
    const key = JSON.parse(await runServerCli(['keys', 'create', '--data-dir', dataDir])) as {
      AccessKeyId: string;
      AccessKeySecret: string;
    };
    const ready = await startServer();
    const hostPort = new URL(ready.url).host;
    const k = { accessKeyId: key.AccessKeyId, accessKeySecret: key.AccessKeySecret };
    h = {
      dataDir,
      hostPort,
      caPath: ready.caCert,
      key: k,
      ecs: new EcsClient(hostPort, k, ready.caCert),
      pop: new PopClient(hostPort, k, ready.caCert),
    } as TestControlPlane; // no in-process `cp`: the server is its own process
    oos = new OosClient(hostPort, k, ready.caCert);
    oosPop = new OosPopClient(hostPort, k, ready.caCert);
    agent = await startAgent(cleanup, h, {
      instanceName: 'params-box',
      isConnected: async (id) => {
        const s = await h.pop.call('DescribeCloudAssistantStatus', { 'InstanceId.1': id });
        return s.InstanceCloudAssistantStatusSet.InstanceCloudAssistantStatus[0]?.CloudAssistantStatus === 'true';
      },
    });
  });

  const keep = <T>(body: T): T => {
    responses.push(JSON.stringify(body));
    return body;
  };

  it('creates a plain and a secret parameter through the OOS actions of the generic clients', async () => {
    const p = keep(
      await oos.call('CreateParameter', {
        Name: 'e2e-host',
        Type: 'String',
        Value: plain,
        Description: 'database host',
        Tags: JSON.stringify({ env: 'e2e' }),
      }),
    );
    assert.equal(p.Parameter.Name, 'e2e-host');
    assert.equal(p.Parameter.ParameterVersion, 1);
    assert.deepEqual(p.Parameter.Tags, { env: 'e2e' });
    const s = keep(await oosPop.call('CreateSecretParameter', { Name: 'e2e-pw', Value: secret }));
    assert.equal(s.Parameter.Type, 'Secret');
    assert.equal(s.Parameter.Value, undefined);
    assert.equal(keep(await oos.call('GetParameter', { Name: 'e2e-host' })).Parameter.Value, plain);
    assert.equal(keep(await oosPop.call('GetSecretParameter', { Name: 'e2e-pw' })).Parameter.Value, undefined);
    // The one response that holds the secret by design (WithDecryption): not kept for the search below.
    const d = await oos.call('GetSecretParameter', { Name: 'e2e-pw', WithDecryption: 'true' });
    assert.equal(d.Parameter.Value, secret);
    const l = keep(await oos.call('ListSecretParameters', {}));
    assert.deepEqual(
      l.Parameters.map((x: { Name: string }) => x.Name),
      ['e2e-pw'],
    );
    const err = await apiError(oos.call('GetParameter', { Name: 'e2e-nope' }));
    assert.equal(err.code, 'EntityNotExists.Parameter');
    const unknown = await apiError(oos.call('DescribeInvocations', {}));
    assert.equal(unknown.code, 'InvalidAction.NotFound', 'version 2019-06-01 routes to the OOS actions only');
  });

  let invokeId = '';

  it('runs a command using both on a real agent: the plain value shows, the secret is masked', async () => {
    const script = [
      'echo "host={{oos:e2e-host}}"',
      'echo "pw={{ oos-secret:e2e-pw }}"',
      "printf '%s' '{{oos-secret:e2e-pw}}' | wc -c",
    ].join('\n');
    const r = keep(
      await h.ecs.call('runCommand', {
        regionId: 'cn-local',
        type: 'RunShellScript',
        commandContent: script,
        enableParameter: true,
        instanceId: [agent.instanceId],
      }),
    );
    invokeId = r.invokeId;
    const body = await eventually(() => h.pop.call('DescribeInvocationResults', { InvokeId: invokeId }), {
      until: (x) => x.Invocation.InvocationResults.InvocationResult[0]?.InvokeRecordStatus === 'Finished',
      timeoutMs: 30_000,
      what: `invocation ${invokeId} to finish`,
    });
    keep(body);
    const res = body.Invocation.InvocationResults.InvocationResult[0];
    assert.equal(res.InvocationStatus, 'Success', JSON.stringify(res));
    const out = Buffer.from(res.Output, 'base64').toString('utf8');
    assert.equal(
      out,
      `host=${plain}\npw=******\n${secret.length}\n`,
      'the agent got the real secret; the output masks it',
    );
  });

  it('refuses a command naming a missing parameter, creating no invocation', async () => {
    const before = keep(await h.pop.call('DescribeInvocations', {})).TotalCount;
    const e = await apiError(
      h.ecs.call('runCommand', {
        regionId: 'cn-local',
        type: 'RunShellScript',
        commandContent: 'echo {{oos:e2e-missing}}',
        enableParameter: true,
        instanceId: [agent.instanceId],
      }),
    );
    assert.equal(e.code, 'InvalidParameter.OosParameterNotFound');
    assert.match(e.message, /e2e-missing/);
    assert.equal(keep(await h.pop.call('DescribeInvocations', {})).TotalCount, before);
  });

  it('returns no secret from DescribeInvocations or DescribeInvocationResults, in either encoding', async () => {
    for (const ContentEncoding of ['PlainText', 'Base64']) {
      const inv = keep(
        await h.pop.call('DescribeInvocations', { InvokeId: invokeId, IncludeOutput: true, ContentEncoding }),
      );
      const res = keep(await h.pop.call('DescribeInvocationResults', { InvokeId: invokeId, ContentEncoding }));
      const i = inv.Invocations.Invocation[0];
      const content =
        ContentEncoding === 'Base64' ? Buffer.from(i.CommandContent, 'base64').toString() : i.CommandContent;
      assert.ok(content.includes('{{ oos-secret:e2e-pw }}'), 'the stored command keeps the token');
      const output = res.Invocation.InvocationResults.InvocationResult[0].Output;
      const text = ContentEncoding === 'Base64' ? Buffer.from(output, 'base64').toString() : output;
      assert.ok(text.includes('pw=******'));
    }
    const all = responses.join('\n');
    assert.ok(!all.includes(secret), 'no API response holds the secret');
    assert.ok(!all.includes(Buffer.from(secret).toString('base64').slice(0, 16)), 'nor its base64');
  });

  it('shows no secret in the console results of the invocation', async (t) => {
    const page = await openConsole(t, h);
    await signIn(page, h);
    const results = await openTab(page, 'Results');
    await results.getByRole('button', { name: invokeId }).click();
    await results.getByText(`host=${plain}`).waitFor();
    await screenshot(page, 'parameter-store-results');
    const text = await page.content();
    assert.ok(text.includes('pw=******'));
    assert.ok(!text.includes(secret), 'the console shows no secret');
    // The read-only Parameters page: both kinds listed, with how to use them, and no values.
    const params = await openTab(page, 'Parameters');
    await params.getByRole('cell', { name: '{{oos:e2e-host}}' }).waitFor();
    await params.getByRole('cell', { name: '{{oos-secret:e2e-pw}}' }).waitFor();
    await screenshot(page, 'parameter-store-list');
    assert.ok(!(await page.content()).includes(secret), 'the console shows no secret');
    assert.ok(!(await params.innerHTML()).includes(plain), 'the parameters page shows no value at all');
  });

  it('leaves the secret nowhere in the data dir (store file, WAL) or the logs', async () => {
    const db = join(dataDir, 'assist.db');
    assert.ok(statSync(db).size > 0);
    const needle = Buffer.from(secret, 'utf8');
    for (const f of filesUnder(dataDir)) {
      assert.ok(!readFileSync(f).includes(needle), `${f} holds the secret`);
    }
    assert.ok(serverLog.includes('"api call"'), 'the server log was captured');
    assert.ok(!serverLog.includes(secret), 'the server log holds no secret');
    assert.ok(!agent.log().includes(secret), 'the agent log holds no secret');
    // The agent had the secret in its script while it ran; the task said so (secretContent), and
    // the agent emptied the script once the run ended: no file of its install dir keeps it.
    const scripts = filesUnder(agent.installDir).filter((f) => f.includes(`${invokeId}`));
    assert.ok(scripts.length > 0, 'the script file stays, as the marker of a run one-shot task');
    for (const f of filesUnder(agent.installDir)) {
      assert.ok(!readFileSync(f).includes(needle), `${f} holds the secret`);
    }
  });

  it('rotates the master key with assist-server rotate-master-key: keys and secrets still open', async () => {
    await stopServer(server);
    const oldKey = readFileSync(join(dataDir, 'master.key'));
    const r = JSON.parse(await runServerCli(['rotate-master-key', '--data-dir', dataDir])) as {
      accessKeys: number;
      secretParameterVersions: number;
    };
    assert.deepEqual([r.accessKeys, r.secretParameterVersions], [1, 1]);
    assert.notDeepEqual(readFileSync(join(dataDir, 'master.key')), oldKey);
    assert.deepEqual(readFileSync(join(dataDir, 'master.key.old')), oldKey);
    const ready = await startServer();
    const hostPort = new URL(ready.url).host;
    const again = new OosClient(hostPort, h.key, ready.caCert);
    const d = await again.call('GetSecretParameter', { Name: 'e2e-pw', WithDecryption: 'true' });
    assert.equal(d.Parameter.Value, secret, 'the same AccessKey signs, the secret opens under the new key');
    const needle = Buffer.from(secret, 'utf8');
    for (const f of filesUnder(dataDir)) {
      assert.ok(!readFileSync(f).includes(needle), `${f} holds the secret`);
    }
  });
});
