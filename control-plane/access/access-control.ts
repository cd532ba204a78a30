// Who may do what: the one place an OpenAPI call is authorized, after its signature is checked
// and before its action runs. Keys, users and compiled policies are held in memory; the store is
// asked at most once a second whether they changed (one row's version), so unchanged policies
// cost the hot path no store read. Account (root) keys may do everything; a RAM user's key may do
// what the user's policies allow.
import { ApiError } from '../shared/index.js';
import type { Db } from '../store/index.js';
import {
  plannedChecks,
  scriptParameterChecks,
  type ArnScope,
  type CallParams,
  type OosParameterNames,
  type PlannedCheck,
  type ResourceSources,
} from './action-resources.js';
import type { AuditEntry } from './audit-trail.js';
import { compilePolicy, type CompiledPolicy } from './policy-document.js';
import { evaluate, type Check } from './policy-engine.js';
import type { RamDirectory } from './ram-directory.js';
import type { RamSnapshot } from './ram-snapshot.js';

/** Extension actions that manage users and policies: account (root) keys only. */
export const ROOT_ONLY_ACTIONS: ReadonlySet<string> = new Set([
  'CreateRamUser',
  'DeleteRamUser',
  'ListRamUsers',
  'CreateRamAccessKey',
  'ListRamAccessKeys',
  'DeleteRamAccessKey',
  'CreateRamPolicy',
  'UpdateRamPolicy',
  'GetRamPolicy',
  'DeleteRamPolicy',
  'ListRamPolicies',
  'AttachRamPolicyToUser',
  'DetachRamPolicyFromUser',
  'ListRamPoliciesForUser',
  'CreateRamGroup',
  'DeleteRamGroup',
  'ListRamGroups',
  'AddUserToRamGroup',
  'RemoveUserFromRamGroup',
  'ListRamGroupsForUser',
  'AttachRamPolicyToGroup',
  'DetachRamPolicyFromGroup',
  'ListRamPoliciesForGroup',
]);

/** Actions every key may call about itself. */
const SELF_ACTIONS: ReadonlySet<string> = new Set(['GetCallerIdentity']);

const FORBIDDEN_MESSAGE = "User not authorized to operate on the specified resource, or this API doesn't support RAM.";

/** How often a node asks the store whether users, keys or policies changed. */
const VERSION_CHECK_MS = 1_000;

interface CachedView {
  version: number;
  keys: Map<string, string | null>;
  /** Compiled policies attached to each user. */
  policiesOf: Map<string, CompiledPolicy[]>;
  /** Users some of whose policies have conditions on resource tags (their checks need instance tags). */
  usersWithTagConditions: Set<string>;
}

const EMPTY: CachedView = { version: -1, keys: new Map(), policiesOf: new Map(), usersWithTagConditions: new Set() };

export interface AuthorizeInput {
  accessKeyId: string;
  action: string;
  params: CallParams;
  nowMs: number;
}

export class AccessControl {
  readonly #db: Db;
  readonly #directory: RamDirectory;
  readonly #scope: ArnScope;
  #sources: ResourceSources = {};
  #view: CachedView = EMPTY;
  #lastCheck = 0;
  #loading: Promise<void> | undefined;

  constructor(db: Db, directory: RamDirectory, scope: ArnScope) {
    this.#db = db;
    this.#directory = directory;
    this.#scope = scope;
    directory.onChange = () => this.reload();
  }

  get accountId(): string {
    return this.#scope.accountId;
  }

  /** The ARN of an ECS resource of this account (`acs:ecs:<region>:<account>:<type>/<id>`). */
  ecsArn(type: string, id: string): string {
    return `acs:ecs:${this.#scope.regionId}:${this.#scope.accountId}:${type}/${id}`;
  }

  /** Who a key (already authorized in this call) belongs to: a RAM user, or null for an account key. */
  identityOf(accessKeyId: string): { userName: string | null } {
    return { userName: this.#view.keys.get(accessKeyId) ?? null };
  }

  /** Uses the parameter store's own reading of which parameters an OOS call names. */
  useOosParameterNames(names: OosParameterNames): void {
    this.#sources = { ...this.#sources, oosNames: names };
  }

  /** Reads everything again (after a local change, or when the store's version moved). */
  async reload(): Promise<void> {
    this.#loading ??= this.#directory
      .snapshot()
      .then((s) => {
        this.#view = compileView(s);
      })
      .finally(() => {
        this.#loading = undefined;
      });
    await this.#loading;
  }

  /** At most once a second: reloads when another node (or this one) changed something. */
  async #refresh(nowMs: number): Promise<void> {
    if (this.#view !== EMPTY && nowMs - this.#lastCheck < VERSION_CHECK_MS) {
      return;
    }
    this.#lastCheck = nowMs;
    if (this.#view === EMPTY || (await this.#directory.version()) !== this.#view.version) {
      await this.reload();
    }
  }

  /**
   * A key this node has not seen (an account key created since the last load, here or on another
   * node) is read on its first use. Only a request whose signature verified gets here, so the
   * key existed a moment ago: a key that is gone (deleted since) is refused.
   */
  async #learnKey(accessKeyId: string): Promise<void> {
    const row = await this.#db
      .selectFrom('access_keys')
      .select(['user_name', 'disabled'])
      .where('access_key_id', '=', accessKeyId)
      .executeTakeFirst();
    if (row && row.disabled === 0) {
      this.#view.keys.set(accessKeyId, row.user_name);
    }
  }

  /**
   * Fills the audit entry with who and what, and throws Forbidden.RAM when the caller may not.
   * A key the store no longer has (deleted on another node) is refused as unknown.
   */
  async authorize(entry: AuditEntry, input: AuthorizeInput): Promise<void> {
    entry.accessKeyId = input.accessKeyId;
    entry.action = input.action;
    await this.#refresh(input.nowMs);
    if (!this.#view.keys.has(input.accessKeyId)) {
      await this.#learnKey(input.accessKeyId);
    }
    const view = this.#view;
    if (!view.keys.has(input.accessKeyId)) {
      throw new ApiError('InvalidAccessKeyId.NotFound', `Specified access key ${input.accessKeyId} is not found.`);
    }
    const userName = view.keys.get(input.accessKeyId) ?? null;
    entry.identityType = userName === null ? 'Account' : 'RAMUser';
    entry.userName = userName ?? '';
    const planned = plannedChecks(input.action, input.params, this.#scope, this.#sources);
    entry.resources = [...new Set(planned.map((c) => c.resource.arn))];
    if (userName === null || SELF_ACTIONS.has(input.action)) {
      return;
    }
    if (ROOT_ONLY_ACTIONS.has(input.action)) {
      throw forbidden(`ram:${input.action.replace(/^(\w+?)Ram/, '$1')}`, '*', 'ImplicitDeny');
    }
    if (input.action === 'InvokeCommand' && input.params['CommandId']) {
      planned.push(...(await this.#savedScriptChecks(input.params['CommandId'])));
    }
    const policies = view.policiesOf.get(userName) ?? [];
    const tags = view.usersWithTagConditions.has(userName) ? await this.#instanceTags(planned) : new Map();
    const checks: Check[] = planned.map((c) => ({
      action: c.action,
      resource: c.resource.arn,
      ...(c.resource.instanceId !== undefined ? { tags: tags.get(c.resource.instanceId) ?? new Map() } : {}),
    }));
    const decision = evaluate(policies, checks, {
      sourceIp: entry.sourceIp,
      nowMs: input.nowMs,
      secureTransport: true,
      accessKeyId: input.accessKeyId,
    });
    if (!decision.allowed) {
      throw forbidden(decision.check.action, decision.check.resource, decision.why);
    }
  }

  /** The parameter-store reads a saved command's script implies (a command that is gone implies none). */
  async #savedScriptChecks(commandId: string): Promise<PlannedCheck[]> {
    const row = await this.#db
      .selectFrom('commands')
      .select('content')
      .where('command_id', '=', commandId)
      .executeTakeFirst();
    if (!row) {
      return [];
    }
    return scriptParameterChecks(Buffer.from(row.content, 'base64').toString('utf8'), this.#scope);
  }

  /** Tags of the instances among the checks, one query; an unknown instance has none. */
  async #instanceTags(planned: readonly PlannedCheck[]): Promise<Map<string, Map<string, string>>> {
    const ids = [...new Set(planned.flatMap((c) => (c.resource.instanceId ? [c.resource.instanceId] : [])))];
    const out = new Map<string, Map<string, string>>();
    if (ids.length === 0) {
      return out;
    }
    const rows = await this.#db
      .selectFrom('instances')
      .select(['instance_id', 'tags'])
      .where('instance_id', 'in', ids)
      .execute();
    for (const r of rows) {
      const list = JSON.parse(r.tags) as { key: string; value: string }[];
      out.set(r.instance_id, new Map(list.map((t) => [t.key, t.value])));
    }
    return out;
  }
}

function forbidden(action: string, resource: string, why: string): ApiError {
  return new ApiError('Forbidden.RAM', `${FORBIDDEN_MESSAGE} Action: ${action}; Resource: ${resource}; ${why}.`);
}

function compileView(s: RamSnapshot): CachedView {
  const compiled = new Map<string, CompiledPolicy>();
  for (const [name, doc] of s.policies) {
    try {
      compiled.set(name, compilePolicy(name, doc));
    } catch {
      // Documents are checked when created; one that no longer compiles grants nothing.
    }
  }
  const policiesOf = new Map<string, CompiledPolicy[]>();
  const usersWithTagConditions = new Set<string>();
  for (const [user, names] of s.attachments) {
    const list = names.flatMap((n) => (compiled.has(n) ? [compiled.get(n)!] : []));
    policiesOf.set(user, list);
    if (
      list.some((p) =>
        p.statements.some((st) => st.conditions.some((c) => /^(ecs:tag\/|acs:resourcetag\/)/.test(c.key))),
      )
    ) {
      usersWithTagConditions.add(user);
    }
  }
  return { version: s.version, keys: s.keys, policiesOf, usersWithTagConditions };
}
