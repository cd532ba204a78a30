// Task report queries (spec/luban-protocol.md §5.5–5.7): metadata in the query, output as the raw body.
import type { ReportKind } from './endpoints.js';

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

/** Server side: read a report back from its query. Lenient about numbers, as the stock server must be. */
export function parseReportQuery(kind: ReportKind, q: URLSearchParams): Report | { error: string } {
  const taskId = q.get('taskId');
  if (taskId === null || taskId === '') {
    return { error: 'taskId is required' };
  }
  const n = (k: string): number => {
    const v = Number.parseInt(q.get(k) ?? '0', 10);
    return Number.isFinite(v) ? v : 0;
  };
  const base = { taskId, invokeVersion: n('invokeVersion') };
  const times = { start: n('start'), end: n('end'), dropped: n('dropped') };
  let timed: { wallClock?: WallClock } = {};
  if (q.has('currentTime')) {
    const zone = q.get('timeZone');
    timed = {
      wallClock: {
        currentTime: n('currentTime'),
        ...(zone !== null && q.has('offset') ? { offset: n('offset'), timeZone: zone } : {}),
      },
    };
  }
  switch (kind) {
    case 'running':
      return { ...base, kind, start: n('start'), ...timed };
    case 'finish':
    case 'timeout':
      return { ...base, kind, ...times, exitCode: n('exitCode'), ...timed };
    case 'error':
      return {
        ...base,
        kind,
        ...times,
        exitCode: n('exitCode'),
        errCode: q.get('errCode') ?? '',
        errDesc: q.get('errDesc') ?? '',
        ...timed,
      };
    case 'stopped':
      return {
        ...base,
        kind,
        ...times,
        exitCode: n('exitcode'),
        result: q.get('result') === 'completed' ? 'completed' : 'killed',
      };
    case 'invalid':
      return { ...base, kind, param: q.get('param') ?? '', value: q.get('value') ?? '' };
    case 'verified':
      return { ...base, kind };
  }
}
