// assist audit: the audit trail of operator calls (DescribeAuditEvents), newest first.
import type { Argv } from 'yargs';
import type { Context, GlobalArgs } from '../context.js';
import { usageError } from '../errors.js';
import { renderTable } from '../table.js';
import { printJson } from './shared.js';

interface AuditArgs extends GlobalArgs {
  since?: string;
  until?: string;
  user?: string;
  key?: string;
  action?: string;
  result?: string;
  limit: number;
  json: boolean;
}

interface AuditEvent {
  EventTime: string;
  IdentityType: string;
  UserName: string;
  AccessKeyId: string;
  EventAction: string;
  Result: string;
  SourceIp: string;
  RequestId: string;
  Resources: { Resource: string[] };
}

/** `2026-01-02T03:04:05Z`, or a duration back from now: `15m`, `2h`, `7d`. */
export function timeArg(v: string, nowMs: number, flag: string): string {
  const rel = /^(\d+)([smhd])$/.exec(v);
  if (rel) {
    const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[2] as 's' | 'm' | 'h' | 'd'];
    return new Date(nowMs - Number(rel[1]) * unit).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?Z$/.test(v) || Number.isNaN(Date.parse(v))) {
    throw usageError(`--${flag}: give a UTC time (2026-01-02T03:04:05Z) or an age (30m, 2h, 7d)`);
  }
  return v;
}

export function auditCommand<T>(y: Argv<T>, ctx: Context): Argv<T> {
  return y.command(
    'audit',
    'list audit events: who called what, from where, and how it ended (newest first)',
    (c) =>
      c
        .option('since', {
          type: 'string',
          describe: 'events at or after this time (UTC ISO 8601, or 30m, 2h, 7d ago)',
        })
        .option('until', { type: 'string', describe: 'events at or before this time' })
        .option('user', { type: 'string', describe: 'only calls of this RAM user' })
        .option('key', { type: 'string', describe: 'only calls signed with (or claiming) this AccessKeyId' })
        .option('action', { type: 'string', describe: 'only this action, e.g. RunCommand' })
        .option('result', { type: 'string', describe: 'only this result: Success or an error code (Forbidden.RAM)' })
        .option('limit', { type: 'number', default: 50, describe: 'at most this many events' })
        .option('json', { type: 'boolean', default: false, describe: 'print the events as JSON' }),
    (a) => audit(ctx, a as unknown as AuditArgs),
  );
}

async function audit(ctx: Context, a: AuditArgs): Promise<void> {
  if (!Number.isInteger(a.limit) || a.limit < 1) {
    throw usageError('--limit must be a positive whole number');
  }
  const now = Date.now();
  const api = ctx.api(a);
  const events: AuditEvent[] = [];
  let token: string | undefined;
  do {
    const r = await api.call<{ AuditEvents: { AuditEvent: AuditEvent[] }; NextToken?: string }>('DescribeAuditEvents', {
      MaxResults: Math.min(100, a.limit - events.length),
      NextToken: token,
      StartTime: a.since === undefined ? undefined : timeArg(a.since, now, 'since'),
      EndTime: a.until === undefined ? undefined : timeArg(a.until, now, 'until'),
      UserName: a.user,
      EventAccessKeyId: a.key,
      EventAction: a.action,
      Result: a.result,
    });
    events.push(...r.AuditEvents.AuditEvent);
    token = r.NextToken;
  } while (token && events.length < a.limit);
  if (a.json) {
    printJson(ctx, events);
    return;
  }
  ctx.io.stdout.write(
    renderTable(
      ['TIME', 'WHO', 'ACCESS KEY', 'ACTION', 'RESULT', 'SOURCE', 'RESOURCES'],
      events.map((e) => [
        e.EventTime,
        e.IdentityType === 'RAMUser' ? e.UserName : e.IdentityType === 'Account' ? 'root' : '?',
        e.AccessKeyId,
        e.EventAction,
        e.Result,
        e.SourceIp,
        e.Resources.Resource.join(' '),
      ]),
    ),
  );
}
