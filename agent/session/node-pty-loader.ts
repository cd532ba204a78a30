// Loads node-pty at run time. It is a native addon: bundles leave it out and load it from disk,
// first by module resolution from the bundle (node_modules next to it or above), then from
// `<directory of the executable>/node_modules/node-pty` (the single-executable build, whose own
// require() reaches built-in modules only). Without it each session ends with Open_pty_failed and
// a log line saying why; the rest of the agent is unaffected.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as NodePty from 'node-pty';

export type NodePtyModule = typeof NodePty;

let loaded: NodePtyModule | undefined;

/** Throws an Error naming the places tried when node-pty cannot be loaded on this machine. */
export function loadNodePty(): NodePtyModule {
  if (loaded !== undefined) {
    return loaded;
  }
  // A variable specifier keeps bundlers from trying to inline the addon.
  const name = 'node-pty';
  const candidates = [name, join(dirname(process.execPath), 'node_modules', name)];
  const failures: string[] = [];
  for (const candidate of candidates) {
    try {
      loaded = createRequire(import.meta.url)(candidate) as NodePtyModule;
      return loaded;
    } catch (e) {
      failures.push(`${candidate}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  throw new Error(`node-pty is not available (${failures.join('; ')})`);
}
