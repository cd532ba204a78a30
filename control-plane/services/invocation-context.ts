// What the parts of the invocation service share: the store, the way to agents, the region, the
// limits and options it was built with, and who listens for executions ending. InvocationService
// (invocations.ts) builds one and hands it to each part.
import type { Db, GroupedTransactions } from '../store/index.js';
import type { CounterDeltas } from './invocation-counters.js';
import type { AgentNotifier } from './agent-notifier.js';
import type { ExecutionStatus } from './invocation-status.js';
import type { ParameterSource } from './invocation-parameters.js';

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

export interface ExecutionEnded {
  invokeId: string;
  instanceId: string;
  status: ExecutionStatus;
}

export interface InvocationContext {
  readonly db: Db;
  /**
   * The agents' hot path (fetches, reports): many agents' units of work in one commit; units
   * collect their counter moves (collectMoves), written once per group.
   */
  readonly grouped: GroupedTransactions<CounterDeltas>;
  readonly notifier: AgentNotifier;
  readonly regionId: string;
  readonly limits: InvocationLimits;
  readonly options: InvocationOptions;
  /** Told of every execution reaching a final status (InvocationService.onEnded). */
  readonly endedListeners: Set<(e: ExecutionEnded) => void>;
  /** The parameter store `{{oos:…}}` references resolve from; without one, none resolve. */
  readonly parameters?: ParameterSource;
}

/** The region part of new command and invocation ids (`cn-hangzhou` → `ha`). */
export function regionCode(ctx: InvocationContext): string {
  return ctx.regionId.split('-').pop()?.slice(0, 2) ?? 'hz';
}

/** Stored command content (base64) as the script text. */
export const decodeStored = (b64: string): string => Buffer.from(b64, 'base64').toString('utf8');
