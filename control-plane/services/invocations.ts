// Invocations, as one service for the OpenAPI actions, the agent API and the sweeper. The work is
// done by parts with one job each, sharing one InvocationContext:
//   invocation-dispatch.ts   RunCommand / InvokeCommand and their fan-out transaction
//   task-delivery.ts         what an agent's fetch gets, and marking it delivered
//   report-application.ts    agent reports applied to executions and runs
//   invocation-control.ts    StopInvocation, ModifyInvocationAttribute, the delivery-timeout sweep
//   invocation-listings.ts   DescribeInvocations, DescribeInvocationResults
//   invocation-counters.ts   status counters and ended-listeners, moved by every record transition
import type { Report, RunTaskEntry, TaskListQuery } from '../../protocol/index.js';
import { GroupedTransactions, type Db } from '../store/index.js';
import type { AgentNotifier } from './agent-notifier.js';
import { COUNTER_COLLECTOR } from './invocation-counters.js';
import { InvocationControl, type ModifyInvocationInput } from './invocation-control.js';
import {
  DEFAULT_INVOCATION_OPTIONS,
  DEFAULT_LIMITS,
  type ExecutionEnded,
  type InvocationContext,
  type InvocationLimits,
  type InvocationOptions,
} from './invocation-context.js';
import type { ParameterSource } from './invocation-parameters.js';
import { InvocationDispatch, type InvokeCommandInput, type RunCommandInput } from './invocation-dispatch.js';
import {
  InvocationListings,
  type DescribeInvocationsFilter,
  type DescribeResultsFilter,
} from './invocation-listings.js';
import { ReportApplication } from './report-application.js';
import { TaskDelivery } from './task-delivery.js';

export { substituteParameters } from './command-content.js';
export {
  DEFAULT_INVOCATION_OPTIONS,
  DEFAULT_LIMITS,
  type ExecutionEnded,
  type InvocationLimits,
  type InvocationOptions,
} from './invocation-context.js';
export type { ModifyInvocationInput } from './invocation-control.js';
export type { InvokeCommandInput, RunCommandInput } from './invocation-dispatch.js';
export { errorOutcome } from './report-application.js';

export class InvocationService {
  readonly #ctx: InvocationContext;
  readonly #dispatch: InvocationDispatch;
  readonly #delivery: TaskDelivery;
  readonly #reports: ReportApplication;
  readonly #control: InvocationControl;
  readonly #listings: InvocationListings;

  constructor(
    db: Db,
    notifier: AgentNotifier,
    regionId: string,
    limits: InvocationLimits = DEFAULT_LIMITS,
    options: InvocationOptions = DEFAULT_INVOCATION_OPTIONS,
    parameters?: ParameterSource,
  ) {
    this.#ctx = {
      db,
      grouped: new GroupedTransactions(db, COUNTER_COLLECTOR),
      notifier,
      regionId,
      limits,
      options,
      endedListeners: new Set(),
      ...(parameters ? { parameters } : {}),
    };
    this.#dispatch = new InvocationDispatch(this.#ctx);
    this.#delivery = new TaskDelivery(this.#ctx);
    this.#reports = new ReportApplication(this.#ctx);
    this.#control = new InvocationControl(this.#ctx);
    this.#listings = new InvocationListings(this.#ctx);
  }

  get deliveryTimeoutMs(): number {
    return this.#ctx.options.deliveryTimeoutMs;
  }

  /** Subscribes to executions reaching a final status; returns the unsubscribe function. */
  onEnded(listener: (e: ExecutionEnded) => void): () => void {
    this.#ctx.endedListeners.add(listener);
    return () => this.#ctx.endedListeners.delete(listener);
  }

  runCommand(input: RunCommandInput, nowMs: number): Promise<{ CommandId: string; InvokeId: string }> {
    return this.#dispatch.runCommand(input, nowMs);
  }

  invokeCommand(input: InvokeCommandInput, nowMs: number): Promise<{ InvokeId: string }> {
    return this.#dispatch.invokeCommand(input, nowMs);
  }

  hasPendingWork(instanceId: string): Promise<boolean> {
    return this.#delivery.hasPendingWork(instanceId);
  }

  tasksFor(
    instanceId: string,
    q: TaskListQuery,
    nowMs: number,
  ): Promise<{ run: RunTaskEntry[]; stop: RunTaskEntry[] }> {
    return this.#delivery.tasksFor(instanceId, q, nowMs);
  }

  /** The agent API calls this one (benchmarks wrap it to watch reports go by). */
  applyReport(instanceId: string, report: Report, body: Buffer, nowMs: number): Promise<'applied' | 'ignored'> {
    return this.#reports.applyReport(instanceId, report, body, nowMs);
  }

  stop(invokeId: string, instanceIds: string[], nowMs: number): Promise<Record<string, never>> {
    return this.#control.stop(invokeId, instanceIds, nowMs);
  }

  /** Called by the DeliverySweeper; returns how many executions it failed. */
  sweepDeliveryTimeouts(nowMs: number): Promise<number> {
    return this.#control.sweepDeliveryTimeouts(nowMs);
  }

  modify(input: ModifyInvocationInput, nowMs: number): Promise<{ CommandId: string }> {
    return this.#control.modify(input, nowMs);
  }

  describeInvocations(f: DescribeInvocationsFilter) {
    return this.#listings.describeInvocations(f);
  }

  describeResults(f: DescribeResultsFilter) {
    return this.#listings.describeResults(f);
  }
}
