// Writes the project's generated source files, which are built, not committed:
//   service-units/templates.generated.ts        the service-unit templates (service-units/embed.ts)
//   control-plane/console/assets/app.generated.js  the console's browser bundle (scripts/build-console.ts)
// The build runs it first, and scripts/test before the type check; run it by hand after a fresh
// clone to type-check or lint without building:   npx tsx scripts/generate.ts
import { readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { GENERATED_FILE, generateModule, readTemplateFiles } from '../service-units/embed.js';
import { CONSOLE_BUNDLE, bundleConsole } from './build-console.js';

/** Writes `text` to `file` unless it already holds it (no needless rebuilds, no timestamp churn). */
function writeIfChanged(file: string, text: string): boolean {
  let old: string | undefined;
  try {
    old = readFileSync(file, 'utf8');
  } catch {
    old = undefined;
  }
  if (old === text) {
    return false;
  }
  writeFileSync(file, text);
  return true;
}

export async function generateSources(): Promise<string[]> {
  const written: string[] = [];
  if (writeIfChanged(GENERATED_FILE, await generateModule(readTemplateFiles()))) {
    written.push(GENERATED_FILE);
  }
  if (writeIfChanged(CONSOLE_BUNDLE, await bundleConsole())) {
    written.push(CONSOLE_BUNDLE);
  }
  return written;
}

const isMain = process.argv[1] !== undefined && realpathSync(process.argv[1]) === import.meta.filename;
if (isMain) {
  const written = await generateSources();
  console.log(
    `generate: ${written.length === 0 ? 'up to date' : written.map((f) => relative(process.cwd(), f)).join(', ')}`,
  );
}
