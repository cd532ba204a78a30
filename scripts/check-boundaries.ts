// Module boundaries of DESIGN.md §2, checked by resolving every relative import specifier.
// Usage: tsx scripts/check-boundaries.ts [root]   (exit 1 and one line per violation when broken)
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const SOURCE_DIRS = ['bin', 'protocol', 'agent', 'control-plane', 'cli', 'installer', 'service-units'];

/** The module a file belongs to: `protocol`, `agent/executor`, `control-plane/store`, `bin`, … */
export function moduleOf(relPath: string): string {
  const parts = relPath.split(sep).join('/').split('/');
  const top = parts[0] ?? '';
  if ((top === 'agent' || top === 'control-plane') && parts.length > 2) {
    return `${top}/${parts[1]}`;
  }
  return top;
}

/** Which modules a module may not import, with the reason. */
const FORBIDDEN: { from: RegExp; to: RegExp; why: string }[] = [
  { from: /^protocol$/, to: /^(?!protocol$)/, why: 'protocol/ imports nothing of ours' },
  {
    from: /^control-plane/,
    to: /^(agent|cli|installer)/,
    why: 'the control plane reaches agents only through protocol/',
  },
  { from: /^agent/, to: /^(control-plane|cli)/, why: 'the agent never imports the control plane or the CLI' },
  {
    from: /^agent\/executor$/,
    to: /^(protocol|agent\/(?!shared$|executor$))/,
    why: 'the executor is a leaf: it may use agent/shared only',
  },
  {
    from: /^agent\/watchdog$/,
    to: /^(protocol|agent\/(?!shared$|config$|watchdog$))/,
    why: 'the watchdog imports only agent/shared and agent/config',
  },
  {
    from: /^installer$/,
    to: /^(protocol|control-plane|cli|bin|agent(?!\/(shared|config)$))/,
    why: 'the installer uses only agent/shared, agent/config and service-units',
  },
  {
    from: /^service-units$/,
    to: /^(?!service-units$)/,
    why: 'service-units/ holds templates: it imports nothing of ours',
  },
  {
    from: /^cli$/,
    to: /^(?!cli$|protocol$)/,
    why: 'the CLI is an OpenAPI client: it may import protocol/ only',
  },
];

function* sourceFiles(root: string, dir: string): Generator<string> {
  let entries: string[];
  try {
    entries = readdirSync(join(root, dir));
  } catch {
    return;
  }
  for (const name of entries) {
    const rel = join(dir, name);
    if (name === 'node_modules' || name === 'assets') {
      continue;
    }
    if (statSync(join(root, rel)).isDirectory()) {
      yield* sourceFiles(root, rel);
    } else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) {
      yield rel;
    }
  }
}

const IMPORT_RE =
  /(?:import|export)\s+(?:type\s+)?(?:[^'"]*?\s+from\s+)?['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

export function checkTree(root: string): string[] {
  const problems: string[] = [];
  for (const top of SOURCE_DIRS) {
    for (const file of sourceFiles(root, top)) {
      const isTest = file.endsWith('.test.ts');
      const fromModule = moduleOf(file);
      const text = readFileSync(join(root, file), 'utf8');
      for (const m of text.matchAll(IMPORT_RE)) {
        const spec = (m[1] ?? m[2])!;
        const target = relative(root, resolve(root, dirname(file), spec));
        const toModule = moduleOf(target);
        if (toModule === fromModule) {
          continue;
        }
        for (const rule of FORBIDDEN) {
          if (rule.from.test(fromModule) && rule.to.test(toModule)) {
            problems.push(`${file}: imports ${spec} (${toModule}): ${rule.why}`);
          }
        }
        // Another module is reached only through its index.ts (tests may reach inside for fixtures).
        const depth = toModule.split('/').length;
        const inside = target.split(sep).slice(depth);
        if (!isTest && toModule !== 'bin' && !(inside.length === 1 && inside[0] === 'index.js')) {
          problems.push(`${file}: imports ${spec}: import another module only through its index.ts`);
        }
      }
    }
  }
  return problems;
}

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(import.meta.filename);
if (isMain) {
  const root = resolve(process.argv[2] ?? '.');
  const problems = checkTree(root);
  for (const p of problems) {
    console.error(p);
  }
  console.log(`check-boundaries: ${problems.length} problem(s) in ${root}`);
  process.exitCode = problems.length > 0 ? 1 : 0;
}
