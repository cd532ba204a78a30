// Bad input gets its documented error and changes nothing already stored.
import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, randomUUID } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { HttpClient } from '../../agent/http/index.js';
import { hybridHeaders, LubanPath } from '../../protocol/index.js';
import { registerAgent, runAgentCli, type TestAgent, startAgent } from '../harness/agent.js';
import { startControlPlane, suiteCleanup, type TestControlPlane } from '../harness/control-plane.js';
import { apiError, PopClient } from '../harness/sdk.js';

/** Row counts of every table plus activation counters: what "nothing stored changed" compares. */
async function snapshot(h: TestControlPlane) {
  const db = h.cp.db;
  const count = async (t: 'instances' | 'commands' | 'invocations' | 'invocation_instances' | 'activations') =>
    Number(
      (
        await db
          .selectFrom(t)
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  const acts = await db
    .selectFrom('activations')
    .select(['activation_id', 'registered_count'])
    .orderBy('activation_id')
    .execute();
  return {
    instances: await count('instances'),
    commands: await count('commands'),
    invocations: await count('invocations'),
    records: await count('invocation_instances'),
    activations: acts,
  };
}

describe('bad input is refused with its documented code', () => {
  let h: TestControlPlane;
  let agent: TestAgent;
  const cleanup = suiteCleanup();
  before(async () => {
    h = await startControlPlane(cleanup);
    agent = await startAgent(cleanup, h);
  });

  it('refuses a wrong signature and an unknown AccessKey', async () => {
    const before = await snapshot(h);
    const wrong = new PopClient(
      h.hostPort,
      { accessKeyId: h.key.accessKeyId, accessKeySecret: 'not-the-secret' },
      h.caPath,
    );
    const e1 = await apiError(
      wrong.call('RunCommand', { Type: 'RunShellScript', CommandContent: 'echo x', 'InstanceId.1': agent.instanceId }),
    );
    assert.equal(e1.code, 'SignatureDoesNotMatch');
    const unknown = new PopClient(h.hostPort, { accessKeyId: 'LTAInobody', accessKeySecret: 'x' }, h.caPath);
    assert.equal((await apiError(unknown.call('DescribeInvocations', {}))).code, 'InvalidAccessKeyId.NotFound');
    const e3 = await apiError(
      h.ecs.call('runCommand', {
        regionId: 'cn-local',
        type: 'RunShellScript',
        commandContent: 'x',
        instanceId: [agent.instanceId],
        timeout: -5,
      }),
    );
    assert.equal(e3.code, 'InvalidParameter.Timeout');
    assert.deepEqual(await snapshot(h), before);
  });

  it('refuses a replayed signature nonce', async (t) => {
    // A v1 request signed by hand, sent twice with the same nonce.
    const params: Record<string, string> = {
      Action: 'DescribeInvocations',
      Version: '2014-05-26',
      AccessKeyId: h.key.accessKeyId,
      SignatureMethod: 'HMAC-SHA1',
      SignatureVersion: '1.0',
      SignatureNonce: randomUUID(),
      Timestamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      Format: 'JSON',
    };
    const enc = (s: string) =>
      encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
    const canon = Object.keys(params)
      .sort()
      .map((k) => `${enc(k)}=${enc(params[k]!)}`)
      .join('&');
    const sig = createHmac('sha1', `${h.key.accessKeySecret}&`)
      .update(`GET&${enc('/')}&${enc(canon)}`)
      .digest('base64');
    const url = `https://${h.hostPort}/?${canon}&Signature=${enc(sig)}`;
    const client = new HttpClient({ userAgent: 'test', caPem: readFileSync(h.caPath, 'utf8') });
    t.after(() => client.close());
    const first = await client.request({ method: 'GET', url, withIdentity: false });
    assert.equal(first.status, 200, first.body);
    const second = await client.request({ method: 'GET', url, withIdentity: false });
    assert.equal(second.status, 400);
    assert.equal((JSON.parse(second.body) as { Code: string }).Code, 'SignatureNonceUsed');
  });

  it('refuses an oversized CommandContent, too many instances and unknown instances', async () => {
    const before = await snapshot(h);
    const big = 'x'.repeat(12_500); // 16,668 bytes once base64-encoded: just over 16 KB
    const e1 = await apiError(
      h.pop.call('RunCommand', { Type: 'RunShellScript', CommandContent: big, 'InstanceId.1': agent.instanceId }),
    );
    assert.equal(e1.code, 'InvalidCommandContent.LengthLimitExceeded');
    const ids = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`InstanceId.${i + 1}`, `mi-fake${i}`]));
    const e2 = await apiError(h.pop.call('RunCommand', { Type: 'RunShellScript', CommandContent: 'echo x', ...ids }));
    assert.equal(e2.code, 'InvalidParameter.InstanceIds');
    const e3 = await apiError(
      h.pop.call('RunCommand', {
        Type: 'RunShellScript',
        CommandContent: 'echo x',
        'InstanceId.1': agent.instanceId,
        'InstanceId.2': 'mi-nope',
      }),
    );
    assert.equal(e3.code, 'InvalidInstanceId.NotFound');
    const e4 = await apiError(
      h.pop.call('RunCommand', { Type: 'RunPerlScript', CommandContent: 'x', 'InstanceId.1': agent.instanceId }),
    );
    assert.equal(e4.code, 'InvalidParameter.Type');
    const e5 = await apiError(h.pop.call('NoSuchAction', {}));
    assert.equal(e5.code, 'InvalidAction.NotFound');
    assert.deepEqual(await snapshot(h), before);
  });

  it('refuses an expired, an exhausted and an out-of-range activation code', async (t) => {
    // Exhausted: the harness's own activation allowed one instance and the agent used it.
    const used = (
      await h.cp.db
        .selectFrom('instances')
        .select('activation_id')
        .where('instance_id', '=', agent.instanceId)
        .executeTakeFirstOrThrow()
    ).activation_id;
    const expired = await h.pop.call('CreateActivation', { InstanceCount: 5, TimeToLiveInHours: 1 });
    await h.cp.db
      .updateTable('activations')
      .set({ created_at: Date.now() - 2 * 3_600_000 })
      .where('activation_id', '=', expired.ActivationId)
      .execute();
    const ranged = await h.pop.call('CreateActivation', { InstanceCount: 5, IpAddressRange: '10.0.0.0/8' });
    const wrongCode = await h.pop.call('CreateActivation', { InstanceCount: 5 });
    const before = await snapshot(h);
    const installDir = join(tmpdir(), `oca-bad-${randomUUID()}`);
    t.after(() => rmSync(installDir, { recursive: true, force: true }));
    const env = {
      ALIYUN_ASSIST_SERVER_HOST: h.hostPort,
      ALIYUN_ASSIST_CERT_PATH: h.caPath,
      ALIYUN_ASSIST_INSTALL_DIR: installDir,
    };
    const tryRegister = (id: string, code: string) =>
      runAgentCli(['--register', '-R', 'cn-local', '-C', code, '-I', id], env);
    const cases: [string, string, RegExp][] = [
      [expired.ActivationId, expired.ActivationCode, /expired/],
      [ranged.ActivationId, ranged.ActivationCode, /outside the activation's IP range/],
      [wrongCode.ActivationId, 'a-wrongcode', /not valid/],
      [used, 'a-whatever', /not valid|maximum number/],
    ];
    for (const [id, code, why] of cases) {
      const r = await tryRegister(id, code);
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, why);
      assert.doesNotMatch(r.stdout, /register ok/);
    }
    assert.deepEqual(await snapshot(h), before);
  });

  it('counts an activation down and refuses it once used up', async () => {
    const act = await h.pop.call('CreateActivation', { InstanceCount: 1 });
    const env = { ALIYUN_ASSIST_SERVER_HOST: h.hostPort, ALIYUN_ASSIST_CERT_PATH: h.caPath };
    const one = await runAgentCli(['--register', '-R', 'cn-local', '-C', act.ActivationCode, '-I', act.ActivationId], {
      ...env,
      ALIYUN_ASSIST_INSTALL_DIR: `/tmp/oca-a-${randomUUID()}`,
    });
    assert.equal(one.status, 0, one.stderr);
    const before = await snapshot(h);
    const two = await runAgentCli(['--register', '-R', 'cn-local', '-C', act.ActivationCode, '-I', act.ActivationId], {
      ...env,
      ALIYUN_ASSIST_INSTALL_DIR: `/tmp/oca-b-${randomUUID()}`,
    });
    assert.notEqual(two.status, 0);
    assert.match(two.stderr, /maximum number of times/);
    assert.deepEqual(await snapshot(h), before);
    const d = await h.pop.call('DescribeActivations', { ActivationId: act.ActivationId });
    assert.equal(d.ActivationList[0].RegisteredCount, 1);
  });

  it('refuses agent calls signed by an unregistered key, a wrong key, or replayed', async () => {
    const caPem = readFileSync(h.caPath, 'utf8');
    const { privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const list = `https://${h.hostPort}${LubanPath.taskList}?reason=kickoff&currentTime=${Date.now()}&offset=0&timeZone=UTC`;
    const call = async (headers: Record<string, string>) => {
      const c = new HttpClient({ userAgent: 'linux_amd64/test', caPem, identityHeaders: () => headers });
      try {
        return await c.request({ method: 'POST', url: list, body: '' });
      } finally {
        c.close();
      }
    };
    const unregistered = await call(
      hybridHeaders({ instanceId: 'mi-unknown', machineId: 'm', privateKeyPem: privateKey }),
    );
    assert.equal(unregistered.status, 401);
    const machineId = readFileSync(`${agent.installDir}/hybrid/machine-id`, 'utf8');
    const wrongKey = await call(hybridHeaders({ instanceId: agent.instanceId, machineId, privateKeyPem: privateKey }));
    assert.equal(wrongKey.status, 401);
    assert.match(wrongKey.body, /signature does not match/);
    const realKey = readFileSync(`${agent.installDir}/hybrid/pri-key`, 'utf8');
    const good = hybridHeaders({ instanceId: agent.instanceId, machineId, privateKeyPem: realKey });
    assert.equal((await call(good)).status, 200);
    const replay = await call(good);
    assert.equal(replay.status, 401);
    assert.match(replay.body, /replayed/);
    const stale = await call(
      hybridHeaders({ instanceId: agent.instanceId, machineId, privateKeyPem: realKey, now: Date.now() - 3_600_000 }),
    );
    assert.equal(stale.status, 401);
  });

  it('stops serving a deregistered agent', async () => {
    const reg = await registerAgent(cleanup, h);
    const r = await runAgentCli(['--deregister'], reg.env);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /unregister ok/);
    const row = await h.cp.db
      .selectFrom('instances')
      .select('deregistered_at')
      .where('instance_id', '=', reg.instanceId)
      .executeTakeFirstOrThrow();
    assert.ok(row.deregistered_at !== null);
    const e = await apiError(
      h.pop.call('RunCommand', { Type: 'RunShellScript', CommandContent: 'echo x', 'InstanceId.1': reg.instanceId }),
    );
    assert.equal(e.code, 'InvalidInstanceId.NotFound');
  });
});
