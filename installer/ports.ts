// What the service managers need from the machine, as ports so their commands are unit-tested
// with a recording host; node-host.ts has the real implementations.

export interface CommandResult {
  /** The exit status; 128 + n when a signal ended the command. */
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /**
   * Run it in a session (and process group) of its own, so that it outlives the caller's group
   * being killed: a restart requested from a task must finish even when the stopping agent ends
   * the task.
   */
  detached?: boolean;
}

export interface CommandRunner {
  /** Runs a program without a shell. Resolves for any exit status; rejects when it cannot be started. */
  run(command: string, args: readonly string[], options?: RunOptions): Promise<CommandResult>;
}

export interface ServiceFiles {
  exists(path: string): Promise<boolean>;
  /** Replaces the file atomically with exactly this mode, creating its directory when needed. */
  write(path: string, content: string, mode: number): Promise<void>;
  /** Removes a file or link; absent is fine. */
  remove(path: string): Promise<void>;
  /** Points `path` at `target`, replacing what was there. */
  symlink(target: string, path: string): Promise<void>;
}

export interface ServiceHost {
  runner: CommandRunner;
  files: ServiceFiles;
  /** Whether a program of this name is on PATH (or in /sbin, /usr/sbin). */
  hasCommand(name: string): Promise<boolean>;
}
