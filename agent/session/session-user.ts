// Who a session runs as (spec/luban-protocol.md §6 `username`). An empty username means the
// dedicated `ecs-assist-user`, created on first use with passwordless sudo as the stock agent
// does; the operator can turn the sudo rule off (ALIYUN_ASSIST_SESSION_USER_SUDO=false).
import { execFile } from 'node:child_process';
import { constants, existsSync, openSync, readFileSync, renameSync, rmSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { lookupUser, UserLookupError, type TaskUser } from '../tasks/index.js';

export const DEFAULT_SESSION_USER = 'ecs-assist-user';
export const DEFAULT_SUDOERS_DIR = '/etc/sudoers.d';

export interface SessionUserOptions {
  /** The user of sessions without a username (stock: ecs-assist-user). */
  defaultUser: string;
  /** Whether the default user gets `NOPASSWD:ALL` in `<sudoersDir>/<defaultUser>`. */
  sudoRule: boolean;
  sudoersDir: string;
  platform: NodeJS.Platform;
}

/** The session cannot run as its user: the session ends with Open_pty_failed. */
export class SessionUserError extends Error {
  override readonly name = 'SessionUserError';
}

/** The sudoers line the stock agent writes for its session user. */
export const sudoRuleText = (user: string): string => `${user} ALL=(ALL) NOPASSWD:ALL\n`;

// useradd must not run twice at once for the same name: sessions resolving the default user queue here.
let creating: Promise<unknown> = Promise.resolve();

export async function resolveSessionUser(username: string, o: SessionUserOptions): Promise<TaskUser> {
  if (o.platform === 'win32') {
    // Stock: a Windows session runs as the agent's account; any other username fails it.
    if (username !== '') {
      throw new SessionUserError(`sessions as another user are not supported on Windows: ${username}`);
    }
    return lookupUser('');
  }
  if (username !== '') {
    return lookupOrExplain(username);
  }
  const run = creating.then(() => ensureDefaultUser(o));
  creating = run.catch(() => undefined);
  return run;
}

async function lookupOrExplain(name: string): Promise<TaskUser> {
  try {
    return await lookupUser(name);
  } catch (e) {
    throw new SessionUserError(e instanceof Error ? e.message : String(e), { cause: e });
  }
}

async function ensureDefaultUser(o: SessionUserOptions): Promise<TaskUser> {
  let user: TaskUser;
  try {
    user = await lookupUser(o.defaultUser);
  } catch (e) {
    if (!(e instanceof UserLookupError)) {
      throw e;
    }
    await createUser(o.defaultUser);
    user = await lookupOrExplain(o.defaultUser);
  }
  applySudoRule(o);
  return user;
}

function createUser(name: string): Promise<void> {
  const shell = ['/bin/bash', '/usr/bin/bash'].find((s) => existsSync(s)) ?? '/bin/sh';
  return new Promise((resolve, reject) => {
    execFile(
      'useradd',
      ['--create-home', '--shell', shell, '--comment', 'Cloud Assistant session user', '--', name],
      { timeout: 30_000, encoding: 'utf8' },
      (err, _stdout, stderr) => {
        // 9: the name exists already (created meanwhile by someone else): fine.
        if (err === null || (err as { code?: unknown }).code === 9) {
          return resolve();
        }
        reject(new SessionUserError(`useradd ${name}: ${stderr.trim() || err.message}`, { cause: err }));
      },
    );
  });
}

/**
 * Writes the rule when the file is missing (mode 0440, via a dot-named temporary file that sudo
 * ignores, then rename); with the rule turned off, removes a file that holds exactly the rule
 * this agent writes. A file with other content is the operator's and stays as it is.
 */
export function applySudoRule(o: Pick<SessionUserOptions, 'defaultUser' | 'sudoRule' | 'sudoersDir'>): void {
  const file = join(o.sudoersDir, o.defaultUser);
  const text = sudoRuleText(o.defaultUser);
  let current: string | undefined;
  try {
    current = readFileSync(file, 'utf8');
  } catch {
    current = undefined;
  }
  if (!o.sudoRule) {
    if (current === text) {
      rmSync(file, { force: true });
    }
    return;
  }
  if (current !== undefined || !existsSync(o.sudoersDir)) {
    return; // ours already, or the operator's own rule (kept as is), or no sudo on this machine
  }
  const tmp = join(o.sudoersDir, `.${o.defaultUser}.${process.pid}.tmp`);
  rmSync(tmp, { force: true });
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o440);
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}
