// The audit trail: every operator call, accepted or refused, and events other parts report
// (session start and end). Recording never waits for the store: events of the same turn of the
// event loop are written together in one statement after the responses went out, so the API hot
// path adds no commit of its own. Old events are purged in bounded batches by a timer that runs on
// one node of a cluster at a time.
import { randomBytes } from 'node:crypto';
import { runOnce, type Db } from '../store/index.js';
import { keysetPage, type Paging } from '../services/index.js';

export type IdentityType = 'Account' | 'RAMUser' | 'Unknown';

/** One event as recorded. */
export interface AuditEvent {
  time: number;
  requestId: string;
  identityType: IdentityType;
  /** The RAM user; '' for an account (root) key or an unknown caller. */
  userName: string;
  /** The key the call was signed with, or claimed to be (a failed signature check). */
  accessKeyId: string;
  /** `RunCommand`, or an event name such as `SessionStarted`. */
  action: string;
  /** ARNs of what the call acts on. */
  resources: readonly string[];
  sourceIp: string;
  /** `Success` or the error code the caller got. */
  result: string;
  message?: string;
}

/** An OpenAPI call on its way through the handler: filled in as the call learns who and what. */
export interface AuditEntry {
  time: number;
  requestId: string;
  sourceIp: string;
  identityType: IdentityType;
  userName: string;
  accessKeyId: string;
  action: string;
  resources: string[];
}

export interface AuditFilter {
  startTime?: number;
  endTime?: number;
  userName?: string;
  accessKeyId?: string;
  action?: string;
  result?: string;
  paging: Paging;
}

/** Rows per INSERT: 11 bound values each, far below SQLite's 32,766 and PostgreSQL's 65,535. */
const INSERT_CHUNK = 500;
/** Rows per purge statement, so a purge never holds the store long. */
const PURGE_BATCH = 5_000;
const DAY_MS = 86_400_000;

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** `::ffff:10.0.0.1` (an IPv4 client on a dual-stack socket) as `10.0.0.1`. */
export const plainIp = (ip: string): string => /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1] ?? ip;

/** What a refused request's claims are read from (a Fastify request has these). */
export interface ClaimingRequest {
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body?: unknown;
}

const MAX_CLAIM_LENGTH = 128;
const header = (h: ClaimingRequest['headers'], name: string) => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};

/**
 * The AccessKeyId and Action a request claims, however badly it is signed: signature v1 carries
 * them as parameters (query or form body), ACS3 in the Authorization header and x-acs-action.
 */
export function claimedBy(req: ClaimingRequest): { accessKeyId: string; action: string } {
  const query = new URLSearchParams(req.url.split('?')[1] ?? '');
  const form = Buffer.isBuffer(req.body) ? new URLSearchParams(req.body.toString('utf8')) : new URLSearchParams();
  const acs3Key = /Credential=([^,\s]+)/.exec(header(req.headers, 'authorization') ?? '')?.[1];
  const accessKeyId = query.get('AccessKeyId') ?? form.get('AccessKeyId') ?? acs3Key ?? '';
  const action = query.get('Action') ?? form.get('Action') ?? header(req.headers, 'x-acs-action') ?? '';
  return { accessKeyId: accessKeyId.slice(0, MAX_CLAIM_LENGTH), action: action.slice(0, MAX_CLAIM_LENGTH) };
}

export interface AuditOptions {
  /** Events older than this many days are purged (default 90). */
  retentionDays: number;
  /** How often the purge runs (default hourly). */
  purgeIntervalMs: number;
}

export const DEFAULT_AUDIT_OPTIONS: AuditOptions = { retentionDays: 90, purgeIntervalMs: 3_600_000 };

export class AuditTrail {
  readonly #db: Db;
  readonly #options: AuditOptions;
  #pending: AuditEvent[] = [];
  #writing: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #purging: Promise<unknown> = Promise.resolve();
  /** Told about a write or purge that failed (events of a failed write are lost: logged, not retried). */
  onError: (what: string, e: unknown) => void = () => undefined;

  constructor(db: Db, options: Partial<AuditOptions> = {}) {
    this.#db = db;
    this.#options = { ...DEFAULT_AUDIT_OPTIONS, ...options };
  }

  /** Records an event; written with the others of this turn of the event loop. Never throws. */
  record(event: AuditEvent): void {
    this.#pending.push(event);
    if (this.#pending.length === 1) {
      setImmediate(() => {
        this.#writing = this.#writing.then(() => this.#write());
      });
    }
  }

  /** Starts an entry for an OpenAPI call (see openapi-routes.ts). */
  begin(requestId: string, sourceIp: string, nowMs: number): AuditEntry {
    return {
      time: nowMs,
      requestId,
      sourceIp: plainIp(sourceIp),
      identityType: 'Unknown',
      userName: '',
      accessKeyId: '',
      action: '',
      resources: [],
    };
  }

  /**
   * Records a call's entry with its result (`Success` or the error code). A call refused before
   * its signature was accepted is recorded with the key and action it claimed, read from `request`.
   */
  finish(entry: AuditEntry, result: string, message = '', request?: ClaimingRequest): void {
    if (request && (entry.accessKeyId === '' || entry.action === '')) {
      const claimed = claimedBy(request);
      entry.accessKeyId ||= claimed.accessKeyId;
      entry.action ||= claimed.action;
    }
    this.record({ ...entry, result, message });
  }

  /** Resolves once every event recorded so far is in the store. */
  async flush(): Promise<void> {
    await new Promise<void>((r) => setImmediate(r));
    await this.#writing;
  }

  async #write(): Promise<void> {
    const batch = this.#pending;
    this.#pending = [];
    try {
      for (let i = 0; i < batch.length; i += INSERT_CHUNK) {
        await this.#db
          .insertInto('audit_log')
          .values(
            batch.slice(i, i + INSERT_CHUNK).map((e) => ({
              event_id: randomBytes(12).toString('hex'),
              event_time: e.time,
              request_id: e.requestId,
              identity_type: e.identityType,
              user_name: e.userName,
              access_key_id: e.accessKeyId.replace(/\0/g, ''),
              event_action: e.action.replace(/\0/g, ''),
              resources: JSON.stringify(e.resources).replace(/\\u0000/g, ''),
              source_ip: e.sourceIp,
              result: e.result,
              message: (e.message ?? '').replace(/\0/g, ''),
            })),
          )
          .execute();
      }
    } catch (e) {
      this.onError('audit write failed', e);
    }
  }

  /** Purges expired events every purgeIntervalMs until stop(). */
  start(): void {
    this.#timer ??= setInterval(() => {
      this.#purging = this.#purging
        .then(() => runOnce(this.#db, 'purge-audit-log', () => this.purgeExpired(Date.now())))
        .catch((e: unknown) => this.onError('audit purge failed', e));
    }, this.#options.purgeIntervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#purging;
    await this.flush();
  }

  /** Deletes events older than the retention, a bounded batch per statement; returns how many went. */
  async purgeExpired(nowMs: number): Promise<number> {
    const before = nowMs - this.#options.retentionDays * DAY_MS;
    let total = 0;
    for (;;) {
      const r = await this.#db
        .deleteFrom('audit_log')
        .where('event_id', 'in', (qb) =>
          qb.selectFrom('audit_log').select('event_id').where('event_time', '<', before).limit(PURGE_BATCH),
        )
        .executeTakeFirst();
      const n = Number(r.numDeletedRows);
      total += n;
      if (n < PURGE_BATCH) {
        return total;
      }
    }
  }

  /** DescribeAuditEvents: newest first, filtered, paged by PageNumber/PageSize or NextToken/MaxResults. */
  async describe(f: AuditFilter) {
    let q = this.#db.selectFrom('audit_log');
    if (f.startTime !== undefined) {
      q = q.where('event_time', '>=', f.startTime);
    }
    if (f.endTime !== undefined) {
      q = q.where('event_time', '<=', f.endTime);
    }
    if (f.userName !== undefined) {
      q = q.where('user_name', '=', f.userName);
    }
    if (f.accessKeyId !== undefined) {
      q = q.where('access_key_id', '=', f.accessKeyId);
    }
    if (f.action !== undefined) {
      q = q.where('event_action', '=', f.action);
    }
    if (f.result !== undefined) {
      q = q.where('result', '=', f.result);
    }
    const total = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
    const page = await keysetPage(
      q.selectAll(),
      f.paging,
      [
        { column: 'event_time', direction: 'desc', type: 'number' },
        { column: 'event_id', direction: 'desc', type: 'string' },
      ],
      (r) => [r.event_time, r.event_id],
      Number(total?.n ?? 0),
    );
    return {
      ...page.fields,
      AuditEvents: {
        AuditEvent: page.rows.map((r) => ({
          EventId: r.event_id,
          EventTime: iso(r.event_time),
          RequestId: r.request_id,
          IdentityType: r.identity_type,
          UserName: r.user_name,
          AccessKeyId: r.access_key_id,
          EventAction: r.event_action,
          Resources: { Resource: JSON.parse(r.resources) as string[] },
          SourceIp: r.source_ip,
          Result: r.result,
          Message: r.message,
        })),
      },
    };
  }
}
