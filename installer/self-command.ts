// The command line that runs this very agent, for ExecStart and its kin: the single executable by
// the name it was started with (`…/<version>/aliyun-service`), or node with its flags and script.
import { posix, win32 } from 'node:path';

export interface SelfProcess {
  platform: string;
  execPath: string;
  execArgv: readonly string[];
  /** process.argv[1]: the script under node; in a single executable, argv[0] as it was typed. */
  argv1: string | undefined;
  isSea: boolean;
  cwd: string;
  pathEnv: string | undefined;
  isExecutable(path: string): boolean;
}

/** Names under which the single executable runs the agent without a program-name argument. */
const AGENT_NAME = /^(aliyun-service|aliyun_assist_service)(\.exe)?$/i;
/** Scripts that are the agent's own entry (bin/aliyun-service.ts and its bundle). */
const AGENT_SCRIPT = /^aliyun-service\.[cm]?[jt]s$/;

export function agentSelfCommand(p: SelfProcess): string[] {
  const path = p.platform === 'win32' ? win32 : posix;
  if (p.isSea) {
    const invoked = p.argv1 ?? p.execPath;
    if (AGENT_NAME.test(path.basename(invoked))) {
      const hasDir = invoked.includes('/') || invoked.includes(path.sep);
      const found = hasDir ? path.resolve(p.cwd, invoked) : findOnPath(p, path, invoked);
      if (found !== undefined) {
        return [found];
      }
    }
    // Started under another name, the single executable dispatches on its first argument (bin/multicall.ts).
    return [p.execPath, 'aliyun-service'];
  }
  const script = path.resolve(p.cwd, p.argv1 ?? '');
  return [p.execPath, ...p.execArgv, script, ...(AGENT_SCRIPT.test(path.basename(script)) ? [] : ['aliyun-service'])];
}

function findOnPath(p: SelfProcess, path: typeof posix, name: string): string | undefined {
  for (const dir of (p.pathEnv ?? '').split(path.delimiter)) {
    if (dir !== '' && p.isExecutable(path.join(dir, name))) {
      return path.resolve(p.cwd, dir, name);
    }
  }
  return undefined;
}
