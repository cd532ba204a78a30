// Writes one sent file so that nobody ever sees half of it and nothing is clobbered by accident:
// a temporary file created exclusively (unpredictable name, O_EXCL|O_NOFOLLOW, 0600) in the target
// directory, fsync, chown and chmod on the open file, then
//   Overwrite=true:  rename over the final name (a symlink there is replaced, never followed);
//   Overwrite=false: link() to the final name, which fails with EEXIST if anything — a file, a
//                    directory, a symlink, even a dangling one — appeared there meanwhile.
// The temporary name is removed on every path. The directory is fsynced after the commit.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, lstat, mkdir, open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join, parse } from 'node:path';

export interface SafeWriteSpec {
  dir: string;
  name: string;
  data: Buffer;
  /** Permission bits (chmod); ignored on Windows. */
  mode: number;
  /** chown of the new file; absent: it keeps the agent's user. Ignored on Windows. */
  owner?: { uid: number; gid: number };
  overwrite: boolean;
  platform: NodeJS.Platform;
}

/** Why a write failed, in the terms of the stock result codes (luban §5.9). */
export type SafeWriteFailure = 'exists' | 'create' | 'chown' | 'chmod';

export type SafeWriteResult = { ok: true } | { ok: false; reason: SafeWriteFailure; cause?: Error };

/** Temporary files start with this; they never match a name SendFile would leave behind. */
export const TEMP_PREFIX = '.oca-sendfile-';

const fail = (reason: SafeWriteFailure, cause?: unknown): SafeWriteResult => ({
  ok: false,
  reason,
  ...(cause instanceof Error ? { cause } : {}),
});

const errno = (e: unknown): string | undefined => (e as NodeJS.ErrnoException | undefined)?.code;

export async function writeFileSafely(s: SafeWriteSpec): Promise<SafeWriteResult> {
  const windows = s.platform === 'win32';
  const final = join(s.dir, s.name);
  if (!s.overwrite && (await present(final))) {
    return fail('exists'); // cheap early answer; link() below is the one that counts
  }
  const tmp = join(s.dir, `${TEMP_PREFIX}${randomBytes(12).toString('hex')}.tmp`);
  const flags = windows ? 'wx' : constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  let fh: FileHandle;
  try {
    fh = await open(tmp, flags, 0o600);
  } catch (e) {
    return fail('create', e);
  }
  let result: SafeWriteResult | undefined;
  try {
    result = await fill(fh, s, windows);
  } finally {
    await fh.close().catch(() => {});
  }
  if (result === undefined) {
    result = await commit(tmp, final, s.overwrite);
  }
  await unlink(tmp).catch(() => {}); // after link() the final name holds the data; after rename it is gone
  if (result.ok) {
    await syncDir(s.dir, windows).catch(() => {});
  }
  return result;
}

/** Content, fsync, owner, then mode (chown clears set-id bits, so chmod comes last). */
async function fill(fh: FileHandle, s: SafeWriteSpec, windows: boolean): Promise<SafeWriteResult | undefined> {
  try {
    await fh.writeFile(s.data);
    await fh.sync();
  } catch (e) {
    return fail('create', e);
  }
  if (windows) {
    return undefined;
  }
  if (s.owner) {
    try {
      await fh.chown(s.owner.uid, s.owner.gid);
    } catch (e) {
      return fail('chown', e);
    }
  }
  try {
    await fh.chmod(s.mode);
  } catch (e) {
    return fail('chmod', e);
  }
  return undefined;
}

async function commit(tmp: string, final: string, overwrite: boolean): Promise<SafeWriteResult> {
  if (overwrite) {
    try {
      await rename(tmp, final);
      return { ok: true };
    } catch (e) {
      return fail('create', e);
    }
  }
  try {
    await link(tmp, final);
    return { ok: true };
  } catch (e) {
    if (errno(e) === 'EEXIST') {
      return fail('exists');
    }
    // File systems without hard links (vfat, some FUSE): the best left is look, then rename.
    if (['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS'].includes(errno(e) ?? '') && !(await present(final))) {
      try {
        await rename(tmp, final);
        return { ok: true };
      } catch (e2) {
        return fail('create', e2);
      }
    }
    return fail('create', e);
  }
}

/** Anything at `path`, a dangling symlink included (lstat never follows). */
async function present(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (e) {
    return errno(e) !== 'ENOENT';
  }
}

/**
 * MkdirAll: creates the missing directories of `dir`, each 0755 exactly (whatever the umask) and
 * owned by the agent's user (root). Existing ones are left as they are. Rejects when a component
 * exists and is not a directory (a symlink to a directory counts as one, as for mkdir -p).
 */
export async function ensureDir(dir: string, platform: NodeJS.Platform): Promise<void> {
  const missing: string[] = [];
  for (let d = dir; d !== parse(d).root; d = dirname(d)) {
    try {
      if (!(await stat(d)).isDirectory()) {
        throw Object.assign(new Error(`${d} exists and is not a directory`), { code: 'ENOTDIR' });
      }
      break;
    } catch (e) {
      if (errno(e) !== 'ENOENT') {
        throw e;
      }
      missing.unshift(d);
    }
  }
  for (const d of missing) {
    try {
      await mkdir(d, 0o755);
    } catch (e) {
      if (errno(e) !== 'EEXIST') {
        throw e;
      }
      if (!(await stat(d)).isDirectory()) {
        throw e;
      }
      continue; // made meanwhile by someone else: theirs, left alone
    }
    if (platform !== 'win32') {
      // On the directory just made, never through a symlink swapped in for it.
      const fh = await open(d, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
      try {
        await fh.chmod(0o755);
      } finally {
        await fh.close();
      }
    }
  }
}

/** fsync of a directory makes the rename or link in it durable (POSIX only). */
async function syncDir(dir: string, windows: boolean): Promise<void> {
  if (windows) {
    return;
  }
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
