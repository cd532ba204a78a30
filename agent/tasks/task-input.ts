// Pure helpers that turn a RunTask's fields into what the runner needs (spec/luban-protocol.md §5.2, §5.5–5.6).
import { DEFAULT_TASK_TIMEOUT_S, ERR_DESC_MAX_BYTES, type CommandType } from '../../protocol/index.js';

const B64_ALPHABET = /^[A-Za-z0-9+/]$/;

/**
 * Checks `s` the way Go's `base64.StdEncoding.DecodeString` does (standard alphabet, `=` padding
 * required, CR and LF skipped anywhere) and returns Go's error text, or undefined when it is valid.
 */
export function base64Problem(s: string): string | undefined {
  const corrupt = (at: number): string => `illegal base64 data at input byte ${at}`;
  const isNl = (c: string | undefined): boolean => c === '\n' || c === '\r';
  let j = 0; // position inside the current 4-character quantum
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    i += 1;
    if (isNl(c)) {
      continue;
    }
    if (B64_ALPHABET.test(c)) {
      j = (j + 1) % 4;
      continue;
    }
    if (c !== '=') {
      return corrupt(i - 1);
    }
    // Padding: it must end the input (bar newlines), after 2 or 3 characters of the quantum.
    if (j === 0 || j === 1) {
      return corrupt(i - 1);
    }
    if (j === 2) {
      while (i < s.length && isNl(s[i])) {
        i += 1;
      }
      if (i === s.length) {
        return corrupt(s.length);
      }
      if (s[i] !== '=') {
        return corrupt(i - 1);
      }
      i += 1;
    }
    while (i < s.length && isNl(s[i])) {
      i += 1;
    }
    return i < s.length ? corrupt(i) : undefined;
  }
  if (j === 0) {
    return undefined;
  }
  // An incomplete quantum without padding: Go points at its first character.
  let start = s.length;
  for (let left = j; left > 0;) {
    start -= 1;
    if (!isNl(s[start])) {
      left -= 1;
    }
  }
  return corrupt(start);
}

/** Decodes content already accepted by base64Problem. */
export const decodeBase64 = (s: string): Buffer => Buffer.from(s.replace(/[\r\n]/g, ''), 'base64');

/** The command types this platform can run: shell (and pwsh, if installed) off Windows, BAT and PowerShell on it. */
export function runnableTypes(platform: NodeJS.Platform): readonly CommandType[] {
  return platform === 'win32' ? ['RunBatScript', 'RunPowerShellScript'] : ['RunShellScript', 'RunPowerShellScript'];
}

/**
 * `timeOut` (a decimal integer string of seconds, as Go's strconv.Atoi reads it) → milliseconds;
 * 0 = no timeout. Unparsable or out of range → 3600 s. The executor chains timers for huge values.
 */
export function timeoutMs(timeOut: string): number {
  const seconds = /^[+-]?\d+$/.test(timeOut) ? Number(timeOut) : Number.NaN;
  const ms = seconds * 1000;
  if (!Number.isFinite(ms) || Math.abs(seconds) > Number.MAX_SAFE_INTEGER) {
    return DEFAULT_TASK_TIMEOUT_S * 1000;
  }
  return ms <= 0 ? 0 : ms;
}

const sanitise = (s: string): string => s.replace(/[^A-Za-z0-9._-]/g, '_');

/**
 * `[<commandName>-]<taskID>[.iv<invokeVersion>]<ext>` (§5.6 step 4). Both names are reduced to
 * `[A-Za-z0-9._-]` so a hostile id cannot leave the script directory or need shell quoting.
 */
export function scriptFileName(commandName: string, taskId: string, invokeVersion: number, ext: string): string {
  const prefix = commandName === '' ? '' : `${sanitise(commandName).slice(0, 64)}-`;
  const iv = invokeVersion > 0 ? `.iv${invokeVersion}` : '';
  return `${prefix}${sanitise(taskId)}${iv}${ext}`;
}

/** `{{ACS::Name}}` with optional spaces inside the braces. */
const ACS_PARAM = /\{\{\s*ACS::(\w+)\s*\}\}/g;

/** Replaces known `{{ACS::Name}}` tokens; unknown names are left as they are. */
export function substituteParameters(content: string, params: Readonly<Record<string, string>>): string {
  return content.replace(ACS_PARAM, (token, name: string) =>
    Object.prototype.hasOwnProperty.call(params, name) ? params[name]! : token,
  );
}

/** The builtin parameters of a task: the server's, then InstanceId, CommandId and InvokeId (§5.2). */
export function builtInParameters(
  server: Readonly<Record<string, string>>,
  instanceId: string,
  commandId: string,
  taskId: string,
): Record<string, string> {
  // InstanceName = "" asks for a metadata lookup in the stock agent; not done here (it stays "").
  return { ...server, InstanceId: instanceId, CommandId: commandId, InvokeId: taskId };
}

/** Cuts `s` to at most `max` UTF-8 bytes without splitting a character. */
export function truncateUtf8(s: string, max = ERR_DESC_MAX_BYTES): string {
  const b = Buffer.from(s, 'utf8');
  if (b.length <= max) {
    return s;
  }
  let end = max;
  // Step back over continuation bytes (10xxxxxx) so the cut lands on a character boundary.
  while (end > 0 && (b[end]! & 0xc0) === 0x80) {
    end -= 1;
  }
  return b.subarray(0, end).toString('utf8');
}

/** Linux errno → the CamelCase phrase of its strerror text, as in the stock errDesc (§5.6). */
const ERRNO_PHRASES: Record<string, [number, string]> = {
  EPERM: [1, 'OperationNotPermitted'],
  ENOENT: [2, 'NoSuchFileOrDirectory'],
  E2BIG: [7, 'ArgumentListTooLong'],
  ENOEXEC: [8, 'ExecFormatError'],
  EAGAIN: [11, 'ResourceTemporarilyUnavailable'],
  ENOMEM: [12, 'CannotAllocateMemory'],
  EACCES: [13, 'PermissionDenied'],
  ENOTDIR: [20, 'NotADirectory'],
  EINVAL: [22, 'InvalidArgument'],
  ENFILE: [23, 'TooManyOpenFilesInSystem'],
  EMFILE: [24, 'TooManyOpenFiles'],
  ENOSPC: [28, 'NoSpaceLeftOnDevice'],
};

/**
 * errCode/errDesc of a failure in `category` (stock `-N` code) caused by an error with `code` (Node's
 * errno name). Off Windows a known errno replaces the code and adds `.Phrase` to the category.
 */
export function taskError(
  category: string,
  fallbackCode: number,
  code: string | undefined,
  cause: string,
  platform: NodeJS.Platform,
): { errCode: string; errDesc: string } {
  const known = platform !== 'win32' && code !== undefined ? ERRNO_PHRASES[code] : undefined;
  if (known === undefined) {
    return { errCode: String(fallbackCode), errDesc: truncateUtf8(`${category}: ${cause}`) };
  }
  return { errCode: String(known[0]), errDesc: truncateUtf8(`${category}.${known[1]}: ${cause}`) };
}
