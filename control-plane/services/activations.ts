// Activation codes for managed (hybrid) instances, and registration against them.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { RegisterRequest } from '../../protocol/index.js';
import type { ActivationTable, Db } from '../store/index.js';
import { ApiError, invalid, isoTime, newActivationCode, newActivationId, newId } from '../shared/index.js';
import { ipInRange, parseCidrList } from './cidr.js';

export interface CreateActivationInput {
  instanceName: string;
  description: string;
  ipAddressRange: string;
  instanceCount: number;
  timeToLiveInHours: number;
}

const hashCode = (code: string) => createHash('sha256').update(code).digest('hex');

/** Why a registration was refused; the agent API turns it into an errMsg. */
export class RegistrationRefused extends Error {
  readonly reason:
    | 'ActivationNotFound'
    | 'ActivationCodeInvalid'
    | 'ActivationExpired'
    | 'ActivationDisabled'
    | 'ActivationCountExceeded'
    | 'SourceIpNotAllowed';
  constructor(reason: RegistrationRefused['reason'], message: string) {
    super(message);
    this.reason = reason;
  }
}

const notFound = (id: string) =>
  new ApiError('InvalidActivationId.NotFound', `The specified activation does not exist: ${id}`);

/** An activation as the API shows it; expired codes count as disabled. */
function activationView(r: ActivationTable) {
  return {
    ActivationId: r.activation_id,
    CreationTime: isoTime(r.created_at),
    DeregisteredCount: r.deregistered_count,
    Description: r.description,
    Disabled: r.disabled === 1 || Date.now() > r.created_at + r.ttl_hours * 3_600_000,
    InstanceCount: r.instance_count,
    InstanceName: r.instance_name,
    IpAddressRange: r.ip_address_range,
    RegisteredCount: r.registered_count,
    TimeToLiveInHours: r.ttl_hours,
  };
}

export class ActivationService {
  readonly #db: Db;
  readonly #regionId: string;
  constructor(db: Db, regionId: string) {
    this.#db = db;
    this.#regionId = regionId;
  }

  async create(input: CreateActivationInput): Promise<{ activationId: string; activationCode: string }> {
    if (!Number.isInteger(input.instanceCount) || input.instanceCount < 1 || input.instanceCount > 1000) {
      throw new ApiError('InvalidParameter.InstanceCount', 'InstanceCount must be an integer from 1 to 1000.');
    }
    if (!Number.isInteger(input.timeToLiveInHours) || input.timeToLiveInHours < 1 || input.timeToLiveInHours > 24) {
      throw new ApiError('InvalidParameter.TimeToLiveInHours', 'TimeToLiveInHours must be an integer from 1 to 24.');
    }
    try {
      parseCidrList(input.ipAddressRange);
    } catch (e) {
      throw new ApiError(
        'InvalidParameter.IpAddressRange',
        `IpAddressRange is not a valid CIDR list: ${(e as Error).message}`,
      );
    }
    if (input.instanceName.length > 128) {
      throw invalid('InstanceName', 'at most 128 characters');
    }
    if (input.description.length > 100) {
      throw invalid('Description', 'at most 100 characters');
    }
    const activationId = newActivationId();
    const activationCode = newActivationCode();
    await this.#db
      .insertInto('activations')
      .values({
        activation_id: activationId,
        code_hash: hashCode(activationCode),
        instance_name: input.instanceName,
        description: input.description,
        ip_address_range: input.ipAddressRange,
        instance_count: input.instanceCount,
        ttl_hours: input.timeToLiveInHours,
        created_at: Date.now(),
        registered_count: 0,
        deregistered_count: 0,
        disabled: 0,
      })
      .execute();
    return { activationId, activationCode };
  }

  /** DisableActivation: the code can register no more instances; those registered stay. */
  async disable(activationId: string) {
    const res = await this.#db
      .updateTable('activations')
      .set({ disabled: 1 })
      .where('activation_id', '=', activationId)
      .executeTakeFirst();
    if (res.numUpdatedRows === 0n) {
      throw notFound(activationId);
    }
    return { Activation: activationView(await this.#row(activationId)) };
  }

  /**
   * DeleteActivation: only an activation with no registered instance left may go (as in the
   * product), so no live instance ever points at a missing activation.
   */
  async delete(activationId: string) {
    return this.#db.transaction().execute(async (tx) => {
      const a = await tx
        .selectFrom('activations')
        .selectAll()
        .where('activation_id', '=', activationId)
        .executeTakeFirst();
      if (!a) {
        throw notFound(activationId);
      }
      const live = await tx
        .selectFrom('instances')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('activation_id', '=', activationId)
        .where('deregistered_at', 'is', null)
        .executeTakeFirstOrThrow();
      if (Number(live.n) > 0) {
        throw new ApiError(
          'Operation.Forbidden',
          `Activation ${activationId} still has ${live.n} registered instance(s); deregister them first.`,
        );
      }
      await tx.deleteFrom('activations').where('activation_id', '=', activationId).execute();
      const { Disabled: _disabled, ...view } = activationView(a);
      return { Activation: view };
    });
  }

  async #row(activationId: string) {
    return this.#db
      .selectFrom('activations')
      .selectAll()
      .where('activation_id', '=', activationId)
      .executeTakeFirstOrThrow();
  }

  async describe(f: { activationId?: string; instanceName?: string; pageNumber: number; pageSize: number }) {
    let q = this.#db.selectFrom('activations');
    if (f.activationId) {
      q = q.where('activation_id', '=', f.activationId);
    }
    if (f.instanceName) {
      q = q.where('instance_name', '=', f.instanceName);
    }
    const total = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const rows = await q
      .selectAll()
      .orderBy('created_at', 'desc')
      .limit(f.pageSize)
      .offset((f.pageNumber - 1) * f.pageSize)
      .execute();
    return {
      TotalCount: Number(total.n),
      PageNumber: f.pageNumber,
      PageSize: f.pageSize,
      ActivationList: rows.map((r) => ({ ...activationView(r), Tags: [] as { TagKey: string; TagValue: string }[] })),
    };
  }

  /**
   * Registers an instance against an activation: checks the code, expiry, count and source range,
   * then creates the instance and counts it, in one transaction so two racing agents cannot both
   * take the last slot.
   */
  async register(req: RegisterRequest, sourceIp: string, nowMs: number): Promise<{ instanceId: string }> {
    return this.#db.transaction().execute(async (tx) => {
      const a = await tx
        .selectFrom('activations')
        .selectAll()
        .where('activation_id', '=', req.activationId)
        .executeTakeFirst();
      if (!a) {
        throw new RegistrationRefused('ActivationNotFound', 'the activation id does not exist');
      }
      const given = Buffer.from(hashCode(req.activationCode));
      if (!timingSafeEqual(given, Buffer.from(a.code_hash))) {
        throw new RegistrationRefused('ActivationCodeInvalid', 'the activation code is not valid');
      }
      if (a.disabled === 1) {
        throw new RegistrationRefused('ActivationDisabled', 'the activation code is disabled');
      }
      if (nowMs > a.created_at + a.ttl_hours * 3_600_000) {
        throw new RegistrationRefused('ActivationExpired', 'the activation code has expired');
      }
      if (a.registered_count >= a.instance_count) {
        throw new RegistrationRefused(
          'ActivationCountExceeded',
          'the activation code has been used the maximum number of times',
        );
      }
      if (!ipInRange(sourceIp, a.ip_address_range)) {
        throw new RegistrationRefused(
          'SourceIpNotAllowed',
          `source address ${sourceIp} is outside the activation's IP range`,
        );
      }
      const publicKey = Buffer.from(req.publicKey, 'base64').toString('utf8');
      if (!publicKey.includes('BEGIN PUBLIC KEY')) {
        throw new RegistrationRefused('ActivationCodeInvalid', 'publicKey is not a PEM public key');
      }
      const instanceId = newId('mi');
      const seq = a.registered_count + 1;
      await tx
        .insertInto('instances')
        .values({
          instance_id: instanceId,
          activation_id: a.activation_id,
          machine_id: req.machineId,
          instance_name: req.instanceName || (a.instance_name ? `${a.instance_name}-${seq}` : req.hostname),
          hostname: req.hostname,
          intranet_ip: req.intranetIp,
          os_type: req.osType,
          os_version: req.osVersion,
          agent_version: req.agentVersion,
          public_key: publicKey,
          region_id: req.regionId || this.#regionId,
          tags: JSON.stringify(req.tag),
          registered_at: nowMs,
          last_heartbeat_at: null,
          last_invoked_at: null,
          deregistered_at: null,
        })
        .execute();
      await tx
        .updateTable('activations')
        .set({ registered_count: seq })
        .where('activation_id', '=', a.activation_id)
        .execute();
      return { instanceId };
    });
  }
}
