// Which of some processes owns the TCP socket bound to a local port (from /proc/net/tcp{,6} and
// the processes' fd links): names a control-plane node's connection that PostgreSQL reports in
// pg_stat_activity by its client port.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

function inodesOfLocalPort(port: number): Set<string> {
  const inodes = new Set<string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    // "sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode …"
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      const local = f[1]?.split(':')[1];
      if (local !== undefined && parseInt(local, 16) === port && f[9] && f[9] !== '0') {
        inodes.add(f[9]);
      }
    }
  }
  return inodes;
}

export function ownerOfLocalPort(port: number, pids: readonly number[]): number | undefined {
  const inodes = inodesOfLocalPort(port);
  if (inodes.size === 0) {
    return undefined;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m && inodes.has(m[1]!)) {
          return pid;
        }
      } catch {
        // closed meanwhile
      }
    }
  }
  return undefined;
}
