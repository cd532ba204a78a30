// Task fetch: POST /luban/api/v1/task/list with stock retries (spec/luban-protocol.md §5.1–5.2).
import {
  LubanPath,
  buildTaskListQuery,
  isObj,
  parseTaskListResponse,
  type FetchReason,
  type TaskListResponse,
} from '../../protocol/index.js';
import { ensureError, localZone, sleep, type LocalZone, type Logger } from '../shared/index.js';
import type { HttpClient } from '../http/index.js';

export const FETCH_TIMEOUT_MS = 8_000;
/** Transport errors: the first try plus 3 retries. */
export const FETCH_ATTEMPTS = 4;
/** `code: 408` answers: at most this many rounds in total. */
export const FETCH_ROUNDS = 4;

export interface FetchRequest {
  reason: FetchReason;
  coldStart?: boolean;
  taskId?: string;
}

export interface TaskFetcherOptions {
  host: string;
  http: HttpClient;
  log: Logger;
  retryDelayMs: number;
  signal: AbortSignal;
}

/**
 * The local clock as the fetch query reports it: ms epoch, UTC offset in seconds (east positive),
 * IANA zone (read once, without Intl: agent/shared/local-zone.ts).
 */
export function clockQuery(
  now = new Date(),
  zone: Pick<LocalZone, 'name'> = localZone(),
): { currentTime: number; offset: number; timeZone: string } {
  return { currentTime: now.getTime(), offset: -now.getTimezoneOffset() * 60, timeZone: zone.name || 'UTC' };
}

export function taskListUrl(host: string, req: FetchRequest): string {
  const q = buildTaskListQuery({
    reason: req.reason,
    ...(req.reason === 'startup' ? { coldStart: req.coldStart === true } : {}),
    ...(req.taskId !== undefined ? { taskId: req.taskId } : {}),
    ...clockQuery(),
  });
  return `https://${host}${LubanPath.taskList}?${q}`;
}

/**
 * Fetches the task list. Returns undefined (after logging) when every attempt failed, the answer
 * stayed `code: 408` for all rounds, the answer is invalid, or the signal aborted.
 */
export async function fetchTaskList(o: TaskFetcherOptions, req: FetchRequest): Promise<TaskListResponse | undefined> {
  const log = o.log;
  for (let round = 1; round <= FETCH_ROUNDS; round += 1) {
    const raw = await fetchWithRetries(o, req);
    if (raw === undefined) {
      return undefined;
    }
    if (isObj(raw) && raw['code'] === 408) {
      log.info('task list busy', { reason: req.reason, taskId: req.taskId, round, rounds: FETCH_ROUNDS });
      if (round === FETCH_ROUNDS || !(await sleep(o.retryDelayMs, o.signal))) {
        break;
      }
      continue;
    }
    const parsed = parseTaskListResponse(raw);
    if (!parsed.ok) {
      log.error('task list invalid', { reason: req.reason, errors: parsed.errors.slice(0, 20) });
      return undefined;
    }
    return parsed.value;
  }
  log.warn('task list fetch given up', { reason: req.reason, cause: 'busy' });
  return undefined;
}

async function fetchWithRetries(o: TaskFetcherOptions, req: FetchRequest): Promise<unknown> {
  for (let attempt = 1; attempt <= FETCH_ATTEMPTS; attempt += 1) {
    if (o.signal.aborted) {
      return undefined;
    }
    try {
      return await o.http.requestJson({
        method: 'POST',
        url: taskListUrl(o.host, req),
        body: '',
        contentType: 'json',
        timeoutMs: FETCH_TIMEOUT_MS,
        signal: o.signal,
      });
    } catch (e) {
      o.log.warn('task list fetch failed', {
        reason: req.reason,
        taskId: req.taskId,
        attempt,
        attempts: FETCH_ATTEMPTS,
        err: ensureError(e),
      });
    }
    if (attempt < FETCH_ATTEMPTS && !(await sleep(o.retryDelayMs, o.signal))) {
      return undefined;
    }
  }
  o.log.warn('task list fetch given up', { reason: req.reason, cause: 'unreachable' });
  return undefined;
}
