// Task report queries (spec/luban-protocol.md §5.5–5.7): metadata in the query, output as the raw body.
import type { ReportKind } from './endpoints.js';

export interface ReportBase {
  taskId: string;
  invokeVersion: number;
}

export type Report =
  | (ReportBase & { kind: 'running'; start: number })
  | (ReportBase & { kind: 'finish'; start: number; end: number; exitCode: number; dropped: number })
  | (ReportBase & { kind: 'timeout'; start: number; end: number; exitCode: number; dropped: number })
  | (ReportBase & {
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

/** The query string of a report, with keys in the stock order and stock escaping. */
export function buildReportQuery(r: Report): string {
  const head = `taskId=${r.taskId}&invokeVersion=${r.invokeVersion}`;
  switch (r.kind) {
    case 'running':
      return `${head}&start=${r.start}`;
    case 'finish':
    case 'timeout':
      return `${head}&start=${r.start}&end=${r.end}&exitCode=${r.exitCode}&dropped=${r.dropped}`;
    case 'error':
      return (
        `${head}&start=${r.start}&end=${r.end}&exitCode=${r.exitCode}&dropped=${r.dropped}` +
        `&errCode=${goQueryEscape(r.errCode)}&errDesc=${goQueryEscape(r.errDesc)}`
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
  switch (kind) {
    case 'running':
      return { ...base, kind, start: n('start') };
    case 'finish':
    case 'timeout':
      return { ...base, kind, ...times, exitCode: n('exitCode') };
    case 'error':
      return {
        ...base,
        kind,
        ...times,
        exitCode: n('exitCode'),
        errCode: q.get('errCode') ?? '',
        errDesc: q.get('errDesc') ?? '',
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
