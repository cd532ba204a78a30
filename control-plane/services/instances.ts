// Managed instances: identity for signature checks, heartbeats, deregistration and listings.
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { SelectQueryBuilder } from 'kysely';
import type { Database, Db, InstanceTable } from '../store/index.js';
import { likeInsensitive, valuesOf } from '../store/index.js';
import { ApiError, invalid, isoTime } from '../shared/index.js';
import type { AgentNotifier } from './agent-notifier.js';
import { HeartbeatWriter } from './heartbeat-writer.js';
import { keysetPage, type KeyColumn, type Paging } from './paging.js';

// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- kysely's type for "nothing selected yet"
type InstanceQuery = SelectQueryBuilder<Database, 'instances', {}>;

/** The filters DescribeManagedInstances and DescribeCloudAssistantStatus share. */
interface ListFilter {
  instanceIds: string[];
  instanceName?: string;
  activationId?: string;
  osType?: string;
}

/** `*` in an InstanceName is a wildcard (as in ECS DescribeInstances); SQL's own wildcards are literal. */
function likePattern(name: string): string {
  return name.replace(/[\\%_]/g, (c) => `\\${c}`).replace(/\*/g, '%');
}

export interface InstanceIdentity {
  instanceId: string;
  machineId: string;
  /** Parsed once when cached; the PEM text itself when it does not parse (it then verifies nothing). */
  publicKey: KeyObject | string;
}

function parsedKey(pem: string): KeyObject | string {
  try {
    return createPublicKey(pem);
  } catch {
    return pem;
  }
}

/**
 * Longer than the stock heartbeat interval (60 s), or every heartbeat would parse its key again; a
 * deregistration reaches every node's cache at once (forgetIdentity, through the kick bus).
 */
const IDENTITY_CACHE_TTL_MS = 10 * 60_000;
const IDENTITY_CACHE_MAX = 200_000;

/** Newest registration first, then by id descending. */
const INSTANCES_ORDER: readonly KeyColumn[] = [
  { column: 'registered_at', direction: 'desc', type: 'number' },
  { column: 'instance_id', direction: 'desc', type: 'string' },
];

const notFound = (id: string) =>
  new ApiError('InvalidInstanceId.NotFound', `The specified managed instance does not exist: ${id}`);

/** The fields every managed-instance response shares. */
function managedView(r: InstanceTable, invocationCount: number) {
  return {
    ActivationId: r.activation_id,
    AgentVersion: r.agent_version,
    Hostname: r.hostname,
    InstanceId: r.instance_id,
    InstanceName: r.instance_name,
    InternetIp: '',
    IntranetIp: r.intranet_ip,
    InvocationCount: invocationCount,
    LastInvokedTime: isoTime(r.last_invoked_at),
    MachineId: r.machine_id,
    OsType: r.os_type,
    OsVersion: r.os_version,
    RegistrationTime: isoTime(r.registered_at),
  };
}

export class InstanceService {
  readonly #db: Db;
  readonly #notifier: AgentNotifier;
  readonly #identityCache = new Map<string, { identity: InstanceIdentity; until: number }>();
  readonly #heartbeats: HeartbeatWriter;
  constructor(db: Db, notifier: AgentNotifier) {
    this.#db = db;
    this.#notifier = notifier;
    this.#heartbeats = new HeartbeatWriter(db);
  }

  /**
   * The registered key of a live (not deregistered) instance, cached: every agent call needs it.
   * Only instances that exist are cached (any caller can name an id), for IDENTITY_CACHE_TTL_MS, and
   * at most IDENTITY_CACHE_MAX of them.
   */
  async identity(instanceId: string, nowMs = Date.now()): Promise<InstanceIdentity | undefined> {
    const cached = this.#identityCache.get(instanceId);
    if (cached && cached.until > nowMs) {
      return cached.identity;
    }
    const r = await this.#db
      .selectFrom('instances')
      .select(['instance_id', 'machine_id', 'public_key'])
      .where('instance_id', '=', instanceId)
      .where('deregistered_at', 'is', null)
      .executeTakeFirst();
    this.#identityCache.delete(instanceId);
    if (!r) {
      return undefined;
    }
    const identity = { instanceId: r.instance_id, machineId: r.machine_id, publicKey: parsedKey(r.public_key) };
    if (this.#identityCache.size >= IDENTITY_CACHE_MAX) {
      this.#identityCache.delete(this.#identityCache.keys().next().value!); // the oldest entry
    }
    this.#identityCache.set(instanceId, { identity, until: nowMs + IDENTITY_CACHE_TTL_MS });
    return identity;
  }

  /** Drops a cached identity (the instance was deregistered, maybe on another node). */
  forgetIdentity(instanceId: string): void {
    this.#identityCache.delete(instanceId);
    this.#heartbeats.forget(instanceId);
  }

  async get(instanceId: string): Promise<InstanceTable | undefined> {
    return this.#db
      .selectFrom('instances')
      .selectAll()
      .where('instance_id', '=', instanceId)
      .where('deregistered_at', 'is', null)
      .executeTakeFirst();
  }

  /**
   * `agentVersion` (from the agent's User-Agent) keeps AgentVersion current across self-updates.
   * Heartbeats that arrive together are written together (heartbeat-writer.ts).
   */
  heartbeat(instanceId: string, nowMs: number, agentVersion?: string): Promise<void> {
    return this.#heartbeats.write(instanceId, nowMs, agentVersion);
  }

  async deregister(instanceId: string, nowMs: number): Promise<boolean> {
    const inst = await this.get(instanceId);
    if (!inst) {
      return false;
    }
    await this.#db.transaction().execute(async (tx) => {
      await tx.updateTable('instances').set({ deregistered_at: nowMs }).where('instance_id', '=', instanceId).execute();
      await tx
        .updateTable('activations')
        .set((eb) => ({ deregistered_count: eb('deregistered_count', '+', 1) }))
        .where('activation_id', '=', inst.activation_id)
        .execute();
    });
    this.forgetIdentity(instanceId);
    return true;
  }

  /**
   * Online means the notify channel is up: the agent never polls, so an agent without it cannot be
   * reached, whatever its last heartbeat says. RunCommand uses the same rule to fail fast.
   */
  async #onlineAmong(rows: readonly Pick<InstanceTable, 'instance_id'>[]): Promise<Set<string>> {
    return this.#notifier.connectedAmong(rows.map((r) => r.instance_id));
  }

  async describeManaged(f: ListFilter & { connected?: boolean; paging: Paging }) {
    const q = this.#filtered(f);
    const { n } = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const { rows: page, fields } = await this.#page(q, f.paging, Number(n));
    const [counts, online] = await Promise.all([
      this.#invocationCounts(page.map((r) => r.instance_id)),
      this.#onlineAmong(page),
    ]);
    return {
      ...fields,
      Instances: page.map((r) => ({
        ...managedView(r, counts.get(r.instance_id) ?? 0),
        Connected: online.has(r.instance_id),
        Tags: (JSON.parse(r.tags) as { key: string; value: string }[]).map((t) => ({
          TagKey: t.key,
          TagValue: t.value,
        })),
      })),
    };
  }

  /**
   * DeregisterManagedInstance: the instance is no longer served (its signed calls are refused) and
   * its notify channel is closed, so the agent stops getting work at once.
   */
  async deregisterManaged(instanceId: string, nowMs: number) {
    const inst = await this.get(instanceId);
    if (!inst || !(await this.deregister(instanceId, nowMs))) {
      throw notFound(instanceId);
    }
    this.#notifier.disconnect(instanceId);
    const counts = await this.#invocationCounts([instanceId]);
    return { Instance: managedView(inst, counts.get(instanceId) ?? 0) };
  }

  /** ModifyManagedInstance: renames the instance ({{ACS::InstanceName}} of later runs). */
  async modifyManaged(instanceId: string, instanceName: string) {
    if (instanceName === '' || instanceName.length > 128) {
      throw invalid('InstanceName', 'from 1 to 128 characters');
    }
    const res = await this.#db
      .updateTable('instances')
      .set({ instance_name: instanceName })
      .where('instance_id', '=', instanceId)
      .where('deregistered_at', 'is', null)
      .executeTakeFirst();
    if (res.numUpdatedRows === 0n) {
      throw notFound(instanceId);
    }
    return { Instance: { InstanceId: instanceId, InstanceName: instanceName } };
  }

  async describeAssistantStatus(f: ListFilter & { pageNumber: number; pageSize: number }) {
    const q = this.#filtered(f);
    const { n } = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const paging: Paging = { mode: 'page', pageNumber: f.pageNumber, pageSize: f.pageSize };
    const { rows: page, fields } = await this.#page(q, paging, Number(n));
    const ids = page.map((r) => r.instance_id);
    const [counts, active, online] = await Promise.all([
      this.#invocationCounts(ids),
      this.#activeCounts(ids),
      this.#onlineAmong(page),
    ]);
    return {
      ...fields,
      InstanceCloudAssistantStatusSet: {
        InstanceCloudAssistantStatus: page.map((r) => ({
          ActiveTaskCount: active.get(r.instance_id) ?? 0,
          CloudAssistantStatus: String(online.has(r.instance_id)),
          CloudAssistantVersion: r.agent_version,
          InstanceId: r.instance_id,
          InvocationCount: counts.get(r.instance_id) ?? 0,
          LastHeartbeatTime: isoTime(r.last_heartbeat_at),
          LastInvokedTime: isoTime(r.last_invoked_at),
          OSType: r.os_type === 'windows' ? 'Windows' : 'Linux',
          SupportSessionManager: false,
        })),
      },
    };
  }

  /**
   * The live instances a listing asks for, as one SQL query, so a fleet of any size is counted and
   * paged by the store. "Connected" is the presence table (agent_presence), which every node keeps.
   */
  #filtered(f: ListFilter & { connected?: boolean }): InstanceQuery {
    let q = this.#db.selectFrom('instances').where('deregistered_at', 'is', null);
    if (f.instanceIds.length > 0) {
      // One bound value however many ids the request lists.
      q = q.where('instance_id', 'in', valuesOf(this.#db, f.instanceIds));
    }
    if (f.instanceName) {
      q = f.instanceName.includes('*')
        ? q.where(likeInsensitive(this.#db, 'instance_name', likePattern(f.instanceName)))
        : q.where('instance_name', '=', f.instanceName);
    }
    if (f.activationId) {
      q = q.where('activation_id', '=', f.activationId);
    }
    if (f.osType) {
      q = q.where('os_type', '=', f.osType.toLowerCase());
    }
    if (f.connected !== undefined) {
      // Presence is in the store (every node of a cluster writes its agents there): one subquery.
      const live = this.#db.selectFrom('agent_presence').select('instance_id').where('lease_until', '>', Date.now());
      q = q.where('instance_id', f.connected ? 'in' : 'not in', live);
    }
    return q;
  }

  /** Newest registration first; the NextToken is the last row's (registered_at, instance_id). */
  async #page(q: InstanceQuery, paging: Paging, totalCount: number) {
    return keysetPage(q.selectAll(), paging, INSTANCES_ORDER, (r) => [r.registered_at, r.instance_id], totalCount);
  }

  async #invocationCounts(ids: string[]): Promise<Map<string, number>> {
    if (ids.length === 0) {
      return new Map();
    }
    const rows = await this.#db
      .selectFrom('invocation_instances')
      .select(['instance_id', (eb) => eb.fn.countAll<number>().as('n')])
      .where('instance_id', 'in', ids)
      .groupBy('instance_id')
      .execute();
    return new Map(rows.map((r) => [r.instance_id, Number(r.n)]));
  }

  async #activeCounts(ids: string[]): Promise<Map<string, number>> {
    if (ids.length === 0) {
      return new Map();
    }
    const rows = await this.#db
      .selectFrom('invocation_instances')
      .select(['instance_id', (eb) => eb.fn.countAll<number>().as('n')])
      .where('instance_id', 'in', ids)
      .where('status', 'in', ['Pending', 'Running'])
      .groupBy('instance_id')
      .execute();
    return new Map(rows.map((r) => [r.instance_id, Number(r.n)]));
  }
}
