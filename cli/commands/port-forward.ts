// assist port-forward <instance> <local>:<remote>[@host]: listens on 127.0.0.1:<local> and
// carries each TCP connection over its own terminal session in port-forwarding mode to
// <host>:<remote> as seen from the instance (default host: the instance itself).
import { createServer, type Socket } from 'node:net';
import type { Argv } from 'yargs';
import type { Context, GlobalArgs } from '../context.js';
import { usageError } from '../errors.js';
import { println } from '../io.js';
import { SessionClient } from '../session-client.js';
import type { StartedSession } from './session.js';

interface ForwardArgs extends GlobalArgs {
  instance: string;
  spec: string;
  bind: string;
}

export function parseForwardSpec(spec: string): { local: number; remote: number; host: string } {
  const m = /^(\d{1,5}):(\d{1,5})(?:@(.+))?$/.exec(spec);
  const port = (s: string | undefined) => Number(s);
  if (!m || port(m[2]) < 1 || port(m[2]) > 65535 || port(m[1]) > 65535) {
    throw usageError(`expected <local>:<remote>[@host], e.g. 8080:80 or 5433:5432@10.0.0.5, got ${spec}`);
  }
  return { local: port(m[1]), remote: port(m[2]), host: m[3] ?? '' };
}

export function portForwardCommand<T>(y: Argv<T>, ctx: Context): Argv<T> {
  return y.command(
    'port-forward <instance> <spec>',
    'forward a local port to a port on or behind an instance (StartTerminalSession with PortNumber)',
    (c) =>
      c
        .positional('instance', { type: 'string', demandOption: true, describe: 'mi-… instance id' })
        .positional('spec', { type: 'string', demandOption: true, describe: '<local>:<remote>[@host]' })
        .option('bind', { type: 'string', default: '127.0.0.1', describe: 'local address to listen on' }),
    (a) => forward(ctx, a as unknown as ForwardArgs),
  );
}

async function forward(ctx: Context, a: ForwardArgs): Promise<void> {
  const spec = parseForwardSpec(a.spec);
  const api = ctx.api(a);
  const ca = ctx.caPem(a);
  const carry = async (sock: Socket) => {
    sock.pause();
    try {
      const s = await api.call<StartedSession>('StartTerminalSession', {
        InstanceId: [a.instance],
        PortNumber: spec.remote,
        TargetServer: spec.host || undefined,
      });
      const client = new SessionClient(s.WebSocketUrl, ca);
      await client.opened;
      client.onOutput = (b) => {
        if (!sock.write(b)) {
          client.pause();
          sock.once('drain', () => client.resume());
        }
      };
      client.onDrain = () => sock.resume();
      sock.on('data', (d) => {
        if (!client.send(d)) {
          sock.pause();
        }
      });
      sock.on('close', () => client.close());
      sock.on('error', () => client.close());
      sock.resume();
      await client.ended;
      sock.end();
    } catch (e) {
      println(ctx.io.stderr, `port-forward: ${(e as Error).message}`);
      sock.destroy();
    }
  };
  const server = createServer((sock) => void carry(sock));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(spec.local, a.bind, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : spec.local;
  println(
    ctx.io.stdout,
    `forwarding ${a.bind}:${port} → ${spec.host || a.instance}:${spec.remote} through ${a.instance}; Ctrl-C to stop`,
  );
  // Runs until the process is interrupted.
  await new Promise<void>((resolve) => server.on('close', () => resolve()));
}
