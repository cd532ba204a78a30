// Managed instances: identity for signature checks, heartbeats, deregistration and listings.
import { sql, type SelectQueryBuilder, type SqlBool } from 'kysely';
import type { Database, Db, InstanceTable } from '../store/index.js';
import { ApiError, invalid, isoTime } from '../shared/index.js';
import type { AgentNotifier } from './agent-notifier.js';
import { afterKey, pageOf, windowOf, type Paging } from './paging.js';

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
  publicKey: string;
}

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
  readonly #identityCache = new Map<string, InstanceIdentity | null>();
  constructor(db: Db, notifier: AgentNotifier) {
    this.#db = db;
    this.#notifier = notifier;
  }

  /** The registered key of a live (not deregistered) instance, cached: every agent call needs it. */
  async identity(instanceId: string): Promise<InstanceIdentity | undefined> {
    const cached = this.#identityCache.get(instanceId);
    if (cached !== undefined) {
      return cached ?? undefined;
    }
    const r = await this.#db
      .selectFrom('instances')
      .select(['instance_id', 'machine_id', 'public_key'])
      .where('instance_id', '=', instanceId)
      .where('deregistered_at', 'is', null)
      .executeTakeFirst();
    const id = r ? { instanceId: r.instance_id, machineId: r.machine_id, publicKey: r.public_key } : null;
    this.#identityCache.set(instanceId, id);
    return id ?? undefined;
  }

  async get(instanceId: string): Promise<InstanceTable | undefined> {
    return this.#db
      .selectFrom('instances')
      .selectAll()
      .where('instance_id', '=', instanceId)
      .where('deregistered_at', 'is', null)
      .executeTakeFirst();
  }

  /** `agentVersion` (from the agent's User-Agent) keeps AgentVersion current across self-updates. */
  async heartbeat(instanceId: string, nowMs: number, agentVersion?: string): Promise<void> {
    await this.#db
      .updateTable('instances')
      .set({ last_heartbeat_at: nowMs, ...(agentVersion ? { agent_version: agentVersion } : {}) })
      .where('instance_id', '=', instanceId)
      .execute();
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
    this.#identityCache.delete(instanceId);
    return true;
  }

  /**
   * Online means the notify channel is up: the agent never polls, so an agent without it cannot be
   * reached, whatever its last heartbeat says. RunCommand uses the same rule to fail fast.
   */
  isOnline(inst: Pick<InstanceTable, 'instance_id'>): boolean {
    return this.#notifier.isConnected(inst.instance_id);
  }

  async describeManaged(f: ListFilter & { connected?: boolean; paging: Paging }) {
    const q = this.#filtered(f);
    const { n } = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const { rows: page, fields } = await this.#page(q, f.paging, Number(n));
    const counts = await this.#invocationCounts(page.map((r) => r.instance_id));
    return {
      ...fields,
      Instances: page.map((r) => ({
        ...managedView(r, counts.get(r.instance_id) ?? 0),
        Connected: this.isOnline(r),
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
    const [counts, active] = await Promise.all([this.#invocationCounts(ids), this.#activeCounts(ids)]);
    return {
      ...fields,
      InstanceCloudAssistantStatusSet: {
        InstanceCloudAssistantStatus: page.map((r) => ({
          ActiveTaskCount: active.get(r.instance_id) ?? 0,
          CloudAssistantStatus: String(this.isOnline(r)),
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
   * paged by the store. "Connected" lives in the gateway's memory, so its ids go in as one JSON
   * parameter (one bound value however many agents are connected).
   */
  #filtered(f: ListFilter & { connected?: boolean }): InstanceQuery {
    let q = this.#db.selectFrom('instances').where('deregistered_at', 'is', null);
    if (f.instanceIds.length > 0) {
      q = q.where('instance_id', 'in', f.instanceIds);
    }
    if (f.instanceName) {
      q = f.instanceName.includes('*')
        ? q.where(sql<SqlBool>`instance_name LIKE ${likePattern(f.instanceName)} ESCAPE '\\'`)
        : q.where('instance_name', '=', f.instanceName);
    }
    if (f.activationId) {
      q = q.where('activation_id', '=', f.activationId);
    }
    if (f.osType) {
      q = q.where('os_type', '=', f.osType.toLowerCase());
    }
    if (f.connected !== undefined) {
      const ids = JSON.stringify(this.#notifier.connectedIds());
      q = q.where(
        f.connected
          ? sql<SqlBool>`instance_id IN (SELECT value FROM json_each(${ids}))`
          : sql<SqlBool>`instance_id NOT IN (SELECT value FROM json_each(${ids}))`,
      );
    }
    return q;
  }

  /** Newest registration first; the NextToken is the last row's (registered_at, instance_id). */
  async #page(q: InstanceQuery, paging: Paging, totalCount: number) {
    const w = windowOf(paging, ['number', 'string']);
    let rq = q.selectAll().orderBy('registered_at', 'desc').orderBy('instance_id', 'desc');
    if (w.after) {
      rq = rq.where(afterKey('registered_at', 'instance_id', w.after));
    }
    const rows = await rq.limit(w.limit).offset(w.offset).execute();
    return pageOf(paging, rows, totalCount, (r) => [r.registered_at, r.instance_id]);
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
