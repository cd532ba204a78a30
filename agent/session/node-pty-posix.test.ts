// The real node-pty on a real terminal: output the event loop had not read when the program exited
// still arrives (node-pty itself drops it 200 ms after the exit, microsoft/node-pty#72).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nodePtyPosix } from './node-pty-posix.js';

describe('nodePtyPosix', () => {
  it('delivers what the program wrote before it exited, even when the terminal was not being read', async () => {
    const pty = nodePtyPosix().spawn({
      file: '/bin/sh',
      args: ['-c', 'i=0; while [ $i -lt 3000 ]; do printf "€"; i=$((i+1)); done; echo; echo the-end'],
      cwd: '/',
      env: { PATH: '/usr/bin:/bin', TERM: 'xterm' },
      cols: 80,
      rows: 24,
    });
    const chunks: Buffer[] = [];
    pty.onData((d) => chunks.push(d));
    // Not read while the program runs, as when the session's queue is full or the agent is busy:
    // 9 kB stay in the terminal, and node-pty's socket has not reached the end when it exits.
    pty.pause();
    const exit = await new Promise<number>((resolve) => pty.onExit((e) => resolve(e.exitCode)));
    assert.equal(exit, 0);
    const text = Buffer.concat(chunks).toString('utf8');
    assert.equal(text.split('€').length - 1, 3000);
    assert.match(text, /the-end/);
  });
});
