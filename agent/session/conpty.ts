// PtyPort on Windows: node-pty's ConPTY backend (Windows 10 1809 and later), the second
// implementation of the same port. The stock agent uses winpty.dll; ConPTY is the system's own
// pseudo-console. Not runnable on this project's Linux machines: the unit tests check the
// options it builds.
import type { IWindowsPtyForkOptions } from 'node-pty';
import { loadNodePty, type NodePtyModule } from './node-pty-loader.js';
import { wrap } from './node-pty-posix.js';
import type { PtyPort, PtyProcess, PtySpawnSpec } from './pty-port.js';

/** The stock interactive program on Windows. */
export const WINDOWS_DEFAULT_SHELL = 'powershell.exe';

/** node-pty options for a ConPTY session (always ConPTY: winpty is not shipped). */
export function conptySpawnOptions(spec: PtySpawnSpec): IWindowsPtyForkOptions {
  return {
    name: spec.env['TERM'] ?? 'xterm-256color',
    cols: spec.cols,
    rows: spec.rows,
    cwd: spec.cwd,
    env: spec.env,
    useConpty: true,
    useConptyDll: false,
    conptyInheritCursor: false,
  };
}

/** The program of a Windows session: PowerShell, or `cmdContent` through cmd.exe. */
export function conptyCommand(cmdContent: string): { file: string; args: string[] } {
  return cmdContent.trim() === ''
    ? { file: WINDOWS_DEFAULT_SHELL, args: ['-NoLogo'] }
    : { file: 'cmd.exe', args: ['/d', '/s', '/c', cmdContent] };
}

export function conptyWindows(load: () => NodePtyModule = loadNodePty): PtyPort {
  return {
    spawn(spec: PtySpawnSpec): PtyProcess {
      return wrap(load().spawn(spec.file, spec.args, conptySpawnOptions(spec)));
    },
  };
}
