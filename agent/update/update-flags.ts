// Whether updates may run (spec/client-features.md §7.1): the flag files `disable_update` (all
// checks) and `disable_bootstrap_update` (only the one at start) in <ROOT>/config/ or
// <VER>/config/, and the updater program <VER>/aliyun_assist_update, whose absence or missing
// execute bit disables updates (what the product docs' `chmod a-x` relies on).
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentPaths } from '../shared/index.js';

export type UpdateTrigger = 'startup' | 'periodic' | 'kick' | 'manual';

export const UPDATER_NAME = 'aliyun_assist_update';

/** Why updates are off for this trigger, or undefined when they may run. */
export function updateBlocker(
  paths: Pick<AgentPaths, 'installDir' | 'versionDir'>,
  trigger: UpdateTrigger,
  platform: NodeJS.Platform = process.platform,
): string | undefined {
  const configDirs = [join(paths.installDir, 'config'), join(paths.versionDir, 'config')];
  const flags = trigger === 'startup' ? ['disable_update', 'disable_bootstrap_update'] : ['disable_update'];
  for (const dir of configDirs) {
    for (const flag of flags) {
      if (exists(join(dir, flag))) {
        return `${join(dir, flag)} exists`;
      }
    }
  }
  if (trigger === 'manual') {
    return undefined; // the updater itself is running: it is obviously there
  }
  const updater = join(paths.versionDir, platform === 'win32' ? `${UPDATER_NAME}.exe` : UPDATER_NAME);
  const st = statSync(updater, { throwIfNoEntry: false });
  if (!st?.isFile()) {
    return `${updater} is missing`;
  }
  if (platform !== 'win32' && (st.mode & 0o111) === 0) {
    return `${updater} is not executable`;
  }
  return undefined;
}

const exists = (p: string): boolean => statSync(p, { throwIfNoEntry: false }) !== undefined;
