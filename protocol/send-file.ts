// SendFile on the wire (spec/luban-protocol.md §5.9): the `file` entries of the task list and the
// agent's result reports (`finish` / `invalid` with `taskType=sendfile`).
import { createHash } from 'node:crypto';
import { goQueryEscape } from './reports.js';
import { FieldReader, isObj, type Validated } from './validate.js';

/** The `task` object of a `file` entry. */
export interface SendFileTask {
  taskID: string;
  name: string;
  /** Target directory; empty means the platform default (`/root` on Unix). */
  destination: string;
  /** Base64 of the file bytes. */
  content: string;
  /** Hex MD5 of the base64 `content` string itself (not of the decoded bytes). */
  signature: string;
  /** Octal, 3 or 4 digits; empty means `0644`. */
  mode: string;
  owner: string;
  group: string;
  overwrite: boolean;
  /** Parsed and unused by the agent, as in stock. */
  contentType: string;
  timeout: number;
}

export interface SendFileEntry {
  task: SendFileTask;
  output: Record<string, unknown>;
}

/** A plain file name: not empty, no separators, not `.` or `..`, no NUL (checked by both ends). */
export function isPlainFileName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !/[/\\\0]/.test(name);
}

/** Standard padded base64, the only form the content travels in; Buffer.from alone accepts anything. */
export const isStrictBase64 = (s: string): boolean => s.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(s);

/** The signature of a file's base64 content: hex MD5 of the base64 string. */
export const sendFileSignature = (content64: string): string => createHash('md5').update(content64).digest('hex');

/** Reads one `file` entry. A bad entry is refused on its own: it never spoils the rest of the list. */
export function parseSendFileEntry(v: unknown, where = 'file'): Validated<SendFileEntry> {
  if (!isObj(v)) {
    return { ok: false, errors: [`${where}: expected an object`] };
  }
  const e = new FieldReader(v, where);
  const t = e.obj('task');
  const r = new FieldReader(t, `${where}.task`);
  const task: SendFileTask = {
    taskID: r.str('taskID', true),
    name: r.str('name'),
    destination: r.str('destination'),
    content: r.str('content'),
    signature: r.str('signature'),
    mode: r.str('mode'),
    owner: r.str('owner'),
    group: r.str('group'),
    overwrite: r.bool('overwrite'),
    contentType: r.str('contentType'),
    timeout: r.int('timeout'),
  };
  const output = e.obj('output');
  const errors = [...e.errors, ...r.errors];
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: { task, output } };
}

/** `finish … errorcode=<n>` codes: 0 success, 1 create failed, 2 chown, 3 chmod, 4 create dir failed. */
export const SEND_FILE_FINISH_CODES = [0, 1, 2, 3, 4] as const;
export type SendFileFinishCode = (typeof SEND_FILE_FINISH_CODES)[number];

/** `invalid … param=<key>` keys, with the stock numeric codes they stand for. */
export const SEND_FILE_INVALID = {
  FileNameInvalid: 10,
  FileExist: 11,
  EmptyFile: 12,
  InvalidFileContent: 13,
  InvalidSignature: 16,
  InvalidFileMode: 17,
  FileGroupNotExist: 18,
  FileOwnerNotExist: 19,
} as const;
export type SendFileInvalidParam = keyof typeof SEND_FILE_INVALID;
export const isSendFileInvalidParam = (s: string): s is SendFileInvalidParam => Object.hasOwn(SEND_FILE_INVALID, s);

export type SendFileReport =
  | {
      kind: 'finish';
      taskType: 'sendfile';
      taskId: string;
      status: 'Success' | 'Failed';
      errorCode: SendFileFinishCode;
    }
  | { kind: 'invalid'; taskType: 'sendfile'; taskId: string; param: SendFileInvalidParam; value: string };

export const isSendFileReport = (r: { kind: string }): r is SendFileReport =>
  (r as { taskType?: unknown }).taskType === 'sendfile';

/**
 * The report's query string. Stock sends `value` unescaped; we escape it (a name may hold `&`), which
 * any server that decodes its query reads the same.
 */
export function buildSendFileReportQuery(r: SendFileReport): string {
  if (r.kind === 'finish') {
    return `taskId=${r.taskId}&status=${r.status}&taskType=sendfile&errorcode=${r.errorCode}`;
  }
  return `taskId=${r.taskId}&taskType=sendfile&param=${goQueryEscape(r.param)}&value=${goQueryEscape(r.value)}`;
}

/** Server side: a `finish` or `invalid` report with `taskType=sendfile`; an error for anything else. */
export function parseSendFileReportQuery(kind: string, q: URLSearchParams): SendFileReport | { error: string } {
  const taskId = q.get('taskId');
  if (taskId === null || taskId === '') {
    return { error: 'taskId is required' };
  }
  if (kind === 'finish') {
    // Both exactly as the stock agent sends them: one digit, and Success or Failed.
    const raw = q.get('errorcode') ?? '0';
    const code = /^\d$/.test(raw) ? Number(raw) : Number.NaN;
    if (!(SEND_FILE_FINISH_CODES as readonly number[]).includes(code)) {
      return { error: `errorcode: unknown value ${raw.slice(0, 32)}` };
    }
    const given = q.get('status');
    if (given !== 'Success' && given !== 'Failed') {
      return { error: `status: unknown value ${String(given).slice(0, 32)}` };
    }
    const status = given === 'Success' && code === 0 ? 'Success' : 'Failed';
    return { kind, taskType: 'sendfile', taskId, status, errorCode: code as SendFileFinishCode };
  }
  if (kind === 'invalid') {
    const param = q.get('param') ?? '';
    if (!isSendFileInvalidParam(param)) {
      return { error: `param: unknown value ${param.slice(0, 32)}` };
    }
    return { kind, taskType: 'sendfile', taskId, param, value: q.get('value') ?? '' };
  }
  return { error: `a sendfile report is finish or invalid, not ${kind}` };
}
