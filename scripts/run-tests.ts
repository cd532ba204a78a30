// Finds *.test.ts files (Node 20's --test cannot glob .ts) and runs them with node's test runner.
// Usage: node --import tsx scripts/run-tests.ts [unit|integration|e2e|FILE|DIR ...]
//   no argument      every suite
//   a suite name     that suite's files
//   a file           just that file (any *.test.ts path, relative to the repository or absolute)
//   a directory      the *.test.ts files below it
import { spawnSync } from 'node:child_process';
import { readdirSync, realpathSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');

const roots = {
  unit: ['protocol', 'agent', 'control-plane', 'cli', 'installer', 'scripts'],
  integration: ['test/integration'],
  e2e: ['test/e2e'],
} as const;
type Suite = keyof typeof roots;
const isSuite = (s: string): s is Suite => Object.hasOwn(roots, s);

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

/** The test files the arguments name, in order, each once; problems for arguments that name none. */
export function selectTests(args: string[], cwd = process.cwd()): { files: string[]; problems: string[] } {
  const problems: string[] = [];
  const picked: string[] = [];
  const asked = args.length > 0 ? args : (Object.keys(roots) as Suite[]);
  for (const arg of asked) {
    if (isSuite(arg)) {
      picked.push(...roots[arg].flatMap((r) => list(join(ROOT, r))));
      continue;
    }
    const path = resolve(cwd, arg);
    let st;
    try {
      st = statSync(path);
    } catch {
      problems.push(`${arg}: no such file or directory (nor a suite: ${Object.keys(roots).join(', ')})`);
      continue;
    }
    if (st.isDirectory()) {
      const found = list(path);
      if (found.length === 0) {
        problems.push(`${arg}: no *.test.ts files below it`);
      }
      picked.push(...found);
    } else if (path.endsWith('.test.ts')) {
      picked.push(path);
    } else {
      problems.push(`${arg}: not a test file (*.test.ts)`);
    }
  }
  const files = [...new Set(picked)].map((f) => relative(ROOT, f));
  return { files, problems };
}

const isEntry = process.argv[1] !== undefined && realpathSync(process.argv[1]) === import.meta.filename;
if (isEntry) {
  // scripts/test changes to the repository root; paths are relative to where it was started.
  const { files, problems } = selectTests(process.argv.slice(2), process.env['OCA_TEST_CWD'] || process.cwd());
  if (problems.length > 0 || files.length === 0) {
    for (const p of problems) {
      console.error(`run-tests: ${p}`);
    }
    if (files.length === 0 && problems.length === 0) {
      console.error('run-tests: no test files found');
    }
    console.error('usage: scripts/test [unit|integration|e2e|FILE|DIR ...]');
    process.exit(2);
  }
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=2', ...files],
    { stdio: 'inherit', cwd: ROOT },
  );
  process.exitCode = r.status ?? 1;
}
