// Bundles the entry points with esbuild: dist/<name>.cjs, one file each, Node 20.
//   dist/aliyun-service.cjs  the agent            dist/assist-server.cjs  the control plane
//   dist/aliyun-assist.cjs   the multicall program (bin/multicall.ts): every on-instance program in
//                            one file that needs nothing outside itself; the single binary's main
//                            script (scripts/build-sea.ts)
//   dist/assist.cjs          the operator CLI (bin/assist.ts), no externals
//   dist/plugins/*.zip       the repo's own plugins (scripts/build-plugins.ts)
// better-sqlite3 (native) and ws's optional native helpers stay external in the first two.
import { chmodSync, cpSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { build, type BuildOptions, type Plugin } from 'esbuild';
import { buildPlugins } from './build-plugins.js';
import { generateSources } from './generate.js';

const ROOT = resolve(import.meta.dirname, '..');

const common: BuildOptions = {
  absWorkingDir: ROOT,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: 'linked',
  // yargs is ESM-only and reads import.meta.url: give the CJS bundle an equivalent.
  banner: { js: "#!/usr/bin/env node\nconst __import_meta_url = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'warning',
  define: {
    'import.meta.url': '__import_meta_url',
    'import.meta.dirname': '__dirname',
    'import.meta.filename': '__filename',
  },
};

/**
 * ws loads `bufferutil` and `utf-8-validate` when they are installed and carries on without them.
 * A single executable's require() loads built-in modules only (and warns on anything else), so the
 * multicall bundle gets stand-ins that fail the way a missing package does.
 */
const absentOptionalDeps: Plugin = {
  name: 'absent-optional-deps',
  setup(b) {
    b.onResolve({ filter: /^(bufferutil|utf-8-validate)$/ }, (a) => ({ path: a.path, namespace: 'absent' }));
    b.onLoad({ filter: /.*/, namespace: 'absent' }, (a) => ({
      contents: `const e = new Error("Cannot find module '${a.path}'"); e.code = 'MODULE_NOT_FOUND'; throw e;`,
      loader: 'js',
    }));
  },
};

/**
 * What the agent's bundles add: they are resident on every server for the life of the machine,
 * and V8 keeps a script's whole source in memory (for lazy compilation), as two bytes a character
 * if one character is not ASCII. Minified, without comments, ASCII only: 0.4 MiB one-byte instead
 * of 2.1 MiB two-byte. Names are kept (error and class names show in logs), and the
 * linked source map maps stack traces back.
 * NODE_ENV is production: winston's internal debug channel (@dabh/diagnostics) otherwise takes its
 * development build, which loads `tty` and builds color tables (colorspace) at start for output
 * that only `DEBUG=winston:*` shows: 0.7–0.9 MiB of the watchdog's private memory.
 */
const resident: BuildOptions = {
  minify: true,
  keepNames: true,
  legalComments: 'none',
  charset: 'ascii',
  define: { ...common.define, 'process.env.NODE_ENV': '"production"' },
};

/**
 * V8 keeps a script's whole source for lazy compilation, as two bytes a character if a single
 * character is not Latin-1: the control plane's 3.9 MB bundle was a 7.7 MB string in its heap
 * (docs/benchmarks.md). `charset: 'ascii'` escapes code; what is left is in the comments that an
 * unminified bundle keeps (dashes, arrows), written here as `\u` escapes, which mean nothing there.
 */
function asciiComments(file: string): void {
  const text = readFileSync(file, 'utf8');
  const ascii = text.replace(/[\u{80}-\u{10ffff}]/gu, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);
  if (ascii !== text) {
    writeFileSync(file, ascii);
  }
}

export async function bundleAgentAndServer(): Promise<string[]> {
  const external = ['better-sqlite3', 'pg-native', 'bufferutil', 'utf-8-validate'];
  await Promise.all([
    build({
      ...common,
      ...resident,
      entryPoints: { 'aliyun-service': 'bin/aliyun-service.ts' },
      outdir: 'dist',
      outExtension: { '.js': '.cjs' },
      external,
    }),
    build({
      ...common,
      // ASCII code (comments: asciiComments below), so that V8 holds the bundle's source one byte a
      // character. Not minified: the control plane's stack traces stay readable without a map.
      charset: 'ascii',
      entryPoints: { 'assist-server': 'bin/assist-server.ts' },
      outdir: 'dist',
      outExtension: { '.js': '.cjs' },
      external,
    }),
  ]);
  const outputs = ['dist/aliyun-service.cjs', 'dist/assist-server.cjs'];
  asciiComments(resolve(ROOT, 'dist/assist-server.cjs'));
  for (const f of outputs) {
    chmodSync(resolve(ROOT, f), 0o755);
  }
  // The control plane serves its console from next to its bundle.
  cpSync(resolve(ROOT, 'control-plane/console/assets'), resolve(ROOT, 'dist/console/assets'), { recursive: true });
  return outputs;
}

/** The multicall bundle: no externals at all, so it can be a single executable's main script. */
export async function bundleMulticall(outfile = 'dist/aliyun-assist.cjs'): Promise<string> {
  const out = resolve(ROOT, outfile);
  await build({
    ...common,
    ...resident,
    entryPoints: ['bin/multicall.ts'],
    outfile: out,
    plugins: [absentOptionalDeps],
  });
  chmodSync(out, 0o755);
  return out;
}

/** The operator CLI: pure JavaScript, so one file with no externals. */
export async function bundleCli(outfile = 'dist/assist.cjs'): Promise<string> {
  const out = resolve(ROOT, outfile);
  await build({ ...common, entryPoints: ['bin/assist.ts'], outfile: out });
  chmodSync(out, 0o755);
  return out;
}

const isEntry = process.argv[1] !== undefined && realpathSync(process.argv[1]) === import.meta.filename;
if (isEntry) {
  const started = Date.now();
  await generateSources(); // the bundles take the generated service-unit templates and console
  const outputs = [
    ...(await bundleAgentAndServer()),
    relative(ROOT, await bundleMulticall()),
    relative(ROOT, await bundleCli()),
    ...buildPlugins(),
  ];
  console.log(`build: ${outputs.join(', ')} in ${Date.now() - started} ms`);
}
