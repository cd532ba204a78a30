// Finds *.test.ts files (Node 20's --test cannot glob .ts) and runs them with node's test runner.
// Usage: node --import tsx scripts/run-tests.ts [unit|integration|e2e ...]
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const roots = {
  unit: ['protocol', 'agent', 'control-plane', 'cli', 'installer', 'scripts'],
  integration: ['test/integration'],
  e2e: ['test/e2e'],
} as const;
type Suite = keyof typeof roots;

const isSuite = (s: string): s is Suite => s in roots;
const asked = process.argv.slice(2).filter(isSuite);
const suites: Suite[] = asked.length > 0 ? asked : ['unit', 'integration', 'e2e'];

const list = (dir: string): string[] => {
  try {
    return readdirSync(dir, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.test.ts') && !f.includes('node_modules'))
      .map((f) => join(dir, f))
      .sort();
  } catch {
    return [];
  }
};
const files = suites.flatMap((s) => roots[s].flatMap(list));
if (files.length === 0) {
  console.error('run-tests: no test files found');
  process.exit(1);
}
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=2', ...files],
  { stdio: 'inherit' },
);
process.exitCode = r.status ?? 1;
