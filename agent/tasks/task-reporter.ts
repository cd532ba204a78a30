// Posts task lifecycle reports (spec/luban-protocol.md §5.5–5.7): metadata in the query, output as the raw body.
import { LubanPath, buildReportQuery, type Report } from '../../protocol/index.js';
import { ensureError, sleep, type HttpClient, type Logger } from '../shared/index.js';

/** Final, stopped and invalid reports: the first try plus 3 retries (§12). */
export const REPORT_ATTEMPTS = 4;

export interface TaskReporterOptions {
  host: string;
  http: HttpClient;
  log: Logger;
  retryDelayMs: number;
  /** Aborts retries and requests in flight (agent shutdown). */
  signal: AbortSignal;
}

export class TaskReporter {
  readonly #o: TaskReporterOptions;
  constructor(o: TaskReporterOptions) {
    this.#o = o;
  }

  url(r: Report): string {
    return `https://${this.#o.host}${LubanPath.taskReport(r.kind)}?${buildReportQuery(r)}`;
  }

  /** One POST; true when delivered (a status of 400 or less counts, as in stock). Never throws. */
  async #post(r: Report, body: Buffer, attempt: number, attempts: number): Promise<boolean> {
    const log = this.#o.log;
    try {
      const res = await this.#o.http.request({
        method: 'POST',
        url: this.url(r),
        body,
        contentType: 'text',
        signal: this.#o.signal,
      });
      if (res.status <= 400) {
        log.debug('task report sent', { taskId: r.taskId, kind: r.kind, status: res.status });
        return true;
      }
      log.warn('task report rejected', { taskId: r.taskId, kind: r.kind, status: res.status, attempt, attempts });
    } catch (e) {
      log.warn('task report failed', { taskId: r.taskId, kind: r.kind, err: ensureError(e), attempt, attempts });
    }
    return false;
  }

  /** A running report: fire-and-forget, no retry (§5.6 step 6). The promise never rejects. */
  async running(r: Extract<Report, { kind: 'running' }>, body: Buffer): Promise<void> {
    if (this.#o.signal.aborted) {
      return;
    }
    await this.#post(r, body, 1, 1);
  }

  /** A final, stopped or invalid report, retried 3 times `retryDelayMs` apart. Resolves true when delivered. */
  async send(r: Report, body: Buffer = Buffer.alloc(0)): Promise<boolean> {
    for (let attempt = 1; attempt <= REPORT_ATTEMPTS; attempt += 1) {
      if (this.#o.signal.aborted) {
        break;
      }
      if (await this.#post(r, body, attempt, REPORT_ATTEMPTS)) {
        return true;
      }
      if (attempt < REPORT_ATTEMPTS && !(await sleep(this.#o.retryDelayMs, this.#o.signal))) {
        break;
      }
    }
    this.#o.log.error('task report given up', { taskId: r.taskId, kind: r.kind });
    return false;
  }
}
