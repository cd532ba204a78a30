// Managed instances: identity for signature checks, heartbeats, deregistration and listings.
import type { Db, InstanceTable } from '../store/index.js';
import { ApiError, invalid, isoTime } from '../shared/index.js';
import type { AgentNotifier } from './agent-notifier.js';

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

  async describeManaged(f: {
    instanceIds: string[];
    instanceName?: string;
    activationId?: string;
    osType?: string;
    connected?: boolean;
    pageNumber: number;
    pageSize: number;
  }) {
    const rows = await this.#list(f);
    const counts = await this.#invocationCounts(rows.map((r) => r.instance_id));
    const all = rows
      .map((r) => ({ r, online: this.isOnline(r) }))
      .filter((x) => f.connected === undefined || x.online === f.connected);
    const page = all.slice((f.pageNumber - 1) * f.pageSize, f.pageNumber * f.pageSize);
    return {
      TotalCount: all.length,
      PageNumber: f.pageNumber,
      PageSize: f.pageSize,
      Instances: page.map(({ r, online }) => ({
        ...managedView(r, counts.get(r.instance_id) ?? 0),
        Connected: online,
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

  async describeAssistantStatus(f: { instanceIds: string[]; osType?: string; pageNumber: number; pageSize: number }) {
    const rows = await this.#list(f);
    const page = rows.slice((f.pageNumber - 1) * f.pageSize, f.pageNumber * f.pageSize);
    const counts = await this.#invocationCounts(page.map((r) => r.instance_id));
    const active = await this.#activeCounts(page.map((r) => r.instance_id));
    return {
      TotalCount: rows.length,
      PageNumber: f.pageNumber,
      PageSize: f.pageSize,
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

  async #list(f: { instanceIds: string[]; instanceName?: string; activationId?: string; osType?: string }) {
    let q = this.#db.selectFrom('instances').selectAll().where('deregistered_at', 'is', null);
    if (f.instanceIds.length > 0) {
      q = q.where('instance_id', 'in', f.instanceIds);
    }
    if (f.instanceName) {
      q = q.where('instance_name', '=', f.instanceName);
    }
    if (f.activationId) {
      q = q.where('activation_id', '=', f.activationId);
    }
    if (f.osType) {
      q = q.where('os_type', '=', f.osType.toLowerCase());
    }
    return q.orderBy('registered_at', 'desc').execute();
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
