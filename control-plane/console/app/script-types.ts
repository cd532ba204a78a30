// The script kinds the Run page offers. Python and Perl are not API types: they go out as
// RunShellScript with an interpreter line, which the agent honours (openapi.md § Commands and runs).
export const SCRIPT_KINDS = {
  shell: { label: 'Shell', type: 'RunShellScript', interpreter: '' },
  python: { label: 'Python', type: 'RunShellScript', interpreter: '#!/usr/bin/env python3' },
  perl: { label: 'Perl', type: 'RunShellScript', interpreter: '#!/usr/bin/env perl' },
  bat: { label: 'Bat', type: 'RunBatScript', interpreter: '' },
  powershell: { label: 'PowerShell', type: 'RunPowerShellScript', interpreter: '' },
} as const;

export type ScriptKind = keyof typeof SCRIPT_KINDS;

export const isScriptKind = (k: string): k is ScriptKind => Object.hasOwn(SCRIPT_KINDS, k);

/** The API `Type` and `CommandContent` for a script of this kind (an own `#!` line is kept). */
export function toCommand(kind: ScriptKind, content: string): { type: string; content: string } {
  const k = SCRIPT_KINDS[kind];
  const needsLine = k.interpreter !== '' && !content.startsWith('#!');
  return { type: k.type, content: needsLine ? `${k.interpreter}\n${content}` : content };
}
