import assert from 'node:assert/strict';
import { userInfo } from 'node:os';
import { describe, it } from 'node:test';
import { TASK_PATH, UserLookupError, agentUser, lookupUser, spawnIdentity, taskEnv } from './run-as-user.js';

describe('lookupUser', () => {
  it('resolves a real user through getent', async () => {
    const me = userInfo();
    const u = await lookupUser(me.username);
    assert.equal(u.uid, me.uid);
    assert.equal(u.gid, me.gid);
    assert.equal(u.home, me.homedir);
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
    const env = taskEnv({ name: 'alice', uid: 1000, gid: 1000, home: '/home/alice', shell: '' });
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
    const other = { name: 'x', uid: (process.getuid?.() ?? 0) + 4242, gid: 4242, home: '/', shell: '' };
    assert.deepEqual(spawnIdentity(other), { uid: other.uid, gid: 4242 });
  });
});
