// Who a task runs as, and the environment it gets (spec/luban-protocol.md §5.5–5.6, DESIGN.md §5).
import { execFile } from 'node:child_process';
import { userInfo } from 'node:os';
import { findSetpriv, setprivLaunch, windowsLogonLaunch, type Command, type Launch } from '../executor/index.js';

export interface TaskUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
  /** Supplementary group ids (`id -G`), the primary one included. */
  groups: number[];
  /** Windows only: the logon password, resolved from the task's `windowsPasswordName`. */
  password?: string;
}

/** A run-as user that cannot be used; `cause` goes into `UserInvalid_<user>: <cause>`. */
export class UserLookupError extends Error {
  override readonly name = 'UserLookupError';
}

/** The agent's own user (a task without `username`). */
export function agentUser(): TaskUser {
  const u = userInfo();
  return {
    name: u.username,
    uid: u.uid,
    gid: u.gid,
    home: u.homedir,
    shell: u.shell ?? '',
    groups: process.getgroups?.() ?? [],
  };
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
  return { name, uid, gid, home: fields[5]!, shell: fields[6]!, groups: await groupsOf(name, gid) };
}

/** The user's group ids as `id -G` reports them (NSS aware: LDAP/sssd groups included). */
function groupsOf(name: string, gid: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    execFile('id', ['-G', '--', name], { timeout: 5_000, encoding: 'utf8' }, (err, stdout) => {
      if (err !== null) {
        return reject(new UserLookupError(`user: groups of ${name}: ${err.message.trim()}`));
      }
      const ids = stdout.trim().split(/\s+/).filter(Boolean).map(Number);
      if (ids.some((n) => !Number.isSafeInteger(n) || n < 0)) {
        return reject(new UserLookupError(`user: groups of ${name}: unexpected answer ${stdout.trim()}`));
      }
      resolve(ids.includes(gid) ? ids : [gid, ...ids]);
    });
  });
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
 * The uid/gid a task's process and script file get, or none when the task runs as the agent's own
 * user (then it also keeps the agent's groups).
 */
export function spawnIdentity(user: TaskUser): { uid?: number; gid?: number } {
  const own = process.getuid?.();
  if (own === undefined || (user.uid === own && user.gid === process.getgid?.())) {
    return {};
  }
  return { uid: user.uid, gid: user.gid };
}

/** Why a task cannot be started as its user: becomes an `error` report (ExecuteScriptFailed). */
export interface RunAsRefusal {
  refused: string;
  /** errno name when there is one (EPERM, ENOENT), for the stock `Category.Phrase` form. */
  code?: string;
}

/**
 * Port: how this machine starts a command as another user (the task runner consumes it; main.ts
 * picks the implementation, tests may inject one). `target` is the script's own command line.
 */
export interface RunAsPort {
  /** Why a task cannot run as `user` on this machine; undefined when it can. */
  refusal(user: TaskUser): RunAsRefusal | undefined;
  /** The command line that runs `target` as `user` (only called when refusal() is undefined). */
  launch(target: Command, user: TaskUser, cwd: string): Launch;
}

/** Linux/BSD: through setpriv (util-linux) with uid, gid and the user's supplementary groups. */
export function posixRunAs(setpriv: string | undefined, agentUid = process.getuid?.()): RunAsPort {
  return {
    refusal() {
      if (agentUid !== 0) {
        return { refused: 'only an agent running as root can run commands as another user', code: 'EPERM' };
      }
      if (setpriv === undefined) {
        return {
          refused: 'setpriv (util-linux) is required to run commands as another user and was not found',
          code: 'ENOENT',
        };
      }
      return undefined;
    },
    launch(target, user) {
      if (setpriv === undefined) {
        throw new Error('setpriv not found');
      }
      return setprivLaunch(setpriv, { uid: user.uid, gid: user.gid, groups: user.groups }, target);
    },
  };
}

/** `DOMAIN\user` → [DOMAIN, user]; a bare name is a local account (`.`). */
const splitWindowsUser = (name: string): [string, string] => {
  const i = name.indexOf('\\');
  return i < 0 ? ['.', name] : [name.slice(0, i), name.slice(i + 1)];
};

/** Windows: the user's logon with its password (see agent/executor/run-as.ts). */
export function windowsRunAs(): RunAsPort {
  return {
    refusal(user) {
      return user.password === undefined
        ? { refused: `no password for ${user.name} (windowsPasswordName is not resolved by this agent yet)` }
        : undefined;
    },
    launch(target, user, cwd) {
      const [domain, name] = splitWindowsUser(user.name);
      return windowsLogonLaunch({ user: name, domain, password: user.password ?? '' }, target, cwd);
    },
  };
}

/** The run-as implementation for this platform; on POSIX it looks for setpriv once, now. */
export function defaultRunAs(platform: NodeJS.Platform = process.platform): RunAsPort {
  return platform === 'win32' ? windowsRunAs() : posixRunAs(findSetpriv());
}
