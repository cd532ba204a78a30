// Task report queries (spec/luban-protocol.md §5.5–5.7): metadata in the query, output as the raw body.
import type { ReportKind } from './endpoints.js';
import {
  DROPPED_MAX,
  EXIT_CODE_MAX,
  EXIT_CODE_MIN,
  INVOKE_VERSION_MAX,
  QueryNumbers,
  UTC_OFFSET_MAX_S,
} from './report-bounds.js';

export interface ReportBase {
  taskId: string;
  invokeVersion: number;
}

/**
 * Wall-clock extras of the start and final reports of periodic tasks (§5.6): `Rate` sends
 * `currentTime`; `Period` (cron) also `offset` (seconds east of UTC) and `timeZone`.
 */
export interface WallClock {
  currentTime: number;
  offset?: number;
  timeZone?: string;
}

/** Reports that may carry wall-clock extras. */
interface Timed {
  wallClock?: WallClock;
}

export type Report =
  | (ReportBase & Timed & { kind: 'running'; start: number })
  | (ReportBase & Timed & { kind: 'finish'; start: number; end: number; exitCode: number; dropped: number })
  | (ReportBase & Timed & { kind: 'timeout'; start: number; end: number; exitCode: number; dropped: number })
  | (ReportBase &
      Timed & {
        kind: 'error';
        start: number;
        end: number;
        exitCode: number;
        dropped: number;
        errCode: string;
        errDesc: string;
      })
  | (ReportBase & {
      kind: 'stopped';
      start: number;
      end: number;
      exitCode: number;
      dropped: number;
      result: 'killed' | 'completed';
    })
  | (ReportBase & { kind: 'invalid'; param: string; value: string })
  | (ReportBase & { kind: 'verified' });

/** Go's url.QueryEscape: like encodeURIComponent but space → '+', and it escapes !'()*. */
export function goQueryEscape(s: string): string {
  return encodeURIComponent(s)
    .replace(/%20/g, '+')
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** `&currentTime=…[&offset=…&timeZone=…]`, or nothing (§5.6 `wallClockQueryParams`). */
export function wallClockQuery(w: WallClock | undefined): string {
  if (w === undefined) {
    return '';
  }
  let s = `&currentTime=${w.currentTime}`;
  if (w.offset !== undefined && w.timeZone !== undefined) {
    s += `&offset=${w.offset}&timeZone=${goQueryEscape(w.timeZone)}`;
  }
  return s;
}

/** The query string of a report, with keys in the stock order and stock escaping. */
export function buildReportQuery(r: Report): string {
  const head = `taskId=${r.taskId}&invokeVersion=${r.invokeVersion}`;
  switch (r.kind) {
    case 'running':
      return `${head}&start=${r.start}${wallClockQuery(r.wallClock)}`;
    case 'finish':
    case 'timeout':
      return (
        `${head}&start=${r.start}&end=${r.end}&exitCode=${r.exitCode}&dropped=${r.dropped}` +
        wallClockQuery(r.wallClock)
      );
    case 'error':
      return (
        `${head}&start=${r.start}&end=${r.end}&exitCode=${r.exitCode}&dropped=${r.dropped}` +
        `&errCode=${goQueryEscape(r.errCode)}&errDesc=${goQueryEscape(r.errDesc)}` +
        wallClockQuery(r.wallClock)
      );
    case 'stopped':
      return `${head}&start=${r.start}&end=${r.end}&exitcode=${r.exitCode}&dropped=${r.dropped}&result=${r.result}`;
    case 'invalid':
      return `${head}&param=${goQueryEscape(r.param)}&value=${goQueryEscape(r.value)}`;
    case 'verified':
      return head;
  }
}

/**
 * Server side: read a report back from its query. Every number must be an integer within the
 * bounds of report-bounds.ts (a missing one reads as 0, "not given"); `nowMs` is the server's clock.
 */
export function parseReportQuery(kind: ReportKind, q: URLSearchParams, nowMs = Date.now()): Report | { error: string } {
  const taskId = q.get('taskId');
  if (taskId === null || taskId === '') {
    return { error: 'taskId is required' };
  }
  const n = new QueryNumbers(q, nowMs);
  const base = { taskId, invokeVersion: n.int('invokeVersion', 0, INVOKE_VERSION_MAX) };
  const ended = (exitKey: string) => ({
    start: n.time('start'),
    end: n.time('end'),
    exitCode: n.int(exitKey, EXIT_CODE_MIN, EXIT_CODE_MAX),
    dropped: n.int('dropped', 0, DROPPED_MAX),
  });
  let timed: { wallClock?: WallClock } = {};
  if (q.has('currentTime')) {
    const zone = q.get('timeZone');
    timed = {
      wallClock: {
        currentTime: n.time('currentTime'),
        ...(zone !== null && q.has('offset')
          ? { offset: n.int('offset', -UTC_OFFSET_MAX_S, UTC_OFFSET_MAX_S), timeZone: zone }
          : {}),
      },
    };
  }
  const report = ((): Report => {
    switch (kind) {
      case 'running':
        return { ...base, kind, start: n.time('start'), ...timed };
      case 'finish':
      case 'timeout':
        return { ...base, kind, ...ended('exitCode'), ...timed };
      case 'error':
        return {
          ...base,
          kind,
          ...ended('exitCode'),
          errCode: q.get('errCode') ?? '',
          errDesc: q.get('errDesc') ?? '',
          ...timed,
        };
      case 'stopped':
        return { ...base, kind, ...ended('exitcode'), result: n.oneOf('result', ['killed', 'completed'] as const) };
      case 'invalid':
        return { ...base, kind, param: q.get('param') ?? '', value: q.get('value') ?? '' };
      case 'verified':
        return { ...base, kind };
    }
  })();
  return n.errors.length > 0 ? { error: n.errors.join('; ') } : report;
}
