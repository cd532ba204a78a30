// Inputs for test/integration/fuzz.test.ts: a seeded generator, hostile values, OpenAPI
// parameters shaped by the SDK request models, and luban queries and bodies shaped like the
// stock agent's. Pure: nothing here sends a request.
import assert from 'node:assert/strict';
import * as EcsModels from '@alicloud/ecs20140526';
import { LubanPath } from '../../protocol/index.js';

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return { next, int, pick: <T>(xs: readonly T[]): T => xs[int(xs.length)]!, chance: (p: number) => next() < p };
}
export type Rng = ReturnType<typeof prng>;

export const PROTO = [
  '__proto__',
  'constructor',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'prototype',
  '__defineSetter__',
];
export const HOSTILE = [
  ...PROTO,
  '',
  ' ',
  '0',
  '-1',
  '-0',
  '1.5',
  '0x10',
  '1e309',
  'NaN',
  'Infinity',
  '-Infinity',
  '922337203685477580',
  '9007199254740993',
  '-9223372036854775809',
  '4294967296',
  '99999999999999999999999999999',
  'true',
  'false',
  'null',
  'undefined',
  '[]',
  '[1,2]',
  '["a","b"]',
  '{}',
  '{"__proto__":{"polluted":1}}',
  '{"constructor":{"prototype":{"x":1}}}',
  '\u0000',
  'a\u0000b',
  '😀'.repeat(40),
  '\u202eevil',
  'ﷺ',
  '../../../etc/passwd',
  "'; DROP TABLE instances; --",
  '%',
  '_',
  '*',
  '\\',
  '%00',
  'rate(1s)',
  'at(9999-99-99 99:99:99 Nowhere/Zone)',
  '0 0 0 ? * * 2099 __proto__',
  '* * * * * * * * *',
  'PlainText',
  'Base64',
  'RunShellScript',
  'Period',
];
export const PROTOCOL_PARAMS = ['Action', 'Version', 'AccessKeyId', 'SignatureMethod', 'SignatureNonce', 'Timestamp'];

export function hostile(r: Rng, pools: string[]): string {
  const k = r.int(10);
  if (k < 5) {
    return r.pick(HOSTILE);
  }
  if (k < 7 && pools.length > 0) {
    return r.pick(pools);
  }
  if (k === 7) {
    return 'x'.repeat(r.pick([300, 5_000, 70_000]));
  }
  if (k === 8) {
    return String(r.pick([-1, 1, 10, 50, 51, 86400, 86401]) * r.pick([1, -1, 1000]));
  }
  // Any code point but a lone surrogate, which no UTF-8 request can carry.
  return Array.from({ length: 1 + r.int(12) }, () => {
    const c = r.int(0x2ffff);
    return String.fromCodePoint(c >= 0xd800 && c <= 0xdfff ? c + 0x800 : c);
  }).join('');
}

/** A parameter's RPC shape from the SDK model: scalar, list (`Name.N`), tags (`Name.N.Key`) or JSON map. */
export type Shape = 'string' | 'number' | 'boolean' | 'list' | 'tags' | 'map';
const models = ((EcsModels as unknown as { default?: Record<string, unknown> }).default ?? EcsModels) as Record<
  string,
  { names(): Record<string, string>; types(): Record<string, unknown> }
>;
/**
 * Extension actions of this control plane (no SDK model): their parameters, as documented; an
 * action without any gets the common RegionId, so a mutation has something to work on.
 */
const EXTENSION_SCHEMAS: Record<string, [string, Shape][]> = {
  GetCallerIdentity: [['RegionId', 'string']],
  // Plugin catalogue (control-plane/openapi/plugin-actions.ts).
  PublishPlugin: [
    ['Package', 'string'],
    ['Description', 'string'],
  ],
  ListPlugins: [
    ['Name', 'string'],
    ['IncludeRetired', 'boolean'],
  ],
  RetirePluginVersion: [
    ['Name', 'string'],
    ['PluginVersion', 'string'],
  ],
  DescribeTerminalSessionRecording: [['SessionId', 'string']],
  CreateRamUser: [
    ['UserName', 'string'],
    ['DisplayName', 'string'],
    ['Comments', 'string'],
  ],
  DeleteRamUser: [['UserName', 'string']],
  ListRamUsers: [['RegionId', 'string']],
  CreateRamAccessKey: [['UserName', 'string']],
  ListRamAccessKeys: [['UserName', 'string']],
  DeleteRamAccessKey: [
    ['UserName', 'string'],
    ['UserAccessKeyId', 'string'],
  ],
  CreateRamPolicy: [
    ['PolicyName', 'string'],
    ['PolicyDocument', 'string'],
    ['Description', 'string'],
  ],
  UpdateRamPolicy: [
    ['PolicyName', 'string'],
    ['PolicyDocument', 'string'],
  ],
  GetRamPolicy: [['PolicyName', 'string']],
  DeleteRamPolicy: [['PolicyName', 'string']],
  ListRamPolicies: [['RegionId', 'string']],
  AttachRamPolicyToUser: [
    ['PolicyName', 'string'],
    ['UserName', 'string'],
  ],
  DetachRamPolicyFromUser: [
    ['PolicyName', 'string'],
    ['UserName', 'string'],
  ],
  ListRamPoliciesForUser: [['UserName', 'string']],
  CreateRamGroup: [
    ['GroupName', 'string'],
    ['Comments', 'string'],
  ],
  DeleteRamGroup: [['GroupName', 'string']],
  ListRamGroups: [['RegionId', 'string']],
  AddUserToRamGroup: [
    ['UserName', 'string'],
    ['GroupName', 'string'],
  ],
  RemoveUserFromRamGroup: [
    ['UserName', 'string'],
    ['GroupName', 'string'],
  ],
  ListRamGroupsForUser: [['UserName', 'string']],
  AttachRamPolicyToGroup: [
    ['PolicyName', 'string'],
    ['GroupName', 'string'],
  ],
  DetachRamPolicyFromGroup: [
    ['PolicyName', 'string'],
    ['GroupName', 'string'],
  ],
  ListRamPoliciesForGroup: [['GroupName', 'string']],
  DescribeAuditEvents: [
    ['StartTime', 'string'],
    ['EndTime', 'string'],
    ['UserName', 'string'],
    ['EventAccessKeyId', 'string'],
    ['EventAction', 'string'],
    ['Result', 'string'],
    ['MaxResults', 'number'],
    ['NextToken', 'string'],
  ],
};

export function schemaOf(action: string): [string, Shape][] {
  const extension = EXTENSION_SCHEMAS[action];
  if (extension) {
    return extension;
  }
  const m = models[`${action}Request`];
  assert.ok(m, `no SDK request model for ${action}`);
  const types = m.types();
  return Object.entries(m.names()).map(([field, name]) => {
    const t = types[field] as string | { type?: string; itemType?: unknown };
    const shape: Shape =
      typeof t === 'string'
        ? t === 'number' || t === 'boolean'
          ? t
          : 'string'
        : t.type === 'map'
          ? 'map'
          : t.type === 'array'
            ? typeof t.itemType === 'string'
              ? 'list'
              : 'tags'
            : 'string';
    return [name, shape];
  });
}

/** Mutated parameters for an action: plausible ones from the pools, then one to four hostile edits. */
export function openApiParams(r: Rng, schema: [string, Shape][], pools: string[]): Record<string, string> {
  const p: Record<string, string> = {};
  for (const [name, shape] of schema) {
    if (!r.chance(0.4)) {
      continue;
    }
    if (shape === 'list') {
      const n = r.pick([1, 2, 3, 51]);
      if (r.chance(0.3)) {
        p[name] = JSON.stringify(Array.from({ length: n }, () => r.pick(pools)));
      } else {
        for (let i = 1; i <= n; i++) {
          p[`${name}.${i}`] = r.pick(pools);
        }
      }
    } else if (shape === 'tags') {
      p[`${name}.1.Key`] = r.chance(0.5) ? 'env' : hostile(r, pools);
      p[`${name}.1.Value`] = r.chance(0.5) ? 'prod' : hostile(r, pools);
    } else if (shape === 'map') {
      p[name] = r.pick(['{"a":"1"}', '{}', '{"__proto__":"x"}', '{"constructor":1,"toString":2}']);
    } else if (shape === 'number') {
      p[name] = r.pick(['1', '10', '60', '50']);
    } else if (shape === 'boolean') {
      p[name] = r.pick(['true', 'false']);
    } else {
      p[name] = r.pick(pools);
    }
  }
  for (let i = 0, n = 1 + r.int(4); i < n; i++) {
    const [name, shape] = r.pick(schema);
    const k = r.int(9);
    if (k === 0) {
      delete p[name];
    } else if (k === 8 && shape === 'list' && r.chance(0.3)) {
      // Past SQLite's 32,766 bound variables, if a statement took one per item.
      p[name] = JSON.stringify(Array.from({ length: 33_000 }, (_, j) => j));
    } else if (k === 1) {
      p[`${name}.${r.pick(['1', '0', '-1', '99999999999999999999', 'constructor'])}`] = hostile(r, pools);
    } else if (k === 2) {
      p[r.pick([...PROTO, `Tag.1.${r.pick(PROTO)}`, `${name}.__proto__`])] = hostile(r, pools);
    } else if (k === 3 && shape !== 'list') {
      p[name] = JSON.stringify([hostile(r, pools), 1]);
    } else {
      p[name] = hostile(r, pools);
    }
  }
  return p;
}

export const QUERY_KEYS = [
  'taskId',
  'invokeVersion',
  'start',
  'end',
  'exitCode',
  'exitcode',
  'dropped',
  'errCode',
  'errDesc',
  'result',
  'param',
  'value',
  'currentTime',
  'offset',
  'timeZone',
  'taskType',
  'status',
  'errorcode',
  'reason',
  'cold_start',
  'channelId',
  'uptime',
  'timestamp',
  'pid',
  'process_uptime',
  'index',
  'seq_no',
  'os_version',
  'machineid',
];

/** The query keys of a route as the stock agent sends them (§5, §8). */
export function routeKeys(r: Rng, path: string): string[] {
  const report = /\/task\/(\w+)$/.exec(path)?.[1];
  if (path === LubanPath.taskList) {
    return ['reason', 'cold_start', 'taskId', 'currentTime', 'offset', 'timeZone'];
  }
  if (path === LubanPath.heartbeat) {
    return ['uptime', 'timestamp', 'pid', 'process_uptime', 'index', 'seq_no', 'os_version', 'machineid'];
  }
  if (report === 'stopped') {
    return ['taskId', 'invokeVersion', 'start', 'end', 'exitcode', 'dropped', 'result'];
  }
  if (report === 'invalid') {
    return ['taskId', 'invokeVersion', 'param', 'value', 'taskType'];
  }
  if (report === 'finish' && r.chance(0.3)) {
    return ['taskId', 'status', 'taskType', 'errorcode'];
  }
  if (report !== undefined) {
    return ['taskId', 'invokeVersion', 'start', 'end', 'exitCode', 'dropped', 'errCode', 'errDesc', 'currentTime'];
  }
  return path.includes('session') ? ['channelId', 'status', 'errorcode'] : [];
}

export function lubanValue(r: Rng, key: string, taskIds: string[], pools: string[]): string {
  const k = r.int(10);
  if (k < 4) {
    return hostile(r, pools);
  }
  if (/^(taskId|channelId)$/.test(key)) {
    return r.pick(taskIds);
  }
  if (/^(start|end|currentTime|timestamp|exitCode|exitcode|dropped|invokeVersion|offset|errorcode)$/.test(key)) {
    // Mostly sane, sometimes out of every range a Date, an int32 or a safe integer has.
    return r.chance(0.6)
      ? String(Date.now() + r.pick([0, -1000, -86_400_000 * 365 * 30, 86_400_000 * 2]))
      : r.pick(['9000000000000000', '8640000000000001', '1e15', '-1', '4294967296', '1.5', '-9007199254740993']);
  }
  return r.pick([
    '0',
    '1',
    'killed',
    'completed',
    'Success',
    'Failed',
    'startup',
    'kickoff',
    'sendfile',
    'cron',
    'FileExist',
    'UTC',
    'Asia/Shanghai',
    'true',
  ]);
}

/** A request body: empty, garbage, or the route's stock JSON with a few fields replaced. */
export function lubanBody(r: Rng, path: string, pools: string[]): string {
  const k = r.int(8);
  if (k === 0) {
    return '';
  }
  if (k === 1) {
    return hostile(r, pools);
  }
  const leaf = (): unknown => r.pick([hostile(r, pools), 1e308, -1, 2 ** 64, null, true, [], {}, [1, 'a']]);
  // A null prototype, so that `__proto__` below is an own key that JSON.stringify writes out.
  const base = Object.assign(
    Object.create(null) as Record<string, unknown>,
    path === LubanPath.register
      ? {
          activationCode: r.pick(pools),
          activationId: r.pick(pools),
          machineId: 'm',
          publicKey: Buffer.from('-----BEGIN PUBLIC KEY-----\nx\n-----END PUBLIC KEY-----\n').toString('base64'),
          tag: [{ key: 'k', value: 'v' }],
        }
      : path === LubanPath.updateCheck
        ? {
            os: 'linux',
            arch: 'x64',
            app_id: 'aliyun assistant',
            app_version: '2.2.3.1',
            os_version: 'x',
            kernel_version: 'y',
          }
        : { plugin: [{ name: 'p', version: '1' }], type: 'AgentPanic', info: 'x', items: '' },
  );
  const keys = Object.keys(base);
  for (let i = 0, n = 1 + r.int(3); i < n; i++) {
    base[r.chance(0.8) && keys.length > 0 ? r.pick(keys) : r.pick(PROTO)] = leaf();
  }
  return JSON.stringify(base);
}
