// Agent reports applied to executions: a report moves its record (or, for Period and EveryReboot
// executions, the run it is about) to the outcome the report means, keeps the output's tail and
// moves the invocation's counters in the same transaction.
import type { Report } from '../../protocol/index.js';
import { forWrite, type Db, type InvocationInstanceTable, type InvocationRunTable } from '../store/index.js';
import type { InvocationContext } from './invocation-context.js';
import { announceEnded, collectMoves, type CounterDeltas, type Transition } from './invocation-counters.js';
import { secretMaskFor } from './invocation-parameters.js';
import { isFinal } from './invocation-status.js';
import { runsSeparately } from './schedules.js';

/** A Map: the key is the agent's `param`, which may name an Object.prototype member. */
const INVALID_PARAM_TO_ERROR = new Map([
  ['TypeInvalid', 'InvalidCommandType'],
  ['CommandContentInvalid', 'InvalidCommandContent'],
  ['UsernameOrPasswordInvalid', 'UserNotExist'],
  ['workingDirectory', 'InvalidWorkingDir'],
]);

/** Output as stored: secret parameter values masked (invocation-parameters.ts secretMaskFor). */
type OutputMask = ((output: Buffer) => Buffer) | undefined;

/**
 * Keeps the last `keep` bytes of output; returns the bytes cut from the head. The mask runs on the
 * whole kept output plus the new chunk, so a secret split across two reports is masked too.
 */
function appendTail(prev: Buffer, chunk: Buffer, keep: number, mask?: OutputMask): { output: Buffer; cut: number } {
  const joined = chunk.length === 0 ? prev : Buffer.concat([prev, chunk]);
  const all = mask && chunk.length > 0 ? mask(joined) : joined;
  if (all.length <= keep) {
    return { output: all, cut: 0 };
  }
  return { output: all.subarray(all.length - keep), cut: all.length - keep };
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

export class ReportApplication {
  readonly #ctx: InvocationContext;

  constructor(ctx: InvocationContext) {
    this.#ctx = ctx;
  }

  /**
   * Applies an agent report. Reports on finished executions are ignored, so retries are harmless.
   * Period and EveryReboot executions record each run on its own (#applyRunReport).
   */
  async applyReport(instanceId: string, report: Report, body: Buffer, nowMs: number): Promise<'applied' | 'ignored'> {
    // Grouped with the reports of other agents that arrive together: one commit for all of them.
    const move = await this.#ctx.grouped.run(async (tx, counts) => {
      // Locked until the group commits, with the runs it owns: a report on the same execution in
      // a group running beside this one waits, then reads what this one wrote.
      const rec = await forWrite(
        tx,
        tx
          .selectFrom('invocation_instances as r')
          .innerJoin('invocations as i', 'i.invoke_id', 'r.invoke_id')
          .selectAll('r')
          .select(['i.repeat_mode', 'i.wire_repeat', 'i.enable_parameter'])
          .where('r.invoke_id', '=', report.taskId)
          .where('r.instance_id', '=', instanceId),
        'r',
      ).executeTakeFirst();
      if (!rec || report.kind === 'verified') {
        return undefined;
      }
      const mask = body.length > 0 ? await secretMaskFor(this.#ctx, tx, rec) : undefined;
      if (runsSeparately(rec.repeat_mode)) {
        return this.#applyRunReport(tx, rec, report, body, nowMs, mask, counts);
      }
      if (isFinal(rec.status)) {
        return undefined;
      }
      const patch = this.#reportPatch(rec, report, body, nowMs, mask);
      await tx
        .updateTable('invocation_instances')
        .set(patch)
        .where('invoke_id', '=', report.taskId)
        .where('instance_id', '=', instanceId)
        .execute();
      const m: Transition = { invokeId: rec.invoke_id, instanceId, from: rec.status, to: patch.status ?? rec.status };
      collectMoves(counts, [m]); // written once for the whole group
      return m;
    });
    if (!move) {
      return 'ignored';
    }
    announceEnded(this.#ctx, [move]);
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
    mask: OutputMask,
    counts: CounterDeltas,
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
          const p = this.#reportPatch(asRecord(cut), report, body, nowMs, mask);
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
        ...runPatch(this.#reportPatch(asRecord(base), report, body, nowMs, mask)),
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
    collectMoves(counts, [m]); // written once for the whole group
    return m;
  }

  #reportPatch(rec: InvocationInstanceTable, report: Report, body: Buffer, nowMs: number, mask?: OutputMask) {
    const { output, cut } = appendTail(rec.output, body, this.#ctx.limits.outputKeepBytes, mask);
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
}
