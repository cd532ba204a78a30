// Session Manager on the agent (spec/luban-protocol.md §6): `kick_vm session start <id>` fetches
// `session/list` and runs each session it returns; `kick_vm session stop <id>` ends one with
// Notified; each session's end is reported to `session/status` with the stock codes.
import {
  isObj,
  parseSessionTask,
  sessionListPath,
  sessionStatusPath,
  type Kick,
  type SessionStatusCode,
  type SessionTask,
} from '../../protocol/index.js';
import { ensureError, sleep, type Logger, type Service } from '../shared/index.js';
import type { HttpClient } from '../http/index.js';
import type { BackendFactory } from './backend.js';
import { Session, type SessionLimits } from './session.js';

export interface SessionManagerOptions {
  host: string;
  http: HttpClient;
  log: Logger;
  limits: SessionLimits;
  backends: BackendFactory;
  /** Between status report attempts (default 1 s). */
  reportRetryMs?: number;
}

const LIST_TIMEOUT_MS = 5_000;
const REPORT_ATTEMPTS = 3;

export class SessionManager implements Service {
  readonly name = 'session-manager';
  readonly #o: SessionManagerOptions;
  readonly #log: Logger;
  readonly #sessions = new Map<string, Session>();
  /** Everything in flight (fetches, sessions, reports), so stop() can wait for it. */
  readonly #work = new Set<Promise<unknown>>();
  #stopped = false;

  constructor(o: SessionManagerOptions) {
    this.#o = o;
    this.#log = o.log.child({ svc: this.name });
  }

  /** The channel ids of the sessions running now. */
  get running(): string[] {
    return [...this.#sessions.keys()];
  }

  start(): Promise<void> {
    this.#stopped = false;
    return Promise.resolve();
  }

  /** Ends every session (reported as Unknown_error: the agent stopped under it) and waits for the reports. */
  async stop(deadline: AbortSignal): Promise<void> {
    this.#stopped = true;
    for (const s of this.#sessions.values()) {
      s.stop('Unknown_error', 'agent stopping');
    }
    const all = Promise.allSettled([...this.#work]);
    await Promise.race([all, new Promise((r) => deadline.addEventListener('abort', r, { once: true }))]);
  }

  /** A `kick_vm session …` message; returns at once, the work runs in the background. */
  onKick(kick: Extract<Kick, { type: 'session' }>): void {
    if (kick.action === 'stop') {
      const s = this.#sessions.get(kick.id);
      if (s === undefined) {
        this.#log.info('session stop for unknown session', { channelId: kick.id });
        return;
      }
      s.stop('Notified', 'stop kick');
      return;
    }
    this.#track(this.#fetchAndStart(kick.id));
  }

  /** `session` entries from any task collection (session/list or the task list's `session` array). */
  startEntries(entries: readonly unknown[]): void {
    entries.forEach((entry, i) => {
      const parsed = parseSessionTask(entry, `session[${i}]`);
      if (!parsed.ok) {
        this.#log.error('session entry invalid', { errors: parsed.errors });
        return;
      }
      this.#startSession(parsed.value);
    });
  }

  async #fetchAndStart(channelId: string): Promise<void> {
    let raw: unknown;
    try {
      raw = await this.#o.http.requestJson({
        method: 'POST',
        url: `https://${this.#o.host}${sessionListPath(channelId)}`,
        body: '',
        contentType: 'json',
        timeoutMs: LIST_TIMEOUT_MS,
      });
    } catch (e) {
      this.#log.warn('session list failed', { channelId, err: ensureError(e) });
      return;
    }
    const entries = isObj(raw) && Array.isArray(raw['session']) ? raw['session'] : [];
    if (entries.length === 0) {
      this.#log.warn('session list empty', { channelId });
      return;
    }
    if (!this.#stopped) {
      this.startEntries(entries);
    }
  }

  #startSession(task: SessionTask): void {
    if (this.#stopped) {
      return;
    }
    if (this.#sessions.has(task.channelId)) {
      // Stock reports the duplicate; the session already running goes on.
      this.#log.warn('session id duplicate', { channelId: task.channelId });
      this.#track(this.#report(task.channelId, 'Session_id_duplicate'));
      return;
    }
    const session = new Session({
      task,
      host: this.#o.host,
      http: this.#o.http,
      log: this.#log,
      limits: this.#o.limits,
      backends: this.#o.backends,
    });
    this.#sessions.set(task.channelId, session);
    const run = (async () => {
      await session.start();
      const code = await session.done;
      this.#sessions.delete(task.channelId);
      await this.#report(task.channelId, code);
    })();
    this.#track(run);
  }

  /** POST session/status with an empty text body; a few tries, the answer is ignored (stock). */
  async #report(channelId: string, code: SessionStatusCode): Promise<void> {
    for (let attempt = 1; attempt <= REPORT_ATTEMPTS; attempt++) {
      try {
        const res = await this.#o.http.request({
          method: 'POST',
          url: `https://${this.#o.host}${sessionStatusPath(channelId, code)}`,
          body: '',
          contentType: 'text',
        });
        if (res.status <= 400) {
          this.#log.info('session status reported', { channelId, code });
          return;
        }
        this.#log.warn('session status refused', { channelId, code, status: res.status, attempt });
      } catch (e) {
        this.#log.warn('session status report failed', { channelId, code, attempt, err: ensureError(e) });
      }
      if (attempt < REPORT_ATTEMPTS) {
        await sleep(this.#o.reportRetryMs ?? 1_000);
      }
    }
  }

  #track(p: Promise<unknown>): void {
    const guarded = p.catch((e: unknown) => this.#log.error('session work failed', { err: ensureError(e) }));
    this.#work.add(guarded);
    void guarded.finally(() => this.#work.delete(guarded));
  }
}
