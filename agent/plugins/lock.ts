// A per-plugin lock across processes (the agent's supervisor and any acs-plugin-manager run):
// `<ROOT>/cache/plugin-manager/<name>.lock`, created exclusively, holding the owner's pid. A lock
// whose owner is gone is taken over. The stock manager uses flock(2), which Node lacks.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from '../shared/index.js';
import { PluginError } from './exit-codes.js';

const POLL_MS = 100;

const ownerAlive = (file: string): boolean => {
  let pid: number;
  try {
    pid = Number(readFileSync(file, 'utf8').trim());
  } catch {
    return true; // being written right now
  }
  if (!Number.isSafeInteger(pid) || pid <= 0) {
    return false;
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Runs `fn` holding `<lockDir>/<name>.lock`; LOCKING_ERR (232) when it stays held `waitMs`. */
export async function withPluginLock<T>(
  lockDir: string,
  name: string,
  waitMs: number,
  fn: () => Promise<T>,
): Promise<T> {
  mkdirSync(lockDir, { recursive: true, mode: 0o700 });
  const file = join(lockDir, `${name}.lock`);
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx', mode: 0o600 });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new PluginError('LockPlugin', 'LOCKING_ERR', (e as Error).message, { cause: e });
      }
      if (!ownerAlive(file)) {
        rmSync(file, { force: true });
        continue;
      }
      if (Date.now() >= deadline) {
        throw new PluginError(
          'LockPlugin',
          'LOCKING_ERR',
          `plugin ${name} is being installed or removed by another process`,
        );
      }
      await sleep(POLL_MS);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(file, { force: true });
  }
}
