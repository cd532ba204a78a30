// The real agent process (bin/aliyun-service.ts) takes `kick_vm session …` on its notify socket
// and runs the session against a real server standing in for the control plane's session routes:
// the data-channel handshake is hybrid-signed, the idle limit comes from the agent's configuration.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { testCert } from '../../agent/channel/test-peer.js';
import { hybridSignatureInput, verifyHybrid } from '../../protocol/index.js';
import { agentCommand } from '../harness/agent.js';
import { eventually } from '../harness/eventually.js';
import { startSessionServer } from '../harness/luban-session-server.js';

function processesWith(marker: string): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .filter((n) => {
      try {
        return readFileSync(`/proc/${n}/cmdline`, 'utf8').split('\0').join(' ').includes(marker);
      } catch {
        return false;
      }
    })
    .map(Number);
}

it('the agent process runs sessions from kicks, signed, with its configured idle limit', async (t) => {
  const server = await startSessionServer();
  t.after(() => server.close());
  const installDir = mkdtempSync(join(tmpdir(), 'oca-s1-agent-'));
  t.after(() => rmSync(installDir, { recursive: true, force: true }));
  const hybrid = join(installDir, 'hybrid');
  mkdirSync(hybrid, { recursive: true });
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  writeFileSync(join(hybrid, 'instance-id'), 'mi-s1session');
  writeFileSync(join(hybrid, 'machine-id'), 'machine-s1');
  writeFileSync(join(hybrid, 'region-id'), 'cn-local');
  writeFileSync(join(hybrid, 'pri-key'), privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(), {
    mode: 0o600,
  });
  writeFileSync(join(hybrid, 'pub-key'), publicPem);
  const caPath = join(installDir, 'ca.pem');
  writeFileSync(caPath, testCert().cert);
  mkdirSync(join(installDir, 'boot'));

  const c = agentCommand([]);
  const child = spawn(c.command, c.args, {
    env: {
      ...process.env,
      ALIYUN_ASSIST_SERVER_HOST: server.host,
      ALIYUN_ASSIST_CERT_PATH: caPath,
      ALIYUN_ASSIST_INSTALL_DIR: installDir,
      ALIYUN_ASSIST_BOOT_MARKER_DIR: join(installDir, 'boot'),
      ALIYUN_ASSIST_SESSION_IDLE_MS: '3000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.resume();
  child.stderr.resume();
  const exited = new Promise((resolve) => child.once('exit', resolve));
  t.after(async () => {
    child.kill('SIGTERM');
    await exited;
  });
  await eventually(() => server.notify.length > 0, { what: 'the agent notify socket' });

  server.entries.set('s-real', [
    { channelId: 's-real', cmdContent: '', username: 'root', portNumber: '', flowLimit: 0 },
  ]);
  assert.deepEqual(await server.kick('kick_vm session start s-real'), ['accept:kick_vm session start s-real']);
  const conn = await eventually(() => server.connection('s-real'), { what: 'the data channel' });
  const h = conn!.headers;
  assert.equal(h['x-acs-instance-id'], 'mi-s1session');
  const input = hybridSignatureInput(
    'mi-s1session',
    'machine-s1',
    String(h['x-acs-timestamp']),
    String(h['x-acs-request-id']),
  );
  assert.ok(verifyHybrid(publicPem, input, String(h['x-acs-signature'])), 'the handshake is hybrid-signed');
  assert.match(String(h['user-agent']), /^linux_amd64\//);

  server.sendInput('s-real', 'sleep 5552 & echo real-$((3*3))\n');
  await eventually(() => server.output('s-real').toString().includes('real-9'), { what: 'the echo' });
  await eventually(() => processesWith('sleep 5552').length === 1, { what: 'the background sleep' });
  assert.deepEqual(await server.kick('kick_vm session stop s-real'), ['accept:kick_vm session stop s-real']);
  const stopped = await eventually(() => server.reports.find((r) => r.channelId === 's-real'), { what: 'report' });
  assert.deepEqual(stopped, { channelId: 's-real', status: 'Success', errorcode: 'Notified' });
  assert.deepEqual(processesWith('sleep 5552'), [], 'the session left nothing running');

  // A `session` entry of the task list (§5.2) starts a session too.
  server.taskListSessions.push({
    channelId: 's-list',
    cmdContent: '/bin/sh -c "echo listed-$((5+5))"',
    username: 'root',
  });
  await server.kick('kick_vm');
  await eventually(() => server.output('s-list').toString().includes('listed-10'), { what: 'the listed session' });
  const listed = await eventually(() => server.reports.find((r) => r.channelId === 's-list'), { what: 'report' });
  assert.deepEqual(listed, { channelId: 's-list', status: 'Success', errorcode: 'Ok' });

  server.entries.set('s-idle', [{ channelId: 's-idle', cmdContent: 'sleep 5553', username: 'root' }]);
  await server.kick('kick_vm session start s-idle');
  const started = Date.now();
  const idle = await eventually(() => server.reports.find((r) => r.channelId === 's-idle'), { what: 'idle report' });
  assert.deepEqual(idle, { channelId: 's-idle', status: 'Success', errorcode: 'Timeout' });
  assert.ok(Date.now() - started >= 2500, 'not before the configured idle limit');
  assert.deepEqual(processesWith('sleep 5553'), []);
});
