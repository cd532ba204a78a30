// How a command is started as another user: pure planners (argv and stdin), plus a lookup of the
// setpriv binary. A leaf module: Node built-ins only.
//
// POSIX: libuv's setuid/setgid spawn options clear the supplementary groups (it calls
// setgroups(0, NULL)), so a script would lose every group but its primary one. Instead the agent
// (root) spawns util-linux `setpriv`, which sets the real and effective uid and gid and the exact
// group list, then execs the script in the same process: the pid, and with it the process group the
// executor kills, stay the same. The group list is resolved by the caller (`id -G <user>`, NSS
// aware) and passed explicitly, so what the script gets is what was looked up and logged.
//
// Windows: a task as another user needs that user's password (stock: LogonUserW). Node cannot
// start a process with a token, so the plan is a PowerShell launcher that reads the password from
// stdin (never from the command line, which other users can see) and starts the script through
// System.Diagnostics.Process with the credentials, copying its output to its own.
import { accessSync, constants } from 'node:fs';

export interface Command {
  command: string;
  args: string[];
}

/** A command plus the bytes to write to its stdin (which is then closed). */
export interface Launch extends Command {
  input?: Buffer;
}

export interface PosixIdentity {
  uid: number;
  gid: number;
  /** Supplementary groups (the primary gid may be among them). */
  groups: readonly number[];
}

export const SETPRIV_CANDIDATES = ['/usr/bin/setpriv', '/bin/setpriv', '/usr/sbin/setpriv', '/sbin/setpriv'];

/** The first executable setpriv among `candidates`, or undefined. */
export function findSetpriv(candidates: readonly string[] = SETPRIV_CANDIDATES): string | undefined {
  for (const path of candidates) {
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not there, or not executable
    }
  }
  return undefined;
}

const isId = (n: number): boolean => Number.isSafeInteger(n) && n >= 0 && n < 2 ** 32 - 1;

/**
 * `setpriv --reuid=U --regid=G --groups=A,B|--clear-groups -- <command> <args…>`. Numeric ids only,
 * so no name is looked up again (or differently) after the caller's check. No `--reset-env`: the
 * caller's environment is already complete and explicit.
 */
export function setprivLaunch(setpriv: string, id: PosixIdentity, target: Command): Launch {
  const bad = [id.uid, id.gid, ...id.groups].find((n) => !isId(n));
  if (bad !== undefined) {
    throw new RangeError(`not a user or group id: ${bad}`);
  }
  const groups = [...new Set(id.groups)];
  return {
    command: setpriv,
    args: [
      `--reuid=${id.uid}`,
      `--regid=${id.gid}`,
      groups.length > 0 ? `--groups=${groups.join(',')}` : '--clear-groups',
      '--',
      target.command,
      ...target.args,
    ],
  };
}

export interface WindowsLogon {
  user: string;
  /** `.` for a local account. */
  domain: string;
  password: string;
}

/** One argument quoted for CommandLineToArgvW / the MSVC runtime (what ProcessStartInfo.Arguments feeds). */
export function windowsQuoteArg(arg: string): string {
  if (arg !== '' && !/[\s"]/.test(arg)) {
    return arg;
  }
  let out = '"';
  let backslashes = 0;
  for (const c of arg) {
    if (c === '\\') {
      backslashes += 1;
      continue;
    }
    if (c === '"') {
      // Backslashes before a quote are doubled, and the quote itself escaped.
      out += '\\'.repeat(backslashes * 2 + 1) + '"';
    } else {
      out += '\\'.repeat(backslashes) + c;
    }
    backslashes = 0;
  }
  // Backslashes before the closing quote are doubled so they do not escape it.
  return `${out}${'\\'.repeat(backslashes * 2)}"`;
}

/** A PowerShell single-quoted string literal. */
const psString = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/** The PowerShell text of the Windows launcher (exposed for tests). */
export function windowsLauncherScript(id: Omit<WindowsLogon, 'password'>, target: Command, cwd: string): string {
  return [
    "$ErrorActionPreference = 'Stop'",
    '$pw = [Console]::In.ReadLine()',
    '$psi = New-Object System.Diagnostics.ProcessStartInfo',
    `$psi.FileName = ${psString(target.command)}`,
    `$psi.Arguments = ${psString(target.args.map(windowsQuoteArg).join(' '))}`,
    `$psi.UserName = ${psString(id.user)}`,
    `$psi.Domain = ${psString(id.domain)}`,
    '$psi.Password = ConvertTo-SecureString -String $pw -AsPlainText -Force',
    'Remove-Variable pw',
    `$psi.WorkingDirectory = ${psString(cwd)}`,
    '$psi.LoadUserProfile = $true',
    '$psi.UseShellExecute = $false',
    '$psi.RedirectStandardOutput = $true',
    '$psi.RedirectStandardError = $true',
    '$p = [System.Diagnostics.Process]::Start($psi)',
    '$o = $p.StandardOutput.BaseStream.CopyToAsync([Console]::OpenStandardOutput())',
    '$e = $p.StandardError.BaseStream.CopyToAsync([Console]::OpenStandardError())',
    '$p.WaitForExit()',
    '[System.Threading.Tasks.Task]::WaitAll(@($o, $e))',
    'exit $p.ExitCode',
  ].join('\r\n');
}

/**
 * `powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand <launcher>`,
 * the password as the first line of stdin. (Not runnable on this project's Linux machines: the
 * argv is what the unit tests check.)
 */
export function windowsLogonLaunch(id: WindowsLogon, target: Command, cwd: string): Launch {
  const script = windowsLauncherScript({ user: id.user, domain: id.domain }, target, cwd);
  return {
    command: 'powershell.exe',
    args: [
      '-NoProfile',
      '-NonInteractive',
      '-ExecutionPolicy',
      'Bypass',
      '-EncodedCommand',
      Buffer.from(script, 'utf16le').toString('base64'),
    ],
    input: Buffer.from(`${id.password}\r\n`, 'utf8'),
  };
}
