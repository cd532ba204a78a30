// Cold-start detection: is this the agent's first start since the machine booted? (§8 `cold_start`, §11.)
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * True exactly once per boot. The stock agent keeps a POSIX shared-memory flag; a file in `/dev/shm`
 * (RAM-backed, emptied at reboot) behaves the same. The flag is created exclusively (mode 0600), so
 * the first caller after boot gets true and everyone after it false. Any failure to create it (the
 * directory is missing or not writable, e.g. no `/dev/shm` on this OS) counts as "not cold" rather
 * than throwing.
 */
export function detectColdStart(flagDir = '/dev/shm', flagName = 'aliyun-assist-agent-coldstarted'): boolean {
  try {
    // 'wx' = O_CREAT|O_EXCL: fails if the flag (or a symlink planted there) already exists.
    writeFileSync(join(flagDir, flagName), '', { flag: 'wx', mode: 0o600 });
    return true;
  } catch {
    return false;
  }
}
