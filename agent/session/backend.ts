// What a session's frames connect to: a PTY running a shell or command (shell-backend.ts) or a TCP
// connection to the forwarded port (port-backend.ts).
import type { SessionStatusCode, SessionTask, TerminalSize } from '../../protocol/index.js';
import type { Logger } from '../shared/index.js';

export interface BackendContext {
  /** The size from a set_size that came before the start, if any. */
  size: TerminalSize | undefined;
  onData: (data: Buffer) => void;
  /** The program exited or the target closed the connection (once). */
  onEnd: (code: SessionStatusCode, why: string) => void;
  log: Logger;
}

export interface SessionBackend {
  /** False when the target holds too much already: wait for onDrain before more. */
  write(data: Buffer): boolean;
  onDrain(listener: () => void): void;
  resize(size: TerminalSize): void;
  pause(): void;
  resume(): void;
  /** Ends everything the backend started; resolves once it is gone (or given up on). */
  close(): Promise<void>;
}

export interface BackendFactory {
  /** Rejects with SessionStartError (its status code is reported) when it cannot start. */
  start(task: SessionTask, ctx: BackendContext): Promise<SessionBackend>;
}

export class SessionStartError extends Error {
  override readonly name = 'SessionStartError';
  readonly statusCode: SessionStatusCode;
  constructor(statusCode: SessionStatusCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.statusCode = statusCode;
  }
}
