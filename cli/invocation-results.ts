// Results of one invocation: read them (every page), wait until every instance has ended, and show
// them as a table plus each instance's output, or as JSON.
import type { ApiClient } from './api-client.js';
import { ProgressRenderer, type ProgressCounts } from './progress.js';
import { formatDuration, renderTable } from './table.js';
import type { Out } from './io.js';

/** One instance's result, as `assist` shows it (Output decoded). */
export interface InstanceResult {
  InstanceId: string;
  /** The detailed status: Success, Failed, Timeout, Stopped, Running, … (InvocationStatus). */
  Status: string;
  /** Pending, Running, Stopping, Stopped, Finished or Failed (InvokeRecordStatus). */
  RecordStatus: string;
  ExitCode: number | undefined;
  ErrorCode: string;
  ErrorInfo: string;
  StartTime: string;
  FinishedTime: string;
  DurationMs: number | undefined;
  Output: string;
  /** Bytes of output dropped from the start (the agent keeps the tail). */
  Dropped: number;
}

interface ApiResult {
  InstanceId: string;
  CommandId?: string;
  InvocationStatus: string;
  InvokeRecordStatus: string;
  ExitCode?: number;
  ErrorCode?: string;
  ErrorInfo?: string;
  StartTime?: string;
  FinishedTime?: string;
  StopTime?: string;
  Output?: string;
  Dropped?: number;
}

interface ApiResultsPage {
  Invocation: { NextToken?: string; InvocationResults: { InvocationResult: ApiResult[] } };
}

const ENDED_RECORD = new Set(['Finished', 'Failed', 'Stopped']);

export const hasEnded = (r: InstanceResult) => ENDED_RECORD.has(r.RecordStatus);
export const succeeded = (r: InstanceResult) => r.Status === 'Success';

export function toInstanceResult(r: ApiResult): InstanceResult {
  const end = r.FinishedTime || r.StopTime || '';
  const duration = r.StartTime && end ? Date.parse(end) - Date.parse(r.StartTime) : undefined;
  return {
    InstanceId: r.InstanceId,
    Status: r.InvocationStatus,
    RecordStatus: r.InvokeRecordStatus,
    ExitCode: r.ExitCode ?? undefined,
    ErrorCode: r.ErrorCode ?? '',
    ErrorInfo: r.ErrorInfo ?? '',
    StartTime: r.StartTime ?? '',
    FinishedTime: end,
    DurationMs: Number.isFinite(duration) ? duration : undefined,
    Output: Buffer.from(r.Output ?? '', 'base64').toString('utf8'),
    Dropped: r.Dropped ?? 0,
  };
}

/** An invocation's command (every result carries it) and every instance's result. */
export interface InvocationResults {
  CommandId: string | undefined;
  Results: InstanceResult[];
}

/** Every instance's result of one invocation, sorted by instance id, with the command's id. */
export async function fetchInvocationResults(api: ApiClient, invokeId: string): Promise<InvocationResults> {
  const all: InstanceResult[] = [];
  let commandId: string | undefined;
  let nextToken: string | undefined;
  do {
    const page = await api.call<ApiResultsPage>('DescribeInvocationResults', {
      InvokeId: invokeId,
      ContentEncoding: 'Base64',
      MaxResults: 50,
      NextToken: nextToken,
    });
    const rows = page.Invocation.InvocationResults.InvocationResult;
    commandId ??= rows.find((r) => r.CommandId)?.CommandId;
    all.push(...rows.map(toInstanceResult));
    nextToken = page.Invocation.NextToken || undefined;
  } while (nextToken);
  return {
    CommandId: commandId,
    Results: all.sort((a, b) => (a.InstanceId < b.InstanceId ? -1 : a.InstanceId > b.InstanceId ? 1 : 0)),
  };
}

/** Every instance's result of one invocation, sorted by instance id. */
export async function fetchResults(api: ApiClient, invokeId: string): Promise<InstanceResult[]> {
  return (await fetchInvocationResults(api, invokeId)).Results;
}

export function countsOf<T>(results: T[], ended: (r: T) => boolean, ok: (r: T) => boolean): ProgressCounts {
  const done = results.filter(ended);
  return { done: done.length, total: results.length, failed: done.filter((r) => !ok(r)).length };
}

export interface WaitOptions<T> {
  fetch: () => Promise<T[]>;
  ended: (r: T) => boolean;
  ok: (r: T) => boolean;
  /** Where the progress goes (stderr), and whether to draw it as a bar. */
  progress: Out | undefined;
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls until every record has ended (0.5 s at first, backing off to 2 s), drawing progress. */
export async function waitUntilEnded<T>(o: WaitOptions<T>): Promise<T[]> {
  const sleep = o.sleep ?? defaultSleep;
  const renderer = o.progress ? new ProgressRenderer(o.progress) : undefined;
  let interval = 500;
  try {
    for (;;) {
      const results = await o.fetch();
      renderer?.update(countsOf(results, o.ended, o.ok));
      if (results.length > 0 && results.every(o.ended)) {
        return results;
      }
      await sleep(interval);
      interval = Math.min(2000, Math.round(interval * 1.3));
    }
  } finally {
    renderer?.finish();
  }
}

/** The table, then each instance's output under a header line. */
export function renderResults(results: InstanceResult[]): string {
  const table = renderTable(
    ['INSTANCE', 'STATUS', 'EXIT CODE', 'DURATION', 'ERROR'],
    results.map((r) => [r.InstanceId, r.Status, r.ExitCode, formatDuration(r.DurationMs), r.ErrorCode]),
  );
  const sections = results.map((r) => {
    const exit = r.ExitCode === undefined ? '' : `, exit code ${r.ExitCode}`;
    const lines = [`--- ${r.InstanceId} (${r.Status}${exit}) ---`];
    if (r.ErrorInfo) {
      lines.push(`(${r.ErrorInfo})`);
    }
    if (r.Dropped > 0) {
      lines.push(`(${r.Dropped} bytes of earlier output dropped)`);
    }
    lines.push(r.Output === '' ? '(no output)' : r.Output.replace(/\n$/, ''));
    return lines.join('\n');
  });
  return `${table}\n${sections.join('\n\n')}\n`;
}
