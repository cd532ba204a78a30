// Session Manager control messages (spec/luban-protocol.md §6): the `session` entries of
// `POST /luban/api/v1/session/list`, the data-channel URL and the final status report.
import { LubanPath } from './endpoints.js';
import { SESSION_ID_MAX_BYTES } from './session-frames.js';
import { FieldReader, isObj, type Validated } from './validate.js';

/** One `session` entry of the session/list response (a task-collection JSON). */
export interface SessionTask {
  /** The session id; at most 32 ASCII bytes (it travels in the frames' SessionId field). */
  channelId: string;
  /** Empty: the user's interactive shell. Otherwise a command line run under the PTY. */
  cmdContent: string;
  /** Run-as user; empty means `ecs-assist-user`. */
  username: string;
  windowsPasswordName: string;
  /** A string on the wire; non-empty turns on port forwarding. */
  portNumber: string;
  /** Port-forward target; empty means `localhost`. */
  targetHost: string;
  /** agent → server rate limit in bits/s; 0 means the default 200 kbit/s. */
  flowLimit: number;
  /** Ignored by the agent (logged only). */
  websocketUrl: string;
}

/** A channelId that fits the frame field and is safe in an unescaped query string. */
export const isValidChannelId = (id: string): boolean =>
  id.length > 0 && id.length <= SESSION_ID_MAX_BYTES && /^[A-Za-z0-9._-]+$/.test(id);

/** Reads one `session` entry; a bad entry is refused on its own. */
export function parseSessionTask(v: unknown, where = 'session'): Validated<SessionTask> {
  if (!isObj(v)) {
    return { ok: false, errors: [`${where}: expected an object`] };
  }
  const r = new FieldReader(v, where);
  const task: SessionTask = {
    channelId: r.str('channelId', true),
    cmdContent: r.str('cmdContent'),
    username: r.str('username'),
    windowsPasswordName: r.str('windowsPasswordName'),
    portNumber: r.str('portNumber'),
    targetHost: r.str('targetHost'),
    flowLimit: r.int('flowLimit'),
    websocketUrl: r.str('websocketUrl'),
  };
  const errors = [...r.errors];
  if (task.channelId !== '' && !isValidChannelId(task.channelId)) {
    errors.push(`${where}.channelId: expected 1-${SESSION_ID_MAX_BYTES} characters of [A-Za-z0-9._-]`);
  }
  if (task.portNumber !== '' && !/^\d{1,5}$/.test(task.portNumber)) {
    errors.push(`${where}.portNumber: expected a decimal port`);
  }
  if (task.flowLimit < 0) {
    errors.push(`${where}.flowLimit: expected a non-negative integer`);
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: task };
}

/** `/luban/api/v1/session/list?channelId=<id>` (no query without an id; the id is not escaped). */
export const sessionListPath = (channelId?: string): string =>
  channelId === undefined || channelId === ''
    ? LubanPath.sessionList
    : `${LubanPath.sessionList}?channelId=${channelId}`;

/** `/luban/session/backend?channelId=<id>`, the data channel of one session. */
export const sessionBackendPath = (channelId: string): string => `${LubanPath.sessionBackend}?channelId=${channelId}`;

// ---- final status report ---------------------------------------------------------------------

/** The stock `errorcode` values of `session/status`. */
export const SESSION_STATUS_CODES = [
  'Ok',
  'Init_channel_failed',
  'Open_channel_failed',
  'Session_id_duplicate',
  'Process_data_error',
  'Open_pty_failed',
  'Timeout',
  'Notified',
  'Unknown_error',
  'Open_port_failed',
  'Read_port_failed',
  'IO_port_failed',
] as const;
export type SessionStatusCode = (typeof SESSION_STATUS_CODES)[number];
export const isSessionStatusCode = (s: string): s is SessionStatusCode =>
  (SESSION_STATUS_CODES as readonly string[]).includes(s);

export type SessionReportStatus = 'Success' | 'Failed';

/** `Success` for `Ok`, `Notified` and `Timeout`; `Failed` otherwise. */
export const sessionReportStatus = (code: SessionStatusCode): SessionReportStatus =>
  code === 'Ok' || code === 'Notified' || code === 'Timeout' ? 'Success' : 'Failed';

export interface SessionStatusReport {
  channelId: string;
  status: SessionReportStatus;
  errorcode: SessionStatusCode;
}

/** `/luban/api/v1/session/status?channelId=&status=&errorcode=` (posted with an empty text body). */
export const sessionStatusPath = (channelId: string, code: SessionStatusCode): string =>
  `${LubanPath.sessionStatus}?channelId=${channelId}&status=${sessionReportStatus(code)}&errorcode=${code}`;

/** Server side: read a status report back from its query. */
export function parseSessionStatusQuery(q: URLSearchParams): SessionStatusReport | { error: string } {
  const channelId = q.get('channelId') ?? '';
  const status = q.get('status') ?? '';
  const errorcode = q.get('errorcode') ?? '';
  if (channelId === '') {
    return { error: 'channelId is required' };
  }
  if (status !== 'Success' && status !== 'Failed') {
    return { error: `status must be Success or Failed, got ${status}` };
  }
  if (!isSessionStatusCode(errorcode)) {
    return { error: `unknown errorcode ${errorcode}` };
  }
  return { channelId, status, errorcode };
}
