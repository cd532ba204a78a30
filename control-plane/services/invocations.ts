// RunCommand and its results: validation, fan-out to agents, task delivery, report handling.
import {
  COMMAND_TYPES,
  formatKick,
  isCommandType,
  type Report,
  type RunTaskEntry,
  type TaskListQuery,
} from '../../protocol/index.js';
import type { Db, InvocationInstanceTable, InvocationTable } from '../store/index.js';
import { ApiError, invalid, isoTime, missing, newId } from '../shared/index.js';
import type { AgentNotifier } from './agent-notifier.js';
import {
  type ExecutionStatus,
  instanceInvokeStatus,
  invocationStatus,
  isFinal,
  recordStatus,
  type RecordStatus,
} from './invocation-status.js';

export interface InvocationLimits {
  maxInstancesPerCall: number;
  /** Bytes of CommandContent after base64 encoding. */
  maxContentBase64: number;
  /** Bytes of output kept per execution (the tail). */
  outputKeepBytes: number;
}

export const DEFAULT_LIMITS: InvocationLimits = {
  maxInstancesPerCall: 50,
  maxContentBase64: 16 * 1024,
  outputKeepBytes: 24 * 1024,
};

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
  keepCommand: boolean;
  repeatMode: string;
  clientToken: string | undefined;
}

const CUSTOM_PARAM = /\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}/g;

/** Replaces `{{name}}` custom parameters; `{{ACS::…}}` built-ins are left for the agent. */
export function substituteParameters(script: string, params: Record<string, unknown>): string {
  const names = [...new Set([...script.matchAll(CUSTOM_PARAM)].map((m) => m[1]!))];
  if (names.length > 20) {
    throw invalid('CommandContent', 'at most 20 custom parameters');
  }
  const absent = names.filter((n) => !(n in params));
  if (absent.length > 0) {
    throw invalid('Parameters', `missing values for: ${absent.join(', ')}`);
  }
  return script.replace(CUSTOM_PARAM, (_m, n: string) => String(params[n]));
}

function decodeContent(content: string, encoding: string): string {
  if (encoding === 'PlainText') {
    return content;
  }
  if (encoding !== 'Base64') {
    throw new ApiError('InvalidParameter.ContentEncoding', 'ContentEncoding must be PlainText or Base64.');
  }
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(content) || content.length % 4 !== 0) {
    throw invalid('CommandContent', 'not valid base64');
  }
  return Buffer.from(content, 'base64').toString('utf8');
}

/** Keeps the last `keep` bytes of output; returns the bytes cut from the head. */
function appendTail(prev: Buffer, chunk: Buffer, keep: number): { output: Buffer; cut: number } {
  const all = chunk.length === 0 ? prev : Buffer.concat([prev, chunk]);
  if (all.length <= keep) {
    return { output: all, cut: 0 };
  }
  return { output: all.subarray(all.length - keep), cut: all.length - keep };
}

const INVALID_PARAM_TO_ERROR: Record<string, string> = {
  TypeInvalid: 'InvalidCommandType',
  CommandContentInvalid: 'InvalidCommandContent',
  UsernameOrPasswordInvalid: 'UserNotExist',
  workingDirectory: 'InvalidWorkingDir',
};

export interface ExecutionEnded {
  invokeId: string;
  instanceId: string;
  status: ExecutionStatus;
}

export class InvocationService {
  readonly #db: Db;
  readonly #endedListeners = new Set<(e: ExecutionEnded) => void>();
  readonly #notifier: AgentNotifier;
  readonly #limits: InvocationLimits;
  readonly #regionId: string;
  constructor(db: Db, notifier: AgentNotifier, regionId: string, limits: InvocationLimits = DEFAULT_LIMITS) {
    this.#db = db;
    this.#notifier = notifier;
    this.#regionId = regionId;
    this.#limits = limits;
  }

  /** Subscribes to executions reaching a final status; returns the unsubscribe function. */
  onEnded(listener: (e: ExecutionEnded) => void): () => void {
    this.#endedListeners.add(listener);
    return () => this.#endedListeners.delete(listener);
  }

  async runCommand(input: RunCommandInput, nowMs: number): Promise<{ CommandId: string; InvokeId: string }> {
    const v = this.#validate(input);
    if (input.clientToken) {
      const prior = await this.#db
        .selectFrom('invocations')
        .selectAll()
        .where('client_token', '=', input.clientToken)
        .executeTakeFirst();
      if (prior) {
        if (prior.command_content !== v.content64) {
          throw new ApiError('IdempotentParameterMismatch', 'ClientToken was used with other parameters.');
        }
        return { CommandId: prior.command_id, InvokeId: prior.invoke_id };
      }
    }
    const found = await this.#db
      .selectFrom('instances')
      .select('instance_id')
      .where('instance_id', 'in', v.instanceIds)
      .where('deregistered_at', 'is', null)
      .execute();
    const known = new Set(found.map((r) => r.instance_id));
    const unknown = v.instanceIds.filter((i) => !known.has(i));
    if (unknown.length > 0) {
      throw new ApiError('InvalidInstanceId.NotFound', `The specified instances do not exist: ${unknown.join(', ')}`);
    }

    const commandId = newId('c', this.#regionId.split('-').pop()?.slice(0, 2));
    const invokeId = newId('t', this.#regionId.split('-').pop()?.slice(0, 2));
    const connected = new Set(v.instanceIds.filter((i) => this.#notifier.isConnected(i)));
    await this.#db.transaction().execute(async (tx) => {
      await tx
        .insertInto('commands')
        .values({
          command_id: commandId,
          name: input.name,
          description: input.description,
          type: input.type,
          content: v.original64,
          working_dir: input.workingDir,
          timeout: v.timeout,
          enable_parameter: input.enableParameter ? 1 : 0,
          username: input.username,
          kept: input.keepCommand ? 1 : 0,
          created_at: nowMs,
        })
        .execute();
      await tx
        .insertInto('invocations')
        .values({
          invoke_id: invokeId,
          command_id: commandId,
          command_name: input.name,
          command_type: input.type,
          command_content: v.content64,
          command_description: input.description,
          parameters: JSON.stringify(input.parameters),
          repeat_mode: 'Once',
          frequency: '',
          timed: 0,
          username: input.username,
          working_dir: input.workingDir,
          timeout: v.timeout,
          enable_parameter: input.enableParameter ? 1 : 0,
          client_token: input.clientToken ?? null,
          created_at: nowMs,
        })
        .execute();
      await tx
        .insertInto('invocation_instances')
        .values(
          v.instanceIds.map((instanceId) => ({
            invoke_id: invokeId,
            instance_id: instanceId,
            // An agent without a live notify channel cannot be kicked: fail fast instead of waiting.
            status: connected.has(instanceId) ? 'Pending' : 'Aborted',
            error_code: connected.has(instanceId) ? '' : 'ClientNotOnline',
            error_info: connected.has(instanceId) ? '' : 'the Cloud Assistant agent on this instance is not connected',
            output: Buffer.alloc(0),
            dropped: 0,
            repeats: 1,
            exit_code: null,
            creation_time: nowMs,
            update_time: nowMs,
            finish_time: connected.has(instanceId) ? null : nowMs,
          })),
        )
        .execute();
      await tx
        .updateTable('instances')
        .set({ last_invoked_at: nowMs })
        .where('instance_id', 'in', v.instanceIds)
        .execute();
    });
    for (const id of connected) {
      this.#notifier.kick(id, formatKick({ type: 'task', action: 'run', id: invokeId }));
    }
    return { CommandId: commandId, InvokeId: invokeId };
  }

  #validate(input: RunCommandInput) {
    const instanceIds = [...new Set(input.instanceIds)];
    if (instanceIds.length === 0) {
      throw missing('InstanceId');
    }
    if (instanceIds.length > this.#limits.maxInstancesPerCall) {
      throw new ApiError(
        'InvalidParameter.InstanceIds',
        `At most ${this.#limits.maxInstancesPerCall} instances per call; got ${instanceIds.length}.`,
      );
    }
    if (!input.type) {
      throw missing('Type');
    }
    if (!isCommandType(input.type)) {
      throw new ApiError('InvalidParameter.Type', `Type must be one of ${COMMAND_TYPES.join(', ')}.`);
    }
    if (!input.commandContent) {
      throw missing('CommandContent');
    }
    if (input.repeatMode !== 'Once') {
      throw new ApiError(
        'InvalidParameter.RepeatMode',
        `RepeatMode ${input.repeatMode} is not supported by this control plane yet; use Once.`,
      );
    }
    const script = decodeContent(input.commandContent, input.contentEncoding);
    const original64 = Buffer.from(script, 'utf8').toString('base64');
    if (original64.length > this.#limits.maxContentBase64) {
      throw new ApiError(
        'InvalidCommandContent.LengthLimitExceeded',
        `CommandContent is ${original64.length} bytes after base64 encoding; the limit is ${this.#limits.maxContentBase64}.`,
      );
    }
    const finalScript = input.enableParameter ? substituteParameters(script, input.parameters) : script;
    const content64 = Buffer.from(finalScript, 'utf8').toString('base64');
    if (content64.length > this.#limits.maxContentBase64) {
      throw new ApiError(
        'InvalidCommandContent.LengthLimitExceeded',
        'CommandContent with parameters exceeds the limit after base64 encoding.',
      );
    }
    let timeout = input.timeout ?? 60;
    if (!Number.isInteger(timeout) || timeout < 0 || timeout > 86_400) {
      throw new ApiError('InvalidParameter.Timeout', 'Timeout must be an integer from 10 to 86400.');
    }
    if (timeout < 10) {
      timeout = 10;
    }
    return { instanceIds, original64, content64, timeout };
  }

  /** Tasks for one agent's fetch: pending executions, re-sent until the agent reports on them. */
  async tasksFor(instanceId: string, q: TaskListQuery, nowMs: number): Promise<{ run: RunTaskEntry[] }> {
    let sel = this.#db
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
      ])
      .select(['i.username', 'i.enable_parameter', 'i.created_at', 'n.instance_name', 'n.region_id', 'r.delivered_at'])
      .where('r.instance_id', '=', instanceId)
      .where('r.status', '=', 'Pending');
    if (q.taskId !== undefined) {
      sel = sel.where('r.invoke_id', '=', q.taskId);
    }
    const rows = await sel.orderBy('i.created_at').execute();
    const undelivered = rows.filter((r) => r.delivered_at === null).map((r) => r.invoke_id);
    if (undelivered.length > 0) {
      await this.#db
        .updateTable('invocation_instances')
        .set({ delivered_at: nowMs, update_time: nowMs })
        .where('instance_id', '=', instanceId)
        .where('invoke_id', 'in', undelivered)
        .execute();
    }
    return {
      run: rows.map((r) => ({
        task: {
          taskID: r.invoke_id,
          invokeVersion: 0,
          type: r.command_type,
          commandId: r.command_id,
          commandName: r.command_name,
          commandContent: r.command_content,
          workingDirectory: r.working_dir,
          timeOut: String(r.timeout),
          cron: '',
          username: r.username,
          windowsPasswordName: '',
          enableParameter: r.enable_parameter === 1,
          builtInParameter: {
            InstanceId: instanceId,
            InstanceName: r.instance_name,
            RegionId: r.region_id,
            CommandId: r.command_id,
            InvokeId: r.invoke_id,
          },
          creationTime: r.created_at,
        },
        output: { interval: 1000, logQuota: this.#limits.outputKeepBytes, skipEmpty: true, sendStart: true },
        repeat: 'Once',
      })),
    };
  }

  /** Applies an agent report. Reports on finished executions are ignored, so retries are harmless. */
  async applyReport(instanceId: string, report: Report, body: Buffer, nowMs: number): Promise<'applied' | 'ignored'> {
    const outcome = await this.#applyReport(instanceId, report, body, nowMs);
    if (outcome !== 'ignored' && isFinal(outcome)) {
      for (const l of this.#endedListeners) {
        l({ invokeId: report.taskId, instanceId, status: outcome });
      }
    }
    return outcome === 'ignored' ? 'ignored' : 'applied';
  }

  async #applyReport(
    instanceId: string,
    report: Report,
    body: Buffer,
    nowMs: number,
  ): Promise<ExecutionStatus | 'ignored'> {
    return this.#db.transaction().execute(async (tx) => {
      const rec = await tx
        .selectFrom('invocation_instances')
        .selectAll()
        .where('invoke_id', '=', report.taskId)
        .where('instance_id', '=', instanceId)
        .executeTakeFirst();
      if (!rec || isFinal(rec.status) || report.kind === 'verified') {
        return 'ignored';
      }
      const { output, cut } = appendTail(rec.output, body, this.#limits.outputKeepBytes);
      const patch: Partial<InvocationInstanceTable> = { output, update_time: nowMs, dropped: rec.dropped + cut };
      const ms = (t: number) => (t > 0 ? t : nowMs);
      switch (report.kind) {
        case 'running':
          patch.status = 'Running';
          patch.start_time = rec.start_time ?? ms(report.start);
          break;
        case 'finish':
          patch.status = report.exitCode === 0 ? 'Success' : 'Failed';
          patch.error_code = report.exitCode === 0 ? '' : 'ExitCodeNonzero';
          Object.assign(patch, this.#ended(rec, report, ms));
          break;
        case 'timeout':
          patch.status = 'Timeout';
          patch.error_code = 'ExecutionTimeout';
          patch.error_info = 'the command ran longer than its Timeout and was stopped';
          Object.assign(patch, this.#ended(rec, report, ms));
          break;
        case 'error':
          patch.status = 'Error';
          patch.error_code = 'ExecutionException';
          patch.error_info = report.errDesc || `agent error ${report.errCode}`;
          Object.assign(patch, this.#ended(rec, report, ms));
          break;
        case 'invalid':
          patch.status = 'Invalid';
          patch.error_code = INVALID_PARAM_TO_ERROR[report.param] ?? report.param;
          patch.error_info = report.value;
          patch.finish_time = nowMs;
          break;
        case 'stopped':
          patch.status = 'Stopped';
          patch.stop_time = ms(report.end);
          patch.exit_code = report.exitCode;
          break;
      }
      await tx
        .updateTable('invocation_instances')
        .set(patch)
        .where('invoke_id', '=', report.taskId)
        .where('instance_id', '=', instanceId)
        .execute();
      return (patch.status ?? rec.status) as ExecutionStatus;
    });
  }

  #ended(
    rec: InvocationInstanceTable,
    r: { start: number; end: number; exitCode: number; dropped: number },
    ms: (t: number) => number,
  ) {
    return {
      start_time: rec.start_time ?? ms(r.start),
      finish_time: ms(r.end),
      exit_code: r.exitCode,
      dropped: rec.dropped + r.dropped,
    };
  }

  async describeInvocations(f: {
    invokeId?: string;
    commandId?: string;
    commandName?: string;
    commandType?: string;
    instanceId?: string;
    invokeStatus?: string;
    includeOutput: boolean;
    contentEncoding: string;
    pageNumber: number;
    pageSize: number;
  }) {
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
    if (f.instanceId) {
      const id = f.instanceId;
      q = q.where('invoke_id', 'in', (eb) =>
        eb.selectFrom('invocation_instances').select('invoke_id').where('instance_id', '=', id),
      );
    }
    const invocations = await q.selectAll().orderBy('created_at', 'desc').execute();
    const records = await this.#recordsOf(invocations.map((i) => i.invoke_id));
    const withStatus = invocations
      .map((inv) => ({ inv, recs: records.get(inv.invoke_id) ?? [] }))
      .map((x) => ({ ...x, status: invocationStatus(x.recs.map((r) => recordStatus(r.status as ExecutionStatus))) }))
      .filter((x) => !f.invokeStatus || x.status === f.invokeStatus);
    const page = withStatus.slice((f.pageNumber - 1) * f.pageSize, f.pageNumber * f.pageSize);
    return {
      TotalCount: withStatus.length,
      PageNumber: f.pageNumber,
      PageSize: f.pageSize,
      Invocations: { Invocation: page.map((x) => this.#invocationView(x.inv, x.recs, x.status, f)) },
    };
  }

  #invocationView(
    inv: InvocationTable,
    recs: InvocationInstanceTable[],
    status: string,
    f: { includeOutput: boolean; contentEncoding: string },
  ) {
    return {
      CommandContent: inv.command_content,
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
      Tags: { Tag: [] as { TagKey: string; TagValue: string }[] },
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
          Output: f.includeOutput ? encodeOutput(r.output, f.contentEncoding) : '',
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
    contentEncoding: string;
    pageNumber: number;
    pageSize: number;
  }) {
    let q = this.#db
      .selectFrom('invocation_instances as r')
      .innerJoin('invocations as i', 'i.invoke_id', 'r.invoke_id')
      .selectAll('r')
      .select(['i.command_id', 'i.username']);
    if (f.invokeId) {
      q = q.where('r.invoke_id', '=', f.invokeId);
    }
    if (f.instanceId) {
      q = q.where('r.instance_id', '=', f.instanceId);
    }
    if (f.commandId) {
      q = q.where('i.command_id', '=', f.commandId);
    }
    const rows = (await q.orderBy('r.creation_time', 'desc').orderBy('r.instance_id').execute()).filter(
      (r) => !f.invokeRecordStatus || recordStatus(r.status as ExecutionStatus) === f.invokeRecordStatus,
    );
    const page = rows.slice((f.pageNumber - 1) * f.pageSize, f.pageNumber * f.pageSize);
    return {
      Invocation: {
        TotalCount: rows.length,
        PageNumber: f.pageNumber,
        PageSize: f.pageSize,
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
            Output: encodeOutput(r.output, f.contentEncoding),
            Repeats: r.repeats,
            StartTime: isoTime(r.start_time),
            StopTime: isoTime(r.stop_time),
            Username: r.username,
            Tags: { Tag: [] as { TagKey: string; TagValue: string }[] },
          })),
        },
      },
    };
  }

  async #recordsOf(invokeIds: string[]): Promise<Map<string, InvocationInstanceTable[]>> {
    const m = new Map<string, InvocationInstanceTable[]>();
    if (invokeIds.length === 0) {
      return m;
    }
    const rows = await this.#db
      .selectFrom('invocation_instances')
      .selectAll()
      .where('invoke_id', 'in', invokeIds)
      .orderBy('instance_id')
      .execute();
    for (const r of rows) {
      m.set(r.invoke_id, [...(m.get(r.invoke_id) ?? []), r]);
    }
    return m;
  }
}

function encodeOutput(output: Buffer, encoding: string): string {
  return encoding === 'PlainText' ? output.toString('utf8') : output.toString('base64');
}
