// What a call acts on, as RAM checks: the action's name in the policy language (`ecs:RunCommand`)
// and the resources (ARNs) it touches, built from the request parameters alone. One table entry
// per action that names its resources; an action without one acts on "all resources" of its
// service (`acs:<service>:<region>:<account>:*`), which only a policy Resource of `*` (or a
// service-wide pattern) covers, as with Alibaba's actions that have no resource-level permission.
import { parameterRefs } from '../services/index.js';

/** The parameters of a call as the signature check read them (`InstanceId.1`, `CommandId`, …). */
export type CallParams = Readonly<Record<string, string>>;

export interface ArnScope {
  regionId: string;
  accountId: string;
}

/** One resource of a check; instance resources carry their id so conditions can read its tags. */
export interface ResourceRef {
  arn: string;
  instanceId?: string;
}

export interface PlannedCheck {
  action: string;
  resource: ResourceRef;
}

/** The parameter names a command's content refers to: `{{oos:name}}` and `{{oos-secret:name}}`. */
export interface ParameterRefs {
  plain: string[];
  secret: string[];
}

/** Finds `{{oos:…}}` / `{{oos-secret:…}}` in a script (the parameter store's own parser, when given). */
export type ParameterRefFinder = (script: string) => ParameterRefs;

/** Product code in RAM (`ecs`, `oos`) of each API version served on the endpoint. */
const PRODUCT_OF_VERSION: Record<string, string> = { '2014-05-26': 'ecs', '2019-06-01': 'oos' };

/** The parameter store's own parser of `{{oos:…}}` tokens, so both agree on what a script names. */
export const findParameterRefs: ParameterRefFinder = (script) => {
  const refs = parameterRefs(script);
  return {
    plain: refs.filter((r) => !r.secret).map((r) => r.name),
    secret: refs.filter((r) => r.secret).map((r) => r.name),
  };
};

/** The parameter names an OOS call touches (the parameter store's oosParameterNames, when wired). */
export type OosParameterNames = (action: string, params: CallParams) => string[];

/** `Name.1`, `Name.2`, … in index order (the RPC flat form of a list). */
function listParam(p: CallParams, name: string): string[] {
  const re = new RegExp(`^${name}\\.(\\d+)$`);
  return Object.entries(p)
    .flatMap(([k, v]) => {
      const m = re.exec(k);
      return m ? [[Number(m[1]), v] as const] : [];
    })
    .sort((a, b) => a[0] - b[0])
    .map(([, v]) => v);
}

/** A JSON list parameter (OOS `Names`, `Tags`) or undefined when absent or not a list of strings. */
function jsonList(p: CallParams, name: string): string[] | undefined {
  const v = p[name];
  if (v === undefined) {
    return undefined;
  }
  try {
    const parsed = JSON.parse(v) as unknown;
    return Array.isArray(parsed) ? parsed.filter((x): x is string => typeof x === 'string') : undefined;
  } catch {
    return undefined;
  }
}

interface Builder {
  arn: (type: string, id: string) => string;
  instances: (ids: readonly string[]) => ResourceRef[];
  /** The instances a call names in `InstanceId.N` or `InstanceId`, else all instances. */
  namedInstances: (p: CallParams) => ResourceRef[];
  parameterRefs: ParameterRefFinder;
  oosNames: OosParameterNames;
  /** The call's action (without the product prefix). */
  action: string;
}

type ResourceRule = (p: CallParams, b: Builder) => ResourceRef[] | PlannedCheck[];

const one = (b: Builder, type: string, id: string | undefined): ResourceRef[] => [{ arn: b.arn(type, id || '*') }];

/** The script of RunCommand/ModifyInvocationAttribute as text (it may come Base64-encoded). */
function scriptOf(p: CallParams, contentParam = 'CommandContent'): string {
  const content = p[contentParam] ?? '';
  return (p['ContentEncoding'] ?? 'PlainText').toLowerCase() === 'base64'
    ? Buffer.from(content, 'base64').toString('utf8')
    : content;
}

/** oos:GetParameters / oos:GetSecretParameters on each parameter a script names. */
function parameterChecks(script: string, b: Builder): PlannedCheck[] {
  const refs = b.parameterRefs(script);
  return [
    ...refs.plain.map((n) => ({ action: 'oos:GetParameters', resource: { arn: b.arn('parameter', n) } })),
    ...refs.secret.map((n) => ({ action: 'oos:GetSecretParameters', resource: { arn: b.arn('parameter', n) } })),
  ];
}

const ECS_RULES: Record<string, ResourceRule> = {
  RunCommand: (p, b) => [
    ...b.namedInstances(p),
    // RunCommand creates a command (kept or not): it needs command/* as CreateCommand does.
    ...one(b, 'command', undefined),
  ],
  InvokeCommand: (p, b) => [...b.namedInstances(p), ...one(b, 'command', p['CommandId'])],
  CreateCommand: (_p, b) => one(b, 'command', undefined),
  ModifyCommand: (p, b) => one(b, 'command', p['CommandId']),
  DeleteCommand: (p, b) => one(b, 'command', p['CommandId']),
  DescribeCommands: (p, b) => one(b, 'command', p['CommandId']),
  StopInvocation: (p, b) => b.namedInstances(p),
  ModifyInvocationAttribute: (p, b) => b.namedInstances(p),
  DescribeInvocations: (p, b) => b.namedInstances(p),
  DescribeInvocationResults: (p, b) => b.namedInstances(p),
  SendFile: (p, b) => b.namedInstances(p),
  DescribeSendFileResults: (p, b) => b.namedInstances(p),
  DescribeCloudAssistantStatus: (p, b) => b.namedInstances(p),
  DescribeManagedInstances: (p, b) => b.namedInstances(p),
  DeregisterManagedInstance: (p, b) => b.namedInstances(p),
  ModifyManagedInstance: (p, b) => b.namedInstances(p),
  CreateActivation: (_p, b) => one(b, 'activation', undefined),
  DisableActivation: (p, b) => one(b, 'activation', p['ActivationId']),
  DeleteActivation: (p, b) => one(b, 'activation', p['ActivationId']),
  DescribeActivations: (p, b) => one(b, 'activation', p['ActivationId']),
  StartTerminalSession: (p, b) => b.namedInstances(p),
  InstallPlugin: (p, b) => b.namedInstances(p),
  ListPluginStatus: (p, b) => b.namedInstances(p),
};

/** OOS parameter store actions: the parameters they name (`Name`, `Names`, `Path` as `<path>/*`). */
const oosParameters: ResourceRule = (p, b) => {
  const names = b.oosNames(b.action, p);
  return names.length > 0 ? names.map((n) => ({ arn: b.arn('parameter', n) })) : one(b, 'parameter', undefined);
};

/** Without the parameter store's own function: `Name`, each of `Names` (JSON list), `Path` as `<path>/*`. */
export const defaultOosParameterNames: OosParameterNames = (_action, p) =>
  [p['Name'], ...(jsonList(p, 'Names') ?? []), p['Path'] ? `${p['Path'].replace(/\/?$/, '/')}*` : undefined].filter(
    (n): n is string => n !== undefined && n !== '',
  );

const OOS_RULES: Record<string, ResourceRule> = Object.fromEntries(
  [
    'CreateParameter',
    'GetParameter',
    'GetParameters',
    'GetParametersByPath',
    'ListParameters',
    'UpdateParameter',
    'DeleteParameter',
    'CreateSecretParameter',
    'GetSecretParameter',
    'GetSecretParameters',
    'GetSecretParametersByPath',
    'ListSecretParameters',
    'UpdateSecretParameter',
    'DeleteSecretParameter',
  ].map((a) => [a, oosParameters]),
);

const RULES: Record<string, Record<string, ResourceRule>> = { ecs: ECS_RULES, oos: OOS_RULES };

/** The RAM product of a call (`ecs` unless its Version names another API served here). */
export const productOf = (params: CallParams): string => PRODUCT_OF_VERSION[params['Version'] ?? ''] ?? 'ecs';

/** The dependent checks of running a saved command's script (InvokeCommand reads it from the store). */
export function scriptParameterChecks(
  script: string,
  scope: ArnScope,
  parameterRefs: ParameterRefFinder = findParameterRefs,
): PlannedCheck[] {
  return parameterChecks(script, builder(scope, { parameterRefs }, ''));
}

/** Where an action's resource names come from: the parameter store's parsers by default. */
export interface ResourceSources {
  parameterRefs?: ParameterRefFinder;
  oosNames?: OosParameterNames;
}

function builder(scope: ArnScope, sources: ResourceSources, action: string): Builder {
  const b: Builder = {
    arn: (type, id) => `acs:${type === 'parameter' ? 'oos' : 'ecs'}:${scope.regionId}:${scope.accountId}:${type}/${id}`,
    instances: (ids) => ids.map((id) => ({ arn: b.arn('instance', id), instanceId: id })),
    namedInstances: (p) => {
      const ids = [...listParam(p, 'InstanceId'), ...(p['InstanceId'] ? [p['InstanceId']] : [])];
      return ids.length > 0 ? b.instances([...new Set(ids)]) : one(b, 'instance', undefined);
    },
    parameterRefs: sources.parameterRefs ?? findParameterRefs,
    oosNames: sources.oosNames ?? defaultOosParameterNames,
    action,
  };
  return b;
}

/**
 * The checks a call needs: its own action on each resource it touches, plus the dependent
 * checks (reading parameters of the parameter store that a script names).
 */
export function plannedChecks(
  action: string,
  params: CallParams,
  scope: ArnScope,
  sources: ResourceSources = {},
): PlannedCheck[] {
  const product = productOf(params);
  const b = builder(scope, sources, action);
  const rule = Object.hasOwn(RULES[product] ?? {}, action) ? RULES[product]![action]! : undefined;
  const own = rule ? rule(params, b) : [{ arn: `acs:${product}:${scope.regionId}:${scope.accountId}:*` }];
  const qualified = `${product}:${action}`;
  const checks = own.map((r) => ('action' in r ? r : { action: qualified, resource: r }));
  if (product === 'ecs' && (action === 'RunCommand' || action === 'ModifyInvocationAttribute')) {
    checks.push(...parameterChecks(scriptOf(params), b));
  }
  return checks;
}
