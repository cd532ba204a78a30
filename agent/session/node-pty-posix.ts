// PtyPort on Linux/BSD through node-pty: forkpty(3) on the calling thread, the child a session
// leader (its pid is its process group), raw bytes in and out (no string decoding in between, so
// output can be cut at UTF-8 boundaries by the session).
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
