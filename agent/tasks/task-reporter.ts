// Posts task lifecycle reports (spec/luban-protocol.md §5.5–5.7): metadata in the query, output as
// the raw body. One attempt per call: final reports are retried by the outbox (report-outbox.ts).
import {
  LubanPath,
  buildReportQuery,
  buildSendFileReportQuery,
  isSendFileReport,
  type Report,
  type SendFileReport,
} from '../../protocol/index.js';
import { ensureError, type Logger } from '../shared/index.js';
import type { HttpClient } from '../http/index.js';

export interface TaskReporterOptions {
  host: string;
  http: HttpClient;
  log: Logger;
  /** Aborts requests in flight (agent shutdown). */
  signal: AbortSignal;
}

export class TaskReporter {
  readonly #o: TaskReporterOptions;
  constructor(o: TaskReporterOptions) {
    this.#o = o;
  }

  url(r: Report | SendFileReport): string {
    const query = isSendFileReport(r) ? buildSendFileReportQuery(r) : buildReportQuery(r);
    return `https://${this.#o.host}${LubanPath.taskReport(r.kind)}?${query}`;
  }

  /** One POST; true when delivered (a status of 400 or less counts, as in stock). Never throws. */
  async post(r: Report | SendFileReport, body: Buffer): Promise<boolean> {
    const log = this.#o.log;
    if (this.#o.signal.aborted) {
      return false;
    }
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
      log.warn('task report rejected', { taskId: r.taskId, kind: r.kind, status: res.status });
    } catch (e) {
      log.warn('task report failed', { taskId: r.taskId, kind: r.kind, err: ensureError(e) });
    }
    return false;
  }

  /** A running report: one attempt, no retry (§5.6 step 6); true when delivered. Never rejects. */
  running(r: Extract<Report, { kind: 'running' }>, body: Buffer): Promise<boolean> {
    return this.post(r, body);
  }
}
