// One SendFile task (spec/luban-protocol.md §5.9) → the report that tells the server how it went.
// Checks in the stock order (name, content, base64, signature, mode), then — unlike stock, before
// anything is written — the owner and group; then the directory and the safe write. Beyond stock:
// a name that is not a plain file name, or a destination that is relative or has `..` segments,
// is refused, so nothing is written outside the directory the operator named.
import { isAbsolute, posix, win32 } from 'node:path';
import {
  isPlainFileName,
  isStrictBase64,
  sendFileSignature,
  type SendFileFinishCode,
  type SendFileInvalidParam,
  type SendFileReport,
  type SendFileTask,
} from '../../protocol/index.js';
import { ensureError, type Logger } from '../shared/index.js';
import { systemAccounts, type AccountLookup } from './accounts.js';
import { ensureDir, writeFileSafely, type SafeWriteFailure } from './safe-write.js';

export interface FileSenderOptions {
  log: Logger;
  platform?: NodeJS.Platform;
  /** Where a file without `destination` goes: `/root` on Unix; on Windows the caller says (stock: the agent's directory). */
  defaultDir?: string;
  accounts?: AccountLookup;
}

export const DEFAULT_FILE_MODE = 0o644;

export { isPlainFileName };

/** An absolute directory without `..` segments or NUL, for the given platform. */
export function isSafeDestination(dir: string, platform: NodeJS.Platform): boolean {
  const abs = platform === 'win32' ? win32.isAbsolute(dir) : posix.isAbsolute(dir) && isAbsolute(dir);
  return abs && !dir.includes('\0') && !dir.split(/[/\\]/).includes('..');
}

/** Standard padded base64, the only form the server sends; Buffer.from alone accepts anything. */
export function decodeStrictBase64(s: string): Buffer | undefined {
  return isStrictBase64(s) ? Buffer.from(s, 'base64') : undefined;
}

/** `mode`: 3 or 4 octal digits, or empty for 0644. */
export function parseFileMode(mode: string): number | undefined {
  if (mode === '') {
    return DEFAULT_FILE_MODE;
  }
  return /^[0-7]{3,4}$/.test(mode) ? Number.parseInt(mode, 8) : undefined;
}

const FAILURE_CODE: Record<Exclude<SafeWriteFailure, 'exists'>, SendFileFinishCode> = { create: 1, chown: 2, chmod: 3 };

export class FileSender {
  readonly #log: Logger;
  readonly #platform: NodeJS.Platform;
  readonly #defaultDir: string;
  readonly #accounts: AccountLookup;

  constructor(o: FileSenderOptions) {
    this.#log = o.log;
    this.#platform = o.platform ?? process.platform;
    this.#defaultDir = o.defaultDir ?? (this.#platform === 'win32' ? process.cwd() : '/root');
    this.#accounts = o.accounts ?? systemAccounts;
  }

  /** Writes the file; never throws: every outcome is a report. */
  async send(task: SendFileTask): Promise<SendFileReport> {
    const log = this.#log.child({ taskId: task.taskID });
    const invalid = (param: SendFileInvalidParam, value: string): SendFileReport => {
      log.warn('file refused', { param, name: task.name });
      return { kind: 'invalid', taskType: 'sendfile', taskId: task.taskID, param, value };
    };
    const failed = (errorCode: SendFileFinishCode, why: string, err?: Error): SendFileReport => {
      log.warn('file not written', { errorCode, why, name: task.name, dir: task.destination, ...(err ? { err } : {}) });
      return { kind: 'finish', taskType: 'sendfile', taskId: task.taskID, status: 'Failed', errorCode };
    };
    try {
      if (!isPlainFileName(task.name)) {
        return invalid('FileNameInvalid', task.name);
      }
      if (task.content === '') {
        return invalid('EmptyFile', '');
      }
      const dir = task.destination === '' ? this.#defaultDir : task.destination;
      if (!isSafeDestination(dir, this.#platform)) {
        return failed(4, 'destination is not an absolute path without .. segments');
      }
      const data = decodeStrictBase64(task.content);
      if (data === undefined) {
        return invalid('InvalidFileContent', '');
      }
      if (sendFileSignature(task.content) !== task.signature.toLowerCase()) {
        return invalid('InvalidSignature', task.signature);
      }
      const mode = parseFileMode(task.mode);
      if (mode === undefined) {
        return invalid('InvalidFileMode', task.mode);
      }
      let owner: { uid: number; gid: number } | undefined;
      const ownerName = task.owner || 'root';
      const groupName = task.group || 'root';
      if (this.#platform !== 'win32' && !(ownerName === 'root' && groupName === 'root')) {
        const uid = await this.#accounts.uid(ownerName);
        if (uid === undefined) {
          return invalid('FileOwnerNotExist', task.owner);
        }
        const gid = await this.#accounts.gid(groupName);
        if (gid === undefined) {
          return invalid('FileGroupNotExist', task.group);
        }
        owner = { uid, gid };
      }
      try {
        await ensureDir(dir, this.#platform);
      } catch (e) {
        return failed(4, 'target directory not created', ensureError(e));
      }
      const r = await writeFileSafely({
        dir,
        name: task.name,
        data,
        mode,
        ...(owner ? { owner } : {}),
        overwrite: task.overwrite,
        platform: this.#platform,
      });
      if (!r.ok) {
        return r.reason === 'exists'
          ? invalid('FileExist', task.name)
          : failed(FAILURE_CODE[r.reason], r.reason, r.cause);
      }
      log.info('file written', { name: task.name, dir, bytes: data.length, mode: mode.toString(8) });
      return { kind: 'finish', taskType: 'sendfile', taskId: task.taskID, status: 'Success', errorCode: 0 };
    } catch (e) {
      // An account lookup that could not run, or anything unforeseen: the file was not written.
      return failed(1, 'unexpected failure', ensureError(e));
    }
  }
}
