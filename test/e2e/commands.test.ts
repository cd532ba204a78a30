// Issue 3, saved and public commands end to end: CreateCommand / ModifyCommand / DescribeCommands /
// DeleteCommand / InvokeCommand through the official SDKs against a real control plane and a real
// agent; quota, tags, paging, and every refusal with its documented code and nothing stored changed.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as EcsModels from '@alicloud/ecs20140526';
import { registerAgent, startAgent, type TestAgent } from '../harness/agent.js';
import { startControlPlane, suiteCleanup, type TestControlPlane } from '../harness/control-plane.js';
import { eventually } from '../harness/eventually.js';
import { apiError } from '../harness/sdk.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const models = ((EcsModels as any).default?.CreateCommandRequestTag ? (EcsModels as any).default : EcsModels) as any;
const tag = (model: string, key: string, value?: string) =>
  new models[`${model}Tag`](value === undefined ? { key } : { key, value });
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const text = (s: string) => Buffer.from(s, 'base64').toString('utf8');

/** Everything a refused call could have touched. */
async function snapshot(h: TestControlPlane) {
  const db = h.cp.db;
  return {
    commands: await db.selectFrom('commands').selectAll().orderBy('command_id').execute(),
    invocations: await db
      .selectFrom('invocations')
      .select(['invoke_id', 'command_id', 'command_content', 'parameters', 'status'])
      .orderBy('invoke_id')
      .execute(),
    records: await db
      .selectFrom('invocation_instances')
      .select(['invoke_id', 'instance_id', 'status'])
      .orderBy('invoke_id')
      .orderBy('instance_id')
      .execute(),
    tags: await db.selectFrom('tags').selectAll().orderBy('resource_id').orderBy('tag_key').execute(),
  };
}

describe('saved and public commands end to end', () => {
  let h: TestControlPlane;
  let agent: TestAgent;
  let offline: string;
  const cleanup = suiteCleanup();
  before(async () => {
    h = await startControlPlane(cleanup, { limits: { maxCommands: 3 } });
    [agent, { instanceId: offline }] = await Promise.all([
      startAgent(cleanup, h, { instanceName: 'cmd-box' }),
      registerAgent(cleanup, h),
    ]);
  });

  /** Polls one execution until it ends; returns the result through the ACS3 SDK model. */
  async function resultOf(invokeId: string) {
    const body = await eventually(
      () => h.ecs.call('describeInvocationResults', { regionId: 'cn-local', invokeId, contentEncoding: 'PlainText' }),
      {
        until: (x) =>
          ['Finished', 'Failed', 'Stopped'].includes(
            x.invocation.invocationResults.invocationResult[0]?.invokeRecordStatus,
          ),
        timeoutMs: 30_000,
        what: `invocation ${invokeId} to end`,
      },
    );
    return body.invocation.invocationResults.invocationResult[0];
  }

  let saved: string;

  it('creates a command with parameters and tags, and describes it as the SDK model has it', async () => {
    const r = await h.ecs.call('createCommand', {
      regionId: 'cn-local',
      name: 'greet',
      type: 'RunShellScript',
      commandContent: b64('echo "{{greeting}}, {{ who }} on {{ACS::InstanceName}} ({{ACS::AccountId}})"'),
      description: 'says hello',
      workingDir: '/tmp',
      timeout: 30,
      enableParameter: true,
      tag: [tag('CreateCommandRequest', 'env', 'prod'), tag('CreateCommandRequest', 'team', 'ops')],
    });
    saved = r.commandId;
    assert.match(saved, /^c-/);
    const d = await h.ecs.call('describeCommands', {
      regionId: 'cn-local',
      commandId: saved,
      contentEncoding: 'PlainText',
    });
    assert.equal(d.totalCount, 1);
    const c = d.commands.command[0];
    assert.equal(c.name, 'greet');
    assert.equal(c.type, 'RunShellScript');
    assert.equal(c.description, 'says hello');
    assert.equal(c.workingDir, '/tmp');
    assert.equal(c.timeout, 30);
    assert.equal(c.enableParameter, true);
    assert.deepEqual(c.parameterNames.parameterName, ['greeting', 'who']);
    assert.deepEqual(
      c.parameterDefinitions.parameterDefinition.map((p: { parameterName: string; required: boolean }) => [
        p.parameterName,
        p.required,
      ]),
      [
        ['greeting', true],
        ['who', true],
      ],
    );
    assert.equal(c.version, 1);
    assert.equal(c.latest, true);
    assert.equal(c.invokeTimes, 0);
    assert.equal(c.provider, '');
    assert.match(c.creationTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.match(c.commandContent, /^echo "\{\{greeting\}\}/);
    assert.deepEqual(
      c.tags.tag.map((t: { tagKey: string; tagValue: string }) => [t.tagKey, t.tagValue]),
      [
        ['env', 'prod'],
        ['team', 'ops'],
      ],
    );
    // Description matches a part of it, literally.
    assert.equal((await h.pop.call('DescribeCommands', { Description: 'ays hel' })).TotalCount, 1);
    assert.equal((await h.pop.call('DescribeCommands', { Description: 's%s' })).TotalCount, 0);
    assert.equal((await h.pop.call('DescribeCommands', { Description: 'says_hello' })).TotalCount, 0);
    // Base64 is the default encoding of the listing.
    const raw = await h.pop.call('DescribeCommands', { CommandId: saved });
    assert.equal(text(raw.Commands.Command[0].CommandContent), c.commandContent);
  });

  it('invokes it with parameters and built-ins, counts the run, and tags the invocation', async () => {
    const r = await h.ecs.call('invokeCommand', {
      regionId: 'cn-local',
      commandId: saved,
      instanceId: [agent.instanceId],
      parameters: { greeting: 'hi; not-a-command', WHO: 'you' },
      tag: [tag('InvokeCommandRequest', 'batch', '1')],
    });
    assert.match(r.invokeId, /^t-/);
    const res = await resultOf(r.invokeId);
    assert.equal(res.invocationStatus, 'Success');
    assert.equal(res.output, 'hi; not-a-command, you on cmd-box (local)\n');
    assert.equal(res.commandId, saved);
    assert.deepEqual(
      res.tags.tag.map((t: { tagKey: string }) => t.tagKey),
      ['batch'],
    );
    const d = await h.ecs.call('describeCommands', { regionId: 'cn-local', commandId: saved });
    assert.equal(d.commands.command[0].invokeTimes, 1);
    const inv = await h.ecs.call('describeInvocations', {
      regionId: 'cn-local',
      invokeId: r.invokeId,
      contentEncoding: 'PlainText',
    });
    const i = inv.invocations.invocation[0];
    assert.equal(i.commandName, 'greet');
    assert.equal(i.commandContent, 'echo "hi; not-a-command, you on {{ACS::InstanceName}} ({{ACS::AccountId}})"');
    assert.equal(i.timeout, 30);
    assert.equal(i.workingDir, '/tmp');
    assert.equal(i.invocationStatus, 'Finished');
    assert.equal(JSON.parse(i.parameters).greeting, 'hi; not-a-command');
    assert.equal(i.tags.tag[0].tagValue, '1');
  });

  it('modifies the command: later runs use the new content, earlier invocations keep theirs', async () => {
    const before = await h.pop.call('DescribeInvocations', { CommandId: saved, ContentEncoding: 'PlainText' });
    await h.ecs.call('modifyCommand', {
      regionId: 'cn-local',
      commandId: saved,
      name: 'greet2',
      commandContent: b64('echo "{{greeting}} again"'),
      timeout: 20,
    });
    const c = (await h.ecs.call('describeCommands', { regionId: 'cn-local', commandId: saved })).commands.command[0];
    assert.equal(c.name, 'greet2');
    assert.equal(c.timeout, 20);
    assert.equal(c.description, 'says hello');
    assert.deepEqual(c.parameterNames.parameterName, ['greeting']);
    const r = await h.ecs.call('invokeCommand', {
      regionId: 'cn-local',
      commandId: saved,
      instanceId: [agent.instanceId],
      parameters: { greeting: 'hello' },
      timeout: 15,
    });
    const res = await resultOf(r.invokeId);
    assert.equal(res.output, 'hello again\n');
    const after = await h.pop.call('DescribeInvocations', { CommandId: saved, ContentEncoding: 'PlainText' });
    assert.equal(after.TotalCount, 2);
    const old = after.Invocations.Invocation.find(
      (i: { InvokeId: string }) => i.InvokeId === before.Invocations.Invocation[0].InvokeId,
    );
    assert.equal(old.CommandContent, before.Invocations.Invocation[0].CommandContent);
    assert.equal(after.Invocations.Invocation.find((i: { InvokeId: string }) => i.InvokeId === r.invokeId).Timeout, 15);
  });

  it('runs public commands by name, lists them only by Provider, and refuses to change them', async () => {
    const pub = await h.pop.call('DescribeCommands', { Provider: 'AlibabaCloud', ContentEncoding: 'PlainText' });
    const names = pub.Commands.Command.map((c: { Name: string }) => c.Name).sort();
    assert.deepEqual(names, ['ACS-ECS-AgentVersion', 'ACS-ECS-DiskUsage']);
    for (const c of pub.Commands.Command) {
      assert.match(c.Provider, /^AlibabaCloud\./);
      assert.equal(c.Latest, true);
      assert.equal(c.Version, 1);
    }
    const mine = await h.pop.call('DescribeCommands', {});
    assert.ok(mine.Commands.Command.every((c: { Name: string }) => !c.Name.startsWith('ACS-')));

    const disk = await h.ecs.call('invokeCommand', {
      regionId: 'cn-local',
      commandId: 'ACS-ECS-DiskUsage',
      instanceId: [agent.instanceId],
    });
    const version = await h.ecs.call('invokeCommand', {
      regionId: 'cn-local',
      commandId: 'ACS-ECS-AgentVersion',
      instanceId: [agent.instanceId],
    });
    const dr = await resultOf(disk.invokeId);
    assert.equal(dr.invocationStatus, 'Success');
    assert.match(dr.output, /Filesystem/);
    assert.match(dr.output, /\/var\/log/);
    assert.equal(dr.commandId, 'c-acs-ecs-diskusage-v1');
    const vr = await resultOf(version.invokeId);
    assert.equal(vr.output, '2.6.0.1\n');
    const byId = await h.pop.call('DescribeCommands', { CommandId: 'c-acs-ecs-diskusage-v1' });
    assert.equal(byId.Commands.Command[0].InvokeTimes, 1);

    const s = await snapshot(h);
    const del = await apiError(h.pop.call('DeleteCommand', { CommandId: 'c-acs-ecs-diskusage-v1' }));
    assert.equal(del.code, 'Operation.Forbidden');
    const mod = await apiError(
      h.pop.call('ModifyCommand', { CommandId: 'c-acs-ecs-agentversion-v1', CommandContent: b64('reboot') }),
    );
    assert.equal(mod.code, 'Operation.Forbidden');
    assert.deepEqual(await snapshot(h), s);
  });

  it('refuses bad commands and invocations with their codes, storing nothing', async () => {
    const s = await snapshot(h);
    const base = { Name: 'x', Type: 'RunShellScript', CommandContent: b64('echo x') };
    const cases: [string, () => Promise<unknown>][] = [
      ['MissingParameter', () => h.pop.call('CreateCommand', { ...base, Name: '' })],
      ['InvalidParameter.Type', () => h.pop.call('CreateCommand', { ...base, Type: 'RunPerlScript' })],
      ['InvalidParameter', () => h.pop.call('CreateCommand', { ...base, CommandContent: 'echo x' })],
      ['InvalidParameter.ContentEncoding', () => h.pop.call('CreateCommand', { ...base, ContentEncoding: 'Hex' })],
      ['CmdName.ExceedLimit', () => h.pop.call('CreateCommand', { ...base, Name: 'n'.repeat(129) })],
      ['CmdDesc.ExceedLimit', () => h.pop.call('CreateCommand', { ...base, Description: 'd'.repeat(513) })],
      ['InvalidParameter.Timeout', () => h.pop.call('CreateCommand', { ...base, Timeout: 86_401 })],
      [
        'InvalidCommandContent.LengthLimitExceeded',
        () =>
          h.pop.call('CreateCommand', { ...base, ContentEncoding: 'PlainText', CommandContent: 'x'.repeat(12_500) }),
      ],
      [
        'CmdParam.InvalidParamName',
        () => h.pop.call('CreateCommand', { ...base, EnableParameter: true, CommandContent: b64('{{a b}}') }),
      ],
      [
        'CmdParam.EmptyKey',
        () => h.pop.call('CreateCommand', { ...base, EnableParameter: true, CommandContent: b64('{{ }}') }),
      ],
      [
        'InvalidTagKey.Malformed',
        () => h.pop.call('CreateCommand', { ...base, 'Tag.1.Key': 'aliyun:x', 'Tag.1.Value': 'v' }),
      ],
      ['Duplicate.TagKey', () => h.pop.call('CreateCommand', { ...base, 'Tag.1.Key': 'k', 'Tag.2.Key': 'k' })],
      [
        'InvalidTagCount',
        () =>
          h.pop.call('CreateCommand', {
            ...base,
            ...Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`Tag.${i + 1}.Key`, `k${i}`])),
          }),
      ],
      ['InvalidCmdId.NotFound', () => h.pop.call('ModifyCommand', { CommandId: 'c-nope', Name: 'y' })],
      ['InvalidCmdId.NotFound', () => h.pop.call('DeleteCommand', { CommandId: 'c-nope' })],
      ['MissingParameter', () => h.pop.call('DeleteCommand', {})],
      ['InvalidParameter', () => h.pop.call('ModifyCommand', { CommandId: saved, CommandContent: 'not base64!' })],
      [
        'InvalidCmdId.NotFound',
        () => h.pop.call('InvokeCommand', { CommandId: 'c-nope', 'InstanceId.1': agent.instanceId }),
      ],
      [
        'InvalidCmdId.NotFound',
        () => h.pop.call('InvokeCommand', { CommandId: 'ACS-ECS-Nope', 'InstanceId.1': agent.instanceId }),
      ],
      ['MissingParameter', () => h.pop.call('InvokeCommand', { CommandId: saved })],
      [
        'InvalidParameter.Parameters',
        () => h.pop.call('InvokeCommand', { CommandId: saved, 'InstanceId.1': agent.instanceId, Parameters: '{}' }),
      ],
      [
        'InvalidParameter.Parameters',
        () =>
          h.pop.call('InvokeCommand', {
            CommandId: saved,
            'InstanceId.1': agent.instanceId,
            Parameters: JSON.stringify({ greeting: 'a', extra: 'b' }),
          }),
      ],
      [
        'Parameter.Disabled',
        () =>
          h.pop.call('InvokeCommand', {
            CommandId: 'ACS-ECS-DiskUsage',
            'InstanceId.1': agent.instanceId,
            Parameters: JSON.stringify({ a: 1 }),
          }),
      ],
      [
        'InvalidParameter.RepeatMode',
        () =>
          h.pop.call('InvokeCommand', {
            CommandId: 'ACS-ECS-DiskUsage',
            'InstanceId.1': agent.instanceId,
            RepeatMode: 'DryRun',
          }),
      ],
      [
        'MissingParameter', // Period (also implied by Timed) needs a Frequency
        () =>
          h.pop.call('InvokeCommand', {
            CommandId: 'ACS-ECS-DiskUsage',
            'InstanceId.1': agent.instanceId,
            Timed: true,
          }),
      ],
      [
        'InvalidParameter.InstanceIds',
        () =>
          h.pop.call('InvokeCommand', {
            CommandId: 'ACS-ECS-DiskUsage',
            ...Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`InstanceId.${i + 1}`, `mi-fake${i}`])),
          }),
      ],
      [
        'InvalidInstanceId.NotFound',
        () =>
          h.pop.call('InvokeCommand', {
            CommandId: 'ACS-ECS-DiskUsage',
            'InstanceId.1': agent.instanceId,
            'InstanceId.2': 'mi-nope',
          }),
      ],
      [
        'Username.ExceedLimit',
        () =>
          h.pop.call('InvokeCommand', {
            CommandId: saved,
            'InstanceId.1': agent.instanceId,
            Username: 'u'.repeat(256),
          }),
      ],
      ['InvalidParameter.ContentEncoding', () => h.pop.call('DescribeInvocations', { ContentEncoding: 'Hex' })],
      ['InvalidParameter.NextToken', () => h.pop.call('DescribeCommands', { NextToken: 'garbage' })],
      ['InvalidParameter', () => h.pop.call('DescribeInvocationResults', { MaxResults: 51 })],
    ];
    for (const [want, call] of cases) {
      const e = await apiError(call());
      assert.equal(e.code, want, e.message);
    }
    assert.deepEqual(await snapshot(h), s);
  });

  it('keeps at most the quota of saved commands; run-only commands use none and stay hidden', async () => {
    // `greet` is one saved command; the quota of this control plane is 3.
    const mk = (name: string, extra: Record<string, unknown> = {}) =>
      h.pop.call('CreateCommand', { Name: name, Type: 'RunShellScript', CommandContent: b64('true'), ...extra });
    const two = (await mk('two', { ClientToken: 'tok-two' })).CommandId;
    assert.equal(
      (await mk('two', { ClientToken: 'tok-two' })).CommandId,
      two,
      'a ClientToken retry is the same command',
    );
    const e0 = await apiError(mk('other', { ClientToken: 'tok-two' }));
    assert.equal(e0.code, 'IdempotentParameterMismatch');
    const three = (await mk('three')).CommandId;
    const s = await snapshot(h);
    assert.equal((await apiError(mk('four'))).code, 'CmdCount.ExceedQuota');
    const keep = await apiError(
      h.pop.call('RunCommand', {
        Type: 'RunShellScript',
        CommandContent: 'true',
        'InstanceId.1': offline,
        KeepCommand: true,
      }),
    );
    assert.equal(keep.code, 'CmdCount.ExceedQuota');
    assert.deepEqual(await snapshot(h), s);

    // InvokeCommand is idempotent on ClientToken too.
    const inv = { CommandId: 'ACS-ECS-DiskUsage', 'InstanceId.1': offline, ClientToken: 'inv-tok' };
    const i1 = await h.pop.call('InvokeCommand', inv);
    assert.equal((await h.pop.call('InvokeCommand', inv)).InvokeId, i1.InvokeId);
    const e2 = await apiError(h.pop.call('InvokeCommand', { ...inv, CommandId: 'ACS-ECS-AgentVersion' }));
    assert.equal(e2.code, 'IdempotentParameterMismatch');

    // RunCommand without KeepCommand still works at the quota, and its command is not listed or invocable.
    const run = await h.pop.call('RunCommand', {
      Type: 'RunShellScript',
      CommandContent: 'true',
      'InstanceId.1': offline,
    });
    const hidden = await h.pop.call('DescribeCommands', { CommandId: run.CommandId });
    assert.equal(hidden.TotalCount, 0);
    const e1 = await apiError(h.pop.call('InvokeCommand', { CommandId: run.CommandId, 'InstanceId.1': offline }));
    assert.equal(e1.code, 'InvalidCmdId.NotFound');
    assert.equal((await h.pop.call('DescribeCommands', {})).TotalCount, 3);

    // Deleting frees a place; a kept RunCommand then takes it and is listed.
    await h.pop.call('DeleteCommand', { CommandId: three });
    assert.equal((await apiError(h.pop.call('DeleteCommand', { CommandId: three }))).code, 'InvalidCmdId.NotFound');
    const kept = await h.pop.call('RunCommand', {
      Type: 'RunShellScript',
      CommandContent: 'true',
      Name: 'kept-run',
      'InstanceId.1': offline,
      KeepCommand: true,
    });
    const listed = await h.pop.call('DescribeCommands', { Name: 'kept-run' });
    assert.equal(listed.Commands.Command[0].CommandId, kept.CommandId);
    assert.equal((await apiError(mk('five'))).code, 'CmdCount.ExceedQuota');
    await h.pop.call('DeleteCommand', { CommandId: two });
  });

  it('filters commands, invocations and results by tag', async () => {
    const run = (tags: Record<string, string>) =>
      h.ecs.call('runCommand', {
        regionId: 'cn-local',
        type: 'RunShellScript',
        commandContent: 'true',
        instanceId: [offline],
        tag: Object.entries(tags).map(([k, v]) => tag('RunCommandRequest', k, v)),
      });
    const a = await run({ tier: 'web', color: 'blue' });
    const b = await run({ tier: 'db' });
    await run({});
    const invocationsWith = async (t: [string, string?][]) => {
      const r = await h.ecs.call('describeInvocations', {
        regionId: 'cn-local',
        tag: t.map(([k, v]) => tag('DescribeInvocationsRequest', k, v)),
        pageSize: 50,
      });
      return r.invocations.invocation.map((i: { invokeId: string }) => i.invokeId).sort();
    };
    assert.deepEqual(await invocationsWith([['tier']]), [a.invokeId, b.invokeId].sort());
    assert.deepEqual(await invocationsWith([['tier', 'web']]), [a.invokeId]);
    assert.deepEqual(
      await invocationsWith([
        ['tier', 'web'],
        ['color', 'red'],
      ]),
      [],
    );
    const res = await h.ecs.call('describeInvocationResults', {
      regionId: 'cn-local',
      tag: [tag('DescribeInvocationResultsRequest', 'tier', 'db')],
    });
    assert.deepEqual(
      res.invocation.invocationResults.invocationResult.map((r: { invokeId: string }) => r.invokeId),
      [b.invokeId],
    );
    const cmds = await h.ecs.call('describeCommands', {
      regionId: 'cn-local',
      tag: [tag('DescribeCommandsRequest', 'team', 'ops')],
    });
    assert.deepEqual(
      cmds.commands.command.map((c: { commandId: string }) => c.commandId),
      [saved],
    );
  });

  it('pages invocations, results and commands by number and by token, in SQL order', async () => {
    for (let i = 0; i < 5; i += 1) {
      await h.pop.call('RunCommand', {
        Type: 'RunShellScript',
        CommandContent: `echo ${i}`,
        Name: 'pager',
        'InstanceId.1': offline,
      });
    }
    const all = await h.pop.call('DescribeInvocations', { CommandName: 'pager', PageSize: 50 });
    assert.equal(all.TotalCount, 5);
    const ids = all.Invocations.Invocation.map((i: { InvokeId: string }) => i.InvokeId);
    // By number.
    const p2 = await h.pop.call('DescribeInvocations', { CommandName: 'pager', PageSize: 2, PageNumber: 2 });
    assert.equal(p2.PageNumber, 2);
    assert.equal(p2.PageSize, 2);
    assert.deepEqual(
      p2.Invocations.Invocation.map((i: { InvokeId: string }) => i.InvokeId),
      ids.slice(2, 4),
    );
    // By token, through the ACS3 SDK.
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const r = await h.ecs.call('describeInvocations', {
        regionId: 'cn-local',
        commandName: 'pager',
        maxResults: 2,
        ...(token ? { nextToken: token } : {}),
      });
      assert.equal(r.totalCount, 5);
      seen.push(...r.invocations.invocation.map((i: { invokeId: string }) => i.invokeId));
      token = r.nextToken;
    } while (token);
    assert.deepEqual(seen, ids);
    // Filters that the list above must agree with.
    const failed = await h.pop.call('DescribeInvocations', {
      CommandName: 'pager',
      InvokeStatus: 'Failed',
      PageSize: 50,
    });
    assert.equal(failed.TotalCount, 5, 'every run to the offline instance failed (ClientNotOnline)');
    assert.equal(
      (await h.pop.call('DescribeInvocations', { CommandName: 'pager', InvokeStatus: 'Running' })).TotalCount,
      0,
    );
    assert.equal(
      (await h.pop.call('DescribeInvocations', { CommandName: 'pager', RepeatMode: 'Period' })).TotalCount,
      0,
    );
    assert.equal((await h.pop.call('DescribeInvocations', { CommandName: 'pager', Timed: false })).TotalCount, 5);
    assert.equal(
      (await h.pop.call('DescribeInvocations', { CommandName: 'pager', CommandType: 'RunBatScript' })).TotalCount,
      0,
    );
    // Results of the offline instance, by token.
    const results: string[] = [];
    let next: string | undefined;
    do {
      const r = await h.pop.call('DescribeInvocationResults', {
        InstanceId: offline,
        InvokeRecordStatus: 'Failed',
        MaxResults: 3,
        ...(next ? { NextToken: next } : {}),
      });
      for (const x of r.Invocation.InvocationResults.InvocationResult) {
        assert.equal(x.ErrorCode, 'ClientNotOnline');
        results.push(x.InvokeId);
      }
      next = r.Invocation.NextToken;
    } while (next);
    const total = (await h.pop.call('DescribeInvocationResults', { InstanceId: offline, PageSize: 50 })).Invocation;
    assert.equal(results.length, total.TotalCount);
    assert.equal(new Set(results).size, results.length);
    // Commands, by token: the one saved command left and the kept RunCommand.
    const c1 = await h.pop.call('DescribeCommands', { MaxResults: 1 });
    const c2 = await h.pop.call('DescribeCommands', { MaxResults: 1, NextToken: c1.NextToken });
    assert.equal(c2.NextToken, undefined);
    assert.notEqual(c1.Commands.Command[0].CommandId, c2.Commands.Command[0].CommandId);
  });
});
