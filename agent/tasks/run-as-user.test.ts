import assert from 'node:assert/strict';
import { userInfo } from 'node:os';
import { describe, it } from 'node:test';
import {
  TASK_PATH,
  UserLookupError,
  agentUser,
  lookupUser,
  posixRunAs,
  spawnIdentity,
  taskEnv,
  windowsRunAs,
  type TaskUser,
} from './run-as-user.js';

describe('lookupUser', () => {
  it('resolves a real user through getent', async () => {
    const me = userInfo();
    const u = await lookupUser(me.username);
    assert.equal(u.uid, me.uid);
    assert.equal(u.gid, me.gid);
    assert.equal(u.home, me.homedir);
    assert.ok(u.groups.includes(me.gid), `groups ${u.groups.join(',')} include the primary group`);
  });
  it('an empty name is the agent itself', async () => {
    assert.deepEqual(await lookupUser(''), agentUser());
  });
  it('rejects unknown users, option-like and numeric names', async () => {
    for (const name of ['no-such-user-xyz', '--help', '0', 'a:b', 'root\nx']) {
      await assert.rejects(lookupUser(name), (e: unknown) => e instanceof UserLookupError, name);
    }
    await assert.rejects(lookupUser('no-such-user-xyz'), { message: 'user: unknown user no-such-user-xyz' });
  });
});

describe('taskEnv', () => {
  it('is built explicitly, nothing inherited', () => {
    const env = taskEnv({ name: 'alice', uid: 1000, gid: 1000, home: '/home/alice', shell: '', groups: [] });
    assert.deepEqual(env, {
      PATH: TASK_PATH,
      HOME: '/home/alice',
      USER: 'alice',
      LOGNAME: 'alice',
      SHELL: '/bin/sh',
      LANG: 'C.UTF-8',
    });
  });
});

describe('spawnIdentity', () => {
  it('sets no uid/gid for the agent user, both for another', () => {
    assert.deepEqual(spawnIdentity(agentUser()), {});
    const other = { name: 'x', uid: (process.getuid?.() ?? 0) + 4242, gid: 4242, home: '/', shell: '', groups: [] };
    assert.deepEqual(spawnIdentity(other), { uid: other.uid, gid: 4242 });
  });
});

describe('run-as ports', () => {
  const alice: TaskUser = {
    name: 'alice',
    uid: 1001,
    gid: 1001,
    home: '/home/alice',
    shell: '/bin/sh',
    groups: [1001, 27, 100],
  };
  const target = { command: 'sh', args: ['-c', '/x/script.sh'] };

  it('POSIX: setpriv with uid, gid and the supplementary groups, the script unchanged after --', () => {
    const port = posixRunAs('/usr/bin/setpriv', 0);
    assert.equal(port.refusal(alice), undefined);
    assert.deepEqual(port.launch(target, alice, '/home/alice'), {
      command: '/usr/bin/setpriv',
      args: ['--reuid=1001', '--regid=1001', '--groups=1001,27,100', '--', 'sh', '-c', '/x/script.sh'],
    });
  });

  it('POSIX: refuses without setpriv, or when the agent is not root', () => {
    assert.deepEqual(posixRunAs(undefined, 0).refusal(alice), {
      refused: 'setpriv (util-linux) is required to run commands as another user and was not found',
      code: 'ENOENT',
    });
    assert.equal(posixRunAs('/usr/bin/setpriv', 1000).refusal(alice)?.code, 'EPERM');
  });

  it('Windows: needs a password, then a PowerShell launcher that reads it from stdin', () => {
    const port = windowsRunAs();
    assert.match(port.refusal({ ...alice, name: 'CORP\\bob' })?.refused ?? '', /no password for CORP\\bob/);
    const l = port.launch(
      { command: 'cmd.exe', args: ['/c', 'C:\\work\\a.bat'] },
      { ...alice, name: 'CORP\\bob', password: 's3cret' },
      'C:\\Users\\bob',
    );
    assert.equal(l.command, 'powershell.exe');
    assert.ok(!l.args.join(' ').includes('s3cret'), 'the password is not on the command line');
    assert.equal(l.input?.toString(), 's3cret\r\n');
    const script = Buffer.from(l.args.at(-1)!, 'base64').toString('utf16le');
    assert.ok(script.includes("$psi.UserName = 'bob'"), script);
    assert.ok(script.includes("$psi.Domain = 'CORP'"), script);
    assert.ok(script.includes("$psi.WorkingDirectory = 'C:\\Users\\bob'"), script);
  });
});
