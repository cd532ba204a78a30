// Public commands shipped with the control plane: visible to every AccessKey, runnable by id or by
// name with InvokeCommand, never modifiable or deletable. They live in code, not in the store, so
// no API call can change them. Each does only what its description says.

export interface PublicCommand {
  commandId: string;
  name: string;
  version: number;
  provider: string;
  category: string;
  description: string;
  type: 'RunShellScript';
  /** The script, plain text. */
  script: string;
  workingDir: string;
  timeout: number;
  createdAt: number;
}

const SHIPPED = Date.UTC(2026, 0, 1);

export const PUBLIC_COMMANDS: readonly PublicCommand[] = Object.freeze([
  {
    commandId: 'c-acs-ecs-diskusage-v1',
    name: 'ACS-ECS-DiskUsage',
    version: 1,
    provider: 'AlibabaCloud.ECS.GuestOSDiagnose',
    category: 'Diagnose',
    description: 'Shows the use of every mounted file system (df -hP) and the size of /var/log. Changes nothing.',
    type: 'RunShellScript',
    script: [
      '#!/bin/sh',
      '# ACS-ECS-DiskUsage: file system use and the size of /var/log. Read-only.',
      'df -hP',
      'echo',
      'du -sh /var/log 2>/dev/null || echo "/var/log: not readable"',
      '',
    ].join('\n'),
    workingDir: '',
    timeout: 60,
    createdAt: SHIPPED,
  },
  {
    commandId: 'c-acs-ecs-agentversion-v1',
    name: 'ACS-ECS-AgentVersion',
    version: 1,
    provider: 'AlibabaCloud.ECS.GuestOS',
    category: 'Diagnose',
    description:
      'Prints the newest Cloud Assistant agent version installed on the instance (the version folders of ' +
      'the install root that runs this script). It does not upgrade anything: upgrades are not served yet.',
    type: 'RunShellScript',
    script: [
      '#!/bin/sh',
      '# ACS-ECS-AgentVersion: the newest agent version folder in the install root. Read-only.',
      '# Scripts are written to <root>/work/script*/, so the root is two levels above this file.',
      'root=$(cd "$(dirname "$0")/../.." 2>/dev/null && pwd)',
      'for d in "$root" /usr/local/share/aliyun-assist /opt/local/share/aliyun-assist; do',
      '  v=$(ls -1 "$d" 2>/dev/null | grep -E \'^[0-9]+(\\.[0-9]+){3}$\' | sort -t. -k1,1n -k2,2n -k3,3n -k4,4n | tail -n 1)',
      '  if [ -n "$v" ]; then',
      '    echo "$v"',
      '    exit 0',
      '  fi',
      'done',
      'echo "no Cloud Assistant agent version folder found" >&2',
      'exit 1',
      '',
    ].join('\n'),
    workingDir: '',
    timeout: 60,
    createdAt: SHIPPED,
  },
]);

/** `DescribeCommands` Provider filter: `AlibabaCloud` means every public command, else a dotted prefix. */
export const providerMatches = (provider: string, filter: string): boolean =>
  provider === filter || provider.startsWith(`${filter}.`);

export function findPublicCommand(idOrName: string): PublicCommand | undefined {
  return PUBLIC_COMMANDS.find((c) => c.commandId === idOrName || c.name === idOrName);
}

export const isPublicCommandId = (id: string): boolean => PUBLIC_COMMANDS.some((c) => c.commandId === id);
