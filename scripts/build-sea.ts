// Builds the single executable (Node's single-executable applications, node 20) for this host's
// OS and architecture, offline:
//   dist/sea/aliyun-assist.cjs (multicall bundle) → dist/sea/sea-config.json → node --experimental-sea-config
//   → copy of this node binary, stripped → postject NODE_SEA_BLOB → dist/sea/aliyun-assist
// plus links named after the programs it serves (aliyun-service, assist_daemon, aliyun_assist_update,
// acs-plugin-manager), which it dispatches on (bin/multicall.ts), and node-pty for the terminals
// in dist/sea/node_modules/node-pty (scripts/node-pty-files.ts).
// Usage: npx tsx scripts/build-sea.ts
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { AGENT_VERSION } from '../agent/shared/version.js';
import { bundleMulticall } from './build.js';
import { generateSources } from './generate.js';
import { shipNodePty } from './node-pty-files.js';

const ROOT = resolve(import.meta.dirname, '..');
/** The fuse every Node 20 binary carries; postject flips it to tell node a blob is present. */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
export const PROGRAM_NAMES = ['aliyun-service', 'assist_daemon', 'aliyun_assist_update', 'acs-plugin-manager'];

export interface SeaBuild {
  /** dist/sea/aliyun-assist, absolute. */
  binary: string;
  /** The program-name links beside it, absolute. */
  links: string[];
  version: string;
  bytes: number;
  ms: number;
}

/**
 * Makes `binary`: a copy of this node (stripped) that runs `main` (one CommonJS file that requires
 * built-in modules only) as its single-executable main script.
 */
export function injectMainScript(main: string, binary: string, o: { useCodeCache?: boolean } = {}): void {
  const blob = `${binary}.sea-prep.blob`;
  const config = `${binary}.sea-config.json`;
  writeFileSync(
    config,
    `${JSON.stringify({ main, output: blob, disableExperimentalSEAWarning: true, useCodeCache: o.useCodeCache === true }, null, 2)}\n`,
  );
  execFileSync(process.execPath, ['--experimental-sea-config', config], { cwd: ROOT, stdio: 'pipe' });
  copyFileSync(process.execPath, binary);
  chmodSync(binary, 0o755);
  // Debian's node carries its debug info (about 12 MiB): drop it before the blob goes in. Without
  // binutils' strip the binary is just larger.
  try {
    execFileSync('strip', ['--strip-all', binary], { stdio: 'pipe' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw e;
    }
  }
  // postject prints a warning per ELF note section it does not know: keep its output for failures only.
  const postject = join(ROOT, 'node_modules', 'postject', 'dist', 'cli.js');
  try {
    execFileSync(process.execPath, [postject, binary, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE], {
      stdio: 'pipe',
    });
  } catch (e) {
    const err = e as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`postject failed: ${String(err.stderr ?? '')}${String(err.stdout ?? '')}`, { cause: e });
  }
  rmSync(blob);
  rmSync(config);
}

/** Builds into `outDir` (default dist/sea), which it empties first; its main script stays there too. */
export async function buildSea(outDir = join(ROOT, 'dist', 'sea')): Promise<SeaBuild> {
  const started = Date.now();
  await generateSources(); // the agent bundle embeds the generated service-unit templates
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const main = await bundleMulticall(join(outDir, 'aliyun-assist.cjs'));
  const binary = join(outDir, 'aliyun-assist');
  // V8's compile cache for the main script, made by this same node: a faster cold start.
  injectMainScript(main, binary, { useCodeCache: true });

  const links = PROGRAM_NAMES.map((name) => {
    const link = join(outDir, name);
    symlinkSync('aliyun-assist', link);
    return link;
  });
  // A native addon cannot be embedded: the agent loads it from beside the executable.
  shipNodePty(outDir);
  return { binary, links, version: AGENT_VERSION, bytes: statSync(binary).size, ms: Date.now() - started };
}

const isEntry = process.argv[1] !== undefined && realpathSync(process.argv[1]) === import.meta.filename;
if (isEntry) {
  const r = await buildSea();
  console.log(
    `build-sea: ${relative(ROOT, r.binary)} ${AGENT_VERSION} (${(r.bytes / 2 ** 20).toFixed(1)} MiB) in ${r.ms} ms; ` +
      `links: ${PROGRAM_NAMES.join(', ')}`,
  );
}
