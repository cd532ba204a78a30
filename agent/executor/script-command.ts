// Pure: how each Cloud Assistant command type is launched, and what is prepended to its text.
// Spec: luban-protocol.md §5.6 steps 3–4. No I/O here; the caller writes the file and spawns.

export type ScriptType = 'RunShellScript' | 'RunBatScript' | 'RunPowerShellScript';
export type ScriptExtension = '.sh' | '.bat' | '.ps1';

export interface ScriptCommand {
  command: string;
  args: string[];
  extension: ScriptExtension;
}

/**
 * The argv that runs the script file at `scriptPath`. The path is passed as one argv element and
 * never quoted, as the stock client does (`sh -c <file>`): for RunShellScript the shell parses it,
 * so the caller must choose a path without spaces or shell metacharacters.
 *
 * `platform` only chooses the PowerShell binary: `powershell.exe` on Windows, `pwsh` (PowerShell 7,
 * the only PowerShell outside Windows) elsewhere.
 */
export function scriptCommand(type: ScriptType, scriptPath: string, platform: NodeJS.Platform): ScriptCommand {
  switch (type) {
    case 'RunShellScript':
      return { command: 'sh', args: ['-c', scriptPath], extension: '.sh' };
    case 'RunBatScript':
      return { command: 'cmd.exe', args: ['/c', scriptPath], extension: '.bat' };
    case 'RunPowerShellScript':
      return {
        command: platform === 'win32' ? 'powershell.exe' : 'pwsh',
        args: ['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-File', scriptPath],
        extension: '.ps1',
      };
  }
  return unknownType(type);
}

const BAT_PREFIX = '@echo off\r\n';

/** LF and CRLF line ends become CRLF (a CRLF is not doubled; a lone CR is left alone). */
const toCrlf = (text: string): string => text.replace(/\r?\n/g, '\r\n');

/**
 * The text to write into the script file: BAT gets `@echo off` and CRLF line ends, PowerShell gets
 * CRLF line ends, shell scripts are written unchanged. (The stock `disable_normalize_crlf` switch is
 * the caller's business: it simply does not call this for BAT/PS1.)
 */
export function scriptPrelude(type: ScriptType, content: string): string {
  switch (type) {
    case 'RunShellScript':
      return content;
    case 'RunBatScript':
      return BAT_PREFIX + toCrlf(content);
    case 'RunPowerShellScript':
      return toCrlf(content);
  }
  return unknownType(type);
}

// Reached only when an unchecked value slips past the type system (for example from JSON).
function unknownType(type: never): never {
  throw new TypeError(`unknown command type: ${String(type)}`);
}
