import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { SessionTask } from '../../protocol/index.js';
import { conptyCommand, conptySpawnOptions } from './conpty.js';
import { OutputPump, pacingFor, UNPACED_CHUNK_BYTES } from './output-pump.js';
import { sessionIdOfStat } from './process-tree.js';
import { sessionCommand } from './session-command.js';
import { applySudoRule, SessionUserError } from './session-user.js';
import { utf8SafeLength } from './utf8-cut.js';

describe('utf8SafeLength', () => {
  it('never ends inside a character', () => {
    const euro = Buffer.from('a€', 'utf8'); // 61 e2 82 ac
    assert.equal(utf8SafeLength(euro), 4);
    assert.equal(utf8SafeLength(euro.subarray(0, 3)), 1);
    assert.equal(utf8SafeLength(euro.subarray(0, 2)), 1);
    assert.equal(utf8SafeLength(euro.subarray(1, 3)), 0);
    const emoji = Buffer.from('😀', 'utf8');
    assert.equal(utf8SafeLength(emoji.subarray(0, 3)), 0);
    assert.equal(utf8SafeLength(Buffer.from([0x41, 0xff])), 2, 'an invalid byte is not waited on');
    assert.equal(utf8SafeLength(Buffer.from([0x80, 0x80])), 2);
  });
});

describe('pacing', () => {
  it('keeps the stock defaults and stops pausing when the interval rounds to 0', () => {
    assert.deepEqual(pacingFor('shell', 0), { chunkBytes: 1024, intervalMs: 40 });
    assert.deepEqual(pacingFor('port', 0), { chunkBytes: 2048, intervalMs: 83 });
    assert.deepEqual(pacingFor('shell', 8 * 1024 * 10), { chunkBytes: 1024, intervalMs: 100 });
    assert.deepEqual(pacingFor('port', 400_000_000), { chunkBytes: UNPACED_CHUNK_BYTES, intervalMs: 0 });
  });

  it('sends whole characters in packets and the incomplete tail only once it completes or on end', async () => {
    const sent: Buffer[] = [];
    const pump = new OutputPump({
      mode: 'shell',
      speedBps: 1_000_000_000,
      send: (c) => void sent.push(c),
      pauseSource: () => {},
      resumeSource: () => {},
      onError: (e) => assert.fail(e),
    });
    const text = Buffer.from('€'.repeat(30_000)); // 90000 bytes
    pump.push(text.subarray(0, 1001));
    pump.push(text.subarray(1001));
    await pump.end();
    assert.ok(sent.every((c) => !c.toString('utf8').includes('\uFFFD')));
    assert.deepEqual(Buffer.concat(sent), text);
  });

  it('pauses the source above the high-water mark and resumes it once drained', async () => {
    let paused = 0;
    let resumed = 0;
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const pump = new OutputPump({
      mode: 'port',
      speedBps: 1_000_000_000,
      send: () => gate,
      pauseSource: () => paused++,
      resumeSource: () => resumed++,
      onError: (e) => assert.fail(e),
    });
    for (let i = 0; i < 40; i++) {
      pump.push(Buffer.alloc(64 * 1024));
    }
    assert.equal(paused, 1);
    release();
    await pump.end();
    assert.equal(resumed, 1);
    assert.equal(pump.sentBytes, 40 * 64 * 1024);
  });
});

describe('session command', () => {
  const task = (cmdContent: string): SessionTask => ({
    channelId: 's-1',
    cmdContent,
    username: 'u',
    windowsPasswordName: '',
    portNumber: '',
    targetHost: '',
    flowLimit: 0,
    websocketUrl: '',
  });
  const user = { name: 'u', uid: 1234, gid: 1234, home: '/nonexistent-home', shell: '/bin/zsh', groups: [1234, 27] };
  const root = { platform: 'linux' as const, setpriv: '/usr/bin/setpriv', agentUid: 0, agentGid: 0 };

  it('starts the login shell as the user through setpriv with an explicit environment', () => {
    const c = sessionCommand(task(''), user, root);
    assert.equal(c.file, '/usr/bin/setpriv');
    assert.deepEqual(c.args, ['--reuid=1234', '--regid=1234', '--groups=1234,27', '--', '/bin/zsh', '-l']);
    assert.equal(c.cwd, '/', 'a missing home falls back to /');
    assert.equal(c.env['HOME'], '/nonexistent-home');
    assert.equal(c.env['USER'], 'u');
    assert.equal(c.env['SHELL'], '/bin/zsh');
    assert.equal(c.env['TERM'], 'xterm-256color');
    assert.equal(Object.keys(c.env).includes('ALIYUN_ASSIST_PROXY'), false);
  });

  it('runs cmdContent split, directly, and refuses what cannot run', () => {
    const c = sessionCommand(task(`top -d '1 2'`), user, root);
    assert.deepEqual(c.args.slice(4), ['top', '-d', '1 2']);
    assert.throws(() => sessionCommand(task(`top 'x`), user, root), SessionUserError);
    assert.throws(() => sessionCommand(task(''), user, { ...root, agentUid: 1000, agentGid: 1000 }), SessionUserError);
    assert.throws(() => sessionCommand(task(''), user, { ...root, setpriv: undefined }), SessionUserError);
    const self = sessionCommand(task('id'), { ...user, uid: 0, gid: 0 }, root);
    assert.equal(self.file, 'id', 'the agent user needs no setpriv');
  });

  it('on Windows: PowerShell or cmdContent under ConPTY', () => {
    const w = sessionCommand(task(''), { ...user, home: 'C:\\Users\\u' }, { ...root, platform: 'win32' });
    assert.equal(w.file, 'powershell.exe');
    assert.deepEqual(conptyCommand('dir C:\\'), { file: 'cmd.exe', args: ['/d', '/s', '/c', 'dir C:\\'] });
    const o = conptySpawnOptions({
      file: 'powershell.exe',
      args: [],
      cwd: 'C:\\',
      env: { TERM: 'xterm' },
      cols: 90,
      rows: 20,
    });
    assert.equal(o.useConpty, true);
    assert.equal(o.useConptyDll, false);
    assert.equal(o.cols, 90);
    assert.equal(o.rows, 20);
    assert.equal(o.cwd, 'C:\\');
    assert.equal(o.name, 'xterm');
  });
});

describe('sudo rule', () => {
  it('writes the stock rule 0440 once, keeps an operator file, removes only its own when off', () => {
    const dir = mkdtempSync(join(tmpdir(), 'oca-sudo-'));
    try {
      const o = { defaultUser: 'ecs-assist-user', sudoersDir: dir, sudoRule: true };
      applySudoRule(o);
      const file = join(dir, 'ecs-assist-user');
      assert.equal(readFileSync(file, 'utf8'), 'ecs-assist-user ALL=(ALL) NOPASSWD:ALL\n');
      assert.equal(statSync(file).mode & 0o777, 0o440);
      applySudoRule({ ...o, sudoRule: false });
      assert.deepEqual(readdirSync(dir), []);
      writeFileSync(file, 'ecs-assist-user ALL=(ALL) /usr/bin/systemctl\n');
      applySudoRule({ ...o, sudoRule: false });
      applySudoRule(o);
      assert.equal(readFileSync(file, 'utf8'), 'ecs-assist-user ALL=(ALL) /usr/bin/systemctl\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('process tree', () => {
  it('reads the session id after a command name with spaces and parentheses', () => {
    assert.equal(sessionIdOfStat('4242 (a) b (c)) S 1 4242 4240 34816 4242 4194560 0'), 4240);
    assert.equal(
      sessionIdOfStat(readFileSync('/proc/self/stat', 'utf8')),
      Number(readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ')[3]),
    );
  });
});
