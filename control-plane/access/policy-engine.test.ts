// The policy engine, table-driven: the product documentation's sample policies as written,
// wildcards, resource scoping, tag conditions, source addresses, explicit deny, no policy.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { plannedChecks, type CallParams } from './action-resources.js';
import { compilePolicy, PolicyDocumentError } from './policy-document.js';
import { evaluate, type Check } from './policy-engine.js';

const FIXTURES = join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'ram-policies');
const docsPolicy = (file: string) => readFileSync(join(FIXTURES, `${file}.json`), 'utf8');
const scope = { regionId: 'cn-hangzhou', accountId: '1234567890' };
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

/** Tags of the instances the rows name. */
const TAGS: Record<string, Record<string, string>> = {
  'i-alice1': { user: 'alice' },
  'i-bob1': { user: 'bob' },
  'i-prod1': { env: 'prod' },
};

interface Row {
  name: string;
  /** Fixture names, or inline documents (starting with `{`). */
  policies: string[];
  action: string;
  params?: CallParams;
  sourceIp?: string;
  scope?: { regionId: string; accountId: string };
  expect: 'Allow' | 'ImplicitDeny' | 'ExplicitDeny';
  /** The refused check's action / resource, when refused. */
  refused?: { action: string; resource?: string };
}

const inline = (statements: unknown[]) => JSON.stringify({ Version: '1', Statement: statements });

const ROWS: Row[] = [
  // --- the documentation's sample policies, as written ---
  {
    name: 'commands policy: RunCommand on two instances',
    policies: ['cloud-assistant-commands'],
    action: 'RunCommand',
    params: { 'InstanceId.1': 'i-a', 'InstanceId.2': 'i-b', CommandContent: 'echo hi' },
    expect: 'Allow',
  },
  {
    name: 'commands policy: StopInvocation and DescribeInvocationResults',
    policies: ['cloud-assistant-commands'],
    action: 'StopInvocation',
    params: { InvokeId: 't-1', 'InstanceId.1': 'i-a' },
    expect: 'Allow',
  },
  {
    name: 'commands policy grants no activation codes',
    policies: ['cloud-assistant-commands'],
    action: 'CreateActivation',
    expect: 'ImplicitDeny',
    refused: { action: 'ecs:CreateActivation', resource: 'acs:ecs:cn-hangzhou:1234567890:activation/*' },
  },
  {
    name: 'commands policy grants no file sends',
    policies: ['cloud-assistant-commands'],
    action: 'SendFile',
    params: { 'InstanceId.1': 'i-a' },
    expect: 'ImplicitDeny',
  },
  {
    name: 'region policy: RunCommand in its region',
    policies: ['commands-in-one-region'],
    action: 'RunCommand',
    params: { 'InstanceId.1': 'i-a' },
    expect: 'Allow',
  },
  {
    name: 'region policy: RunCommand in another region',
    policies: ['commands-in-one-region'],
    scope: { regionId: 'cn-beijing', accountId: '1234567890' },
    action: 'RunCommand',
    params: { 'InstanceId.1': 'i-a' },
    expect: 'ImplicitDeny',
    refused: { action: 'ecs:RunCommand', resource: 'acs:ecs:cn-beijing:1234567890:instance/i-a' },
  },
  {
    name: 'one command policy: that command on a listed instance',
    policies: ['one-command-on-some-instances'],
    action: 'InvokeCommand',
    params: { CommandId: 'c-command1', 'InstanceId.1': 'i-instance1', 'InstanceId.2': 'i-instance2' },
    expect: 'Allow',
  },
  {
    name: 'one command policy: another command',
    policies: ['one-command-on-some-instances'],
    action: 'InvokeCommand',
    params: { CommandId: 'c-other', 'InstanceId.1': 'i-instance1' },
    expect: 'ImplicitDeny',
    refused: { action: 'ecs:InvokeCommand', resource: 'acs:ecs:cn-hangzhou:1234567890:command/c-other' },
  },
  {
    name: 'one command policy: every instance must be allowed',
    policies: ['one-command-on-some-instances'],
    action: 'InvokeCommand',
    params: { CommandId: 'c-command1', 'InstanceId.1': 'i-instance1', 'InstanceId.2': 'i-instance3' },
    expect: 'ImplicitDeny',
    refused: { action: 'ecs:InvokeCommand', resource: 'acs:ecs:cn-hangzhou:1234567890:instance/i-instance3' },
  },
  {
    name: 'one command policy: RunCommand is another action',
    policies: ['one-command-on-some-instances'],
    action: 'RunCommand',
    params: { 'InstanceId.1': 'i-instance1' },
    expect: 'ImplicitDeny',
  },
  {
    name: 'tag policy: RunCommand on an instance tagged user:alice',
    policies: ['commands-on-tagged-instances'],
    action: 'RunCommand',
    params: { 'InstanceId.1': 'i-alice1' },
    expect: 'Allow',
  },
  {
    name: 'tag policy: RunCommand on an instance tagged user:bob',
    policies: ['commands-on-tagged-instances'],
    action: 'RunCommand',
    params: { 'InstanceId.1': 'i-alice1', 'InstanceId.2': 'i-bob1' },
    expect: 'ImplicitDeny',
    refused: { action: 'ecs:RunCommand', resource: 'acs:ecs:cn-hangzhou:1234567890:instance/i-bob1' },
  },
  {
    name: 'tag policy: an instance without the tag',
    policies: ['commands-on-tagged-instances'],
    action: 'SendFile',
    params: { 'InstanceId.1': 'i-untagged' },
    expect: 'ImplicitDeny',
  },
  {
    name: 'tag policy: Describe* covers every Describe action',
    policies: ['commands-on-tagged-instances'],
    action: 'DescribeInvocationResults',
    params: { InvokeId: 't-1' },
    expect: 'Allow',
  },
  {
    name: 'tag policy: but not DeleteCommand',
    policies: ['commands-on-tagged-instances'],
    action: 'DeleteCommand',
    params: { CommandId: 'c-1' },
    expect: 'ImplicitDeny',
  },
  {
    name: 'activation policy: CreateActivation',
    policies: ['managed-instances-and-activation-codes'],
    action: 'CreateActivation',
    expect: 'Allow',
  },
  {
    name: 'activation policy: DeleteActivation of a given code',
    policies: ['managed-instances-and-activation-codes'],
    action: 'DeleteActivation',
    params: { ActivationId: '4ECEEE12-0000' },
    expect: 'Allow',
  },
  {
    name: 'activation policy: DeregisterManagedInstance',
    policies: ['managed-instances-and-activation-codes'],
    action: 'DeregisterManagedInstance',
    params: { InstanceId: 'mi-1' },
    expect: 'Allow',
  },
  {
    name: 'activation policy grants no commands',
    policies: ['managed-instances-and-activation-codes'],
    action: 'RunCommand',
    params: { 'InstanceId.1': 'mi-1' },
    expect: 'ImplicitDeny',
  },
  {
    name: 'parameter store policy: a command naming {{oos:…}}',
    policies: ['oos-parameters-in-commands'],
    action: 'RunCommand',
    params: { 'InstanceId.1': 'i-a', CommandContent: 'echo {{oos:db-host}}', EnableParameter: 'true' },
    expect: 'Allow',
  },
  {
    name: 'parameter store policy: Base64 content naming {{ oos-secret:… }} needs GetSecretParameters',
    policies: ['oos-parameters-in-commands'],
    action: 'RunCommand',
    params: { 'InstanceId.1': 'i-a', CommandContent: b64('pw={{ oos-secret:db-pass }}'), ContentEncoding: 'Base64' },
    expect: 'ImplicitDeny',
    refused: { action: 'oos:GetSecretParameters', resource: 'acs:oos:cn-hangzhou:1234567890:parameter/db-pass' },
  },
  {
    name: 'secret parameter policy: {{oos-secret:…}} allowed',
    policies: ['oos-secret-parameters-in-commands'],
    action: 'RunCommand',
    params: { 'InstanceId.1': 'i-a', CommandContent: 'pw={{oos-secret:db-pass}}' },
    expect: 'Allow',
  },
  {
    name: 'commands without the parameter store: a command naming a parameter is refused',
    policies: ['cloud-assistant-commands'],
    action: 'RunCommand',
    params: { 'InstanceId.1': 'i-a', CommandContent: 'echo {{oos:db-host}}' },
    expect: 'ImplicitDeny',
    refused: { action: 'oos:GetParameters', resource: 'acs:oos:cn-hangzhou:1234567890:parameter/db-host' },
  },
  {
    name: 'an OOS action on a named parameter',
    policies: [inline([{ Effect: 'Allow', Action: 'oos:GetParameter*', Resource: 'acs:oos:*:*:parameter/app/*' }])],
    action: 'GetParameters',
    params: { Version: '2019-06-01', Names: '["app/a","app/b"]' },
    expect: 'Allow',
  },
  {
    name: 'an OOS action on a parameter outside the allowed path',
    policies: [inline([{ Effect: 'Allow', Action: 'oos:GetParameter*', Resource: 'acs:oos:*:*:parameter/app/*' }])],
    action: 'GetParameters',
    params: { Version: '2019-06-01', Names: '["app/a","other"]' },
    expect: 'ImplicitDeny',
    refused: { action: 'oos:GetParameters', resource: 'acs:oos:cn-hangzhou:1234567890:parameter/other' },
  },
  // --- wildcards and case ---
  {
    name: 'Action * and Resource *',
    policies: [inline([{ Effect: 'Allow', Action: '*', Resource: '*' }])],
    action: 'DeleteCommand',
    params: { CommandId: 'c-1' },
    expect: 'Allow',
  },
  {
    name: 'ecs:* does not cover oos actions',
    policies: [inline([{ Effect: 'Allow', Action: 'ecs:*', Resource: '*' }])],
    action: 'GetParameter',
    params: { Version: '2019-06-01', Name: 'x' },
    expect: 'ImplicitDeny',
  },
  {
    name: 'actions match without regard to case',
    policies: [inline([{ Effect: 'Allow', Action: 'ECS:describe*', Resource: '*' }])],
    action: 'DescribeCommands',
    expect: 'Allow',
  },
  {
    name: 'ecs:Describe* does not cover RunCommand',
    policies: [inline([{ Effect: 'Allow', Action: 'ecs:Describe*', Resource: '*' }])],
    action: 'RunCommand',
    params: { 'InstanceId.1': 'i-a' },
    expect: 'ImplicitDeny',
  },
  {
    name: '? matches one character in a resource',
    policies: [inline([{ Effect: 'Allow', Action: 'ecs:DeleteCommand', Resource: 'acs:ecs:*:*:command/c-?' }])],
    action: 'DeleteCommand',
    params: { CommandId: 'c-12' },
    expect: 'ImplicitDeny',
  },
  {
    name: 'NotAction: everything but DeleteCommand',
    policies: [inline([{ Effect: 'Allow', NotAction: 'ecs:DeleteCommand', Resource: '*' }])],
    action: 'DeleteCommand',
    params: { CommandId: 'c-1' },
    expect: 'ImplicitDeny',
  },
  // --- explicit deny ---
  {
    name: 'Deny beats Allow',
    policies: ['cloud-assistant-commands', inline([{ Effect: 'Deny', Action: 'ecs:DeleteCommand', Resource: '*' }])],
    action: 'DeleteCommand',
    params: { CommandId: 'c-1' },
    expect: 'ExplicitDeny',
  },
  {
    name: 'Deny of production instances by tag, one of several instances',
    policies: [
      inline([
        { Effect: 'Allow', Action: 'ecs:*', Resource: '*' },
        {
          Effect: 'Deny',
          Action: 'ecs:RunCommand',
          Resource: 'acs:ecs:*:*:instance/*',
          Condition: { StringEquals: { 'ecs:tag/env': 'prod' } },
        },
      ]),
    ],
    action: 'RunCommand',
    params: { 'InstanceId.1': 'i-a', 'InstanceId.2': 'i-prod1' },
    expect: 'ExplicitDeny',
    refused: { action: 'ecs:RunCommand', resource: 'acs:ecs:cn-hangzhou:1234567890:instance/i-prod1' },
  },
  {
    name: 'StringNotEquals on a missing tag holds',
    policies: [
      inline([
        {
          Effect: 'Allow',
          Action: 'ecs:RunCommand',
          Resource: '*',
          Condition: { StringNotEquals: { 'ecs:tag/env': 'prod' } },
        },
      ]),
    ],
    action: 'RunCommand',
    params: { 'InstanceId.1': 'i-alice1' },
    expect: 'Allow',
  },
  {
    name: 'StringLike on a tag',
    policies: [
      inline([
        {
          Effect: 'Allow',
          Action: 'ecs:RunCommand',
          Resource: 'acs:ecs:*:*:instance/*',
          Condition: { StringLike: { 'acs:ResourceTag/user': 'al*' } },
        },
        { Effect: 'Allow', Action: 'ecs:RunCommand', Resource: 'acs:ecs:*:*:command/*' },
      ]),
    ],
    action: 'RunCommand',
    params: { 'InstanceId.1': 'i-alice1' },
    expect: 'Allow',
  },
  // --- source address and time ---
  {
    name: 'IpAddress: a caller inside the range',
    policies: [
      inline([
        {
          Effect: 'Allow',
          Action: 'ecs:*',
          Resource: '*',
          Condition: { IpAddress: { 'acs:SourceIp': ['10.0.0.0/8'] } },
        },
      ]),
    ],
    action: 'DescribeInvocations',
    sourceIp: '10.1.2.3',
    expect: 'Allow',
  },
  {
    name: 'IpAddress: a caller outside the range',
    policies: [
      inline([
        {
          Effect: 'Allow',
          Action: 'ecs:*',
          Resource: '*',
          Condition: { IpAddress: { 'acs:SourceIp': ['10.0.0.0/8'] } },
        },
      ]),
    ],
    action: 'DescribeInvocations',
    sourceIp: '192.168.1.1',
    expect: 'ImplicitDeny',
  },
  {
    name: 'NotIpAddress Deny: everything from outside the office',
    policies: [
      'cloud-assistant-commands',
      inline([
        { Effect: 'Deny', Action: '*', Resource: '*', Condition: { NotIpAddress: { 'acs:SourceIp': '127.0.0.1' } } },
      ]),
    ],
    action: 'RunCommand',
    params: { 'InstanceId.1': 'i-a' },
    sourceIp: '192.0.2.7',
    expect: 'ExplicitDeny',
  },
  {
    name: 'DateLessThan on acs:CurrentTime: a grant that has expired',
    policies: [
      inline([
        {
          Effect: 'Allow',
          Action: 'ecs:*',
          Resource: '*',
          Condition: { DateLessThan: { 'acs:CurrentTime': '2020-01-01T00:00:00Z' } },
        },
      ]),
    ],
    action: 'DescribeCommands',
    expect: 'ImplicitDeny',
  },
  // --- no policy ---
  { name: 'no policy: nothing is allowed', policies: [], action: 'DescribeCommands', expect: 'ImplicitDeny' },
];

describe('policy engine', () => {
  for (const row of ROWS) {
    it(row.name, () => {
      const policies = row.policies.map((p, i) => compilePolicy(`p${i}`, p.startsWith('{') ? p : docsPolicy(p)));
      const checks: Check[] = plannedChecks(row.action, row.params ?? {}, row.scope ?? scope).map((c) => ({
        action: c.action,
        resource: c.resource.arn,
        ...(c.resource.instanceId !== undefined
          ? { tags: new Map(Object.entries(TAGS[c.resource.instanceId] ?? {})) }
          : {}),
      }));
      const d = evaluate(policies, checks, {
        sourceIp: row.sourceIp ?? '127.0.0.1',
        nowMs: Date.now(),
        secureTransport: true,
      });
      assert.equal(d.allowed ? 'Allow' : d.why, row.expect);
      if (!d.allowed && row.refused) {
        assert.equal(d.check.action, row.refused.action);
        if (row.refused.resource) {
          assert.equal(d.check.resource, row.refused.resource);
        }
      }
    });
  }
});

describe('policy documents', () => {
  const bad: [string, string][] = [
    ['not JSON', '{'],
    ['no Version', JSON.stringify({ Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] })],
    ['empty Statement', JSON.stringify({ Version: '1', Statement: [] })],
    ['bad Effect', inline([{ Effect: 'Maybe', Action: '*', Resource: '*' }])],
    ['no Resource', inline([{ Effect: 'Allow', Action: '*' }])],
    ['Action and NotAction', inline([{ Effect: 'Allow', Action: '*', NotAction: '*', Resource: '*' }])],
    ['action without a service', inline([{ Effect: 'Allow', Action: 'RunCommand', Resource: '*' }])],
    [
      'unknown operator',
      inline([{ Effect: 'Allow', Action: '*', Resource: '*', Condition: { NumericFoo: { a: '1' } } }]),
    ],
    [
      'bad CIDR',
      inline([
        { Effect: 'Allow', Action: '*', Resource: '*', Condition: { IpAddress: { 'acs:SourceIp': '10.0.0.0/40' } } },
      ]),
    ],
    ['unknown element', inline([{ Effect: 'Allow', Action: '*', Resource: '*', Principal: '*' }])],
  ];
  for (const [name, doc] of bad) {
    it(`refuses ${name}`, () => {
      assert.throws(() => compilePolicy('p', doc), PolicyDocumentError);
    });
  }
  it('accepts every documentation sample', () => {
    for (const f of [
      'cloud-assistant-commands',
      'commands-in-one-region',
      'one-command-on-some-instances',
      'commands-on-tagged-instances',
      'managed-instances-and-activation-codes',
      'oos-parameters-in-commands',
      'oos-secret-parameters-in-commands',
    ]) {
      assert.ok(compilePolicy(f, docsPolicy(f)).statements.length > 0, f);
    }
  });
});
