// Task delivery: what an agent's fetch (luban task list) gets, and marking what it got as delivered
// in the same transaction.
import { REPEATS, type Repeat, type RunTaskEntry, type TaskListQuery } from '../../protocol/index.js';
import { forWrite } from '../store/index.js';
import type { InvocationContext } from './invocation-context.js';
import { announceEnded, collectMoves, type Transition } from './invocation-counters.js';
import { resolveForDelivery } from './invocation-parameters.js';
import { isPeriodic } from './schedules.js';

/** Every status in which a fetch may send an execution (the cases of tasksFor, hasPendingWork). */
const DELIVERABLE = ['Pending', 'Stopping', 'Scheduled', 'Running'];

/** The wire `repeat` of an execution: Period|Rate|At for a schedule, else the RepeatMode itself. */
function wireRepeatOf(repeatMode: string, wireRepeat: string): Repeat {
  const r = isPeriodic(repeatMode) ? wireRepeat : repeatMode;
  return (REPEATS as readonly string[]).includes(r) ? (r as Repeat) : 'Once';
}

export class TaskDelivery {
  readonly #ctx: InvocationContext;

  constructor(ctx: InvocationContext) {
    this.#ctx = ctx;
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
  /**
   * Whether a fetch by the instance could get anything: a record waiting for it, one being stopped,
   * or a schedule or boot-time task it may need again. A cheap look, for the kick an agent gets
   * when its notify socket comes up (an agent with nothing to do is not made to fetch).
   */
  async hasPendingWork(instanceId: string): Promise<boolean> {
    const row = await this.#ctx.db
      .selectFrom('invocation_instances')
      .select('invoke_id')
      .where('instance_id', '=', instanceId)
      .where('status', 'in', DELIVERABLE)
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  async tasksFor(
    instanceId: string,
    q: TaskListQuery,
    nowMs: number,
  ): Promise<{ run: RunTaskEntry[]; stop: RunTaskEntry[] }> {
    const coldStart = q.reason === 'startup' && q.coldStart === true;
    let invalid: Transition[] = [];
    // Grouped with other agents' fetches that arrive together: one commit for all of them.
    const rows = await this.#ctx.grouped.run(async (tx, counts) => {
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
        // Every status the cases below can match, so that the (instance_id, status) index finds
        // them: without it a fetch reads all the instance's finished executions too (5,000 of
        // them: 1.5 ms per fetch instead of 6 µs).
        .where('r.status', 'in', DELIVERABLE)
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
      // The records are locked until the group commits: a fetch of the same agent in a group
      // running beside this one (another node, or this node's next group) waits, then sees them
      // delivered.
      const all = await forWrite(tx, sel.orderBy('i.created_at'), 'r').execute();
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
      // Parameter-store references filled in for this delivery only; one that no longer resolves
      // fails its execution (Invalid, ParameterFailed) instead of running with a token in it.
      const params = await resolveForDelivery(
        this.#ctx,
        tx,
        rows.filter((r) => r.status !== 'Stopping'),
      );
      for (const r of rows) {
        const why = r.status === 'Stopping' ? undefined : params.failed.get(r.invoke_id);
        if (why !== undefined) {
          await tx
            .updateTable('invocation_instances')
            .set({
              status: 'Invalid',
              error_code: 'ParameterFailed',
              error_info: why,
              finish_time: nowMs,
              update_time: nowMs,
            })
            .where('instance_id', '=', instanceId)
            .where('invoke_id', '=', r.invoke_id)
            .execute();
          moves.push({ invokeId: r.invoke_id, instanceId, from: r.status, to: 'Invalid' });
        }
      }
      for (const r of rows) {
        if (r.status === 'Stopping' || params.failed.has(r.invoke_id)) {
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
      collectMoves(counts, moves); // written once for the whole group
      invalid = moves.filter((m) => m.to === 'Invalid');
      return rows
        .filter((r) => r.status === 'Stopping' || !params.failed.has(r.invoke_id))
        .map((r) => ({
          ...r,
          command_content: params.content.get(r.invoke_id) ?? r.command_content,
          secret_content: params.secret.has(r.invoke_id),
        }));
    });
    announceEnded(this.#ctx, invalid);
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
            RegionId: r.region_id || this.#ctx.regionId,
            AccountId: this.#ctx.options.accountId,
            CommandId: r.command_id,
            InvokeId: r.invoke_id,
          },
          creationTime: r.created_at,
          ...(r.secret_content ? { secretContent: true } : {}),
        },
        output: { interval: 1000, logQuota: this.#ctx.limits.outputKeepBytes, skipEmpty: true, sendStart: true },
        repeat: wireRepeatOf(r.repeat_mode, r.wire_repeat),
      };
    };
    return {
      run: rows.filter((r) => r.status !== 'Stopping').map(entry),
      stop: rows.filter((r) => r.status === 'Stopping').map(entry),
    };
  }
}
