// Invocations: RunCommand and InvokeCommand (one shared fan-out path), StopInvocation,
// ModifyInvocationAttribute, task delivery to agents, agent reports, delivery timeouts, and the
// Describe* listings. Every record transition goes through one place that keeps the invocation's
// status counters in step, so the aggregated status is a column SQL can filter and page on.
import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import {
  formatKick,
  REPEATS,
  type Repeat,
  type Report,
  type RunTaskEntry,
  type TaskListQuery,
} from '../../protocol/index.js';
import type { Db, InvocationInstanceTable, InvocationRunTable, InvocationTable } from '../store/index.js';
import { valuesOf } from '../store/index.js';
import { ApiError, invalid, isoTime, missing, newId } from '../shared/index.js';
import type { AgentNotifier } from './agent-notifier.js';
import {
  checkDescription,
  checkName,
  checkOutputEncoding,
  checkTimeout,
  checkType,
  checkUsername,
  decodeContent,
  encodeContent,
  renderScript,
} from './command-content.js';
import { assertCommandQuota, resolveCommand } from './commands.js';
import {
  detailedStatusesOf,
  type ExecutionStatus,
  instanceInvokeStatus,
  invocationStatusOf,
  isFinal,
  recordStatus,
  type RecordStatus,
  type StatusCounts,
} from './invocation-status.js';
import { afterKey, pageOf, windowOf, type Paging } from './paging.js';
import { isPublicCommandId } from './public-commands.js';
import {
  checkFrequency,
  isBootTime,
  isPeriodic,
  resolveSchedule,
  runsSeparately,
  type ScheduleSettings,
} from './schedules.js';
import { hasTags, saveTags, tagsOf, tagView, validateTags, type RawTag, type Tag, type TagFilter } from './tags.js';

export { substituteParameters } from './command-content.js';

export interface InvocationLimits {
  maxInstancesPerCall: number;
  /** Bytes of CommandContent after base64 encoding. */
  maxContentBase64: number;
  /** Bytes of output kept per execution (the tail). */
  outputKeepBytes: number;
  /** Saved commands per region (CreateCommand, RunCommand with KeepCommand). */
  maxCommands: number;
}

export const DEFAULT_LIMITS: InvocationLimits = {
  maxInstancesPerCall: 50,
  maxContentBase64: 16 * 1024,
  outputKeepBytes: 24 * 1024,
  maxCommands: 100,
};

export interface InvocationOptions {
  /** `{{ACS::AccountId}}` for every task. */
  accountId: string;
  /** A record still Pending and never fetched this long after its creation fails with DeliveryTimeout. */
  deliveryTimeoutMs: number;
}

export const DEFAULT_INVOCATION_OPTIONS: InvocationOptions = { accountId: 'local', deliveryTimeoutMs: 60_000 };

export interface RunCommandInput {
  instanceIds: string[];
  type: string;
  commandContent: string;
  contentEncoding: string;
  name: string;
  description: string;
  workingDir: string;
  timeout: number | undefined;
  enableParameter: boolean;
  parameters: Record<string, unknown>;
  username: string;
  windowsPasswordName?: string;
  keepCommand: boolean;
  repeatMode: string;
  /** The schedule of a Period invocation; given, it makes the invocation Period. */
  frequency?: string | undefined;
  clientToken: string | undefined;
  tags?: RawTag[];
}

export interface InvokeCommandInput {
  /** A saved command's id, or a public command's id or name. */
  commandId: string;
  instanceIds: string[];
  parameters: Record<string, unknown>;
  /** Overrides of the command's own values when given. */
  username?: string;
  workingDir?: string;
  timeout?: number;
  windowsPasswordName?: string;
  repeatMode: string;
  frequency?: string | undefined;
  clientToken: string | undefined;
  tags?: RawTag[];
}

export interface ModifyInvocationInput {
  invokeId: string;
  commandContent?: string;
  contentEncoding: string;
  enableParameter?: boolean;
  parameters?: Record<string, unknown>;
  frequency?: string;
  instanceIds: string[];
}

/** A Map: the key is the agent's `param`, which may name an Object.prototype member. */
const INVALID_PARAM_TO_ERROR = new Map([
  ['TypeInvalid', 'InvalidCommandType'],
  ['CommandContentInvalid', 'InvalidCommandContent'],
  ['UsernameOrPasswordInvalid', 'UserNotExist'],
  ['workingDirectory', 'InvalidWorkingDir'],
]);

const COUNTER: Record<RecordStatus, keyof InvocationTable & `n_${string}`> = {
  Pending: 'n_pending',
  Scheduled: 'n_scheduled',
  Running: 'n_running',
  Stopping: 'n_stopping',
  Stopped: 'n_stopped',
  Finished: 'n_finished',
  Failed: 'n_failed',
};
const countsOf = (r: Pick<InvocationTable, `n_${string}` & keyof InvocationTable>): StatusCounts => ({
  Pending: r.n_pending,
  Scheduled: r.n_scheduled,
  Running: r.n_running,
  Stopping: r.n_stopping,
  Stopped: r.n_stopped,
  Finished: r.n_finished,
  Failed: r.n_failed,
});

/** Keeps the last `keep` bytes of output; returns the bytes cut from the head. */
function appendTail(prev: Buffer, chunk: Buffer, keep: number): { output: Buffer; cut: number } {
  const all = chunk.length === 0 ? prev : Buffer.concat([prev, chunk]);
  if (all.length <= keep) {
    return { output: all, cut: 0 };
  }
  return { output: all.subarray(all.length - keep), cut: all.length - keep };
}

function encodeOutput(output: Buffer, encoding: string): string {
  return encoding === 'PlainText' ? output.toString('utf8') : output.toString('base64');
}

const decodeB64 = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');

function fingerprint(o: unknown): string {
  return createHash('sha256').update(JSON.stringify(o)).digest('hex');
}

export interface ExecutionEnded {
  invokeId: string;
  instanceId: string;
  status: ExecutionStatus;
}

/** Everything the fan-out needs: the command as it will run, and where. */
interface Dispatch {
  instanceIds: string[];
  commandId: string;
  name: string;
  description: string;
  type: string;
  template64: string;
  content64: string;
  workingDir: string;
  timeout: number;
  enableParameter: boolean;
  username: string;
  windowsPasswordName: string;
  parameters: Record<string, unknown>;
  schedule: ScheduleSettings;
  clientToken: string | undefined;
  fingerprint: string;
  tags: Tag[];
  /** RunCommand creates its command with the invocation; kept ones count against the quota. */
  createCommand?: { kept: boolean };
}

/** A record moving from one status to another, for the counters and the ended listeners. */
interface Transition {
  invokeId: string;
  instanceId: string;
  from: string;
  to: string;
}

export class InvocationService {
  readonly #db: Db;
  readonly #endedListeners = new Set<(e: ExecutionEnded) => void>();
  readonly #notifier: AgentNotifier;
  readonly #limits: InvocationLimits;
  readonly #regionId: string;
  readonly #options: InvocationOptions;
  constructor(
    db: Db,
    notifier: AgentNotifier,
    regionId: string,
    limits: InvocationLimits = DEFAULT_LIMITS,
    options: InvocationOptions = DEFAULT_INVOCATION_OPTIONS,
  ) {
    this.#db = db;
    this.#notifier = notifier;
    this.#regionId = regionId;
    this.#limits = limits;
    this.#options = options;
  }

  get deliveryTimeoutMs(): number {
    return this.#options.deliveryTimeoutMs;
  }

  /** Subscribes to executions reaching a final status; returns the unsubscribe function. */
  onEnded(listener: (e: ExecutionEnded) => void): () => void {
    this.#endedListeners.add(listener);
    return () => this.#endedListeners.delete(listener);
  }

  async runCommand(input: RunCommandInput, nowMs: number): Promise<{ CommandId: string; InvokeId: string }> {
    const instanceIds = this.#checkInstanceList(input.instanceIds);
    checkType(input.type);
    const script = decodeContent(input.commandContent, input.contentEncoding);
    checkName(input.name);
    checkDescription(input.description);
    checkUsername(input.username);
    const template64 = encodeContent(script, this.#limits.maxContentBase64);
    const content64 = encodeContent(
      renderScript(script, input.enableParameter, input.parameters),
      this.#limits.maxContentBase64,
      'CommandContent with parameters',
    );
    const timeout = checkTimeout(input.timeout);
    const schedule = resolveSchedule(
      { repeatMode: input.repeatMode, frequency: input.frequency, timeoutSeconds: timeout },
      nowMs,
    );
    const tags = validateTags(input.tags ?? []);
    const d: Omit<Dispatch, 'fingerprint'> = {
      instanceIds,
      commandId: newId('c', this.#regionCode()),
      name: input.name,
      description: input.description,
      type: input.type,
      template64,
      content64,
      workingDir: input.workingDir,
      timeout,
      enableParameter: input.enableParameter,
      username: input.username,
      windowsPasswordName: input.windowsPasswordName ?? '',
      parameters: input.parameters,
      schedule,
      clientToken: input.clientToken,
      tags,
      createCommand: { kept: input.keepCommand },
    };
    // The command id is fresh on every call: a retry is the same request without it.
    const stable = { ...d, commandId: '', instanceIds: [...instanceIds].sort() };
    return this.#dispatch({ ...d, fingerprint: fingerprint(['RunCommand', stable]) }, nowMs);
  }

  async invokeCommand(input: InvokeCommandInput, nowMs: number): Promise<{ InvokeId: string }> {
    if (!input.commandId) {
      throw missing('CommandId');
    }
    const instanceIds = this.#checkInstanceList(input.instanceIds);
    const cmd = await resolveCommand(this.#db, input.commandId);
    const username = checkUsername(input.username ?? cmd.username);
    const content64 = encodeContent(
      renderScript(decodeB64(cmd.content64), cmd.enableParameter, input.parameters),
      this.#limits.maxContentBase64,
      'CommandContent with parameters',
    );
    const timeout = checkTimeout(input.timeout, cmd.timeout);
    const schedule = resolveSchedule(
      { repeatMode: input.repeatMode, frequency: input.frequency, timeoutSeconds: timeout },
      nowMs,
    );
    const d: Omit<Dispatch, 'fingerprint'> = {
      instanceIds,
      commandId: cmd.commandId,
      name: cmd.name,
      description: cmd.description,
      type: cmd.type,
      template64: cmd.content64,
      content64,
      workingDir: input.workingDir ?? cmd.workingDir,
      timeout,
      enableParameter: cmd.enableParameter,
      username,
      windowsPasswordName: input.windowsPasswordName ?? '',
      parameters: input.parameters,
      schedule,
      clientToken: input.clientToken,
      tags: validateTags(input.tags ?? []),
    };
    const r = await this.#dispatch(
      { ...d, fingerprint: fingerprint(['InvokeCommand', { ...d, instanceIds: [...instanceIds].sort() }]) },
      nowMs,
    );
    return { InvokeId: r.InvokeId };
  }

  #regionCode(): string {
    return this.#regionId.split('-').pop()?.slice(0, 2) ?? 'hz';
  }

  #checkInstanceList(ids: string[]): string[] {
    const instanceIds = [...new Set(ids)];
    if (instanceIds.length === 0) {
      throw missing('InstanceId');
    }
    if (instanceIds.length > this.#limits.maxInstancesPerCall) {
      throw new ApiError(
        'InvalidParameter.InstanceIds',
        `At most ${this.#limits.maxInstancesPerCall} instances per call; got ${instanceIds.length}.`,
      );
    }
    return instanceIds;
  }

  /**
   * The one fan-out path: idempotency, instance checks, command (RunCommand), invocation, records
   * and tags in one transaction; then a kick to every connected agent. Instances without a live
   * notify channel cannot be kicked: their `Once` records fail at once with ClientNotOnline.
   * Scheduled records (Period, NextRebootOnly, EveryReboot) wait instead: a Period schedule goes
   * to the agent on its next fetch of any kind, a boot-time one on its next cold start.
   */
  async #dispatch(d: Dispatch, nowMs: number): Promise<{ CommandId: string; InvokeId: string }> {
    const invokeId = newId('t', this.#regionCode());
    const once = d.schedule.repeatMode === 'Once';
    const connected = await this.#notifier.connectedAmong(d.instanceIds);
    const offline = once ? d.instanceIds.length - connected.size : 0;
    const created = await this.#db.transaction().execute(async (tx) => {
      if (d.clientToken) {
        const prior = await tx
          .selectFrom('invocations')
          .select(['invoke_id', 'command_id', 'command_content', 'request_fingerprint'])
          .where('client_token', '=', d.clientToken)
          .executeTakeFirst();
        if (prior) {
          const same = prior.request_fingerprint
            ? prior.request_fingerprint === d.fingerprint
            : prior.command_content === d.content64; // invocations stored before fingerprints
          if (!same) {
            throw new ApiError('IdempotentParameterMismatch', 'ClientToken was used with other parameters.');
          }
          return { CommandId: prior.command_id, InvokeId: prior.invoke_id, fresh: false };
        }
      }
      const found = await tx
        .selectFrom('instances')
        .select('instance_id')
        .where('instance_id', 'in', valuesOf(this.#db, d.instanceIds))
        .where('deregistered_at', 'is', null)
        .execute();
      const known = new Set(found.map((r) => r.instance_id));
      const unknown = d.instanceIds.filter((i) => !known.has(i));
      if (unknown.length > 0) {
        throw new ApiError('InvalidInstanceId.NotFound', `The specified instances do not exist: ${unknown.join(', ')}`);
      }
      if (d.createCommand) {
        if (d.createCommand.kept) {
          await assertCommandQuota(tx, this.#limits);
        }
        await tx
          .insertInto('commands')
          .values({
            command_id: d.commandId,
            name: d.name,
            description: d.description,
            type: d.type,
            content: d.template64,
            working_dir: d.workingDir,
            timeout: d.timeout,
            enable_parameter: d.enableParameter ? 1 : 0,
            username: d.username,
            kept: d.createCommand.kept ? 1 : 0,
            created_at: nowMs,
            client_token: null,
          })
          .execute();
        if (d.createCommand.kept) {
          await saveTags(tx, 'command', d.commandId, d.tags);
        }
      }
      const counts: StatusCounts = {
        Pending: once ? connected.size : 0,
        Scheduled: once ? 0 : d.instanceIds.length,
        Running: 0,
        Stopping: 0,
        Stopped: 0,
        Finished: 0,
        Failed: offline,
      };
      await tx
        .insertInto('invocations')
        .values({
          invoke_id: invokeId,
          command_id: d.commandId,
          command_name: d.name,
          command_type: d.type,
          command_content: d.content64,
          command_template: d.template64,
          command_description: d.description,
          parameters: JSON.stringify(d.parameters),
          repeat_mode: d.schedule.repeatMode,
          frequency: d.schedule.frequency,
          timed: d.schedule.timed ? 1 : 0,
          wire_repeat: d.schedule.wireRepeat,
          wire_cron: d.schedule.wireCron,
          invoke_version: 0,
          username: d.username,
          working_dir: d.workingDir,
          timeout: d.timeout,
          enable_parameter: d.enableParameter ? 1 : 0,
          windows_password_name: d.windowsPasswordName,
          client_token: d.clientToken ?? null,
          request_fingerprint: d.fingerprint,
          created_at: nowMs,
          status: invocationStatusOf(counts),
          n_pending: counts.Pending,
          n_running: 0,
          n_stopping: 0,
          n_stopped: 0,
          n_finished: 0,
          n_failed: counts.Failed,
          n_scheduled: counts.Scheduled,
        })
        .execute();
      // Chunked: a fleet-sized fan-out must stay under SQLite's bound-variable limit.
      for (let i = 0; i < d.instanceIds.length; i += 500) {
        await tx
          .insertInto('invocation_instances')
          .values(
            d.instanceIds.slice(i, i + 500).map((instanceId) => {
              const up = !once || connected.has(instanceId);
              return {
                invoke_id: invokeId,
                instance_id: instanceId,
                status: once ? (up ? 'Pending' : 'Aborted') : 'Scheduled',
                error_code: up ? '' : 'ClientNotOnline',
                error_info: up ? '' : 'the Cloud Assistant agent on this instance is not connected',
                output: Buffer.alloc(0),
                dropped: 0,
                repeats: once ? 1 : 0, // runs of scheduled records are counted as they report
                exit_code: null,
                creation_time: nowMs,
                update_time: nowMs,
                finish_time: up ? null : nowMs,
              };
            }),
          )
          .execute();
      }
      await saveTags(tx, 'invocation', invokeId, d.tags);
      await tx
        .updateTable('instances')
        .set({ last_invoked_at: nowMs })
        .where('instance_id', 'in', valuesOf(this.#db, d.instanceIds))
        .execute();
      return { CommandId: d.commandId, InvokeId: invokeId, fresh: true };
    });
    if (created.fresh && !isBootTime(d.schedule.repeatMode)) {
      this.#notifier.kick([...connected], formatKick({ type: 'task', action: 'run', id: invokeId }));
      for (const id of once ? d.instanceIds.filter((i) => !connected.has(i)) : []) {
        this.#emit([{ invokeId, instanceId: id, from: 'Pending', to: 'Aborted' }]);
      }
    }
    return { CommandId: created.CommandId, InvokeId: created.InvokeId };
  }

  /**
   * Moves the invocation counters for record transitions (all of one invocation) and stores the
   * aggregated status they imply. Call inside the transaction that changed the records.
   */
  async #count(tx: Db, invokeId: string, moves: readonly Transition[]): Promise<void> {
    const delta = new Map<RecordStatus, number>();
    for (const m of moves) {
      const from = recordStatus(m.from as ExecutionStatus);
      const to = recordStatus(m.to as ExecutionStatus);
      if (from !== to) {
        delta.set(from, (delta.get(from) ?? 0) - 1);
        delta.set(to, (delta.get(to) ?? 0) + 1);
      }
    }
    const set: Record<string, ReturnType<typeof sql>> = {};
    for (const [s, n] of delta) {
      if (n !== 0) {
        set[COUNTER[s]] = sql`${sql.ref(COUNTER[s])} + ${n}`;
      }
    }
    if (Object.keys(set).length === 0) {
      return;
    }
    const row = await tx
      .updateTable('invocations')
      .set(set)
      .where('invoke_id', '=', invokeId)
      .returning(['n_pending', 'n_scheduled', 'n_running', 'n_stopping', 'n_stopped', 'n_finished', 'n_failed'])
      .executeTakeFirstOrThrow();
    await tx
      .updateTable('invocations')
      .set({ status: invocationStatusOf(countsOf(row)) })
      .where('invoke_id', '=', invokeId)
      .execute();
  }

  async #countAll(tx: Db, moves: readonly Transition[]): Promise<void> {
    const byInvocation = new Map<string, Transition[]>();
    for (const m of moves) {
      byInvocation.set(m.invokeId, [...(byInvocation.get(m.invokeId) ?? []), m]);
    }
    for (const [invokeId, ms] of byInvocation) {
      await this.#count(tx, invokeId, ms);
    }
  }

  #emit(moves: readonly Transition[]): void {
    for (const m of moves) {
      if (isFinal(m.to) && !isFinal(m.from)) {
        for (const l of this.#endedListeners) {
          l({ invokeId: m.invokeId, instanceId: m.instanceId, status: m.to as ExecutionStatus });
        }
      }
    }
  }

  /**
   * Tasks for one agent's fetch: `run` holds its Pending executions (re-sent until the agent
   * reports on them), `stop` its Stopping ones (same task object and repeat, luban §5.7).
   * Scheduled work (luban §5.4): an active Period schedule is sent when the agent has not got it
   * (first delivery, or a new `invokeVersion`), on every `reason=startup` fetch (the agent keeps
   * schedules in memory only) and when the fetch targets it; boot-time executions only on a
   * `cold_start=true` fetch — NextRebootOnly once (it becomes an ordinary Pending execution),
   * EveryReboot on every cold start. Marking delivery happens in the same transaction, so a stop
   * or a delivery timeout sees either a delivered record or an undelivered one, never half of each.
   */
  async tasksFor(
    instanceId: string,
    q: TaskListQuery,
    nowMs: number,
  ): Promise<{ run: RunTaskEntry[]; stop: RunTaskEntry[] }> {
    const coldStart = q.reason === 'startup' && q.coldStart === true;
    const rows = await this.#db.transaction().execute(async (tx) => {
      let sel = tx
        .selectFrom('invocation_instances as r')
        .innerJoin('invocations as i', 'i.invoke_id', 'r.invoke_id')
        .innerJoin('instances as n', 'n.instance_id', 'r.instance_id')
        .select([
          'i.invoke_id',
          'i.command_id',
          'i.command_name',
          'i.command_type',
          'i.command_content',
          'i.working_dir',
          'i.timeout',
          'i.repeat_mode',
          'i.windows_password_name',
          'i.wire_repeat',
          'i.wire_cron',
          'i.invoke_version',
        ])
        .select([
          'i.username',
          'i.enable_parameter',
          'i.created_at',
          'n.instance_name',
          'n.region_id',
          'r.status',
          'r.delivered_at',
          'r.delivered_version',
        ])
        .where('r.instance_id', '=', instanceId)
        .where((eb) =>
          eb.or([
            eb('r.status', 'in', ['Pending', 'Stopping']),
            eb.and([eb('i.repeat_mode', '=', 'Period'), eb('r.status', 'in', ['Scheduled', 'Running'])]),
            ...(coldStart
              ? [
                  eb.and([eb('i.repeat_mode', '=', 'NextRebootOnly'), eb('r.status', '=', 'Scheduled')]),
                  eb.and([eb('i.repeat_mode', '=', 'EveryReboot'), eb('r.status', 'in', ['Scheduled', 'Running'])]),
                ]
              : []),
          ]),
        );
      if (q.taskId !== undefined) {
        sel = sel.where('r.invoke_id', '=', q.taskId);
      }
      const all = await sel.orderBy('i.created_at').execute();
      // A Period schedule the agent already holds is not sent again on a plain kickoff fetch.
      const rows = all.filter(
        (r) =>
          !(isPeriodic(r.repeat_mode) && r.status !== 'Stopping') ||
          q.reason === 'startup' ||
          q.taskId !== undefined ||
          r.delivered_at === null ||
          r.delivered_version !== r.invoke_version,
      );
      const moves: Transition[] = [];
      for (const r of rows) {
        if (r.status === 'Stopping') {
          continue;
        }
        const bootOnce = r.repeat_mode === 'NextRebootOnly' && r.status === 'Scheduled';
        const fresh =
          r.delivered_at === null || (isPeriodic(r.repeat_mode) && r.delivered_version !== r.invoke_version);
        if (!fresh && !bootOnce) {
          continue;
        }
        await tx
          .updateTable('invocation_instances')
          .set({
            delivered_at: r.delivered_at ?? nowMs,
            delivered_version: r.invoke_version,
            update_time: nowMs,
            ...(bootOnce ? { status: 'Pending' } : {}),
          })
          .where('instance_id', '=', instanceId)
          .where('invoke_id', '=', r.invoke_id)
          .execute();
        if (bootOnce) {
          moves.push({ invokeId: r.invoke_id, instanceId, from: 'Scheduled', to: 'Pending' });
        }
      }
      await this.#countAll(tx, moves);
      return rows;
    });
    const entry = (r: (typeof rows)[number]): RunTaskEntry => {
      const periodic = isPeriodic(r.repeat_mode);
      return {
        task: {
          taskID: r.invoke_id,
          invokeVersion: r.invoke_version,
          type: r.command_type,
          commandId: r.command_id,
          commandName: r.command_name,
          commandContent: r.command_content,
          workingDirectory: r.working_dir,
          timeOut: String(r.timeout),
          cron: periodic ? r.wire_cron : '',
          username: r.username,
          windowsPasswordName: r.windows_password_name,
          enableParameter: r.enable_parameter === 1,
          builtInParameter: {
            InstanceId: instanceId,
            InstanceName: r.instance_name || instanceId,
            RegionId: r.region_id || this.#regionId,
            AccountId: this.#options.accountId,
            CommandId: r.command_id,
            InvokeId: r.invoke_id,
          },
          creationTime: r.created_at,
        },
        output: { interval: 1000, logQuota: this.#limits.outputKeepBytes, skipEmpty: true, sendStart: true },
        repeat: wireRepeatOf(r.repeat_mode, r.wire_repeat),
      };
    };
    return {
      run: rows.filter((r) => r.status !== 'Stopping').map(entry),
      stop: rows.filter((r) => r.status === 'Stopping').map(entry),
    };
  }

  /**
   * Applies an agent report. Reports on finished executions are ignored, so retries are harmless.
   * Period and EveryReboot executions record each run on its own (#applyRunReport).
   */
  async applyReport(instanceId: string, report: Report, body: Buffer, nowMs: number): Promise<'applied' | 'ignored'> {
    const move = await this.#db.transaction().execute(async (tx) => {
      const rec = await tx
        .selectFrom('invocation_instances as r')
        .innerJoin('invocations as i', 'i.invoke_id', 'r.invoke_id')
        .selectAll('r')
        .select(['i.repeat_mode', 'i.wire_repeat'])
        .where('r.invoke_id', '=', report.taskId)
        .where('r.instance_id', '=', instanceId)
        .executeTakeFirst();
      if (!rec || report.kind === 'verified') {
        return undefined;
      }
      if (runsSeparately(rec.repeat_mode)) {
        return this.#applyRunReport(tx, rec, report, body, nowMs);
      }
      if (isFinal(rec.status)) {
        return undefined;
      }
      const patch = this.#reportPatch(rec, report, body, nowMs);
      await tx
        .updateTable('invocation_instances')
        .set(patch)
        .where('invoke_id', '=', report.taskId)
        .where('instance_id', '=', instanceId)
        .execute();
      const m: Transition = { invokeId: rec.invoke_id, instanceId, from: rec.status, to: patch.status ?? rec.status };
      await this.#count(tx, rec.invoke_id, [m]);
      return m;
    });
    if (!move) {
      return 'ignored';
    }
    this.#emit([move]);
    return 'applied';
  }

  /**
   * A report on a Period or EveryReboot execution. Reports about a run (running, finish, timeout,
   * error, a pre-check `invalid`) go to the run whose start time they carry: the first creates it
   * and counts it (`Repeats`), a re-sent final report of a recorded run changes nothing. They are
   * recorded even after the execution was stopped (a run that ended before the stop may report
   * late). The execution itself stays Running between runs; it ends on the agent's `stopped` report
   * (`result=completed`: the schedule has no further occurrence → Finished; `killed` → Stopped, with
   * the run it cut short), an `invalid` report on the schedule itself (`param=cron`), or after the
   * single run of an `at(…)` schedule. It mirrors its latest run's outcome for the default listing.
   */
  async #applyRunReport(
    tx: Db,
    rec: InvocationInstanceTable & { repeat_mode: string; wire_repeat: string },
    report: Exclude<Report, { kind: 'verified' }>,
    body: Buffer,
    nowMs: number,
  ): Promise<Transition | undefined> {
    const key = { invoke_id: rec.invoke_id, instance_id: rec.instance_id };
    const runs = () =>
      tx
        .selectFrom('invocation_runs')
        .where('invoke_id', '=', key.invoke_id)
        .where('instance_id', '=', key.instance_id);
    const active = !isFinal(rec.status) && rec.status !== 'Stopping';
    const summary: Partial<InvocationInstanceTable> = { update_time: nowMs };
    if (rec.delivered_at === null) {
      summary.delivered_at = nowMs; // a report proves delivery
    }
    let to = rec.status;
    if (report.kind === 'stopped' || (report.kind === 'invalid' && report.param === 'cron')) {
      if (isFinal(rec.status)) {
        return undefined;
      }
      if (report.kind === 'invalid') {
        to = 'Invalid';
        summary.error_code = /^[A-Za-z]+$/.test(report.value) ? report.value : 'InvalidCronExpression';
        summary.error_info = report.value;
        summary.finish_time = nowMs;
      } else if (report.result === 'completed') {
        to = 'Finished';
        summary.finish_time = nowMs;
      } else {
        to = 'Stopped';
        summary.stop_time = nowMs;
        const cut =
          report.start > 0
            ? await runs().selectAll().where('run_start', '=', report.start).executeTakeFirst()
            : undefined;
        if (cut && !isFinal(cut.status)) {
          const p = this.#reportPatch(asRecord(cut), report, body, nowMs);
          await tx
            .updateTable('invocation_runs')
            .set(runPatch(p))
            .where('invoke_id', '=', key.invoke_id)
            .where('instance_id', '=', key.instance_id)
            .where('run_start', '=', cut.run_start)
            .execute();
        }
      }
    } else {
      const start = 'start' in report ? report.start : 0;
      const end = 'end' in report ? report.end : 0;
      // A run that never started (a pre-check or prepare failure) is known by its end, or by now.
      const runStart = start > 0 ? start : end > 0 ? end : nowMs;
      const prior = await runs().selectAll().where('run_start', '=', runStart).executeTakeFirst();
      if (prior && isFinal(prior.status)) {
        return undefined; // the same run reported again (the agent's outbox resends final reports)
      }
      const base: InvocationRunTable = prior ?? {
        ...key,
        run_start: runStart,
        repeat_no: 0,
        status: 'Running',
        exit_code: null,
        output: Buffer.alloc(0),
        dropped: 0,
        error_code: '',
        error_info: '',
        creation_time: nowMs,
        update_time: nowMs,
        start_time: start > 0 ? start : null,
        finish_time: null,
        stop_time: null,
      };
      const run: InvocationRunTable = {
        ...base,
        ...runPatch(this.#reportPatch(asRecord(base), report, body, nowMs)),
      };
      if (prior) {
        await tx
          .updateTable('invocation_runs')
          .set(run)
          .where('invoke_id', '=', key.invoke_id)
          .where('instance_id', '=', key.instance_id)
          .where('run_start', '=', runStart)
          .execute();
      } else {
        const last = await runs()
          .select((eb) => eb.fn.max<number | null>('repeat_no').as('n'))
          .executeTakeFirst();
        run.repeat_no = Number(last?.n ?? 0) + 1;
        await tx.insertInto('invocation_runs').values(run).execute();
        summary.repeats = run.repeat_no;
      }
      if (runStart >= (rec.start_time ?? 0)) {
        Object.assign(summary, {
          output: run.output,
          exit_code: run.exit_code,
          dropped: run.dropped,
          error_code: run.error_code,
          error_info: run.error_info,
          start_time: run.start_time ?? runStart,
          finish_time: run.finish_time,
        });
      }
      if (active) {
        to = rec.wire_repeat === 'At' && isFinal(run.status) ? 'Finished' : 'Running';
      }
    }
    summary.status = to;
    await tx
      .updateTable('invocation_instances')
      .set(summary)
      .where('invoke_id', '=', key.invoke_id)
      .where('instance_id', '=', key.instance_id)
      .execute();
    const m: Transition = { invokeId: rec.invoke_id, instanceId: rec.instance_id, from: rec.status, to };
    await this.#count(tx, rec.invoke_id, [m]);
    return m;
  }

  #reportPatch(rec: InvocationInstanceTable, report: Report, body: Buffer, nowMs: number) {
    const { output, cut } = appendTail(rec.output, body, this.#limits.outputKeepBytes);
    const patch: Partial<InvocationInstanceTable> = { output, update_time: nowMs, dropped: rec.dropped + cut };
    if (rec.delivered_at === null) {
      patch.delivered_at = nowMs; // a report proves delivery
    }
    const ms = (t: number) => (t > 0 ? t : nowMs);
    const ended = (r: { start: number; end: number; exitCode: number; dropped: number }) => ({
      start_time: rec.start_time ?? ms(r.start),
      finish_time: ms(r.end),
      exit_code: r.exitCode,
      dropped: rec.dropped + cut + r.dropped,
    });
    switch (report.kind) {
      case 'running':
        // A stop in progress stays Stopping until the agent's stopped report.
        patch.status = rec.status === 'Stopping' ? 'Stopping' : 'Running';
        patch.start_time = rec.start_time ?? ms(report.start);
        break;
      case 'finish':
        patch.status = report.exitCode === 0 ? 'Success' : 'Failed';
        patch.error_code = report.exitCode === 0 ? '' : 'ExitCodeNonzero';
        Object.assign(patch, ended(report));
        break;
      case 'timeout':
        patch.status = 'Timeout';
        patch.error_code = 'ExecutionTimeout';
        patch.error_info = 'the command ran longer than its Timeout and was stopped';
        Object.assign(patch, ended(report));
        break;
      case 'error':
        Object.assign(patch, errorOutcome(report.errCode, report.errDesc), ended(report));
        break;
      case 'invalid':
        patch.status = 'Invalid';
        patch.error_code = INVALID_PARAM_TO_ERROR.get(report.param) ?? report.param;
        patch.error_info = report.value;
        patch.finish_time = nowMs;
        break;
      case 'stopped':
        patch.status = 'Stopped';
        patch.stop_time = ms(report.end);
        patch.exit_code = report.exitCode;
        patch.dropped = rec.dropped + cut + report.dropped;
        if (rec.start_time === null && report.start > 0) {
          patch.start_time = report.start;
        }
        break;
      case 'verified':
        break;
    }
    return patch;
  }

  /**
   * StopInvocation: executions not yet fetched by their agent are Stopped at once (they never
   * run); fetched or running ones become Stopping and their agent is kicked with
   * `kick_vm task stop <id>`; its `stopped` report ends them. Finished ones are left alone.
   * A Period schedule the agent holds is stopped through the agent too (the `stop` entry removes
   * its timer and kills a run in progress). A boot-time execution with no run in progress is
   * Stopped at once: the agent holds nothing of it between boots.
   */
  async stop(invokeId: string, instanceIds: string[], nowMs: number): Promise<Record<string, never>> {
    if (!invokeId) {
      throw missing('InvokeId');
    }
    const only = [...new Set(instanceIds)];
    const { moves, kick } = await this.#db.transaction().execute(async (tx) => {
      const inv = await tx
        .selectFrom('invocations')
        .select(['invoke_id', 'repeat_mode'])
        .where('invoke_id', '=', invokeId)
        .executeTakeFirst();
      if (!inv) {
        throw new ApiError('InvalidInvokeId.NotFound', `The specified invocation does not exist: ${invokeId}`);
      }
      const bootTime = isBootTime(inv.repeat_mode);
      const running = new Set(
        bootTime
          ? (
              await tx
                .selectFrom('invocation_runs')
                .select('instance_id')
                .where('invoke_id', '=', invokeId)
                .where('status', 'in', ['Running', 'Stopping'])
                .execute()
            ).map((r) => r.instance_id)
          : [],
      );
      let q = tx
        .selectFrom('invocation_instances')
        .select(['instance_id', 'status', 'delivered_at'])
        .where('invoke_id', '=', invokeId);
      if (only.length > 0) {
        q = q.where('instance_id', 'in', valuesOf(this.#db, only)); // one bound value, however long the list
      }
      const recs = await q.execute();
      if (only.length > 0) {
        const have = new Set(recs.map((r) => r.instance_id));
        const missingIds = only.filter((i) => !have.has(i));
        if (missingIds.length > 0) {
          throw new ApiError(
            'InvalidInstanceId.NotFound',
            `The invocation ${invokeId} has no execution on: ${missingIds.join(', ')}`,
          );
        }
      }
      const moves: Transition[] = [];
      const kick: string[] = [];
      for (const r of recs) {
        const neverFetched = (r.status === 'Pending' || r.status === 'Scheduled') && r.delivered_at === null;
        const bootIdle =
          bootTime && !running.has(r.instance_id) && (r.status === 'Scheduled' || r.status === 'Running');
        if (neverFetched || bootIdle) {
          await tx
            .updateTable('invocation_instances')
            .set({ status: 'Stopped', stop_time: nowMs, update_time: nowMs })
            .where('invoke_id', '=', invokeId)
            .where('instance_id', '=', r.instance_id)
            .execute();
          moves.push({ invokeId, instanceId: r.instance_id, from: r.status, to: 'Stopped' });
        } else if (r.status === 'Pending' || r.status === 'Running' || r.status === 'Scheduled') {
          await tx
            .updateTable('invocation_instances')
            .set({ status: 'Stopping', update_time: nowMs })
            .where('invoke_id', '=', invokeId)
            .where('instance_id', '=', r.instance_id)
            .execute();
          moves.push({ invokeId, instanceId: r.instance_id, from: r.status, to: 'Stopping' });
          kick.push(r.instance_id);
        } else if (r.status === 'Stopping') {
          kick.push(r.instance_id); // asked again: kick again
        }
      }
      await this.#count(tx, invokeId, moves);
      return { moves, kick };
    });
    this.#notifier.kick(kick, formatKick({ type: 'task', action: 'stop', id: invokeId }));
    this.#emit(moves);
    return {};
  }

  /**
   * Fails executions still Pending and never fetched `deliveryTimeoutMs` after their creation:
   * Aborted / DeliveryTimeout. Returns how many it failed. Called by the sweeper.
   */
  async sweepDeliveryTimeouts(nowMs: number): Promise<number> {
    const cutoff = nowMs - this.#options.deliveryTimeoutMs;
    const moves = await this.#db.transaction().execute(async (tx) => {
      const due = await tx
        .selectFrom('invocation_instances')
        .select(['invoke_id', 'instance_id'])
        .where('status', '=', 'Pending')
        .where('delivered_at', 'is', null)
        .where('creation_time', '<=', cutoff)
        .limit(1000)
        .execute();
      const moves: Transition[] = [];
      for (const r of due) {
        await tx
          .updateTable('invocation_instances')
          .set({
            status: 'Aborted',
            error_code: 'DeliveryTimeout',
            error_info: `the agent did not fetch the task within ${Math.round(this.#options.deliveryTimeoutMs / 1000)} s`,
            finish_time: nowMs,
            update_time: nowMs,
          })
          .where('invoke_id', '=', r.invoke_id)
          .where('instance_id', '=', r.instance_id)
          .execute();
        moves.push({ invokeId: r.invoke_id, instanceId: r.instance_id, from: 'Pending', to: 'Aborted' });
      }
      await this.#countAll(tx, moves);
      return moves;
    });
    this.#emit(moves);
    return moves.length;
  }

  /**
   * ModifyInvocationAttribute. CommandContent (+ContentEncoding), EnableParameter and Parameters of
   * a one-shot invocation (Once, NextRebootOnly) may change while no execution of it has been
   * fetched by an agent and at least one is still waiting to be. A Period or EveryReboot
   * invocation may change (and a Period one its Frequency, checked like at creation) while one of
   * its executions is still scheduled: its `invokeVersion` goes up, so the agent replaces the
   * schedule (and, for a new version, writes a new script file) on its next fetch — at once for
   * Period (its agents are kicked), at the next boot for EveryReboot. A schedule keeps its anchor:
   * rate runs stay counted from the invocation's creation. Adding instances is not served. New
   * content makes a new command (a saved one, counted against the quota, when the old one was).
   */
  async modify(input: ModifyInvocationInput, nowMs: number): Promise<{ CommandId: string }> {
    if (!input.invokeId) {
      throw missing('InvokeId');
    }
    const notModifiable = (why: string) => new ApiError('InvalidOperation.InvocationNotModifiable', why);
    const { CommandId, kick } = await this.#db.transaction().execute(async (tx) => {
      const inv = await tx
        .selectFrom('invocations')
        .selectAll()
        .where('invoke_id', '=', input.invokeId)
        .executeTakeFirst();
      if (!inv) {
        throw new ApiError('InvalidInvokeId.NotFound', `The specified invocation does not exist: ${input.invokeId}`);
      }
      if (input.instanceIds.length > 0) {
        throw notModifiable('Adding instances to an invocation is not supported by this control plane.');
      }
      if (input.frequency !== undefined && !isPeriodic(inv.repeat_mode)) {
        throw notModifiable(`Frequency applies to Period invocations; this one is ${inv.repeat_mode}.`);
      }
      const changesContent = input.commandContent !== undefined;
      if (
        !changesContent &&
        input.enableParameter === undefined &&
        input.parameters === undefined &&
        input.frequency === undefined
      ) {
        return { CommandId: inv.command_id, kick: [] };
      }
      if (changesContent && isPublicCommandId(inv.command_id)) {
        throw notModifiable('The content of an invocation of a public command cannot be changed.');
      }
      const recs = await tx
        .selectFrom('invocation_instances')
        .select(['instance_id', 'status', 'delivered_at'])
        .where('invoke_id', '=', inv.invoke_id)
        .execute();
      const versioned = runsSeparately(inv.repeat_mode);
      if (versioned) {
        if (!recs.some((r) => r.status === 'Scheduled' || r.status === 'Running')) {
          throw notModifiable('No execution of this invocation is still scheduled.');
        }
      } else {
        if (recs.some((r) => r.delivered_at !== null)) {
          throw notModifiable('An agent has already fetched an execution of this invocation: it can no longer change.');
        }
        const waiting = inv.repeat_mode === 'NextRebootOnly' ? 'Scheduled' : 'Pending';
        if (!recs.some((r) => r.status === waiting)) {
          throw notModifiable('No execution of this invocation is waiting to run.');
        }
      }
      const wire = input.frequency !== undefined ? checkFrequency(input.frequency, inv.timeout, nowMs) : undefined;
      const script = changesContent
        ? decodeContent(input.commandContent!, input.contentEncoding)
        : decodeB64(inv.command_template);
      const template64 = encodeContent(script, this.#limits.maxContentBase64);
      const enableParameter = input.enableParameter ?? inv.enable_parameter === 1;
      const parameters = input.parameters ?? (JSON.parse(inv.parameters) as Record<string, unknown>);
      const content64 = encodeContent(
        renderScript(script, enableParameter, enableParameter ? parameters : (input.parameters ?? {})),
        this.#limits.maxContentBase64,
        'CommandContent with parameters',
      );
      let commandId = inv.command_id;
      if (changesContent) {
        const old = await tx
          .selectFrom('commands')
          .selectAll()
          .where('command_id', '=', inv.command_id)
          .executeTakeFirst();
        const kept = old?.kept === 1;
        if (kept) {
          await assertCommandQuota(tx, this.#limits);
        }
        commandId = newId('c', this.#regionCode());
        await tx
          .insertInto('commands')
          .values({
            command_id: commandId,
            name: inv.command_name,
            description: inv.command_description,
            type: inv.command_type,
            content: template64,
            working_dir: old?.working_dir ?? inv.working_dir,
            timeout: old?.timeout ?? inv.timeout,
            enable_parameter: enableParameter ? 1 : 0,
            username: old?.username ?? inv.username,
            kept: kept ? 1 : 0,
            created_at: nowMs,
            client_token: null,
          })
          .execute();
      }
      await tx
        .updateTable('invocations')
        .set({
          command_id: commandId,
          command_template: template64,
          command_content: content64,
          enable_parameter: enableParameter ? 1 : 0,
          parameters: JSON.stringify(enableParameter ? parameters : {}),
          ...(wire
            ? { frequency: input.frequency!.trim(), wire_repeat: wire.wireRepeat, wire_cron: wire.wireCron }
            : {}),
          ...(versioned ? { invoke_version: inv.invoke_version + 1 } : {}),
        })
        .where('invoke_id', '=', inv.invoke_id)
        .execute();
      const active = recs.filter((r) => r.status === 'Scheduled' || r.status === 'Running');
      return { CommandId: commandId, kick: isPeriodic(inv.repeat_mode) ? active.map((r) => r.instance_id) : [] };
    });
    this.#notifier.kick(kick, formatKick({ type: 'task', action: 'run', id: input.invokeId }));
    return { CommandId };
  }

  async describeInvocations(f: {
    invokeId?: string;
    commandId?: string;
    commandName?: string;
    commandType?: string;
    instanceId?: string;
    invokeStatus?: string;
    repeatMode?: string;
    timed?: boolean;
    tags?: TagFilter[];
    includeOutput: boolean;
    contentEncoding: string;
    paging: Paging;
  }) {
    const encoding = checkOutputEncoding(f.contentEncoding);
    let q = this.#db.selectFrom('invocations');
    if (f.invokeId) {
      q = q.where('invoke_id', '=', f.invokeId);
    }
    if (f.commandId) {
      q = q.where('command_id', '=', f.commandId);
    }
    if (f.commandName) {
      q = q.where('command_name', '=', f.commandName);
    }
    if (f.commandType) {
      q = q.where('command_type', '=', f.commandType);
    }
    if (f.invokeStatus) {
      q = q.where('status', '=', f.invokeStatus);
    }
    if (f.repeatMode) {
      q = q.where('repeat_mode', '=', f.repeatMode);
    }
    if (f.timed !== undefined) {
      q = q.where('timed', '=', f.timed ? 1 : 0);
    }
    if (f.instanceId) {
      const id = f.instanceId;
      q = q.where('invoke_id', 'in', (eb) =>
        eb.selectFrom('invocation_instances').select('invoke_id').where('instance_id', '=', id),
      );
    }
    if (f.tags && f.tags.length > 0) {
      q = q.where(hasTags('invocation', 'invocations.invoke_id', f.tags));
    }
    const { n } = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const w = windowOf(f.paging, ['number', 'string']);
    let rq = q.selectAll().orderBy('created_at', 'desc').orderBy('invoke_id', 'desc');
    if (w.after) {
      rq = rq.where(afterKey('created_at', 'invoke_id', w.after));
    }
    const rows = await rq.limit(w.limit).offset(w.offset).execute();
    const { rows: page, fields } = pageOf(f.paging, rows, Number(n), (r) => [r.created_at, r.invoke_id]);
    const ids = page.map((i) => i.invoke_id);
    const [records, tags] = await Promise.all([
      this.#recordsOf(ids, f.includeOutput),
      tagsOf(this.#db, 'invocation', ids),
    ]);
    return {
      ...fields,
      Invocations: {
        Invocation: page.map((inv) =>
          this.#invocationView(inv, records.get(inv.invoke_id) ?? [], tags.get(inv.invoke_id) ?? [], {
            includeOutput: f.includeOutput,
            encoding,
          }),
        ),
      },
    };
  }

  #invocationView(
    inv: InvocationTable,
    recs: InvocationInstanceTable[],
    tags: Tag[],
    f: { includeOutput: boolean; encoding: 'PlainText' | 'Base64' },
  ) {
    const status = inv.status;
    return {
      CommandContent: f.encoding === 'PlainText' ? decodeB64(inv.command_content) : inv.command_content,
      CommandDescription: inv.command_description,
      CommandId: inv.command_id,
      CommandName: inv.command_name,
      CommandType: inv.command_type,
      CreationTime: isoTime(inv.created_at),
      Frequency: inv.frequency,
      InvocationStatus: status,
      InvokeStatus: status === 'PartialFailed' ? 'Finished' : status,
      InvokeId: inv.invoke_id,
      Parameters: inv.parameters,
      RepeatMode: inv.repeat_mode,
      Timed: inv.timed === 1,
      Timeout: inv.timeout,
      Username: inv.username,
      WorkingDir: inv.working_dir,
      Tags: tagView(tags),
      InvokeInstances: {
        InvokeInstance: recs.map((r) => ({
          CreationTime: isoTime(r.creation_time),
          Dropped: r.dropped,
          ErrorCode: r.error_code,
          ErrorInfo: r.error_info,
          ExitCode: r.exit_code ?? undefined,
          FinishTime: isoTime(r.finish_time),
          InstanceId: r.instance_id,
          InstanceInvokeStatus: instanceInvokeStatus(r.status as ExecutionStatus),
          InvocationStatus: r.status,
          Output: f.includeOutput ? encodeOutput(r.output, f.encoding) : '',
          Repeats: r.repeats,
          StartTime: isoTime(r.start_time),
          StopTime: isoTime(r.stop_time),
          Timed: inv.timed === 1,
          UpdateTime: isoTime(r.update_time),
        })),
      },
    };
  }

  async describeResults(f: {
    invokeId?: string;
    instanceId?: string;
    commandId?: string;
    invokeRecordStatus?: string;
    tags?: TagFilter[];
    contentEncoding: string;
    paging: Paging;
    includeHistory?: boolean;
  }) {
    const encoding = checkOutputEncoding(f.contentEncoding);
    if (f.includeHistory === true) {
      return this.#describeRuns({ ...f, encoding });
    }
    let q = this.#db
      .selectFrom('invocation_instances as r')
      .innerJoin('invocations as i', 'i.invoke_id', 'r.invoke_id');
    if (f.invokeId) {
      q = q.where('r.invoke_id', '=', f.invokeId);
    }
    if (f.instanceId) {
      q = q.where('r.instance_id', '=', f.instanceId);
    }
    if (f.commandId) {
      q = q.where('i.command_id', '=', f.commandId);
    }
    if (f.invokeRecordStatus) {
      const statuses = detailedStatusesOf(f.invokeRecordStatus);
      q = statuses.length > 0 ? q.where('r.status', 'in', statuses) : q.where(sql<boolean>`1 = 0`);
    }
    if (f.tags && f.tags.length > 0) {
      q = q.where(hasTags('invocation', 'r.invoke_id', f.tags));
    }
    const { n } = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const w = windowOf(f.paging, ['number', 'string', 'string']);
    let rq = q
      .selectAll('r')
      .select(['i.command_id', 'i.username'])
      .orderBy('r.creation_time', 'desc')
      .orderBy('r.invoke_id', 'desc')
      .orderBy('r.instance_id');
    if (w.after) {
      const [c, inv, inst] = w.after as [number, string, string];
      rq = rq.where((eb) =>
        eb.or([
          eb('r.creation_time', '<', c),
          eb.and([eb('r.creation_time', '=', c), eb('r.invoke_id', '<', inv)]),
          eb.and([eb('r.creation_time', '=', c), eb('r.invoke_id', '=', inv), eb('r.instance_id', '>', inst)]),
        ]),
      );
    }
    const rows = await rq.limit(w.limit).offset(w.offset).execute();
    const { rows: page, fields } = pageOf(f.paging, rows, Number(n), (r) => [
      r.creation_time,
      r.invoke_id,
      r.instance_id,
    ]);
    const tags = await tagsOf(
      this.#db,
      'invocation',
      page.map((r) => r.invoke_id),
    );
    return {
      Invocation: {
        ...fields,
        InvocationResults: {
          InvocationResult: page.map((r) => ({
            CommandId: r.command_id,
            Dropped: r.dropped,
            ErrorCode: r.error_code,
            ErrorInfo: r.error_info,
            ExitCode: r.exit_code ?? undefined,
            FinishedTime: isoTime(r.finish_time),
            InstanceId: r.instance_id,
            InvocationStatus: r.status,
            InvokeId: r.invoke_id,
            InvokeRecordStatus: recordStatus(r.status as ExecutionStatus) satisfies RecordStatus,
            Output: encodeOutput(r.output, encoding),
            Repeats: r.repeats,
            StartTime: isoTime(r.start_time),
            StopTime: isoTime(r.stop_time),
            Username: r.username,
            Tags: tagView(tags.get(r.invoke_id)),
          })),
        },
      },
    };
  }

  /**
   * DescribeInvocationResults with IncludeHistory=true: every run of a Period or EveryReboot
   * invocation, newest first, one row per run (`Repeats` is the run's number on its instance).
   * Without it, each instance has one row: the execution, with the number of runs so far and the
   * latest run's outcome.
   */
  async #describeRuns(f: {
    invokeId?: string;
    instanceId?: string;
    invokeRecordStatus?: string;
    tags?: TagFilter[];
    encoding: 'PlainText' | 'Base64';
    paging: Paging;
  }) {
    const inv = f.invokeId
      ? await this.#db
          .selectFrom('invocations')
          .select(['invoke_id', 'command_id', 'username', 'repeat_mode'])
          .where('invoke_id', '=', f.invokeId)
          .executeTakeFirst()
      : undefined;
    if (!f.invokeId) {
      throw invalid('IncludeHistory', 'true needs the InvokeId of a Period or EveryReboot invocation.');
    }
    if (!inv) {
      throw new ApiError('InvalidInvokeId.NotFound', `The specified invocation does not exist: ${f.invokeId}`);
    }
    if (!runsSeparately(inv.repeat_mode)) {
      throw invalid(
        'IncludeHistory',
        `true applies to Period and EveryReboot invocations; ${inv.invoke_id} is ${inv.repeat_mode}.`,
      );
    }
    let q = this.#db.selectFrom('invocation_runs').where('invoke_id', '=', inv.invoke_id);
    if (f.instanceId) {
      q = q.where('instance_id', '=', f.instanceId);
    }
    if (f.invokeRecordStatus) {
      const statuses = detailedStatusesOf(f.invokeRecordStatus);
      q = statuses.length > 0 ? q.where('status', 'in', statuses) : q.where(sql<boolean>`1 = 0`);
    }
    if (f.tags && f.tags.length > 0) {
      q = q.where(hasTags('invocation', 'invocation_runs.invoke_id', f.tags));
    }
    const { n } = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const w = windowOf(f.paging, ['number', 'string']);
    let rq = q.selectAll().orderBy('run_start', 'desc').orderBy('instance_id');
    if (w.after) {
      const [start, inst] = w.after as [number, string];
      rq = rq.where((eb) =>
        eb.or([eb('run_start', '<', start), eb.and([eb('run_start', '=', start), eb('instance_id', '>', inst)])]),
      );
    }
    const rows = await rq.limit(w.limit).offset(w.offset).execute();
    const { rows: page, fields } = pageOf(f.paging, rows, Number(n), (r) => [r.run_start, r.instance_id]);
    const tags = await tagsOf(this.#db, 'invocation', [inv.invoke_id]);
    return {
      Invocation: {
        ...fields,
        InvocationResults: {
          InvocationResult: page.map((r) => ({
            CommandId: inv.command_id,
            Dropped: r.dropped,
            ErrorCode: r.error_code,
            ErrorInfo: r.error_info,
            ExitCode: r.exit_code ?? undefined,
            FinishedTime: isoTime(r.finish_time),
            InstanceId: r.instance_id,
            InvocationStatus: r.status,
            InvokeId: r.invoke_id,
            InvokeRecordStatus: recordStatus(r.status as ExecutionStatus) satisfies RecordStatus,
            Output: encodeOutput(r.output, f.encoding),
            Repeats: r.repeat_no,
            StartTime: isoTime(r.start_time),
            StopTime: isoTime(r.stop_time),
            Username: inv.username,
            Tags: tagView(tags.get(inv.invoke_id)),
          })),
        },
      },
    };
  }

  /** The records of a page of invocations; output is read only when it will be shown. */
  async #recordsOf(invokeIds: string[], withOutput: boolean): Promise<Map<string, InvocationInstanceTable[]>> {
    const m = new Map<string, InvocationInstanceTable[]>();
    if (invokeIds.length === 0) {
      return m;
    }
    const rows = await this.#db
      .selectFrom('invocation_instances')
      .select([
        'invoke_id',
        'instance_id',
        'status',
        'exit_code',
        'dropped',
        'error_code',
        'error_info',
        'repeats',
        'creation_time',
        'update_time',
        'start_time',
        'finish_time',
        'stop_time',
        'delivered_at',
        'delivered_version',
      ])
      .$if(withOutput, (q) => q.select('output'))
      .where('invoke_id', 'in', invokeIds)
      .orderBy('invoke_id')
      .orderBy('instance_id')
      .execute();
    for (const r of rows) {
      const rec: InvocationInstanceTable = { output: Buffer.alloc(0), ...r };
      m.set(r.invoke_id, [...(m.get(r.invoke_id) ?? []), rec]);
    }
    return m;
  }
}

/** A run seen as a record, for the report rules they share (delivered: it has reported). */
const asRecord = (run: InvocationRunTable): InvocationInstanceTable => ({
  ...run,
  repeats: run.repeat_no,
  delivered_at: run.creation_time,
  delivered_version: null,
});

/** The columns of a report patch that a run row has. */
function runPatch(p: Partial<InvocationInstanceTable>): Partial<InvocationRunTable> {
  const { delivered_at: _d, delivered_version: _v, repeats: _r, invoke_id: _i, instance_id: _n, ...rest } = p;
  return rest;
}

/** The wire `repeat` of an execution: Period|Rate|At for a schedule, else the RepeatMode itself. */
function wireRepeatOf(repeatMode: string, wireRepeat: string): Repeat {
  const r = isPeriodic(repeatMode) ? wireRepeat : repeatMode;
  return (REPEATS as readonly string[]).includes(r) ? (r as Repeat) : 'Once';
}

/**
 * What an agent `error` report means for the execution. `InstanceRestarted:` (errCode -13 from our
 * agent) is a task cut short by an agent or instance restart. `ScriptFileExisted` (-9) is the stock
 * agent refusing to run a one-shot task a second time: an earlier agent process had already
 * started it and is gone, so its outcome is unknown: the same case. Anything else is an
 * ExecutionException with the agent's description.
 */
export function errorOutcome(errCode: string, errDesc: string): Partial<InvocationInstanceTable> {
  if (errDesc.startsWith('InstanceRestarted')) {
    return { status: 'Error', error_code: 'InstanceRestarted', error_info: errDesc };
  }
  if (errDesc.startsWith('ScriptFileExisted') || errCode === '-9') {
    return {
      status: 'Error',
      error_code: 'InstanceRestarted',
      error_info:
        'an earlier run of the agent had already started this task and did not report its end; it is not run twice' +
        (errDesc ? ` (${errDesc})` : ''),
    };
  }
  return { status: 'Error', error_code: 'ExecutionException', error_info: errDesc || `agent error ${errCode}` };
}
