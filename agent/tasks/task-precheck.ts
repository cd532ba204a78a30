// §5.6 step 1: the checks before a task's process whose failure is an `invalid` report and nothing
// else (type, content, user, working directory).
import { stat } from 'node:fs/promises';
import { isCommandType, type CommandType, type RunTask } from '../../protocol/index.js';
import { ensureError, type Logger } from '../shared/index.js';
import { UserLookupError, lookupUser, type TaskUser } from './run-as-user.js';
import { base64Problem, runnableTypes } from './task-input.js';

export type Prepared =
  { ok: true; user: TaskUser; cwd: string; type: CommandType } | { ok: false; param: string; value: string };

/** The task's command type, user and working directory, or the parameter that makes it invalid. */
export async function precheck(task: RunTask, platform: NodeJS.Platform, log: Logger): Promise<Prepared> {
  const type = task.type;
  if (!isCommandType(type) || !runnableTypes(platform).includes(type)) {
    return { ok: false, param: 'TypeInvalid', value: `TypeInvalid_${type}` };
  }
  const b64 = base64Problem(task.commandContent);
  if (b64 !== undefined) {
    return { ok: false, param: 'CommandContentInvalid', value: b64 };
  }

  let user: TaskUser;
  try {
    user = await lookupUser(task.username);
  } catch (e) {
    const cause = e instanceof UserLookupError ? e.message : ensureError(e).message;
    return { ok: false, param: 'UsernameOrPasswordInvalid', value: `UserInvalid_${task.username}: ${cause}` };
  }

  if (task.workingDirectory !== '') {
    if (!(await isDirectory(task.workingDirectory))) {
      return { ok: false, param: 'workingDirectory', value: 'WorkingDirectoryNotExist: <nil>' };
    }
    return { ok: true, user, cwd: task.workingDirectory, type };
  }
  if (user.home !== '' && (await isDirectory(user.home))) {
    return { ok: true, user, cwd: user.home, type };
  }
  if (task.username !== '') {
    return { ok: false, param: 'workingDirectory', value: 'DefaultWorkingDirectoryNotAvailable: <nil>' };
  }
  // The agent's own user without a usable home: run from the filesystem root.
  log.warn('task home directory missing', { home: user.home });
  return { ok: true, user, cwd: '/', type };
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
