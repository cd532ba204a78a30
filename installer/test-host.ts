// A ServiceHost for unit tests: records every command and file operation in order, answers
// commands from a script, and keeps files in memory.
import type { CommandResult, ServiceHost } from './ports.js';

export type Answer = Partial<CommandResult> | Error;

export interface RecordingHost extends ServiceHost {
  /** `$ cmd args…[ (detached)]`, `write <path> <mode>`, `rm <path>`, `ln -s <target> <path>`, in order. */
  log: string[];
  /** The argument vectors of the commands run, in order. */
  commands: string[][];
  fileSystem: Map<string, { content: string; mode: number }>;
}

/** `answer` maps a command line (`cmd arg…`) to its result; unlisted commands exit 0 with no output. */
export function recordingHost(
  o: {
    answer?: (line: string, argv: readonly string[]) => Answer | undefined;
    files?: Record<string, string>;
    commands?: readonly string[];
  } = {},
): RecordingHost {
  const log: string[] = [];
  const commands: string[][] = [];
  const fileSystem = new Map(Object.entries(o.files ?? {}).map(([p, c]) => [p, { content: c, mode: 0o644 }]));
  return {
    log,
    commands,
    fileSystem,
    runner: {
      run(command, args, options) {
        const argv = [command, ...args];
        const line = argv.join(' ');
        log.push(`$ ${line}${options?.detached ? ' (detached)' : ''}`);
        commands.push(argv);
        const a = o.answer?.(line, argv);
        if (a instanceof Error) {
          return Promise.reject(a);
        }
        return Promise.resolve({ code: a?.code ?? 0, stdout: a?.stdout ?? '', stderr: a?.stderr ?? '' });
      },
    },
    files: {
      exists: (path) => Promise.resolve(fileSystem.has(path)),
      write(path, content, mode) {
        log.push(`write ${path} ${mode.toString(8).padStart(4, '0')}`);
        fileSystem.set(path, { content, mode });
        return Promise.resolve();
      },
      remove(path) {
        log.push(`rm ${path}`);
        fileSystem.delete(path);
        return Promise.resolve();
      },
      symlink(target, path) {
        log.push(`ln -s ${target} ${path}`);
        fileSystem.set(path, { content: `-> ${target}`, mode: 0o777 });
        return Promise.resolve();
      },
    },
    hasCommand: (name) => Promise.resolve((o.commands ?? []).includes(name)),
  };
}
