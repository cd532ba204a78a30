// agent/tasks against a real HTTPS luban stand-in, real processes and real users.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  TaskEngine,
  posixRunAs,
  type PowerAction,
  type PowerPort,
  type TaskEngineOptions,
} from '../../agent/tasks/index.js';
import { agentPaths, createMemoryLogger, type AgentPaths } from '../../agent/shared/index.js';
import { HttpClient } from '../../agent/http/index.js';
import { detectContainment } from '../../agent/executor/index.js';

interface Recorded {
  kind: string;
  query: URLSearchParams;
  body: Buffer;
  at: number;
}
type Canned = { status: number; body: string } | { json: unknown };

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const uid = (): string => `t-${randomBytes(5).toString('hex')}`;
const RUN = 'RunShellScript';

/** A `run`/`stop` entry as the server sends it. */
function entry(
  taskID: string,
  script: string,
  task: Record<string, unknown> = {},
  output: Record<string, unknown> = {},
  repeat = 'Once',
) {
  return {
    task: {
      taskID,
      invokeVersion: 0,
      type: RUN,
      commandId: 'c-test',
      commandName: 'itest',
      commandContent: b64(script),
      timeOut: '60',
      ...task,
    },
    output: { interval: 1000, logQuota: 12000, skipEmpty: false, sendStart: false, ...output },
    repeat,
  };
}

// Things that happen at once (a report, a spawn); the deadline is slack for a loaded machine.
async function waitFor<T>(what: string, get: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = get();
    if (v !== undefined) {
      return v;
    }
    if (Date.now() > end) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** State and process group of a process, from /proc; undefined once it is gone. */
function procStat(pid: number): { state: string; pgrp: number; startTicks: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0]!, pgrp: Number(fields[2]), startTicks: Number(fields[19]) };
  } catch {
    return undefined;
  }
}

/** A zombie waiting for init to reap it counts as gone. */
const alive = (pid: number): boolean => {
  const st = procStat(pid);
  return st !== undefined && st.state !== 'Z';
};

/** Live members of a process group. */
function groupMembers(pgid: number): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => procStat(pid)?.pgrp === pgid && alive(pid));
}

describe('TaskEngine (integration)', { timeout: 60_000 }, () => {
  let dir: string;
  let server: Server;
  let host: string;
  let caPem: string;
  let http: HttpClient;
  let paths: AgentPaths;
  let engine: TaskEngine;
  const log = createMemoryLogger();
  const listQueue: Canned[] = [];
  const listCalls: URLSearchParams[] = [];
  const reports: Recorded[] = [];
  /** taskId → how many more final reports to answer with 500. */
  const failFinal = new Map<string, number>();
  /** taskId → how many more running reports to answer with 500. */
  const failRunning = new Map<string, number>();
  const users: string[] = [];
  const groups: string[] = [];

  /** A throwaway user (removed after the suite); `home` is created unless `noHome`. */
  function makeUser(prefix: string, o: { groups?: string[]; noHome?: boolean } = {}): { name: string; home: string } {
    const name = `${prefix}${randomBytes(3).toString('hex')}`;
    const home = join(dir, `home-${name}`);
    execFileSync(
      'useradd',
      [
        o.noHome ? '-M' : '-m',
        '-d',
        home,
        '-s',
        '/bin/sh',
        ...(o.groups && o.groups.length > 0 ? ['-G', o.groups.join(',')] : []),
        name,
      ],
      { stdio: 'ignore' },
    );
    users.push(name);
    return { name, home };
  }
  function makeGroup(prefix: string): string {
    const name = `${prefix}${randomBytes(3).toString('hex')}`;
    execFileSync('groupadd', [name], { stdio: 'ignore' });
    groups.push(name);
    return name;
  }

  /** Power actions the engines asked for, with the time of the request. */
  const powerRequests: { action: PowerAction; taskId: string; at: number }[] = [];
  const power: PowerPort = {
    request: async (action, reason) => {
      powerRequests.push({ action, taskId: reason.taskId, at: Date.now() });
    },
  };

  const reportsFor = (id: string): Recorded[] => reports.filter((r) => r.query.get('taskId') === id);
  const makeEngine = (o: Partial<TaskEngineOptions> = {}): TaskEngine =>
    new TaskEngine({
      host,
      http,
      log,
      paths,
      power,
      reportRetry: { initialMs: 50, maxMs: 200 },
      fetchRetryDelayMs: 50,
      emptyKickRefetchMs: 200,
      killGraceMs: 300,
      ...o,
    });
  /** Paths of a separate agent install (its own outbox and journal). */
  const otherPaths = (): AgentPaths => agentPaths(join(dir, `install-${randomBytes(3).toString('hex')}`), '9.9.9.9');
  /** Serves one list answer with these run/stop entries, fetches, and waits for every task to end. */
  async function deliver(list: { run?: unknown[]; stop?: unknown[] }, wait = true): Promise<void> {
    listQueue.push({ json: { code: 200, instanceId: 'i-test', ...list } });
    await engine.fetch({ reason: 'kickoff' });
    if (wait) {
      await engine.idle();
    }
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'oca-tasks-'));
    chmodSync(dir, 0o755); // users created below must be able to reach the install dir
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    caPem = readFileSync(join(dir, 'cert.pem'), 'utf8');
    server = createServer({ key: readFileSync(join(dir, 'key.pem')), cert: caPem }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'https://x');
        if (url.pathname === '/luban/api/v1/task/list') {
          listCalls.push(url.searchParams);
          const next = listQueue.shift() ?? { json: { code: 200, instanceId: 'i-test' } };
          if ('status' in next) {
            res.writeHead(next.status).end(next.body);
          } else {
            res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(next.json));
          }
          return;
        }
        const m = /^\/luban\/api\/v1\/task\/(\w+)$/.exec(url.pathname);
        if (m && req.method === 'POST') {
          reports.push({ kind: m[1]!, query: url.searchParams, body: Buffer.concat(chunks), at: Date.now() });
          const id = url.searchParams.get('taskId') ?? '';
          const failing = m[1] === 'running' ? failRunning : failFinal;
          const fails = failing.get(id) ?? 0;
          if (fails > 0) {
            failing.set(id, fails - 1);
            res.writeHead(500).end('try later');
            return;
          }
          res.writeHead(200).end('ok');
          return;
        }
        res.writeHead(404).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    http = new HttpClient({ userAgent: 'linux_amd64/test', caPem });
    paths = agentPaths(join(dir, 'install'), '9.9.9.9');
    engine = makeEngine();
    await engine.start();
  });

  after(async () => {
    await engine.stop(AbortSignal.timeout(5_000));
    http.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    for (const u of users) {
      try {
        execFileSync('userdel', ['-r', u], { stdio: 'ignore' });
      } catch {
        execFileSync('userdel', [u], { stdio: 'ignore' });
      }
    }
    for (const g of groups) {
      try {
        execFileSync('groupdel', [g], { stdio: 'ignore' });
      } catch {
        // removed with its user already
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs a script: start report first, then finish with the exit code and output', async () => {
    const id = uid();
    const t0 = Date.now();
    await deliver({ run: [entry(id, 'echo hello; exit 3', {}, { sendStart: true })] });
    const rs = reportsFor(id);
    assert.deepEqual(
      rs.map((r) => r.kind),
      ['running', 'finish'],
    );
    const [start, fin] = rs as [Recorded, Recorded];
    assert.equal(start.body.length, 0);
    assert.equal(fin.query.get('exitCode'), '3');
    assert.equal(fin.query.get('dropped'), '0');
    assert.equal(fin.body.toString(), 'hello\n');
    const s = Number(fin.query.get('start'));
    const e = Number(fin.query.get('end'));
    assert.ok(s >= t0 - 1000 && s <= e && e <= Date.now(), `start ${s} end ${e}`);
    assert.equal(start.query.get('start'), String(s));
    assert.equal(engine.runningCount, 0);
    // The script file stays (re-delivery de-dup), private to root.
    const file = join(paths.scriptDir, `itest-${id}.sh`);
    assert.equal(statSync(file).mode & 0o777, 0o700);
    assert.equal(statSync(paths.scriptDir).mode & 0o777, 0o700);
    assert.equal(readFileSync(file, 'utf8'), 'echo hello; exit 3');
  });

  it('gives the script an explicit environment and substitutes parameters', async () => {
    process.env['OCA_AGENT_ONLY_SECRET'] = 'do-not-leak';
    const id = uid();
    try {
      await deliver({
        run: [
          entry(
            id,
            'echo "{{ACS::InvokeId}} {{ ACS::InstanceId }} {{ACS::CommandId}} {{ACS::RegionId}} {{ACS::Nope}}"; env',
            { enableParameter: true, builtInParameter: { RegionId: 'cn-test' }, invokeVersion: 2 },
          ),
        ],
      });
    } finally {
      delete process.env['OCA_AGENT_ONLY_SECRET'];
    }
    const fin = reportsFor(id).find((r) => r.kind === 'finish');
    assert.ok(fin);
    const [first, ...env] = fin.body.toString().trimEnd().split('\n');
    assert.equal(first, `${id} i-test c-test cn-test {{ACS::Nope}}`);
    const vars = new Map(env.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    assert.equal(vars.get('PATH'), '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
    assert.equal(vars.get('LANG'), 'C.UTF-8');
    assert.equal(vars.get('USER'), 'root');
    assert.equal(vars.get('HOME'), '/root');
    assert.equal(vars.get('PWD'), '/root'); // no workingDirectory: the user's home
    assert.ok(!vars.has('OCA_AGENT_ONLY_SECRET'));
    assert.ok(existsSync(join(paths.scriptDir, `itest-${id}.iv2.sh`)));
  });

  it('streams more than 6000 bytes in running chunks of at most 2048, then pings', async () => {
    const id = uid();
    // Six 3000-byte lines, 0.9 s apart: ticks at 1, 2, 3 s take 2048 each, later ticks only ping.
    const script = 'for i in 1 2 3 4 5 6; do printf "%02999d\\n" $i; sleep 0.9; done';
    await deliver({ run: [entry(id, script)] });
    const full = Buffer.from([1, 2, 3, 4, 5, 6].map((i) => `${String(i).padStart(2999, '0')}\n`).join(''));
    const rs = reportsFor(id);
    const running = rs.filter((r) => r.kind === 'running');
    const fin = rs.find((r) => r.kind === 'finish');
    assert.ok(fin);
    assert.ok(running.every((r) => r.body.length <= 2048));
    const streamed = Buffer.concat(running.map((r) => r.body));
    assert.ok(streamed.length > 6000 && streamed.length <= 8048, `streamed ${streamed.length}`);
    assert.ok(streamed.equals(full.subarray(0, streamed.length)));
    const lastData = running.findLastIndex((r) => r.body.length > 0);
    assert.ok(
      running.slice(lastData + 1).some((r) => r.body.length === 0),
      'an empty ping after the cap',
    );
    assert.equal(streamed.length + fin.body.length, 12_000);
    assert.equal(Number(fin.query.get('dropped')), full.length - 12_000);
    assert.ok(fin.body.equals(full.subarray(full.length - fin.body.length)));
    assert.equal(fin.query.get('exitCode'), '0');
  });

  it('keeps a 2 MB output within logQuota and sends its tail', async () => {
    const id = uid();
    const script = "printf '%05000d' 0; sleep 1.3; head -c 2000000 /dev/zero | tr '\\0' x; echo; echo LAST-LINE-42";
    await deliver({ run: [entry(id, script, {}, { logQuota: 24576 })] });
    const rs = reportsFor(id);
    const fin = rs.find((r) => r.kind === 'finish');
    assert.ok(fin);
    const streamed = rs.filter((r) => r.kind === 'running').reduce((n, r) => n + r.body.length, 0);
    assert.ok(streamed >= 2048, 'the first tick streamed');
    assert.equal(streamed + fin.body.length, 24_576);
    const total = 5000 + 2_000_000 + 1 + 'LAST-LINE-42\n'.length;
    assert.equal(Number(fin.query.get('dropped')), total - 24_576);
    assert.ok(fin.body.toString().endsWith('x\nLAST-LINE-42\n'));
  });

  it('kills a task at its timeout and reports timeout with exitCode 1', async () => {
    const id = uid();
    const t0 = Date.now();
    await deliver({
      run: [entry(id, "echo $$; cut -d' ' -f5 /proc/$$/stat; sleep 30", { timeOut: '1' }, { interval: 5000 })],
    });
    const rs = reportsFor(id);
    assert.deepEqual(
      rs.map((r) => r.kind),
      ['timeout'],
    );
    const r = rs[0]!;
    assert.ok(r.at - t0 < 3_000, `took ${r.at - t0} ms`);
    assert.equal(r.query.get('exitCode'), '1');
    const [pid, pgid] = r.body.toString().trim().split('\n').map(Number) as [number, number];
    assert.ok(pid > 1 && pgid > 1);
    assert.ok(!alive(pid), 'the script is gone');
    assert.deepEqual(groupMembers(pgid), [], 'and so is its process group');
  });

  it('reports invalid type, content, user and working directory, and nothing else', async () => {
    const ids = [uid(), uid(), uid(), uid(), uid()];
    const marker = join(dir, 'invalid-ran');
    const script = `touch ${marker}`;
    await deliver({
      run: [
        entry(ids[0]!, script, { type: 'Bogus' }),
        entry(ids[1]!, script, { type: 'RunBatScript' }),
        { ...entry(ids[2]!, ''), task: { ...entry(ids[2]!, '').task, commandContent: 'aGVsbG8' } },
        entry(ids[3]!, script, { username: 'no-such-user-oca' }),
        entry(ids[4]!, script, { workingDirectory: join(dir, 'missing') }),
      ],
    });
    const got = ids.map((id) => reportsFor(id).map((r) => [r.kind, r.query.get('param'), r.query.get('value')]));
    assert.deepEqual(got, [
      [['invalid', 'TypeInvalid', 'TypeInvalid_Bogus']],
      [['invalid', 'TypeInvalid', 'TypeInvalid_RunBatScript']],
      [['invalid', 'CommandContentInvalid', 'illegal base64 data at input byte 4']],
      [['invalid', 'UsernameOrPasswordInvalid', 'UserInvalid_no-such-user-oca: user: unknown user no-such-user-oca']],
      [['invalid', 'workingDirectory', 'WorkingDirectoryNotExist: <nil>']],
    ]);
    assert.ok(reportsFor(ids[0]!)[0]!.body.length === 0);
    assert.ok(!existsSync(marker), 'no invalid task ran');
  });

  it('reports a script that cannot start as an error (PowerShell without pwsh)', async () => {
    // Debian does not package pwsh; should a machine have it, this case cannot be produced there.
    assert.ok(
      !existsSync('/usr/bin/pwsh') && !existsSync('/usr/local/bin/pwsh'),
      'this case needs a machine without pwsh',
    );
    const id = uid();
    await deliver({ run: [entry(id, 'Write-Output hi', { type: 'RunPowerShellScript' })] });
    const rs = reportsFor(id);
    assert.deepEqual(
      rs.map((r) => [r.kind, r.query.get('errCode'), r.query.get('start'), r.query.get('end')]),
      [['error', '-10', '0', '0']],
    );
    assert.match(rs[0]!.query.get('errDesc') ?? '', /^PowershellNotFound: /);
    assert.ok(existsSync(join(paths.scriptDir, `itest-${id}.ps1`)));
  });

  it('empties the script of a task with secretContent once it ran, and still refuses a re-delivery', async () => {
    const id = uid();
    const marker = join(dir, `ran-${id}`);
    const e = entry(id, `echo s3cret-value >> ${marker}`, { invokeVersion: 1, secretContent: true });
    await deliver({ run: [e] });
    const file = join(paths.scriptDir, `itest-${id}.iv1.sh`);
    assert.equal(statSync(file).size, 0, 'no copy of the secret content stays');
    await deliver({ run: [e] });
    assert.deepEqual(
      reportsFor(id).map((r) => r.kind),
      ['finish', 'error'],
    );
    assert.equal(readFileSync(marker, 'utf8'), 's3cret-value\n', 'it ran once');
  });

  it('writes the secret script of an EveryReboot task again for each run, and empties it after', async () => {
    const id = uid();
    const marker = join(dir, `ran-${id}`);
    const e = entry(id, `echo boot >> ${marker}`, { secretContent: true }, {}, 'EveryReboot');
    await deliver({ run: [e] });
    const file = join(paths.scriptDir, `itest-${id}.sh`);
    assert.equal(statSync(file).size, 0);
    await deliver({ run: [e] });
    assert.equal(readFileSync(marker, 'utf8'), 'boot\nboot\n', 'the emptied script was written again and ran');
    assert.equal(statSync(file).size, 0);
  });

  it('refuses a re-delivered one-shot task with ScriptFileExisted and does not run it again', async () => {
    const id = uid();
    const marker = join(dir, `ran-${id}`);
    const e = entry(id, `echo run >> ${marker}`, { invokeVersion: 1 });
    await deliver({ run: [e] });
    await deliver({ run: [e] });
    const rs = reportsFor(id);
    assert.deepEqual(
      rs.map((r) => r.kind),
      ['finish', 'error'],
    );
    const err = rs[1]!;
    assert.equal(err.query.get('errCode'), '-9');
    assert.equal(err.query.get('errDesc'), `ScriptFileExisted: ${join(paths.scriptDir, `itest-${id}.iv1.sh`)}`);
    assert.equal(err.query.get('start'), '0');
    assert.equal(err.query.get('end'), '0');
    assert.equal(err.body.length, 0);
    assert.equal(readFileSync(marker, 'utf8'), 'run\n');
  });

  it('ignores a run entry for a task that is still running', async () => {
    const id = uid();
    const e = entry(id, 'sleep 0.5; echo once');
    await deliver({ run: [e] }, false);
    assert.equal(engine.runningCount, 1);
    await deliver({ run: [e] });
    assert.deepEqual(
      reportsFor(id).map((r) => [r.kind, r.body.toString()]),
      [['finish', 'once\n']],
    );
  });

  it('runs as a user created for the test, in its home by default', async () => {
    const { name, home } = makeUser('oct');
    const id = uid();
    await deliver({ run: [entry(id, 'id -un; pwd; echo "$HOME $USER $LOGNAME $SHELL"', { username: name })] });
    const fin = reportsFor(id).find((r) => r.kind === 'finish');
    assert.ok(fin, JSON.stringify(reportsFor(id).map((r) => [r.kind, r.query.get('errDesc')])));
    assert.equal(fin.body.toString(), `${name}\n${home}\n${home} ${name} ${name} /bin/sh\n`);
    const script = join(dir, 'install', 'work', 'script-user', `itest-${id}.sh`);
    const st = statSync(script);
    assert.equal(st.uid, Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim()));
    assert.equal(st.mode & 0o777, 0o700);
    assert.equal(statSync(join(dir, 'install', 'work', 'script-user')).mode & 0o777, 0o711);
  });

  it('refuses a user whose home is missing when no working directory is given', async () => {
    const { name } = makeUser('ocn', { noHome: true });
    const id = uid();
    await deliver({ run: [entry(id, 'true', { username: name })] });
    assert.deepEqual(
      reportsFor(id).map((r) => [r.kind, r.query.get('param'), r.query.get('value')]),
      [['invalid', 'workingDirectory', 'DefaultWorkingDirectoryNotAvailable: <nil>']],
    );
  });

  it('stops a running task: stopped/killed report, no final report, the process tree is gone', async () => {
    const id = uid();
    const e = entry(id, 'echo $$; sleep 30 & sleep 30; echo never');
    await deliver({ run: [e] }, false);
    const first = await waitFor('the pid in a running report', () =>
      reportsFor(id).find((r) => r.kind === 'running' && r.body.length > 0),
    );
    const pid = Number(first.body.toString().trim());
    const pgid = procStat(pid)?.pgrp ?? 0;
    assert.ok(alive(pid) && pgid > 1);
    assert.ok(groupMembers(pgid).length >= 3, 'the script and its sleeps share a group');
    await deliver({ stop: [e] });
    const rs = reportsFor(id).filter((r) => r.kind !== 'running');
    assert.deepEqual(
      rs.map((r) => [r.kind, r.query.get('result')]),
      [['stopped', 'killed']],
    );
    const stopped = rs[0]!;
    assert.equal(stopped.query.get('start'), first.query.get('start'));
    assert.ok(Number(stopped.query.get('end')) >= Number(stopped.query.get('start')));
    assert.equal(stopped.query.get('exitcode'), '0');
    assert.equal(stopped.body.length, 0);
    assert.ok(!alive(pid));
    assert.deepEqual(groupMembers(pgid), []);
    assert.equal(engine.runningCount, 0);
  });

  it('answers a stop for an unknown task with the zero-valued stopped report', async () => {
    const id = uid();
    await deliver({ stop: [entry(id, 'true')] });
    const rs = reportsFor(id);
    assert.equal(rs.length, 1);
    assert.equal(rs[0]!.kind, 'stopped');
    assert.equal(
      rs[0]!.query.toString(),
      `taskId=${id}&invokeVersion=0&start=0&end=0&exitcode=0&dropped=0&result=killed`,
    );
  });

  it('retries the task-list fetch after 500s, then runs what it gets', async () => {
    const id = uid();
    const before = listCalls.length;
    listQueue.push({ status: 500, body: 'down' }, { status: 502, body: 'down' });
    await deliver({ run: [entry(id, 'echo ok')] });
    assert.equal(listCalls.length - before, 3);
    const q = listCalls.at(-1)!;
    assert.equal(q.get('reason'), 'kickoff');
    assert.ok(Math.abs(Number(q.get('currentTime')) - Date.now()) < 10_000);
    assert.equal(q.get('offset'), String(-new Date().getTimezoneOffset() * 60));
    assert.ok((q.get('timeZone') ?? '') !== '');
    assert.deepEqual(
      reportsFor(id).map((r) => r.kind),
      ['finish'],
    );
  });

  it('gives up after 4 failed attempts', async () => {
    const before = listCalls.length;
    listQueue.push(...Array.from({ length: 5 }, () => ({ status: 503, body: 'down' })));
    await engine.fetch({ reason: 'kickoff', taskId: 't-x' });
    assert.equal(listCalls.length - before, 4);
    assert.equal(listCalls.at(-1)!.get('taskId'), 't-x');
    listQueue.length = 0;
  });

  it('repeats the fetch after a code 408 answer', async () => {
    const id = uid();
    const before = listCalls.length;
    listQueue.push({ json: { code: 408 } });
    await deliver({ run: [entry(id, 'echo ok')] });
    assert.equal(listCalls.length - before, 2);
    assert.deepEqual(
      reportsFor(id).map((r) => r.kind),
      ['finish'],
    );
  });

  it('fetches once more after an empty kick, but not after an empty startup fetch', async () => {
    const id = uid();
    let before = listCalls.length;
    listQueue.push({ json: { code: 200, instanceId: 'i-test' } });
    await deliver({ run: [entry(id, 'echo late')] });
    assert.equal(listCalls.length - before, 2);
    assert.deepEqual(
      reportsFor(id).map((r) => r.kind),
      ['finish'],
    );
    before = listCalls.length;
    await engine.fetch({ reason: 'startup', coldStart: true });
    assert.equal(listCalls.length - before, 1);
    assert.equal(listCalls.at(-1)!.get('reason'), 'startup');
    assert.equal(listCalls.at(-1)!.get('cold_start'), 'true');
  });

  it('without a scheduler, a periodic task is not run and a warning says why', async () => {
    const id = uid();
    await deliver({ run: [entry(id, 'echo no', { cron: '0 0 * * * *' }, {}, 'Period')] });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(reportsFor(id).length, 0);
    assert.ok(
      log.events.some(
        (e) => e.level === 'warn' && e.msg === 'periodic task not scheduled: no scheduler' && e.fields['taskId'] === id,
      ),
    );
  });

  it('output of a running report the server refused is sent again, in order, and none is lost', async () => {
    const id = uid();
    failRunning.set(id, 2);
    await deliver({ run: [entry(id, 'echo one; sleep 1.2; echo two; sleep 1.2; echo three; sleep 1.2')] });
    const mine = reportsFor(id);
    const runningAt = mine.flatMap((r, i) => (r.kind === 'running' ? [i] : []));
    const refused = new Set(runningAt.slice(0, 2)); // the first two running reports got a 500
    const accepted = mine.filter((_, i) => !refused.has(i));
    // What the server kept (accepted running bodies, then the final body) is the whole output once.
    assert.equal(Buffer.concat(accepted.map((r) => r.body)).toString(), 'one\ntwo\nthree\n', JSON.stringify(mine));
    assert.equal(mine.at(-1)!.kind, 'finish');
  });

  it('retries a final report answered with 500', async () => {
    const id = uid();
    failFinal.set(id, 2);
    await deliver({ run: [entry(id, 'echo x')] });
    assert.deepEqual(
      reportsFor(id).map((r) => r.kind),
      ['finish', 'finish', 'finish'],
    );
  });

  it('stop() cancels running tasks, which then report nothing', async () => {
    const other = makeEngine({ paths: otherPaths() });
    await other.start();
    const id = uid();
    listQueue.push({
      json: { code: 200, instanceId: 'i-test', run: [entry(id, 'echo $$; sleep 30', {}, { sendStart: true })] },
    });
    await other.fetch({ reason: 'kickoff' });
    await waitFor('the start report', () => reportsFor(id).find((r) => r.kind === 'running'));
    assert.equal(other.runningCount, 1);
    const t0 = Date.now();
    await other.stop(AbortSignal.timeout(3_000));
    assert.ok(Date.now() - t0 < 2_000);
    assert.equal(other.runningCount, 0);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(
      reportsFor(id).map((r) => r.kind),
      ['running'],
    );
  });

  it('runs as a user with its supplementary groups: reads a file only that group can read', async () => {
    const group = makeGroup('ocg');
    const member = makeUser('ocm', { groups: [group] });
    const outsider = makeUser('oco');
    const secret = join(dir, `group-only-${randomBytes(3).toString('hex')}`);
    writeFileSync(secret, 'for the group\n');
    chownSync(secret, 0, Number(execFileSync('getent', ['group', group], { encoding: 'utf8' }).split(':')[2]));
    chmodSync(secret, 0o640);
    const [a, b] = [uid(), uid()];
    await deliver({
      run: [
        entry(a, `id -un; id -Gn; cat ${secret}`, { username: member.name }),
        entry(b, `cat ${secret}`, { username: outsider.name }),
      ],
    });
    const finA = reportsFor(a).find((r) => r.kind === 'finish');
    assert.ok(finA, JSON.stringify(reportsFor(a).map((r) => [r.kind, r.query.get('errDesc')])));
    const [who, groupNames, content] = finA.body.toString().split('\n');
    assert.equal(who, member.name);
    assert.ok(groupNames!.split(' ').includes(group), `groups: ${groupNames}`);
    assert.equal(content, 'for the group');
    assert.equal(finA.query.get('exitCode'), '0');
    const finB = reportsFor(b).find((r) => r.kind === 'finish');
    assert.ok(finB);
    assert.notEqual(finB.query.get('exitCode'), '0');
    assert.match(finB.body.toString(), /Permission denied/);
  });

  it('without setpriv, a task as another user is an error report and never runs', async () => {
    const e2 = makeEngine({ paths: otherPaths(), runAs: posixRunAs(undefined, 0) });
    await e2.start();
    const u = makeUser('ocx');
    const id = uid();
    const marker = join(dir, `ran-${id}`);
    listQueue.push({
      json: { code: 200, instanceId: 'i-test', run: [entry(id, `touch ${marker}`, { username: u.name })] },
    });
    await e2.fetch({ reason: 'kickoff' });
    await e2.idle();
    await e2.stop(AbortSignal.timeout(2_000));
    assert.deepEqual(
      reportsFor(id).map((r) => [r.kind, r.query.get('errCode'), r.query.get('errDesc'), r.query.get('start')]),
      [
        [
          'error',
          '2',
          'ExecuteScriptFailed.NoSuchFileOrDirectory: setpriv (util-linux) is required to run commands as another user and was not found',
          '0',
        ],
      ],
    );
    assert.ok(!existsSync(marker));
  });

  for (const how of ['stop', 'timeout'] as const) {
    it(`leaves no forked sleep grandchild alive after a ${how}`, async () => {
      const id = uid();
      const pids = join(dir, `pids-${id}`);
      // Children, a grandchild through a subshell that exits at once (reparented), and a nested shell.
      const script = [
        `echo $$ >> ${pids}`,
        `sleep 301 & echo $! >> ${pids}`,
        `(sleep 302 & echo $! >> ${pids})`,
        `sh -c 'sleep 303 & echo $! >> ${pids}; sleep 304' &`,
        'sleep 0.3; echo ready',
        'sleep 305',
      ].join('\n');
      const e = entry(id, script, how === 'timeout' ? { timeOut: '2' } : {}, { interval: 1000 });
      await deliver({ run: [e] }, false);
      await waitFor('the script to start its children', () =>
        reportsFor(id).find((r) => r.kind === 'running' && r.body.toString().includes('ready')),
      );
      const started = readFileSync(pids, 'utf8').trim().split('\n').map(Number);
      assert.equal(started.length, 4);
      assert.ok(started.every(alive), 'all started');
      const pgid = procStat(started[0]!)!.pgrp;
      assert.ok(groupMembers(pgid).length >= 6, 'the script, its shells and sleeps share one group');
      if (how === 'stop') {
        await deliver({ stop: [e] });
      } else {
        await engine.idle();
      }
      assert.deepEqual(
        reportsFor(id)
          .filter((r) => r.kind !== 'running')
          .map((r) => r.kind),
        [how === 'stop' ? 'stopped' : 'timeout'],
      );
      // `sleep 304`'s pid is not recorded; the group check covers it.
      assert.deepEqual(started.filter(alive), [], 'no process of the task survives');
      assert.deepEqual(groupMembers(pgid), []);
      const ps = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
      assert.ok(!/sleep 30[1-5]/.test(ps), ps);
    });
  }

  it('with a cgroup containment, a stopped task also loses what called setsid, in a cgroup named after it', async (t) => {
    // Tests run as root on Linux with cgroup v2 (the machines this project targets): required here.
    const d = detectContainment();
    assert.ok(d.kind === 'cgroup-v2', `no writable cgroup v2: ${d.kind === 'cgroup-v2' ? '' : d.reason}`);
    const e2 = makeEngine({ paths: otherPaths(), containment: d.containment });
    await e2.start();
    const id = uid();
    const started = join(dir, `escaped-${id}`);
    const script = [
      `setsid -f sh -c 'echo $$ > ${started}; cat /proc/self/cgroup >> ${started}; exec sleep 306' >/dev/null 2>&1`,
      `while [ ! -s ${started} ]; do sleep 0.01; done`,
      'echo ready',
      'sleep 307',
    ].join('\n');
    const e = entry(id, script);
    listQueue.push({ json: { code: 200, instanceId: 'i-test', run: [e] } });
    await e2.fetch({ reason: 'kickoff' });
    await waitFor('the script to start', () =>
      reportsFor(id).find((r) => r.kind === 'running' && r.body.toString().includes('ready')),
    );
    const [escaped, ...cgroup] = readFileSync(started, 'utf8').trim().split('\n');
    t.after(() => {
      try {
        process.kill(Number(escaped), 'SIGKILL'); // only when the test failed
      } catch {
        // gone, as it should be
      }
    });
    assert.match(cgroup.join('\n'), new RegExp(`^0::.*/${id}\\.${process.pid}\\.\\d+$`, 'm'));
    listQueue.push({ json: { code: 200, instanceId: 'i-test', stop: [e] } });
    await e2.fetch({ reason: 'kickoff' });
    await e2.idle();
    await e2.stop(AbortSignal.timeout(2_000));
    assert.deepEqual(
      reportsFor(id)
        .filter((r) => r.kind !== 'running')
        .map((r) => r.kind),
      ['stopped'],
    );
    await waitFor('the escaped process to die', () => (alive(Number(escaped)) ? undefined : true), 3000);
    await waitFor('the task cgroup to go', () =>
      readdirSync(d.tasksDir).some((n) => n.startsWith(`${id}.`)) ? undefined : true,
    );
  });

  it('powers off (193) and reboots (194) only after the final report is accepted', async () => {
    const [off, reboot, other] = [uid(), uid(), uid()];
    failFinal.set(off, 2);
    await deliver({
      run: [entry(off, 'exit 193'), entry(reboot, 'echo bye; exit 194'), entry(other, 'kill -9 $$')],
    });
    const req = (id: string) => powerRequests.filter((p) => p.taskId === id);
    assert.deepEqual(
      req(off).map((p) => p.action),
      ['powerOff'],
    );
    assert.deepEqual(
      req(reboot).map((p) => p.action),
      ['reboot'],
    );
    assert.deepEqual(req(other), []);
    const finOff = reportsFor(off).filter((r) => r.kind === 'finish');
    assert.equal(finOff.length, 3, 'two refused, the third accepted');
    assert.ok(finOff[2]!.at <= req(off)[0]!.at, 'the power request came after the accepted report');
    assert.equal(finOff[2]!.query.get('exitCode'), '193');
    const finReboot = reportsFor(reboot).find((r) => r.kind === 'finish');
    assert.equal(finReboot?.body.toString(), 'bye\n');
    assert.ok(finReboot.at <= req(reboot)[0]!.at);
  });

  it('runs at most maxRunning tasks at once, queues maxQueued, refuses the rest with TaskQueueFull', async () => {
    const e2 = makeEngine({ paths: otherPaths(), maxRunning: 2, maxQueued: 2 });
    await e2.start();
    const ids = Array.from({ length: 6 }, uid);
    const script = 'date +%s%3N; sleep 0.6; date +%s%3N';
    listQueue.push({ json: { code: 200, instanceId: 'i-test', run: ids.map((id) => entry(id, script)) } });
    await e2.fetch({ reason: 'kickoff' });
    assert.equal(e2.runningCount, 2);
    assert.equal(e2.queuedCount, 2);
    // A queued task that is stopped never runs and gets the zero-valued stopped report.
    listQueue.push({ json: { code: 200, instanceId: 'i-test', stop: [entry(ids[3]!, script)] } });
    await e2.fetch({ reason: 'kickoff' });
    assert.equal(e2.queuedCount, 1);
    await e2.idle();
    await e2.stop(AbortSignal.timeout(2_000));

    const kinds = ids.map((id) => reportsFor(id).map((r) => r.kind));
    assert.deepEqual(kinds, [['finish'], ['finish'], ['finish'], ['stopped'], ['error'], ['error']]);
    for (const id of ids.slice(4)) {
      const r = reportsFor(id)[0]!;
      assert.equal(r.query.get('errCode'), '-13');
      assert.equal(
        r.query.get('errDesc'),
        'TaskQueueFull: the agent is running 2 tasks and has 2 waiting; this task was not run',
      );
      assert.equal(r.query.get('start'), '0');
    }
    assert.equal(reportsFor(ids[3]!)[0]!.query.get('start'), '0');
    const spans = ids.slice(0, 3).map((id) => {
      const [s0, e0] = reportsFor(id)[0]!.body.toString().trim().split('\n').map(Number) as [number, number];
      return { s0, e0 };
    });
    const overlapAt = (t: number) => spans.filter((x) => x.s0 <= t && t < x.e0).length;
    const most = Math.max(...spans.map((x) => overlapAt(x.s0)));
    assert.equal(most, 2, `at most 2 at once: ${JSON.stringify(spans)}`);
  });

  it('keeps a final report on disk (dir 0700, file 0600) until the server takes it, across a restart', async () => {
    const p = otherPaths();
    const a = makeEngine({ paths: p, reportRetry: { initialMs: 10_000, maxMs: 10_000 } });
    await a.start();
    const id = uid();
    failFinal.set(id, 1_000);
    listQueue.push({ json: { code: 200, instanceId: 'i-test', run: [entry(id, 'echo kept')] } });
    await a.fetch({ reason: 'kickoff' });
    await waitFor('the refused finish report', () => reportsFor(id).find((r) => r.kind === 'finish'));
    const outbox = join(p.stateDir, 'outbox');
    const files = readdirSync(outbox);
    assert.equal(files.length, 1);
    assert.equal(statSync(outbox).mode & 0o777, 0o700);
    assert.equal(statSync(join(outbox, files[0]!)).mode & 0o777, 0o600);
    const raw = readFileSync(join(outbox, files[0]!));
    const nl = raw.indexOf(0x0a);
    const header = JSON.parse(raw.subarray(0, nl).toString()) as { report: { kind: string; taskId: string } };
    assert.deepEqual([header.report.kind, header.report.taskId], ['finish', id]);
    assert.equal(raw.subarray(nl + 1).toString(), 'kept\n');
    // The runner drops its journal entry right after the report is on disk; the outbox's first
    // attempt may go out before that.
    await waitFor('the journal entry to go once the report is queued', () =>
      readdirSync(join(p.stateDir, 'running')).length === 0 ? true : undefined,
    );
    await a.stop(AbortSignal.timeout(2_000));
    assert.deepEqual(readdirSync(outbox), files, 'still there after the agent stopped');

    failFinal.delete(id);
    const b = makeEngine({ paths: p });
    await b.start();
    await b.idle();
    await b.stop(AbortSignal.timeout(2_000));
    const fins = reportsFor(id).filter((r) => r.kind === 'finish');
    assert.ok(fins.length >= 2);
    assert.equal(fins.at(-1)!.body.toString(), 'kept\n');
    assert.equal(fins.at(-1)!.query.toString(), fins[0]!.query.toString(), 'the same report, re-sent');
    assert.deepEqual(readdirSync(outbox), [], 'removed once accepted');
  });

  it('a re-delivery while the final report is pending neither runs again nor reports ScriptFileExisted', async () => {
    const e2 = makeEngine({ paths: otherPaths(), reportRetry: { initialMs: 400, maxMs: 400 } });
    await e2.start();
    const id = uid();
    const marker = join(dir, `ran-${id}`);
    const e = entry(id, `echo run >> ${marker}`);
    failFinal.set(id, 2);
    listQueue.push({ json: { code: 200, instanceId: 'i-test', run: [e] } });
    await e2.fetch({ reason: 'kickoff' });
    await waitFor('the first refused finish', () => reportsFor(id).find((r) => r.kind === 'finish'));
    await waitFor('the run to be over', () => (e2.runningCount === 0 ? true : undefined));
    listQueue.push({ json: { code: 200, instanceId: 'i-test', run: [e] } });
    await e2.fetch({ reason: 'kickoff' });
    await e2.idle();
    await e2.stop(AbortSignal.timeout(2_000));
    assert.deepEqual(
      reportsFor(id).map((r) => r.kind),
      ['finish', 'finish', 'finish'],
    );
    assert.equal(readFileSync(marker, 'utf8'), 'run\n');
    assert.ok(
      log.events.some((x) => x.msg === 'task already finished, its report is pending' && x.fields['taskId'] === id),
    );
  });

  it('journals a running task with its pid, and forgets it once the task is over', async () => {
    const id = uid();
    const e = entry(id, 'echo $$; sleep 30', {}, { sendStart: true });
    await deliver({ run: [e] }, false);
    const first = await waitFor('the pid', () => reportsFor(id).find((r) => r.kind === 'running' && r.body.length > 0));
    // The script's $$ may be a child of the `sh -c` that leads the group: the journal names the leader.
    const pgid = procStat(Number(first.body.toString().trim()))!.pgrp;
    const journal = join(paths.stateDir, 'running');
    const rec = await waitFor('the journal entry with the pid', () => {
      for (const f of readdirSync(journal).filter((n) => n.endsWith('.json') && !n.startsWith('.'))) {
        const r = JSON.parse(readFileSync(join(journal, f), 'utf8')) as Record<string, unknown>;
        if (r['taskId'] === id && r['pid'] === pgid) {
          return { file: f, r };
        }
      }
      return undefined;
    });
    assert.equal(statSync(journal).mode & 0o777, 0o700);
    assert.equal(statSync(join(journal, rec.file)).mode & 0o777, 0o600);
    assert.equal(rec.r['start'], Number(first.query.get('start')));
    assert.equal(rec.r['procStart'], procStat(pgid)?.startTicks);
    await deliver({ stop: [e] });
    assert.ok(!existsSync(join(journal, rec.file)));
  });

  it('on start, reports a task left in the running journal as InstanceRestarted and kills what is left of it', async () => {
    const p = otherPaths();
    // What a crashed agent leaves: a task's process group still running, and its journal entry.
    const leader = spawn('sh', ['-c', 'sleep 306 & sleep 307'], { detached: true, stdio: 'ignore' });
    const pgid = leader.pid!;
    await waitFor('the group', () => (groupMembers(pgid).length >= 3 ? true : undefined));
    const id = uid();
    const start = Date.now() - 5_000;
    mkdirSync(join(p.stateDir, 'running'), { recursive: true, mode: 0o700 });
    writeFileSync(
      join(p.stateDir, 'running', 'left-behind.json'),
      JSON.stringify({ taskId: id, invokeVersion: 4, start, pid: pgid, procStart: procStat(pgid)!.startTicks }),
    );
    const b = makeEngine({ paths: p });
    const t0 = Date.now();
    await b.start();
    await b.idle();
    await b.stop(AbortSignal.timeout(2_000));
    const rs = reportsFor(id);
    assert.deepEqual(
      rs.map((r) => [r.kind, r.query.get('invokeVersion'), r.query.get('errCode'), r.query.get('errDesc')]),
      [['error', '4', '-13', 'InstanceRestarted: the agent restarted while the task was running']],
    );
    assert.equal(Number(rs[0]!.query.get('start')), start);
    assert.ok(Number(rs[0]!.query.get('end')) >= t0);
    await waitFor('the leftovers to die', () => (groupMembers(pgid).length === 0 ? true : undefined));
    assert.deepEqual(readdirSync(join(p.stateDir, 'running')), []);
    assert.deepEqual(readdirSync(join(p.stateDir, 'outbox')), []);
  });

  it('does not kill a process that merely reuses a journalled pid', async () => {
    const p = otherPaths();
    const stranger = spawn('sleep', ['308'], { detached: true, stdio: 'ignore' });
    const pid = stranger.pid!;
    await waitFor('the stranger', () => procStat(pid));
    mkdirSync(join(p.stateDir, 'running'), { recursive: true, mode: 0o700 });
    writeFileSync(
      join(p.stateDir, 'running', 'stale.json'),
      JSON.stringify({ taskId: uid(), invokeVersion: 0, start: 1, pid, procStart: procStat(pid)!.startTicks - 1 }),
    );
    const b = makeEngine({ paths: p });
    await b.start();
    await b.idle();
    await b.stop(AbortSignal.timeout(2_000));
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(alive(pid), 'a different process with that pid is left alone');
    stranger.kill('SIGKILL');
  });

  it('logs every task line with its taskId and never the script or its output', () => {
    const text = JSON.stringify(log.events);
    for (const secret of ['echo hello', 'hello\\n', 'LAST-LINE-42', 'printf']) {
      assert.ok(!text.includes(secret), secret);
    }
    // Lines about the engine as a whole (fetches, the outbox, the journal) carry no task id.
    const taskLines = log.events.filter((e) => !/^(task (list|engine|fetch)|outbox|running journal)/.test(e.msg));
    assert.ok(taskLines.length > 10);
    for (const e of taskLines) {
      assert.ok(typeof e.fields['taskId'] === 'string', e.msg);
    }
  });
});
