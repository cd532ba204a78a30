// Access policies and the audit trail through real signed calls of the official SDK clients: an
// account key manages a RAM user and its policy; the user's key is refused what the policy does not
// allow (nothing changes in the store, the refusal is audited with Forbidden.RAM) and may do what
// it allows; DescribeAuditEvents filters and pages.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startControlPlane, suiteCleanup } from '../harness/control-plane.js';
import { seedFleet } from '../harness/fleet.js';
import { apiError, EcsClient, PopClient } from '../harness/sdk.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'ram-policies');

interface AuditEvent {
  EventAction: string;
  UserName: string;
  AccessKeyId: string;
  IdentityType: string;
  Result: string;
  SourceIp: string;
  RequestId: string;
  Resources: { Resource: string[] };
}

describe('access policies and the audit trail', () => {
  const t = suiteCleanup();
  const setup = (async () => {
    const h = await startControlPlane(t);
    const [tagged, other] = await seedFleet(h.cp.db, 2, { prefix: 'ram' });
    await h.cp.db
      .updateTable('instances')
      .set({ tags: JSON.stringify([{ key: 'user', value: 'alice' }]) })
      .where('instance_id', '=', tagged!)
      .execute();
    const root = h.pop;
    await root.call('CreateRamUser', { UserName: 'alice', DisplayName: 'Alice' });
    const created = await root.call('CreateRamAccessKey', { UserName: 'alice' });
    const aliceKey = {
      accessKeyId: created.AccessKey.AccessKeyId as string,
      accessKeySecret: created.AccessKey.AccessKeySecret as string,
    };
    await root.call('CreateRamPolicy', {
      PolicyName: 'TaggedCommands',
      PolicyDocument: readFileSync(join(FIXTURES, 'commands-on-tagged-instances.json'), 'utf8'),
    });
    await root.call('AttachRamPolicyToUser', { PolicyName: 'TaggedCommands', UserName: 'alice' });
    return {
      h,
      tagged: tagged!,
      other: other!,
      aliceKey,
      alice: new PopClient(h.hostPort, aliceKey, h.caPath),
      aliceEcs: new EcsClient(h.hostPort, aliceKey, h.caPath),
    };
  })();

  const events = async (filter: Record<string, unknown>): Promise<AuditEvent[]> => {
    const { h } = await setup;
    const r = await h.pop.call('DescribeAuditEvents', { MaxResults: 100, ...filter });
    return r.AuditEvents.AuditEvent as AuditEvent[];
  };
  const invocationCount = async () => {
    const { h } = await setup;
    const r = await h.cp.db
      .selectFrom('invocations')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirst();
    return Number(r?.n);
  };

  it('refuses RunCommand on an instance the policy does not cover, changes nothing, and audits it', async () => {
    const { alice, tagged, other, aliceKey } = await setup;
    const before = await invocationCount();
    const err = await apiError(
      alice.call('RunCommand', {
        'InstanceId.1': tagged,
        'InstanceId.2': other,
        Type: 'RunShellScript',
        CommandContent: 'echo hi',
      }),
    );
    assert.equal(err.code, 'Forbidden.RAM');
    assert.match(err.message, /ecs:RunCommand/);
    assert.match(err.message, new RegExp(`instance/${other}`));
    assert.equal(await invocationCount(), before);
    const refused = await events({ UserName: 'alice', Result: 'Forbidden.RAM', EventAction: 'RunCommand' });
    assert.equal(refused.length, 1);
    assert.equal(refused[0]!.AccessKeyId, aliceKey.accessKeyId);
    assert.equal(refused[0]!.IdentityType, 'RAMUser');
    assert.equal(refused[0]!.SourceIp, '127.0.0.1');
    assert.ok(refused[0]!.Resources.Resource.some((r) => r.endsWith(`instance/${other}`)));
  });

  it('the official ECS SDK sees HTTP 403 Forbidden.RAM', async () => {
    const { aliceEcs, other } = await setup;
    try {
      await aliceEcs.call('runCommand', {
        regionId: 'cn-local',
        instanceId: [other],
        type: 'RunShellScript',
        commandContent: 'echo hi',
      });
      assert.fail('expected Forbidden.RAM');
    } catch (e) {
      const err = e as { code?: string; statusCode?: number; data?: { Code?: string; statusCode?: number } };
      assert.equal(err.data?.Code ?? err.code, 'Forbidden.RAM');
      assert.equal(err.statusCode ?? err.data?.statusCode, 403);
    }
  });

  it('allows RunCommand on the tagged instance', async () => {
    const { alice, tagged } = await setup;
    const before = await invocationCount();
    const r = await alice.call('RunCommand', {
      'InstanceId.1': tagged,
      Type: 'RunShellScript',
      CommandContent: 'echo hi',
    });
    assert.match(r.InvokeId, /^t-/);
    assert.equal(await invocationCount(), before + 1);
    const ok = await events({ UserName: 'alice', Result: 'Success', EventAction: 'RunCommand' });
    assert.equal(ok.length, 1);
    assert.equal(ok[0]!.RequestId, r.RequestId);
  });

  it('refuses DeleteCommand and keeps the command', async () => {
    const { h, alice } = await setup;
    const { CommandId } = await h.pop.call('CreateCommand', {
      Name: 'keep-me',
      Type: 'RunShellScript',
      CommandContent: Buffer.from('echo keep').toString('base64'),
    });
    const err = await apiError(alice.call('DeleteCommand', { CommandId }));
    assert.equal(err.code, 'Forbidden.RAM');
    const listed = await h.pop.call('DescribeCommands', { CommandId });
    assert.equal(listed.Commands.Command.length, 1);
    const refused = await events({ UserName: 'alice', EventAction: 'DeleteCommand' });
    assert.equal(refused.length, 1);
    assert.equal(refused[0]!.Result, 'Forbidden.RAM');
    assert.deepEqual(refused[0]!.Resources.Resource, [`acs:ecs:cn-local:local:command/${CommandId}`]);
  });

  it('an explicit Deny overrides the Allow at once', async () => {
    const { h, alice, tagged } = await setup;
    await h.pop.call('CreateRamPolicy', {
      PolicyName: 'NoRunCommand',
      PolicyDocument: JSON.stringify({
        Version: '1',
        Statement: [{ Effect: 'Deny', Action: 'ecs:RunCommand', Resource: '*' }],
      }),
    });
    await h.pop.call('AttachRamPolicyToUser', { PolicyName: 'NoRunCommand', UserName: 'alice' });
    const err = await apiError(
      alice.call('RunCommand', { 'InstanceId.1': tagged, Type: 'RunShellScript', CommandContent: 'echo hi' }),
    );
    assert.equal(err.code, 'Forbidden.RAM');
    assert.match(err.message, /ExplicitDeny/);
    await h.pop.call('DetachRamPolicyFromUser', { PolicyName: 'NoRunCommand', UserName: 'alice' });
    const r = await alice.call('RunCommand', {
      'InstanceId.1': tagged,
      Type: 'RunShellScript',
      CommandContent: 'echo hi',
    });
    assert.match(r.InvokeId, /^t-/);
  });

  it('a RAM user may not manage users or policies, but may ask who it is', async () => {
    const { alice } = await setup;
    assert.equal((await apiError(alice.call('CreateRamUser', { UserName: 'mallory' }))).code, 'Forbidden.RAM');
    assert.equal(
      (await apiError(alice.call('AttachRamPolicyToUser', { PolicyName: 'TaggedCommands', UserName: 'alice' }))).code,
      'Forbidden.RAM',
    );
    const me = await alice.call('GetCallerIdentity', {});
    assert.equal(me.IdentityType, 'RAMUser');
    assert.equal(me.UserName, 'alice');
  });

  it('refuses a malformed policy document with MalformedPolicyDocument and stores nothing', async () => {
    const { h } = await setup;
    const err = await apiError(
      h.pop.call('CreateRamPolicy', { PolicyName: 'Broken', PolicyDocument: '{"Version":"1","Statement":[{}]}' }),
    );
    assert.equal(err.code, 'MalformedPolicyDocument');
    const all = await h.pop.call('ListRamPolicies', {});
    assert.ok(!all.Policies.Policy.some((p: { PolicyName: string }) => p.PolicyName === 'Broken'));
  });

  it('audits a failed signature with the key it claimed', async () => {
    const { h, aliceKey } = await setup;
    const forged = new PopClient(h.hostPort, { accessKeyId: aliceKey.accessKeyId, accessKeySecret: 'wrong' }, h.caPath);
    assert.equal((await apiError(forged.call('DescribeCommands', {}))).code, 'SignatureDoesNotMatch');
    const e = await events({ EventAccessKeyId: aliceKey.accessKeyId, Result: 'SignatureDoesNotMatch' });
    assert.equal(e.length, 1);
    assert.equal(e[0]!.EventAction, 'DescribeCommands');
    assert.equal(e[0]!.IdentityType, 'Unknown');
  });

  it('DescribeAuditEvents pages with NextToken and filters by time', async () => {
    const { h } = await setup;
    const all = await events({});
    assert.ok(all.length >= 10, `only ${all.length} events`);
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const r = await h.pop.call('DescribeAuditEvents', { MaxResults: 3, ...(token ? { NextToken: token } : {}) });
      seen.push(...(r.AuditEvents.AuditEvent as AuditEvent[]).map((e) => e.RequestId));
      token = r.NextToken;
      pages++;
    } while (token && pages < 100);
    // Each page call is itself audited: the listing grows while it is paged, so count at least all.
    assert.equal(new Set(seen).size, seen.length);
    for (const e of all) {
      assert.ok(seen.includes(e.RequestId), `${e.RequestId} missing from the pages`);
    }
    const future = await h.pop.call('DescribeAuditEvents', { StartTime: '2999-01-01T00:00:00Z' });
    assert.equal(future.TotalCount, 0);
    assert.equal(
      (await apiError(h.pop.call('DescribeAuditEvents', { StartTime: 'yesterday' }))).code,
      'InvalidParameter',
    );
  });

  it('purges events past the retention', async () => {
    const { h } = await setup;
    await h.cp.audit.flush();
    const purged = await h.cp.audit.purgeExpired(Date.now() + 91 * 86_400_000);
    assert.ok(purged >= 10);
    const left = await h.cp.db.selectFrom('audit_log').select('event_id').execute();
    assert.equal(left.length, 0);
  });

  it("a group's policies apply to its members, and stop when a member leaves", async () => {
    const { h, alice } = await setup;
    const create = () => alice.call('CreateActivation', { InstanceCount: 1, TimeToLiveInHours: 1 });
    assert.equal((await apiError(create())).code, 'Forbidden.RAM');
    await h.pop.call('CreateRamGroup', { GroupName: 'registrars' });
    await h.pop.call('CreateRamPolicy', {
      PolicyName: 'Activations',
      PolicyDocument: readFileSync(join(FIXTURES, 'managed-instances-and-activation-codes.json'), 'utf8'),
    });
    await h.pop.call('AttachRamPolicyToGroup', { PolicyName: 'Activations', GroupName: 'registrars' });
    await h.pop.call('AddUserToRamGroup', { UserName: 'alice', GroupName: 'registrars' });
    assert.match((await create()).ActivationId, /./);
    const groups = await h.pop.call('ListRamGroupsForUser', { UserName: 'alice' });
    assert.deepEqual(
      groups.Groups.Group.map((g: { GroupName: string }) => g.GroupName),
      ['registrars'],
    );
    assert.equal(
      (await apiError(h.pop.call('DeleteRamPolicy', { PolicyName: 'Activations' }))).code,
      'DeleteConflict.Policy.Group',
    );
    await h.pop.call('RemoveUserFromRamGroup', { UserName: 'alice', GroupName: 'registrars' });
    assert.equal((await apiError(create())).code, 'Forbidden.RAM');
  });

  it('deleting the user revokes its key', async () => {
    const { h, alice } = await setup;
    await h.pop.call('DeleteRamUser', { UserName: 'alice' });
    const err = await apiError(alice.call('DescribeCommands', {}));
    assert.equal(err.code, 'InvalidAccessKeyId.NotFound');
  });
});
