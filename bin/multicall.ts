// The single binary (dist/sea/aliyun-assist): one executable serves every program name, like
// busybox. It dispatches on the name it was started by (a symlink or hard link), or on the first
// argument when started by another name:
//   aliyun-service -v                     (a link named aliyun-service)
//   aliyun-assist aliyun-service -v       (any name; also `node dist/aliyun-assist.cjs aliyun-service -v`)
// Entries load lazily, so one program never evaluates another's modules.
import './lite-mode.js';
import { basename } from 'node:path';
import { AGENT_VERSION, ExitCode } from '../agent/shared/index.js';

type Entry = (args: string[]) => Promise<void>;

const PROGRAMS: Readonly<Record<string, Entry>> = {
  'aliyun-service': async (args) => (await import('./aliyun-service-main.js')).main(args),
  assist_daemon: async (args) => {
    // The watchdog's entry parses process.argv when it is loaded: give it its own argv.
    process.argv.splice(1, process.argv.length, 'assist_daemon', ...args);
    await import('./assist-daemon.js');
  },
  aliyun_assist_update: async (args) => (await import('./aliyun-assist-update-main.js')).main(args),
  'acs-plugin-manager': async (args) => (await import('./acs-plugin-manager-main.js')).main(args),
};

/** Which program `argv` asks for, and its arguments; undefined when it names none. */
function resolveProgram(argv: readonly string[]): { name: string; args: string[] } | undefined {
  const invokedAs = basename(argv[1] ?? '');
  if (Object.hasOwn(PROGRAMS, invokedAs)) {
    return { name: invokedAs, args: argv.slice(2) };
  }
  const first = argv[2];
  if (first !== undefined && Object.hasOwn(PROGRAMS, first)) {
    return { name: first, args: argv.slice(3) };
  }
  return undefined;
}

function usage(): never {
  const names = Object.keys(PROGRAMS).join(', ');
  console.error(`usage: aliyun-assist <program> [arguments…], or start it through a link named <program>
programs: ${names}`);
  process.exit(ExitCode.Usage);
}

const picked = resolveProgram(process.argv);
if (picked) {
  // No top-level await: the bundle is CommonJS. Each entry handles its own errors and exit.
  PROGRAMS[picked.name]!(picked.args).catch((e: unknown) => {
    console.error(`${picked.name}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exit(ExitCode.Fatal);
  });
} else if (process.argv[2] === '-v' || process.argv[2] === '--version') {
  console.log(AGENT_VERSION);
} else {
  usage();
}
