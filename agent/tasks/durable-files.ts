// Private directories and crash-safe small files for agent state (outbox, running journal).
import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, open, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** Creates `dir` (and parents) if needed; it must be a real directory owned by us, with exactly `mode`. */
export async function ensurePrivateDir(dir: string, mode: number): Promise<void> {
  // Parents get the default mode: they must stay traversable for the per-user script dir.
  await mkdir(dirname(dir), { recursive: true });
  await mkdir(dir, { mode }).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'EEXIST') {
      throw e;
    }
  });
  const st = await lstat(dir);
  const uid = process.getuid?.();
  if (!st.isDirectory() || (uid !== undefined && st.uid !== uid)) {
    throw Object.assign(new Error(`${dir} is not a directory owned by the agent`), { code: 'EPERM' });
  }
  if ((st.mode & 0o7777) !== mode) {
    await chmod(dir, mode);
  }
}

/** Temporary files of writeDurably start with this; a crash may leave some, which are removed on open. */
export const TMP_PREFIX = '.tmp-';

/**
 * Writes `dir/name` so that after a crash it is either absent or complete: a 0600 temporary file
 * (exclusive create: never through a planted link), fsync, rename over the name, fsync the directory.
 */
export async function writeDurably(dir: string, name: string, data: Buffer | string): Promise<void> {
  const tmp = join(dir, `${TMP_PREFIX}${randomBytes(6).toString('hex')}-${name}`);
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw e;
  }
  await fh.close();
  try {
    await rename(tmp, join(dir, name));
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
  await syncDir(dir);
}

/** Removes `dir/name` (gone already is fine) and makes the removal durable. */
export async function removeDurably(dir: string, name: string): Promise<void> {
  try {
    await unlink(join(dir, name));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw e;
    }
    return;
  }
  await syncDir(dir);
}

/** fsync of a directory makes renames and unlinks in it durable (POSIX; Windows cannot open a directory). */
async function syncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') {
    return;
  }
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** `[A-Za-z0-9._-]` only, so an id from the server is a safe file name component. */
export const safeName = (s: string, max = 96): string => s.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, max);
