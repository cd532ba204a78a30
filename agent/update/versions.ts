// The version directories under <ROOT> and the active-version pointer <ROOT>/version, which
// update_install writes and the watchdog reads before every start of the agent.
import { readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseVersion } from '../../protocol/index.js';

export const VERSION_FILE = 'version';

/** The version `<ROOT>/version` names, or undefined when it is missing or not n.n.n.n. */
export function activeVersion(installDir: string): string | undefined {
  try {
    const v = readFileSync(join(installDir, VERSION_FILE), 'utf8').trim();
    return parseVersion(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Points `<ROOT>/version` at `version` atomically (what update_install does, for a version without one). */
export function writeActiveVersion(installDir: string, version: string): void {
  const tmp = join(installDir, `.${VERSION_FILE}.${process.pid}.tmp`);
  writeFileSync(tmp, `${version}\n`, { mode: 0o644 });
  renameSync(tmp, join(installDir, VERSION_FILE));
}

/** The version directories under <ROOT> (names n.n.n.n; everything else is left alone). */
export function installedVersions(installDir: string): string[] {
  try {
    return readdirSync(installDir, { withFileTypes: true })
      .filter((d) => d.isDirectory() && parseVersion(d.name) !== undefined)
      .map((d) => d.name);
  } catch {
    return [];
  }
}

/** Removes every version directory but `keep` (the new version and the one to go back to). Returns what went. */
export function pruneVersions(installDir: string, keep: readonly string[]): string[] {
  const removed = installedVersions(installDir).filter((v) => !keep.includes(v));
  for (const v of removed) {
    rmSync(join(installDir, v), { recursive: true, force: true });
  }
  return removed;
}

export function removeVersion(installDir: string, version: string): void {
  if (parseVersion(version)) {
    rmSync(join(installDir, version), { recursive: true, force: true });
  }
}
