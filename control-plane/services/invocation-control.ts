// Changing invocations after their creation: StopInvocation, ModifyInvocationAttribute, and the
// sweep that fails executions no agent fetched in time (DeliveryTimeout).
import { formatKick } from '../../protocol/index.js';
import { valuesOf } from '../store/index.js';
import { ApiError, missing, newId } from '../shared/index.js';
import { decodeContent, encodeContent, renderScript } from './command-content.js';
import { checkParameterRefs } from './invocation-parameters.js';
import { assertCommandQuota } from './commands.js';
import { decodeStored, regionCode, type InvocationContext } from './invocation-context.js';
import { announceEnded, countAllMoves, countMoves, type Transition } from './invocation-counters.js';
import { isPublicCommandId } from './public-commands.js';
import { checkFrequency, isBootTime, isPeriodic, runsSeparately } from './schedules.js';

export interface ModifyInvocationInput {
  invokeId: string;
  commandContent?: string;
  contentEncoding: string;
  enableParameter?: boolean;
  parameters?: Record<string, unknown>;
  frequency?: string;
  instanceIds: string[];
}

export class InvocationControl {
  readonly #ctx: InvocationContext;

  constructor(ctx: InvocationContext) {
    this.#ctx = ctx;
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
    const { moves, kick } = await this.#ctx.db.transaction().execute(async (tx) => {
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
        q = q.where('instance_id', 'in', valuesOf(this.#ctx.db, only)); // one bound value, however long the list
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
      await countMoves(tx, invokeId, moves);
      return { moves, kick };
    });
    this.#ctx.notifier.kick(kick, formatKick({ type: 'task', action: 'stop', id: invokeId }));
    announceEnded(this.#ctx, moves);
    return {};
  }

  /**
   * Fails executions still Pending and never fetched `deliveryTimeoutMs` after their creation:
   * Aborted / DeliveryTimeout. Returns how many it failed. Called by the sweeper.
   */
  async sweepDeliveryTimeouts(nowMs: number): Promise<number> {
    const cutoff = nowMs - this.#ctx.options.deliveryTimeoutMs;
    const moves = await this.#ctx.db.transaction().execute(async (tx) => {
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
            error_info: `the agent did not fetch the task within ${Math.round(this.#ctx.options.deliveryTimeoutMs / 1000)} s`,
            finish_time: nowMs,
            update_time: nowMs,
          })
          .where('invoke_id', '=', r.invoke_id)
          .where('instance_id', '=', r.instance_id)
          .execute();
        moves.push({ invokeId: r.invoke_id, instanceId: r.instance_id, from: 'Pending', to: 'Aborted' });
      }
      await countAllMoves(tx, moves);
      return moves;
    });
    announceEnded(this.#ctx, moves);
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
    const { CommandId, kick } = await this.#ctx.db.transaction().execute(async (tx) => {
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
        : decodeStored(inv.command_template);
      const template64 = encodeContent(script, this.#ctx.limits.maxContentBase64);
      const enableParameter = input.enableParameter ?? inv.enable_parameter === 1;
      const parameters = input.parameters ?? (JSON.parse(inv.parameters) as Record<string, unknown>);
      const rendered = renderScript(script, enableParameter, enableParameter ? parameters : (input.parameters ?? {}));
      const content64 = encodeContent(rendered, this.#ctx.limits.maxContentBase64, 'CommandContent with parameters');
      await checkParameterRefs(this.#ctx, rendered, enableParameter, tx);
      let commandId = inv.command_id;
      if (changesContent) {
        const old = await tx
          .selectFrom('commands')
          .selectAll()
          .where('command_id', '=', inv.command_id)
          .executeTakeFirst();
        const kept = old?.kept === 1;
        if (kept) {
          await assertCommandQuota(tx, this.#ctx.limits);
        }
        commandId = newId('c', regionCode(this.#ctx));
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
    this.#ctx.notifier.kick(kick, formatKick({ type: 'task', action: 'run', id: input.invokeId }));
    return { CommandId };
  }
}
