// Who a task runs as, and the environment it gets (spec/luban-protocol.md §5.5–5.6, DESIGN.md §5).
import { execFile } from 'node:child_process';
import { userInfo } from 'node:os';

export interface TaskUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

/** A run-as user that cannot be used; `cause` goes into `UserInvalid_<user>: <cause>`. */
export class UserLookupError extends Error {
  override readonly name = 'UserLookupError';
}

/** The agent's own user (a task without `username`). */
export function agentUser(): TaskUser {
  const u = userInfo();
  return { name: u.username, uid: u.uid, gid: u.gid, home: u.homedir, shell: u.shell ?? '' };
}

/**
 * Resolves `name` through NSS with `getent passwd` (no shell), or the agent's own user when empty.
 * Only an exact name match counts: `getent passwd 0` would otherwise turn a numeric "name" into a uid.
 * Rejects with UserLookupError when there is no such user.
 */
export async function lookupUser(name: string): Promise<TaskUser> {
  if (name === '') {
    return agentUser();
  }
  if (/[:\n\r\0]/.test(name)) {
    throw new UserLookupError(`user: unknown user ${name}`);
  }
  const line = await new Promise<string>((resolve, reject) => {
    execFile('getent', ['passwd', '--', name], { timeout: 5_000, encoding: 'utf8' }, (err, stdout) => {
      if (err === null) {
        return resolve(stdout);
      }
      // getent exits 2 when the key is not found.
      if ((err as { code?: unknown }).code === 2) {
        return reject(new UserLookupError(`user: unknown user ${name}`));
      }
      reject(new UserLookupError(`user: lookup ${name}: ${err.message}`));
    });
  });
  const fields = line.split('\n')[0]!.split(':');
  const uid = Number(fields[2]);
  const gid = Number(fields[3]);
  if (fields.length < 7 || fields[0] !== name || !Number.isSafeInteger(uid) || !Number.isSafeInteger(gid)) {
    throw new UserLookupError(`user: unknown user ${name}`);
  }
  return { name, uid, gid, home: fields[5]!, shell: fields[6]! };
}

export const TASK_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The complete environment of a POSIX task: nothing is inherited from the agent, so no agent
 * secret or proxy setting leaks into scripts and every run starts from the same place.
 */
export function taskEnv(user: TaskUser): Record<string, string> {
  return {
    PATH: TASK_PATH,
    HOME: user.home,
    USER: user.name,
    LOGNAME: user.name,
    SHELL: user.shell === '' ? '/bin/sh' : user.shell,
    LANG: 'C.UTF-8',
  };
}

/**
 * uid/gid for the executor, or none when the task runs as the agent's own user. (The process gets
 * the user's primary group only: libuv clears supplementary groups on setuid. initgroups() for the
 * user's supplementary groups comes in a later issue.)
 */
export function spawnIdentity(user: TaskUser): { uid?: number; gid?: number } {
  const own = process.getuid?.();
  if (own === undefined || (user.uid === own && user.gid === process.getgid?.())) {
    return {};
  }
  return { uid: user.uid, gid: user.gid };
}
