// `assist param`: the real CLI entry point (bin/assist.ts through tsx) against a real control
// plane, creating, reading, listing, updating and deleting plain and secret parameters, and a
// script that uses them through `assist run` on a real agent.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { startAgent, type TestAgent } from '../harness/agent.js';
import { startControlPlane, suiteCleanup, type TestControlPlane } from '../harness/control-plane.js';
import { envWithoutCliSettings, runProcess, type Ran as Run } from '../harness/run-process.js';

const ROOT = join(import.meta.dirname, '..', '..');
const TSX = join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs');
const ASSIST = join(ROOT, 'bin', 'assist.ts');

describe('assist param end to end', () => {
  let h: TestControlPlane;
  let agent: TestAgent;
  let home: string;
  const cleanup = suiteCleanup();
  const secret = `cli-secret-${process.pid}-${Date.now()}`;
  before(async () => {
    h = await startControlPlane(cleanup);
    agent = await startAgent(cleanup, h, { instanceName: 'param-cli-box' });
    home = mkdtempSync(join(tmpdir(), 'oca-param-home-'));
    cleanup.after(() => rmSync(home, { recursive: true, force: true }));
  });

  function assist(args: string[], stdin = ''): Promise<Run> {
    const env = {
      ...envWithoutCliSettings(),
      HOME: home,
      ASSIST_ACCESS_KEY_ID: h.key.accessKeyId,
      ASSIST_ACCESS_KEY_SECRET: h.key.accessKeySecret,
      ASSIST_ENDPOINT: h.hostPort,
      ASSIST_CA_FILE: h.caPath,
    };
    return runProcess(process.execPath, ['--import', TSX, ASSIST, ...args], { env, cwd: home, stdin });
  }
  const show = (r: Run) => `exit ${r.status}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

  it('creates, gets, updates, lists and deletes plain and secret parameters', async () => {
    let r = await assist(['param', 'create', '/app/host', '--value', 'db.one', '--tag', 'env=test']);
    assert.equal(r.status, 0, show(r));
    assert.match(r.stdout, /Created String parameter \/app\/host \(version 1\)/);
    writeFileSync(join(home, 'pw.txt'), `${secret}\n`);
    r = await assist(['param', 'create', '/app/pw', '--secret', '--value-file', 'pw.txt']);
    assert.equal(r.status, 0, show(r));
    r = await assist(['param', 'update', '/app/host', '--value-stdin'], 'db.two\n');
    assert.match(r.stdout, /version 2/, show(r));

    r = await assist(['param', 'get', '/app/host']);
    assert.match(r.stdout, /^Value: db\.two$/m, show(r));
    assert.match(r.stdout, /^Tags: env=test$/m);
    r = await assist(['param', 'get', '/app/host', '--version', '1', '--json']);
    assert.equal((JSON.parse(r.stdout) as { Value: string }).Value, 'db.one');
    r = await assist(['param', 'get', '/app/pw', '--secret']);
    assert.ok(!r.stdout.includes(secret), show(r));
    assert.match(r.stdout, /^Value: \(hidden/m);
    r = await assist(['param', 'get', '/app/pw', '--secret', '--decrypt']);
    assert.match(r.stdout, new RegExp(`^Value: ${secret}$`, 'm'), 'no trailing newline from the file');

    r = await assist(['param', 'list', '--path', '/app']);
    assert.match(r.stdout, /\/app\/host\s+String\s+2/, show(r));
    assert.ok(!r.stdout.includes('/app/pw'), 'plain listing shows no secret parameters');
    r = await assist(['param', 'list', '--secret', '--json']);
    assert.deepEqual(
      (JSON.parse(r.stdout) as { Name: string }[]).map((p) => p.Name),
      ['/app/pw'],
    );

    r = await assist(['param', 'get', '/nope']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /EntityNotExists\.Parameter/);
  });

  it('runs a script using both through assist run, with the secret masked', async () => {
    const r = await assist([
      'run',
      '--instances',
      agent.instanceId,
      '--json',
      '--',
      "echo 'host={{oos:/app/host}} pw={{oos-secret:/app/pw}}'",
    ]);
    assert.equal(r.status, 0, show(r));
    const body = JSON.parse(r.stdout) as { Results: { Output: string }[] };
    assert.equal(body.Results[0]!.Output, 'host=db.two pw=******\n');
    assert.ok(!r.stdout.includes(secret));
  });

  it('deletes parameters; a command naming one then fails before it runs', async () => {
    let r = await assist(['param', 'delete', '/app/pw', '--secret']);
    assert.equal(r.status, 0, show(r));
    r = await assist(['run', '--instances', agent.instanceId, '--', 'echo {{oos-secret:/app/pw}}']);
    assert.equal(r.status, 1, show(r));
    assert.match(r.stderr, /InvalidParameter\.OosParameterNotFound/);
  });
});
