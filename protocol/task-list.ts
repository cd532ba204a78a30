// Task fetch request and response (spec/luban-protocol.md §5.1–5.3).
import { QueryNumbers, UTC_OFFSET_MAX_S } from './report-bounds.js';
import { FieldReader, isObj, type Validated } from './validate.js';

export const COMMAND_TYPES = ['RunShellScript', 'RunBatScript', 'RunPowerShellScript'] as const;
export type CommandType = (typeof COMMAND_TYPES)[number];
export const isCommandType = (s: string): s is CommandType => (COMMAND_TYPES as readonly string[]).includes(s);

export const REPEATS = ['Once', 'Period', 'NextRebootOnly', 'EveryReboot', 'Rate', 'At'] as const;
export type Repeat = (typeof REPEATS)[number];

export type FetchReason = 'startup' | 'kickoff';

/** Query of `POST /luban/api/v1/task/list`, in the stock order. */
export interface TaskListQuery {
  reason: FetchReason;
  coldStart?: boolean;
  taskId?: string;
  currentTime: number;
  offset: number;
  timeZone: string;
}

export function buildTaskListQuery(q: TaskListQuery): string {
  let s = `reason=${q.reason}`;
  if (q.reason === 'startup') {
    s += `&cold_start=${q.coldStart === true}`;
  }
  if (q.taskId !== undefined) {
    s += `&taskId=${q.taskId}`;
  }
  s += `&currentTime=${q.currentTime}&offset=${q.offset}&timeZone=${encodeURIComponent(q.timeZone)}`;
  return s;
}

/** Server side; `nowMs` is the server's clock, which bounds `currentTime` (report-bounds.ts). */
export function parseTaskListQuery(params: URLSearchParams, nowMs = Date.now()): Validated<TaskListQuery> {
  const errors: string[] = [];
  const reason = params.get('reason');
  if (reason !== 'startup' && reason !== 'kickoff') {
    errors.push('reason: expected startup or kickoff');
  }
  for (const k of ['currentTime', 'offset']) {
    if (params.get(k) === null) {
      errors.push(`${k}: required`);
    }
  }
  const n = new QueryNumbers(params, nowMs);
  const currentTime = n.time('currentTime');
  const offset = n.int('offset', -UTC_OFFSET_MAX_S, UTC_OFFSET_MAX_S);
  errors.push(...n.errors);
  const timeZone = params.get('timeZone') ?? '';
  if (errors.length > 0) {
    return { ok: false, errors };
  }
  const q: TaskListQuery = { reason: reason as FetchReason, currentTime, offset, timeZone };
  if (params.has('cold_start')) {
    q.coldStart = params.get('cold_start') === 'true';
  }
  const taskId = params.get('taskId');
  if (taskId !== null) {
    q.taskId = taskId;
  }
  return { ok: true, value: q };
}

/** The `task` object of a `run`/`stop`/`test` entry. */
export interface RunTask {
  taskID: string;
  invokeVersion: number;
  type: string;
  commandId: string;
  commandName: string;
  /** Base64 of the UTF-8 script. */
  commandContent: string;
  workingDirectory: string;
  /** Seconds as a decimal string; unparsable → 3600, <= 0 → no timeout. */
  timeOut: string;
  cron: string;
  username: string;
  windowsPasswordName: string;
  enableParameter: boolean;
  builtInParameter: Record<string, string>;
  creationTime: number;
  /**
   * An extension of this control plane (a stock agent ignores it): the content holds values of
   * parameter-store secrets (`{{oos-secret:…}}`), so the agent keeps no copy of it once the run
   * ends, as the stock agent does with scripts that name `oos-secret`.
   */
  secretContent?: boolean;
}

export interface OutputOptions {
  interval: number;
  logQuota: number;
  skipEmpty: boolean;
  sendStart: boolean;
}

export interface RunTaskEntry {
  task: RunTask;
  output: OutputOptions;
  repeat: Repeat;
}

export interface TaskListResponse {
  code: number;
  instanceId: string;
  run: RunTaskEntry[];
  stop: RunTaskEntry[];
  test: RunTaskEntry[];
  /** SendFile and session entries are carried opaquely until their issues land. */
  file: unknown[];
  session: unknown[];
}

function readRunTask(v: unknown, where: string, errors: string[]): RunTask {
  const r = new FieldReader(isObj(v) ? v : {}, where);
  if (!isObj(v)) {
    errors.push(`${where}: expected an object`);
  }
  const task: RunTask = {
    taskID: r.str('taskID', true),
    invokeVersion: r.int('invokeVersion'),
    type: r.str('type'),
    commandId: r.str('commandId'),
    commandName: r.str('commandName'),
    commandContent: r.str('commandContent'),
    workingDirectory: r.str('workingDirectory'),
    timeOut: r.str('timeOut'),
    cron: r.str('cron'),
    username: r.str('username'),
    windowsPasswordName: r.str('windowsPasswordName'),
    enableParameter: r.bool('enableParameter'),
    builtInParameter: r.strMap('builtInParameter'),
    creationTime: r.int('creationTime'),
  };
  if (r.bool('secretContent')) {
    task.secretContent = true;
  }
  errors.push(...r.errors);
  return task;
}

function readOutput(v: unknown, where: string, errors: string[]): OutputOptions {
  const r = new FieldReader(isObj(v) ? v : {}, where);
  const out = {
    interval: r.int('interval'),
    logQuota: r.int('logQuota'),
    skipEmpty: r.bool('skipEmpty'),
    sendStart: r.bool('sendStart'),
  };
  errors.push(...r.errors);
  return out;
}

function readEntries(list: unknown[], name: string, errors: string[]): RunTaskEntry[] {
  return list.map((e, i) => {
    const where = `${name}[${i}]`;
    const r = new FieldReader(isObj(e) ? e : {}, where);
    const task = readRunTask(r.obj('task'), `${where}.task`, errors);
    const output = readOutput(r.obj('output'), `${where}.output`, errors);
    const rawRepeat = r.str('repeat');
    errors.push(...r.errors);
    let repeat: Repeat;
    if (rawRepeat === '') {
      repeat = task.cron !== '' ? 'Period' : 'Once';
    } else if ((REPEATS as readonly string[]).includes(rawRepeat)) {
      repeat = rawRepeat as Repeat;
    } else {
      errors.push(`${where}.repeat: unknown value ${rawRepeat}`);
      repeat = 'Once';
    }
    return { task, output, repeat };
  });
}

export function parseTaskListResponse(v: unknown): Validated<TaskListResponse> {
  if (!isObj(v)) {
    return { ok: false, errors: ['task list: expected a JSON object'] };
  }
  const errors: string[] = [];
  const r = new FieldReader(v, 'taskList');
  const value: TaskListResponse = {
    code: r.int('code'),
    instanceId: r.str('instanceId'),
    run: readEntries(r.arr('run'), 'run', errors),
    stop: readEntries(r.arr('stop'), 'stop', errors),
    test: readEntries(r.arr('test'), 'test', errors),
    file: r.arr('file'),
    session: r.arr('session'),
  };
  errors.push(...r.errors);
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value };
}
