// One fan-out: RunCommand (`echo …`, RunShellScript) naming every instance, DescribeInvocations
// polled until the invocation is final, then every execution read back with
// DescribeInvocationResults (MaxResults/NextToken) to count outcomes and check each output.
// The CPU of every party (nodes, PostgreSQL, nginx, simulator, the machine) is read around the
// fan-out itself (the read-back is not in it).
import { randomBytes } from 'node:crypto';
import { ApiCallError, type ApiClient } from './api-client.js';
import { cpuDelta, sumOf, type CpuProbe, type CpuSample } from './cpu-probe.js';
import type { Fleet } from './fleet.js';
import { addTaskStats, emptyTaskStats, type SimCounters, type TaskStats } from './ipc.js';
import { sleep } from './metrics.js';

/** Whole-invocation statuses that no longer change (spec/openapi.md, Statuses). */
const FINAL = new Set(['Finished', 'Failed', 'PartialFailed', 'Stopped', 'Success', 'Cancelled']);

export interface FanOutResult {
  run: number;
  n: number;
  /** RunCommand calls it took (more than one only when one call's body was refused as too large). */
  calls: number;
  invokeIds: string[];
  /** Final InvocationStatus of the invocation(s), or the last one seen when it timed out. */
  status: string;
  timedOut: boolean;
  /** RunCommand sent → DescribeInvocations says final. */
  finishedMs: number;
  /** RunCommand sent → the simulator's last `finish` report answered. */
  lastReportMs: number;
  runCommandMs: number[];
  pollMs: number[];
  pollErrors: number;
  /** All nodes together. */
  serverCpuS: number;
  simCpuS: number;
  /** Every party's CPU seconds during the fan-out (cpu-probe.ts). */
  cpu: CpuSample;
  /** Executions by InvocationStatus, and error codes, from DescribeInvocationResults. */
  byStatus: Record<string, number>;
  errorCodes: Record<string, number>;
  /** Successful executions whose Output is not what the script prints on that instance. */
  badOutput: number;
  sim: TaskStats;
  /** The simulator's new HTTPS connections and failed fetch attempts from RunCommand to final. */
  simConnections: number;
  simFetchErrors: number;
  /** The simulator's errors during this fan-out, by kind. */
  simErrors: Record<string, number>;
}

const isTooLarge = (e: unknown) =>
  e instanceof ApiCallError &&
  (e.status === 413 || ['FST_ERR_CTP_BODY_TOO_LARGE', 'ECONNRESET', 'EPIPE'].includes(e.code));

/** RunCommand over all ids, in as few calls as the server takes (halving the batch on "too large"). */
export async function sendRunCommand(api: ApiClient, ids: string[], content: string, perCall: number) {
  let size = Math.min(perCall, ids.length);
  for (;;) {
    const invokeIds: string[] = [];
    const ms: number[] = [];
    try {
      for (let i = 0; i < ids.length; i += size) {
        const r = await api.call(
          'RunCommand',
          {
            Type: 'RunShellScript',
            Name: 'fleet-fan-out',
            CommandContent: content,
            EnableParameter: true,
            InstanceId: ids.slice(i, i + size),
          },
          180_000,
        );
        invokeIds.push(String(r.body['InvokeId']));
        ms.push(r.ms);
      }
      return { invokeIds, ms };
    } catch (e) {
      if (invokeIds.length > 0 || size === 1 || !isTooLarge(e)) {
        throw e;
      }
      size = Math.ceil(size / 2);
    }
  }
}

/** The simulator's errors between two readings of its counters, by kind. */
const errorsSince = (before: SimCounters, after: SimCounters): Record<string, number> =>
  Object.fromEntries(
    Object.entries(after.errors)
      .map(([k, v]) => [k, v - (before.errors[k] ?? 0)] as const)
      .filter(([, v]) => v > 0),
  );

const fetchErrors = (errors: Record<string, number>) =>
  Object.entries(errors).reduce((t, [k, v]) => (k.startsWith('fetch ') ? t + v : t), 0);

export async function runFanOut(o: {
  api: ApiClient;
  fleet: Fleet;
  cpu: CpuProbe;
  /** The parties of `cpu` that are control-plane nodes. */
  nodes: readonly string[];
  instanceIds: string[];
  run: number;
  perCall: number;
  pollIntervalMs: number;
  deadlineMs: number;
  log: (line: string) => void;
}): Promise<FanOutResult> {
  const n = o.instanceIds.length;
  const tag = `${n}-${o.run}-${randomBytes(3).toString('hex')}`;
  const content = `echo fleet fan-out ${tag} {{ACS::InstanceId}}`;
  const expected = (instanceId: string) => `fleet fan-out ${tag} ${instanceId}\n`;

  const sim0 = await o.fleet.counters();
  const cpu0 = o.cpu();
  const t0 = Date.now();
  const deadline = t0 + o.deadlineMs;
  const sent = await sendRunCommand(o.api, o.instanceIds, content, o.perCall);

  const pollMs: number[] = [];
  let pollErrors = 0;
  const status = new Map<string, string>(sent.invokeIds.map((id) => [id, 'Pending']));
  const pending = new Set(sent.invokeIds);
  while (pending.size > 0 && Date.now() < deadline) {
    for (const id of [...pending]) {
      try {
        const r = await o.api.call('DescribeInvocations', { InvokeId: id });
        pollMs.push(r.ms);
        const inv = (r.body['Invocations'] as { Invocation?: { InvocationStatus?: string }[] } | undefined)
          ?.Invocation?.[0];
        const s = inv?.InvocationStatus ?? 'Unknown';
        status.set(id, s);
        if (FINAL.has(s)) {
          pending.delete(id);
        }
      } catch {
        pollErrors++;
      }
    }
    if (pending.size > 0) {
      await sleep(o.pollIntervalMs);
    }
  }
  const finishedAt = Date.now();
  const cpu = cpuDelta(cpu0, o.cpu());
  const sim1 = await o.fleet.counters();
  const simErrors = errorsSince(sim0, sim1);
  const timedOut = pending.size > 0;
  if (timedOut) {
    o.log(`fan-out ${o.run}: not final after ${o.deadlineMs / 1000} s (${[...new Set(status.values())].join(', ')})`);
  }

  // The API answers Finished once the last report is applied; its agent sees the answer a moment later.
  let sim = emptyTaskStats();
  for (let i = 0; i < 50; i++) {
    sim = emptyTaskStats();
    for (const id of sent.invokeIds) {
      sim = addTaskStats(sim, await o.fleet.taskStats(id));
    }
    if (timedOut || sim.finishedOnce + sim.finishedMore >= n) {
      break;
    }
    await sleep(200);
  }

  const byStatus: Record<string, number> = {};
  const errorCodes: Record<string, number> = {};
  let badOutput = 0;
  const readBackDeadline = Date.now() + o.deadlineMs;
  for (const id of sent.invokeIds) {
    let token: string | undefined;
    do {
      const r = await o.api.call('DescribeInvocationResults', {
        InvokeId: id,
        MaxResults: 50,
        ContentEncoding: 'PlainText',
        ...(token ? { NextToken: token } : {}),
      });
      const page = r.body['Invocation'] as {
        NextToken?: string;
        InvocationResults?: {
          InvocationResult?: { InstanceId: string; InvocationStatus: string; ErrorCode?: string; Output?: string }[];
        };
      };
      for (const row of page.InvocationResults?.InvocationResult ?? []) {
        byStatus[row.InvocationStatus] = (byStatus[row.InvocationStatus] ?? 0) + 1;
        if (row.ErrorCode) {
          errorCodes[row.ErrorCode] = (errorCodes[row.ErrorCode] ?? 0) + 1;
        }
        if (row.InvocationStatus === 'Success' && row.Output !== expected(row.InstanceId)) {
          badOutput++;
        }
      }
      token = page.NextToken || undefined;
    } while (token && Date.now() < readBackDeadline);
  }

  return {
    run: o.run,
    n,
    calls: sent.invokeIds.length,
    invokeIds: sent.invokeIds,
    status: [...new Set(status.values())].join('+'),
    timedOut,
    finishedMs: finishedAt - t0,
    lastReportMs: sim.lastFinishAt > 0 ? sim.lastFinishAt - t0 : Number.NaN,
    runCommandMs: sent.ms,
    pollMs,
    pollErrors,
    serverCpuS: sumOf(cpu, o.nodes),
    simCpuS: cpu['simulator'] ?? 0,
    cpu,
    byStatus,
    errorCodes,
    badOutput,
    sim,
    simConnections: sim1.httpConnections - sim0.httpConnections,
    simFetchErrors: fetchErrors(simErrors),
    simErrors,
  };
}
