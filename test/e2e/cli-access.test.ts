// `assist ram …`, `assist audit` and `assist-server users|policies|keys create --user` as a user
// runs them (the real entry points through tsx), against a real control plane and its store.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startControlPlane, suiteCleanup } from '../harness/control-plane.js';
import { envWithoutCliSettings, runProcess, type Ran as Run } from '../harness/run-process.js';

const ROOT = join(import.meta.dirname, '..', '..');
const TSX = join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'ram-policies');

/** Runs a bin/ entry point to its end without blocking the event loop (the control plane shares it). */
function run(bin: string, args: string[], env: Record<string, string>): Promise<Run> {
  return runProcess(process.execPath, ['--import', TSX, join(ROOT, 'bin', bin), ...args], {
    env: { ...envWithoutCliSettings(), ...env },
  });
}

describe('access policies from the command lines', () => {
  const t = suiteCleanup();

  it('assist ram manages a user and policy; the user is refused and the refusal is in assist audit', async () => {
    const h = await startControlPlane(t);
    const home = mkdtempSync(join(tmpdir(), 'oca-cli-home-'));
    t.after(() => rmSync(home, { recursive: true, force: true }));
    const asKey = (id: string, secret: string) => ({
      HOME: home,
      ASSIST_ACCESS_KEY_ID: id,
      ASSIST_ACCESS_KEY_SECRET: secret,
      ASSIST_ENDPOINT: h.hostPort,
      ASSIST_CA_FILE: h.caPath,
    });
    const root = asKey(h.key.accessKeyId, h.key.accessKeySecret);

    assert.equal((await run('assist.ts', ['ram', 'user', 'create', 'dave'], root)).status, 0);
    const key = await run('assist.ts', ['ram', 'key', 'create', 'dave', '--json'], root);
    assert.equal(key.status, 0, key.stderr);
    const { AccessKeyId, AccessKeySecret } = JSON.parse(key.stdout) as Record<string, string>;
    const create = await run(
      'assist.ts',
      ['ram', 'policy', 'create', 'Cmds', '--file', join(FIXTURES, 'cloud-assistant-commands.json')],
      root,
    );
    assert.equal(create.status, 0, create.stderr);
    assert.equal((await run('assist.ts', ['ram', 'policy', 'attach', 'Cmds', 'dave'], root)).status, 0);
    const listed = await run('assist.ts', ['ram', 'policy', 'list', '--user', 'dave'], root);
    assert.match(listed.stdout, /Cmds/);
    assert.equal((await run('assist.ts', ['ram', 'group', 'create', 'ops'], root)).status, 0);
    assert.equal((await run('assist.ts', ['ram', 'group', 'add-user', 'ops', 'dave'], root)).status, 0);
    const groupsOfDave = await run('assist.ts', ['ram', 'group', 'list', '--user', 'dave', '--json'], root);
    assert.deepEqual(
      (JSON.parse(groupsOfDave.stdout) as { GroupName: string }[]).map((g) => g.GroupName),
      ['ops'],
    );

    const dave = asKey(AccessKeyId!, AccessKeySecret!);
    const whoami = await run('assist.ts', ['ram', 'whoami'], dave);
    assert.match(whoami.stdout, /RAM user dave/);
    assert.equal((await run('assist.ts', ['commands', 'list'], dave)).status, 0);
    const refused = await run('assist.ts', ['ram', 'user', 'list'], dave);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /Forbidden\.RAM/);

    const audit = await run('assist.ts', ['audit', '--user', 'dave', '--result', 'Forbidden.RAM', '--json'], root);
    assert.equal(audit.status, 0, audit.stderr);
    const events = JSON.parse(audit.stdout) as { EventAction: string; AccessKeyId: string }[];
    assert.deepEqual(
      events.map((e) => [e.EventAction, e.AccessKeyId]),
      [['ListRamUsers', AccessKeyId]],
    );
    const table = await run('assist.ts', ['audit', '--since', '1h', '--action', 'DescribeCommands'], root);
    assert.match(table.stdout, /dave\s+\S+\s+DescribeCommands\s+Success\s+127\.0\.0\.1/);
    assert.equal((await run('assist.ts', ['audit', '--since', 'yesterday'], root)).status, 2);
  });

  it('assist-server users, policies and keys create --user work on the store', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'oca-admin-'));
    t.after(() => rmSync(dataDir, { recursive: true, force: true }));
    const server = (...args: string[]) => run('assist-server.ts', ['--data-dir', dataDir, ...args], {});
    assert.equal((await server('users', 'create', 'erin')).status, 0);
    const dup = await server('users', 'create', 'erin');
    assert.equal(dup.status, 1);
    assert.match(dup.stderr, /EntityAlreadyExists\.User/);
    const bad = await server('policies', 'create', 'Bad', '--document', '{"Version":"2"}');
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /MalformedPolicyDocument/);
    const file = join(FIXTURES, 'managed-instances-and-activation-codes.json');
    assert.equal((await server('policies', 'create', 'Activations', '--file', file)).status, 0);
    assert.equal((await server('policies', 'attach', 'Activations', 'erin')).status, 0);
    const key = await server('keys', 'create', '--user', 'erin');
    assert.equal(key.status, 0, key.stderr);
    assert.match((JSON.parse(key.stdout) as { AccessKeyId: string }).AccessKeyId, /^LTAI/);
    const forUser = await server('policies', 'list', '--user', 'erin');
    assert.deepEqual(
      (JSON.parse(forUser.stdout) as { PolicyName: string }[]).map((p) => p.PolicyName),
      ['Activations'],
    );
    assert.equal((await server('policies', 'delete', 'Activations')).status, 1); // still attached
    assert.equal((await server('policies', 'detach', 'Activations', 'erin')).status, 0);
    assert.equal((await server('policies', 'delete', 'Activations')).status, 0);
    assert.equal((await server('groups', 'create', 'ops')).status, 0);
    assert.equal((await server('groups', 'add-user', 'ops', 'erin')).status, 0);
    assert.equal((await server('policies', 'create', 'Ops', '--file', file)).status, 0);
    assert.equal((await server('policies', 'attach-group', 'Ops', 'ops')).status, 0);
    const groupDelete = await server('policies', 'delete', 'Ops');
    assert.equal(groupDelete.status, 1);
    assert.match(groupDelete.stderr, /DeleteConflict\.Policy\.Group/);
    const groups = await server('groups', 'list');
    assert.deepEqual(
      (JSON.parse(groups.stdout) as { GroupName: string }[]).map((g) => g.GroupName),
      ['ops'],
    );
    const users = await server('users', 'list');
    assert.deepEqual(
      (JSON.parse(users.stdout) as { UserName: string }[]).map((u) => u.UserName),
      ['erin'],
    );
  });
});
