// PtyPort on Linux/BSD through node-pty: forkpty(3) on the calling thread, the child a session
// leader (its pid is its process group), raw bytes in and out (no string decoding in between, so
// output can be cut at UTF-8 boundaries by the session).
import { readFileSync, readSync } from 'node:fs';
import type { IPty } from 'node-pty';
import { loadNodePty, type NodePtyModule } from './node-pty-loader.js';
import type { PtyExit, PtyPort, PtyProcess, PtySpawnSpec } from './pty-port.js';

export function nodePtyPosix(load: () => NodePtyModule = loadNodePty): PtyPort {
  return {
    spawn(spec: PtySpawnSpec): PtyProcess {
      const pty = load().spawn(spec.file, spec.args, {
        name: spec.env['TERM'] ?? 'xterm-256color',
        cols: spec.cols,
        rows: spec.rows,
        cwd: spec.cwd,
        env: spec.env,
        encoding: null,
      });
      readRestBeforeDestroy(pty);
      return wrap(pty);
    },
  };
}

/** node-pty's IPty as a PtyProcess: with `encoding: null` its data events carry Buffers. */
export function wrap(pty: IPty): PtyProcess {
  return {
    pid: pty.pid,
    onData: (listener) => {
      pty.onData((d) => listener(typeof d === 'string' ? Buffer.from(d, 'utf8') : (d as unknown as Buffer)));
    },
    onExit: (listener: (e: PtyExit) => void) => {
      pty.onExit((e) => listener(e.signal ? { exitCode: e.exitCode, signal: e.signal } : { exitCode: e.exitCode }));
    },
    write: (data) => pty.write(data),
    resize: (cols, rows) => pty.resize(cols, rows),
    pause: () => pty.pause(),
    resume: () => pty.resume(),
    kill: (signal) => pty.kill(signal),
  };
}

/** The parts of node-pty's UnixTerminal this module reaches into. */
interface UnixTerminalInternals {
  _socket?: {
    destroyed: boolean;
    destroy(err?: Error): unknown;
    emit(event: 'data', data: Buffer): boolean;
    /** What the stream already read but has not emitted (it reads ahead while paused); emits it too. */
    read(): unknown;
  };
  _fd?: number;
}

/** At most this much is read in one go when the terminal is destroyed (a background job may write on). */
const REST_LIMIT_BYTES = 4 * 1024 * 1024;
const O_NONBLOCK = 0o4000;

/**
 * When the program has exited but the terminal has not reached its end within 200 ms, node-pty
 * destroys the terminal's socket (microsoft/node-pty#72), and what the program wrote that the event
 * loop had not read yet is lost: on a busy machine, or while the session's queue holds the terminal
 * paused, the end of a command's output. So before that destroy, what the stream read ahead and
 * what is still in the terminal are delivered as data. Linux only: the master must
 * be non-blocking (libuv sets it so), or a read with nothing to read would hang.
 */
export function readRestBeforeDestroy(pty: IPty): void {
  const t = pty as unknown as UnixTerminalInternals;
  const socket = t._socket;
  const fd = t._fd;
  if (socket === undefined || typeof fd !== 'number' || !isNonBlocking(fd)) {
    return;
  }
  const destroy = socket.destroy.bind(socket);
  socket.destroy = (err?: Error) => {
    if (!socket.destroyed) {
      while (socket.read() !== null) {
        // read() emits each chunk as data
      }
      for (const chunk of readAvailable(fd)) {
        socket.emit('data', chunk);
      }
    }
    return destroy(err);
  };
}

function isNonBlocking(fd: number): boolean {
  try {
    const flags = /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1];
    return flags !== undefined && (parseInt(flags, 8) & O_NONBLOCK) !== 0;
  } catch {
    return false;
  }
}

/** What can be read from `fd` now: until EAGAIN (nothing more yet), EIO (the terminal's end) or the limit. */
function readAvailable(fd: number): Buffer[] {
  const chunks: Buffer[] = [];
  let total = 0;
  while (total < REST_LIMIT_BYTES) {
    const buf = Buffer.allocUnsafe(64 * 1024);
    let n: number;
    try {
      n = readSync(fd, buf, 0, buf.length, null);
    } catch {
      break;
    }
    if (n <= 0) {
      break;
    }
    chunks.push(buf.subarray(0, n));
    total += n;
  }
  return chunks;
}
