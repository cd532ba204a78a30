// Bundles the entry points with esbuild: dist/<name>.cjs, one file each, Node 20.
// better-sqlite3 (native) and ws's optional native helpers stay external.
import { chmodSync, cpSync } from 'node:fs';
import { build } from 'esbuild';

const entries = { 'aliyun-service': 'bin/aliyun-service.ts', 'assist-server': 'bin/assist-server.ts' };

const started = Date.now();
await build({
  entryPoints: entries,
  outdir: 'dist',
  outExtension: { '.js': '.cjs' },
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: 'linked',
  // yargs is ESM-only and reads import.meta.url: give the CJS bundle an equivalent.
  banner: { js: "#!/usr/bin/env node\nconst __import_meta_url = require('node:url').pathToFileURL(__filename).href;" },
  external: ['better-sqlite3', 'pg-native', 'bufferutil', 'utf-8-validate'],
  logLevel: 'warning',
  define: {
    'import.meta.url': '__import_meta_url',
    'import.meta.dirname': '__dirname',
    'import.meta.filename': '__filename',
  },
});
for (const name of Object.keys(entries)) {
  chmodSync(`dist/${name}.cjs`, 0o755);
}
// The control plane serves its console from next to its bundle.
cpSync('control-plane/console/assets', 'dist/console/assets', { recursive: true });
console.log(
  `build: ${Object.keys(entries)
    .map((n) => `dist/${n}.cjs`)
    .join(', ')} in ${Date.now() - started} ms`,
);
