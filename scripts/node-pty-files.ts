// The part of node-pty that ships beside the single executable, for the agent's terminals
// (agent/session/node-pty-loader.ts loads `<directory of the executable>/node_modules/node-pty`).
// A single executable cannot embed a native addon, so the package, the update zip and dist/sea
// carry this copy: package.json, the lib/*.js files node-pty loads on this OS and its addon
// build/Release/pty.node. Nothing else: no sources, no node-gyp leftovers, no other OS's files
// (on Linux node-pty forks with forkpty(3) and needs no spawn-helper).
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
/** node-pty's directory as shipped, relative to the executable's directory. */
export const NODE_PTY_DIR = join('node_modules', 'node-pty');
/** The addon, relative to node-pty's directory (where its lib/utils.js looks first). */
export const NODE_PTY_ADDON = join('build', 'Release', 'pty.node');

// Run in a fresh node: what require('node-pty') reads on this machine, relative to its directory.
const PROBE = `
const path = require('node:path');
const dir = path.dirname(require.resolve('node-pty/package.json'));
require('node-pty');
const files = Object.keys(require.cache).filter((f) => f.startsWith(dir + path.sep)).map((f) => path.relative(dir, f));
process.stdout.write(JSON.stringify({ dir, files }));
`;

let probed: { dir: string; files: string[] } | undefined;

/** node-pty's directory here and the files to ship (relative to it), package.json first. */
export function nodePtyRuntimeFiles(): { dir: string; files: string[] } {
  if (probed === undefined) {
    let out: string;
    try {
      out = execFileSync(process.execPath, ['-e', PROBE], { cwd: ROOT, encoding: 'utf8', stdio: 'pipe' });
    } catch (e) {
      const why = String((e as { stderr?: string }).stderr ?? (e as Error).message).trim();
      throw new Error(
        `node-pty does not load here, so the agent would ship without terminals (npm rebuild node-pty): ${why}`,
        {
          cause: e,
        },
      );
    }
    const r = JSON.parse(out) as { dir: string; files: string[] };
    if (!r.files.includes(NODE_PTY_ADDON)) {
      throw new Error(
        `node-pty loaded without ${NODE_PTY_ADDON} (${r.files.join(', ')}): not a build this packaging knows`,
      );
    }
    probed = { dir: r.dir, files: ['package.json', ...r.files.sort()] };
  }
  return probed;
}

/**
 * Copies node-pty's run-time files into `<dir>/node_modules/node-pty/`: directories 0755, files
 * 0644 (dlopen needs no execute bit), whatever the umask. Returns the paths relative to `dir`.
 */
export function shipNodePty(dir: string): string[] {
  const { dir: from, files } = nodePtyRuntimeFiles();
  const to = join(dir, NODE_PTY_DIR);
  return files.map((f) => {
    for (let d = dirname(join(to, f)); d.length > dir.length; d = dirname(d)) {
      mkdirSync(d, { recursive: true });
      chmodSync(d, 0o755);
    }
    copyFileSync(join(from, f), join(to, f));
    chmodSync(join(to, f), 0o644);
    return join(NODE_PTY_DIR, f);
  });
}
