// What a session runs (spec/luban-protocol.md §6 `cmdContent`): the user's login shell, or the
// shlex-split command line directly under the PTY, started as the session's user.
import { existsSync } from 'node:fs';
import type { SessionTask } from '../../protocol/index.js';
import { setprivLaunch } from '../executor/index.js';
import { shlexSplit } from '../shared/index.js';
import { taskEnv, type TaskUser } from '../tasks/index.js';
import { conptyCommand } from './conpty.js';
import { SessionUserError } from './session-user.js';

export interface SessionCommand {
  file: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
}

export interface SessionCommandContext {
  platform: NodeJS.Platform;
  /** setpriv (util-linux), when found: how a root agent becomes another user. */
  setpriv: string | undefined;
  agentUid: number | undefined;
  agentGid: number | undefined;
}

/** The terminal type sessions announce (what xterm.js and the stock CLI emulate). */
export const SESSION_TERM = 'xterm-256color';

/** The shell when the passwd entry has none: csh on FreeBSD (stock), bash elsewhere. */
const fallbackShell = (platform: NodeJS.Platform): string => (platform === 'freebsd' ? '/bin/csh' : '/bin/bash');

/** Throws SessionUserError when the session cannot be started as `user` from this agent. */
export function sessionCommand(task: SessionTask, user: TaskUser, ctx: SessionCommandContext): SessionCommand {
  if (ctx.platform === 'win32') {
    const c = conptyCommand(task.cmdContent);
    return { ...c, cwd: user.home || 'C:\\', env: windowsEnv(user) };
  }
  let program: { command: string; args: string[] };
  if (task.cmdContent.trim() === '') {
    // A login shell (-l: bash, zsh, dash, csh, fish all take it) so profiles run as on a console login.
    program = { command: user.shell || fallbackShell(ctx.platform), args: ['-l'] };
  } else {
    let words: string[];
    try {
      words = shlexSplit(task.cmdContent);
    } catch (e) {
      throw new SessionUserError(`cmdContent: ${(e as Error).message}`, { cause: e });
    }
    if (words.length === 0) {
      throw new SessionUserError('cmdContent has no words');
    }
    program = { command: words[0]!, args: words.slice(1) };
  }
  const env = { ...taskEnv(user), TERM: SESSION_TERM };
  const cwd = user.home !== '' && existsSync(user.home) ? user.home : '/';
  if (user.uid === ctx.agentUid && user.gid === ctx.agentGid) {
    return { file: program.command, args: program.args, cwd, env };
  }
  if (ctx.agentUid !== 0) {
    throw new SessionUserError(`only an agent running as root can open a session as ${user.name}`);
  }
  if (ctx.setpriv === undefined) {
    throw new SessionUserError('setpriv (util-linux) is required to open a session as another user');
  }
  const launch = setprivLaunch(ctx.setpriv, { uid: user.uid, gid: user.gid, groups: user.groups }, program);
  return { file: launch.command, args: launch.args, cwd, env };
}

/** Windows: the agent's environment (ConPTY runs under the agent's account), with the terminal type. */
function windowsEnv(user: TaskUser): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined) {
      env[k] = v;
    }
  }
  return { ...env, USERNAME: user.name, TERM: SESSION_TERM };
}
