// RunCommand and InvokeCommand: both check their input, then share one fan-out transaction
// (ClientToken idempotency, instance checks, the command RunCommand creates, the invocation, its
// records and tags) and kick the connected agents.
import { createHash } from 'node:crypto';
import { formatKick } from '../../protocol/index.js';
import { inLockOrder, valuesOf } from '../store/index.js';
import { ApiError, missing, newId } from '../shared/index.js';
import {
  checkDescription,
  checkName,
  checkTimeout,
  checkType,
  checkUsername,
  decodeContent,
  encodeContent,
  renderScript,
} from './command-content.js';
import { assertCommandQuota, resolveCommand } from './commands.js';
import { decodeStored, regionCode, type InvocationContext } from './invocation-context.js';
import { announceEnded } from './invocation-counters.js';
import { checkParameterRefs } from './invocation-parameters.js';
import { invocationStatusOf, type StatusCounts } from './invocation-status.js';
import { isBootTime, resolveSchedule, type ScheduleSettings } from './schedules.js';
import { saveTags, validateTags, type RawTag, type Tag } from './tags.js';

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

/** What a ClientToken retry is compared by: the request's parameters, hashed. */
function fingerprint(o: unknown): string {
  return createHash('sha256').update(JSON.stringify(o)).digest('hex');
}

export class InvocationDispatch {
  readonly #ctx: InvocationContext;

  constructor(ctx: InvocationContext) {
    this.#ctx = ctx;
  }

  async runCommand(input: RunCommandInput, nowMs: number): Promise<{ CommandId: string; InvokeId: string }> {
    const instanceIds = this.#checkInstanceList(input.instanceIds);
    checkType(input.type);
    const script = decodeContent(input.commandContent, input.contentEncoding);
    checkName(input.name);
    checkDescription(input.description);
    checkUsername(input.username);
    const template64 = encodeContent(script, this.#ctx.limits.maxContentBase64);
    const rendered = renderScript(script, input.enableParameter, input.parameters);
    const content64 = encodeContent(rendered, this.#ctx.limits.maxContentBase64, 'CommandContent with parameters');
    await checkParameterRefs(this.#ctx, rendered, input.enableParameter);
    const timeout = checkTimeout(input.timeout);
    const schedule = resolveSchedule(
      { repeatMode: input.repeatMode, frequency: input.frequency, timeoutSeconds: timeout },
      nowMs,
    );
    const tags = validateTags(input.tags ?? []);
    const d: Omit<Dispatch, 'fingerprint'> = {
      instanceIds,
      commandId: newId('c', regionCode(this.#ctx)),
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
    const cmd = await resolveCommand(this.#ctx.db, input.commandId);
    const username = checkUsername(input.username ?? cmd.username);
    const rendered = renderScript(decodeStored(cmd.content64), cmd.enableParameter, input.parameters);
    const content64 = encodeContent(rendered, this.#ctx.limits.maxContentBase64, 'CommandContent with parameters');
    await checkParameterRefs(this.#ctx, rendered, cmd.enableParameter);
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

  #checkInstanceList(ids: string[]): string[] {
    const instanceIds = [...new Set(ids)];
    if (instanceIds.length === 0) {
      throw missing('InstanceId');
    }
    if (instanceIds.length > this.#ctx.limits.maxInstancesPerCall) {
      throw new ApiError(
        'InvalidParameter.InstanceIds',
        `At most ${this.#ctx.limits.maxInstancesPerCall} instances per call; got ${instanceIds.length}.`,
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
    const invokeId = newId('t', regionCode(this.#ctx));
    const once = d.schedule.repeatMode === 'Once';
    const connected = await this.#ctx.notifier.connectedAmong(d.instanceIds);
    const offline = once ? d.instanceIds.length - connected.size : 0;
    const created = await this.#ctx.db.transaction().execute(async (tx) => {
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
        .where('instance_id', 'in', valuesOf(this.#ctx.db, d.instanceIds))
        .where('deregistered_at', 'is', null)
        .execute();
      const known = new Set(found.map((r) => r.instance_id));
      const unknown = d.instanceIds.filter((i) => !known.has(i));
      if (unknown.length > 0) {
        throw new ApiError('InvalidInstanceId.NotFound', `The specified instances do not exist: ${unknown.join(', ')}`);
      }
      if (d.createCommand) {
        if (d.createCommand.kept) {
          await assertCommandQuota(tx, this.#ctx.limits);
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
        // In key order: heartbeat batches update these rows beside it (heartbeat-writer.ts).
        .where('instance_id', 'in', inLockOrder(tx, 'instances', 'instance_id', d.instanceIds))
        .execute();
      return { CommandId: d.commandId, InvokeId: invokeId, fresh: true };
    });
    if (created.fresh && !isBootTime(d.schedule.repeatMode)) {
      this.#ctx.notifier.kick([...connected], formatKick({ type: 'task', action: 'run', id: invokeId }));
      for (const id of once ? d.instanceIds.filter((i) => !connected.has(i)) : []) {
        announceEnded(this.#ctx, [{ invokeId, instanceId: id, from: 'Pending', to: 'Aborted' }]);
      }
    }
    return { CommandId: created.CommandId, InvokeId: created.InvokeId };
  }
}
