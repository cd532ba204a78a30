// assist session <instance>: an interactive shell on a managed instance in this terminal
// (StartTerminalSession, then its WebSocket). Raw mode while connected, the window size sent on
// start and on every resize (SIGWINCH, seen as the TTY's 'resize' event), the terminal restored
// on exit.
import type { ReadStream, WriteStream } from 'node:tty';
import type { Argv } from 'yargs';
import type { Context, GlobalArgs } from '../context.js';
import { CliError } from '../errors.js';
import { println } from '../io.js';
import { SessionClient } from '../session-client.js';

interface SessionArgs extends GlobalArgs {
  instance: string;
  user?: string;
  command?: string;
}

export interface StartedSession {
  SessionId: string;
  WebSocketUrl: string;
}

export function sessionCommand<T>(y: Argv<T>, ctx: Context): Argv<T> {
  return y.command(
    'session <instance>',
    'open an interactive shell on an instance (StartTerminalSession)',
    (c) =>
      c
        .positional('instance', { type: 'string', demandOption: true, describe: 'mi-… instance id' })
        .option('user', {
          alias: 'u',
          type: 'string',
          describe: 'run the shell as this user (default: ecs-assist-user)',
        })
        .option('command', {
          alias: 'c',
          type: 'string',
          describe: 'run this command line under the terminal instead of a shell',
        }),
    (a) => session(ctx, a as unknown as SessionArgs),
  );
}

async function session(ctx: Context, a: SessionArgs): Promise<void> {
  const started = await ctx.api(a).call<StartedSession>('StartTerminalSession', {
    InstanceId: [a.instance],
    Username: a.user,
    CommandLine: a.command,
  });
  const client = new SessionClient(started.WebSocketUrl, ctx.caPem(a));
  try {
    await client.opened;
  } catch (e) {
    throw new CliError('NETWORK', (e as Error).message, { cause: e });
  }
  const stdin = ctx.io.stdin as ReadStream;
  const stdout = ctx.io.stdout as WriteStream;
  const tty = stdin.isTTY === true && typeof stdin.setRawMode === 'function';
  const sendSize = () => {
    if (stdout.isTTY && stdout.columns && stdout.rows) {
      client.resize(stdout.columns, stdout.rows);
    }
  };
  const onInput = (d: Buffer) => {
    if (!client.send(d)) {
      stdin.pause();
    }
  };
  client.onDrain = () => stdin.resume();
  client.onOutput = (b) => {
    // Output faster than this terminal takes it: stop reading the socket until stdout drains.
    if (stdout.write(b) === false && typeof stdout.once === 'function') {
      client.pause();
      stdout.once('drain', () => client.resume());
    }
  };
  if (tty) {
    stdin.setRawMode(true);
  }
  if (stdout.isTTY) {
    stdout.on('resize', sendSize);
  }
  stdin.on('data', onInput);
  stdin.resume();
  sendSize();
  let end;
  try {
    end = await client.ended;
  } finally {
    stdin.off('data', onInput);
    stdin.pause();
    if (stdout.isTTY) {
      stdout.off('resize', sendSize);
    }
    if (tty) {
      stdin.setRawMode(false);
    }
  }
  println(ctx.io.stderr, `\r\nsession ${started.SessionId} closed: ${end.reason}`);
}
