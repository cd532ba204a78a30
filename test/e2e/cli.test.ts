// Issue 6, the `assist` CLI: the real entry point (bin/assist.ts through tsx, as a user runs it)
// against a real control plane and a real agent, through nothing but the OpenAPI.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { startAgent, type TestAgent } from '../harness/agent.js';
import { startControlPlane, suiteCleanup, type TestControlPlane } from '../harness/control-plane.js';
import { envWithoutCliSettings, runProcess, type Ran as Run } from '../harness/run-process.js';

const ROOT = join(import.meta.dirname, '..', '..');
const TSX = join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs');
const ASSIST = join(ROOT, 'bin', 'assist.ts');

interface JsonResult {
  InstanceId: string;
  Status: string;
  RecordStatus: string;
  ExitCode?: number;
  ErrorCode: string;
  Output: string;
  DurationMs?: number;
}

describe('assist CLI end to end', () => {
  let h: TestControlPlane;
  let agent: TestAgent;
  let home: string;
  const cleanup = suiteCleanup();
  before(async () => {
    h = await startControlPlane(cleanup);
    agent = await startAgent(cleanup, h, { instanceName: 'cli-box' });
    home = mkdtempSync(join(tmpdir(), 'oca-cli-home-'));
    cleanup.after(() => rmSync(home, { recursive: true, force: true }));
  });

  /** The credentials a user exports; HOME is a fresh directory, so no profile file is read by accident. */
  const env = (): Record<string, string> => ({
    HOME: home,
    ASSIST_ACCESS_KEY_ID: h.key.accessKeyId,
    ASSIST_ACCESS_KEY_SECRET: h.key.accessKeySecret,
    ASSIST_ENDPOINT: h.hostPort,
    ASSIST_CA_FILE: h.caPath,
  });

  /** Runs `assist` to its end without blocking the event loop (the control plane shares it). */
  function assist(args: string[], o: { env?: Record<string, string>; stdin?: string } = {}): Promise<Run> {
    return runProcess(process.execPath, ['--import', TSX, ASSIST, ...args], {
      env: { ...envWithoutCliSettings(), ...(o.env ?? env()) },
      stdin: o.stdin ?? '',
    });
  }
  const show = (r: Run) => `exit ${r.status}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
  const onlyResult = (r: Run): JsonResult => {
    const body = JSON.parse(r.stdout) as { InvokeId: string; Results: JsonResult[] };
    assert.match(body.InvokeId, /^t-/);
    assert.equal(body.Results.length, 1, show(r));
    return body.Results[0]!;
  };

  it('run: shows the table with exit code 3 and the output, and exits 3', async () => {
    const r = await assist(['run', '--instances', agent.instanceId, '--', 'echo hi; exit 3']);
    assert.equal(r.status, 3, show(r));
    const row = r.stdout.split('\n').find((l) => l.startsWith(agent.instanceId));
    assert.ok(row, show(r));
    assert.deepEqual(row.split(/\s+/).slice(0, 3), [agent.instanceId, 'Failed', '3']);
    assert.match(r.stdout, /^INSTANCE\s+STATUS\s+EXIT CODE\s+DURATION\s+ERROR$/m);
    assert.match(r.stdout, new RegExp(`--- ${agent.instanceId} \\(Failed, exit code 3\\) ---\\nhi\\n`));
    // Not a terminal: progress comes as plain lines on stderr.
    assert.match(r.stderr, /progress: 1\/1 instances finished, 1 failed/);
  });

  it('run --json: parses, with status, exit code, output and duration', async () => {
    const r = await assist(['run', '--all', '--json', '--', 'echo json-out; echo err >&2']);
    assert.equal(r.status, 0, show(r));
    const x = onlyResult(r);
    assert.equal(x.InstanceId, agent.instanceId);
    assert.equal(x.Status, 'Success');
    assert.equal(x.RecordStatus, 'Finished');
    assert.equal(x.ExitCode, 0);
    assert.equal(x.Output, 'json-out\nerr\n');
    assert.equal(typeof x.DurationMs, 'number');
  });

  it('run --param: a value full of shell metacharacters arrives byte for byte', async () => {
    const value = `a;b && $(id) \`id\` "q" 'x' | \\ <> * ? ~ % + = & 中文`;
    const script = "cat <<'EOF'\n{{v}}\nEOF";
    const r = await assist(['run', '-i', agent.instanceId, '--json', '--param', `v=${value}`, '--', script]);
    assert.equal(r.status, 0, show(r));
    assert.equal(onlyResult(r).Output, `${value}\n`);
  });

  it('run --file with --workdir and --timeout', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'oca-cli-script-'));
    try {
      const file = join(dir, 'script.sh');
      writeFileSync(file, '#!/bin/sh\necho "from-file in $(pwd)"\n');
      const r = await assist([
        'run',
        '-i',
        agent.instanceId,
        '--json',
        '--file',
        file,
        '--workdir',
        '/tmp',
        '-t',
        '30',
      ]);
      assert.equal(r.status, 0, show(r));
      assert.equal(onlyResult(r).Output, 'from-file in /tmp\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('commands create, list, invoke and delete', async () => {
    const name = `cli-saved-${Date.now()}`;
    const created = await assist([
      'commands',
      'create',
      '--name',
      name,
      '--enable-parameter',
      '--description',
      'made by the CLI test',
      '--',
      'echo "saved says {{who}}"',
    ]);
    assert.equal(created.status, 0, show(created));
    const commandId = created.stdout.trim();
    assert.match(commandId, /^c-\S+$/);

    const listed = await assist(['commands', 'list']);
    assert.equal(listed.status, 0, show(listed));
    const row = listed.stdout.split('\n').find((l) => l.startsWith(commandId));
    assert.ok(row?.includes(name) && row.includes('RunShellScript'), show(listed));
    const json = await assist(['commands', 'list', '--name', name, '--json']);
    const cmds = JSON.parse(json.stdout) as { CommandId: string; CommandContent: string }[];
    assert.deepEqual(
      cmds.map((c) => [c.CommandId, c.CommandContent]),
      [[commandId, 'echo "saved says {{who}}"']],
    );

    const invoked = await assist(['invoke', commandId, '-i', agent.instanceId, '--param', 'who=the cli']);
    assert.equal(invoked.status, 0, show(invoked));
    assert.match(invoked.stdout, /\(Success, exit code 0\) ---\nsaved says the cli\n/);

    const deleted = await assist(['commands', 'delete', commandId]);
    assert.equal(deleted.status, 0, show(deleted));
    const after = await assist(['commands', 'list', '--json']);
    assert.ok(!(JSON.parse(after.stdout) as { CommandId: string }[]).some((c) => c.CommandId === commandId));
  });

  it('run --no-wait, then results --watch ends when the instance has finished', async () => {
    const started = await assist(['run', '-i', agent.instanceId, '--no-wait', '--', 'sleep 2; echo watched']);
    assert.equal(started.status, 0, show(started));
    const invokeId = started.stdout.trim();
    assert.match(invokeId, /^t-\S+$/);
    const watched = await assist(['results', invokeId, '--watch']);
    assert.equal(watched.status, 0, show(watched));
    assert.match(watched.stdout, new RegExp(`^${agent.instanceId}\\s+Success\\s+0\\s`, 'm'));
    assert.match(watched.stdout, /---\nwatched\n/);
    assert.match(watched.stderr, /progress: 1\/1 instances finished/);
    // --json names the invocation and its command, as docs/cli.md says.
    const json = await assist(['results', invokeId, '--json']);
    assert.equal(json.status, 0, show(json));
    const body = JSON.parse(json.stdout) as { InvokeId: string; CommandId: string; Results: JsonResult[] };
    const inv = (await h.pop.call('DescribeInvocations', { InvokeId: invokeId })).Invocations.Invocation[0];
    assert.match(inv.CommandId, /^c-\S+$/);
    assert.deepEqual(Object.keys(body), ['InvokeId', 'CommandId', 'Results']);
    assert.deepEqual([body.InvokeId, body.CommandId], [invokeId, inv.CommandId]);
    assert.equal(body.Results[0]!.Output, 'watched\n');
  });

  it('stop on a sleep 600 run: the result is Stopped', async () => {
    const started = await assist(['run', '-i', agent.instanceId, '--no-wait', '--', 'sleep 600']);
    const invokeId = started.stdout.trim();
    assert.match(invokeId, /^t-/, show(started));
    const stopped = await assist(['stop', invokeId]);
    assert.equal(stopped.status, 0, show(stopped));
    assert.match(stopped.stdout, new RegExp(`stop requested for ${invokeId}`));
    const r = await assist(['results', invokeId, '--watch', '--json']);
    assert.equal(r.status, 3, show(r));
    const x = onlyResult(r);
    assert.equal(x.Status, 'Stopped');
    assert.equal(x.RecordStatus, 'Stopped');
  });

  it('send-file: the file arrives with its mode; a second send without --overwrite fails with FileAlreadyExists', async () => {
    const local = join(home, 'motd.txt');
    writeFileSync(local, 'welcome from the cli\n');
    const target = join(home, 'sent');
    const r = await assist(['send-file', local, '-i', agent.instanceId, '--target-dir', target, '--mode', '0600']);
    assert.equal(r.status, 0, show(r));
    const row = r.stdout.split('\n').find((l) => l.startsWith(agent.instanceId));
    assert.ok(row, show(r));
    assert.equal(row.split(/\s+/)[1], 'Success');
    assert.equal(readFileSync(join(target, 'motd.txt'), 'utf8'), 'welcome from the cli\n');
    assert.equal(statSync(join(target, 'motd.txt')).mode & 0o777, 0o600);

    const again = await assist(['send-file', local, '-i', agent.instanceId, '--target-dir', target]);
    assert.notEqual(again.status, 0, show(again));
    assert.match(again.stdout, /FileAlreadyExists/);
  });

  it('instances lists the agent as online', async () => {
    const r = await assist(['instances']);
    assert.equal(r.status, 0, show(r));
    const row = r.stdout.split('\n').find((l) => l.startsWith(agent.instanceId));
    assert.ok(row?.includes('cli-box') && /\byes\b/.test(row), show(r));
    const json = await assist(['instances', '--json']);
    const list = JSON.parse(json.stdout) as { InstanceId: string; Connected: boolean; AgentVersion: string }[];
    const me = list.find((i) => i.InstanceId === agent.instanceId);
    assert.equal(me?.Connected, true);
    assert.ok(me?.AgentVersion);
    const named = await assist(['instances', '--online', '--name', 'cli-*', '--json']);
    assert.deepEqual(
      (JSON.parse(named.stdout) as { InstanceId: string }[]).map((i) => i.InstanceId),
      [agent.instanceId],
      show(named),
    );
    const none = await assist(['instances', '--name', 'no-such-*', '--json']);
    assert.deepEqual(JSON.parse(none.stdout), [], show(none));
  });

  it('activation create prints a code and how to register with it', async () => {
    const r = await assist(['activation', 'create', '--count', '2', '--ttl', '1']);
    assert.equal(r.status, 0, show(r));
    const id = /ActivationId: +(\S+)/.exec(r.stdout)?.[1];
    const code = /ActivationCode: +(\S+)/.exec(r.stdout)?.[1];
    assert.ok(id && code, show(r));
    // This control plane serves no packages, so there is no install script: the register command it is.
    assert.ok(r.stdout.includes(`aliyun-service --register --RegionId cn-local --ActivationCode ${code}`), show(r));
    const listed = await h.pop.call('DescribeActivations', { ActivationId: id });
    assert.equal(listed.ActivationList[0].InstanceCount, 2);
  });

  it('a wrong secret: SignatureDoesNotMatch with its hint, exit 1', async () => {
    const r = await assist(['instances'], { env: { ...env(), ASSIST_ACCESS_KEY_SECRET: 'not-the-secret' } });
    assert.equal(r.status, 1, show(r));
    assert.match(r.stderr, /^error: SignatureDoesNotMatch: /m);
    assert.match(r.stderr, /^hint: check ASSIST_ACCESS_KEY_SECRET or run assist configure$/m);
    assert.equal(r.stdout, '');
  });

  it('an unknown key id: InvalidAccessKeyId.NotFound with its hint, exit 1', async () => {
    const r = await assist(['instances'], { env: { ...env(), ASSIST_ACCESS_KEY_ID: 'LTAInobody' } });
    assert.equal(r.status, 1, show(r));
    assert.match(r.stderr, /^error: InvalidAccessKeyId\.NotFound: /m);
    assert.match(r.stderr, /^hint: check ASSIST_ACCESS_KEY_ID or run assist configure$/m);
  });

  it('an untrusted certificate: a network error that names --ca-file, exit 1', async () => {
    const { ASSIST_CA_FILE: _ca, ...noCa } = env();
    const r = await assist(['instances'], { env: noCa });
    assert.equal(r.status, 1, show(r));
    assert.match(r.stderr, /cannot reach https:\/\/127\.0\.0\.1:\d+: .*--ca-file/);
  });

  it('usage errors exit 2 (the rest of the cases: cli/main.test.ts)', async () => {
    for (const args of [['run', '-i', agent.instanceId], ['frobnicate']]) {
      const r = await assist(args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${show(r)}`);
      assert.match(r.stderr, /^error: /m);
    }
  });

  it('--tag that matches no online instance: exit 1, nothing run', async () => {
    const r = await assist(['run', '--tag', 'team=nobody', '--', 'true']);
    assert.equal(r.status, 1, show(r));
    assert.match(r.stderr, /no online instance has tag team=nobody/);
  });

  it('configure writes a 0600 profile that later commands use', async () => {
    const profileHome = mkdtempSync(join(tmpdir(), 'oca-cli-profile-'));
    try {
      const bare = { HOME: profileHome };
      const answers = `${h.key.accessKeyId}\n${h.key.accessKeySecret}\n${h.hostPort}\ncn-local\n${h.caPath}\n`;
      const c = await assist(['configure', '--profile', 'lab'], { env: bare, stdin: answers });
      assert.equal(c.status, 0, show(c));
      const file = join(profileHome, '.assist', 'config.json');
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.equal(statSync(join(profileHome, '.assist')).mode & 0o777, 0o700);
      assert.ok(!c.stdout.includes(h.key.accessKeySecret) && !c.stderr.includes(h.key.accessKeySecret));

      const r = await assist(['--profile', 'lab', 'run', '--all', '--json', '--', 'echo via-profile'], { env: bare });
      assert.equal(r.status, 0, show(r));
      assert.equal(onlyResult(r).Output, 'via-profile\n');
      // The first profile written is the current one: no --profile needed.
      const i = await assist(['instances'], { env: bare });
      assert.equal(i.status, 0, show(i));
      assert.ok(i.stdout.includes(agent.instanceId));
      const missing = await assist(['--profile', 'nope', 'instances'], { env: bare });
      assert.equal(missing.status, 1, show(missing));
      assert.match(missing.stderr, /profile nope is not in the profile file/);
    } finally {
      rmSync(profileHome, { recursive: true, force: true });
    }
  });
});
