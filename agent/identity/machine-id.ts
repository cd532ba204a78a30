// The machine id (spec/luban-protocol.md §2.6): the hybrid machine-id file, else the OS's own id.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AgentError } from '../shared/index.js';

export const LINUX_MACHINE_ID_SOURCES: readonly string[] = [
  '/var/lib/dbus/machine-id',
  '/etc/machine-id',
  '/sys/class/dmi/id/product_uuid',
];
export const FREEBSD_MACHINE_ID_SOURCES: readonly string[] = ['/etc/hostid'];

/** The OS sources of this platform (Windows keeps its id in the registry, which we do not read). */
export function defaultMachineIdSources(platform: NodeJS.Platform = process.platform): string[] {
  if (platform === 'freebsd') {
    return [...FREEBSD_MACHINE_ID_SOURCES];
  }
  if (platform === 'win32') {
    return [];
  }
  return [...LINUX_MACHINE_ID_SOURCES];
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * `<hybridDir>/machine-id` verbatim when present and non-empty (it is part of the signature input,
 * so it must not be altered), else the first non-empty of `sources`, trimmed.
 * Throws AgentError IDENTITY_MISSING when no source gives an id.
 */
export function readMachineId(hybridDir: string, sources: string[] = defaultMachineIdSources()): string {
  const stored = readText(join(hybridDir, 'machine-id'));
  if (stored !== undefined && stored !== '') {
    return stored;
  }
  for (const source of sources) {
    // Stock takes the first readable file; we also skip empty ones (a cloned VM's truncated machine-id).
    const id = readText(source)?.trim();
    if (id) {
      return id;
    }
  }
  throw new AgentError('IDENTITY_MISSING', 'no machine id: none of the machine id sources is readable and non-empty', {
    details: { sources: [join(hybridDir, 'machine-id'), ...sources] },
  });
}
