// The port through which a session gets its pseudo-terminal. Implementations: node-pty on POSIX
// (node-pty-posix.ts) and node-pty's ConPTY on Windows (conpty.ts); tests may inject their own.

export interface PtySpawnSpec {
  /** The program; on POSIX looked up in `env.PATH` when it has no slash. */
  file: string;
  args: string[];
  cwd: string;
  /** The complete environment (nothing is inherited from the agent). */
  env: Record<string, string>;
  cols: number;
  rows: number;
}

export interface PtyExit {
  exitCode: number;
  signal?: number;
}

/** One running program on a pseudo-terminal. */
export interface PtyProcess {
  /** The program's pid; on POSIX also its process group and session id. */
  readonly pid: number;
  onData(listener: (data: Buffer) => void): void;
  onExit(listener: (exit: PtyExit) => void): void;
  write(data: Buffer): void;
  resize(cols: number, rows: number): void;
  /** Stops reading the terminal (the program blocks once the kernel buffer is full). */
  pause(): void;
  resume(): void;
  /** Closes the terminal and signals the program (POSIX: SIGHUP by default). */
  kill(signal?: NodeJS.Signals): void;
}

export interface PtyPort {
  /**
   * Starts `spec` on a new terminal, synchronously on the calling thread (so a caller that
   * moved itself into a cgroup has the child born there). Throws when it cannot start.
   */
  spawn(spec: PtySpawnSpec): PtyProcess;
}

/** Default terminal size until the first set_size frame. */
export const DEFAULT_PTY_SIZE = { cols: 80, rows: 24 } as const;
