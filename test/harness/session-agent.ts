// Runs a real agent executable (a built single executable, or any command) against the stand-in
// session server (luban-session-server.ts) as an already registered instance: a fresh install
// directory with a hybrid identity, the server's throwaway CA, and no registration round trip.
// Sessions then start from kicks: `kick_vm session start <id>` with the entry put in the server.
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testCert } from '../../agent/channel/test-peer.js';
import { AGENT_VERSION } from '../../agent/shared/version.js';
import type { Cleanup } from './control-plane.js';
import { eventually } from './eventually.js';
import type { SessionServer } from './luban-session-server.js';

export interface SessionAgent {
  installDir: string;
  /** The agent's main log so far ('' before it writes one). */
  log(): string;
  /** Output of everything the process wrote to stdout and stderr. */
  output(): string;
  /** Starts a shell session `channelId` as `username` and waits for its data channel. */
  startSession(channelId: string, o?: { username?: string; cmdContent?: string }): Promise<void>;
}

export async function startSessionAgent(
  t: Cleanup,
  server: SessionServer,
  command: string,
  args: string[] = [],
): Promise<SessionAgent> {
  const installDir = mkdtempSync(join(tmpdir(), 'oca-session-agent-'));
  t.after(() => rmSync(installDir, { recursive: true, force: true }));
  const hybrid = join(installDir, 'hybrid');
  mkdirSync(hybrid, { recursive: true });
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(join(hybrid, 'instance-id'), 'mi-sessionagent');
  writeFileSync(join(hybrid, 'machine-id'), 'machine-sessionagent');
  writeFileSync(join(hybrid, 'region-id'), 'cn-local');
  writeFileSync(join(hybrid, 'pri-key'), privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(), {
    mode: 0o600,
  });
  writeFileSync(join(hybrid, 'pub-key'), publicKey.export({ type: 'spki', format: 'pem' }).toString());
  const caPath = join(installDir, 'ca.pem');
  writeFileSync(caPath, testCert().cert);
  mkdirSync(join(installDir, 'boot'));

  const child = spawn(command, args, {
    env: {
      ...process.env,
      ALIYUN_ASSIST_SERVER_HOST: server.host,
      ALIYUN_ASSIST_CERT_PATH: caPath,
      ALIYUN_ASSIST_INSTALL_DIR: installDir,
      ALIYUN_ASSIST_BOOT_MARKER_DIR: join(installDir, 'boot'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  t.after(async () => {
    child.kill('SIGTERM');
    await exited;
  });
  const before = server.notify.length;
  await eventually(() => server.notify.length > before, { what: `the notify socket of ${command}` }).catch(
    (e: unknown) => {
      throw new Error(`${(e as Error).message}\n${output}`, { cause: e });
    },
  );

  return {
    installDir,
    log: () => {
      try {
        return readFileSync(join(installDir, AGENT_VERSION, 'log', 'aliyun_assist_main.log'), 'utf8');
      } catch {
        return '';
      }
    },
    output: () => output,
    async startSession(channelId, o = {}) {
      server.entries.set(channelId, [
        { channelId, cmdContent: o.cmdContent ?? '', username: o.username ?? 'root', portNumber: '', flowLimit: 0 },
      ]);
      await server.kick(`kick_vm session start ${channelId}`);
      await eventually(() => server.connections.some((c) => c.channelId === channelId), {
        what: `the data channel of ${channelId}`,
      });
    },
  };
}
