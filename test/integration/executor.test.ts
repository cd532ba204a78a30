// agent/executor against real processes, a real process group and a real throwaway user.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  findSetpriv,
  runProcess,
  scriptCommand,
  setprivLaunch,
  type ExecOutcome,
  type ProcessSpec,
  type RunningProcess,
} from '../../agent/executor/index.js';

const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const TEST_USER = 'oca-exec-test';

let dir: string;
let scriptCount = 0;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'oca-executor-'));
});
after(() => {
  // A failing test must not leave processes behind: kill anything still running in our directory.
  for (const pid of processesIn(dir)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

function processesIn(root: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) {
      continue;
    }
    try {
      if (readlinkSync(`/proc/${name}/cwd`).startsWith(root)) {
        found.push(Number(name));
      }
    } catch {
      // exited, or not ours to inspect
    }
  }
  return found;
}

/** Longest a single run may take before the test fails instead of hanging. */
const RUN_LIMIT_MS = 8000;

/** Writes a shell script (mode 0755) and returns the spec that runs it the way tasks will. */
function shellScript(body: string, extra: Partial<ProcessSpec> = {}): ProcessSpec {
  scriptCount += 1;
  const path = join(dir, `script-${scriptCount}.sh`);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  const { command, args } = scriptCommand('RunShellScript', path, process.platform);
  return { command, args, cwd: dir, env: { PATH }, timeoutMs: 10_000, ...extra };
}

interface Run {
  running: RunningProcess;
  outcome: ExecOutcome;
  output: Buffer;
  chunks: number;
  started: { pid: number; startedAt: number }[];
  /** Wall time from runProcess() to the outcome, measured independently of the executor. */
  wallMs: number;
}

async function run(spec: ProcessSpec, signal?: AbortSignal, onChunk?: (all: string) => void): Promise<Run> {
  const parts: Buffer[] = [];
  const started: Run['started'] = [];
  const t0 = performance.now();
  const running = runProcess(
    spec,
    (chunk) => {
      parts.push(chunk);
      if (onChunk) {
        onChunk(Buffer.concat(parts).toString());
      }
    },
    signal,
    (pid, startedAt) => started.push({ pid, startedAt }),
  );
  let limit: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    limit = setTimeout(() => reject(new Error(`outcome did not settle within ${RUN_LIMIT_MS} ms`)), RUN_LIMIT_MS);
  });
  const outcome = await Promise.race([running.outcome, hung]).finally(() => clearTimeout(limit));
  return {
    running,
    outcome,
    output: Buffer.concat(parts),
    chunks: parts.length,
    started,
    wallMs: performance.now() - t0,
  };
}

/** Alive = exists and is not a zombie (this machine's pid 1 does not reap orphans). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2)[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** Polls for up to `ms`; returns the pids still alive at the end. */
async function survivors(pids: number[], ms = 2000): Promise<number[]> {
  const deadline = performance.now() + ms;
  let alive = pids.filter(isAlive);
  while (alive.length > 0 && performance.now() < deadline) {
    await sleep(20);
    alive = alive.filter(isAlive);
  }
  return alive;
}

function readPids(path: string): number[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map(Number);
}

function assertKind<K extends ExecOutcome['kind']>(o: ExecOutcome, kind: K): Extract<ExecOutcome, { kind: K }> {
  assert.equal(o.kind, kind, `outcome: ${JSON.stringify(o)}`);
  return o as Extract<ExecOutcome, { kind: K }>;
}

// A script that starts two background grandchildren, records their pids and its own, then sleeps.
function treeScript(pidFile: string): string {
  return [
    `sleep 300 &`,
    `echo $! >> ${pidFile}`,
    `sleep 300 &`,
    `echo $! >> ${pidFile}`,
    `echo ready`,
    `sleep 300`,
  ].join('\n');
}

void describe('exit codes and output', () => {
  void test('exit 0: exited with code 0, onStarted gets the pid and start time', async () => {
    const r = await run(shellScript('echo hello'));
    const o = assertKind(r.outcome, 'exited');
    assert.equal(o.exitCode, 0);
    assert.equal(o.signal, null);
    assert.equal(r.output.toString(), 'hello\n');
    assert.equal(typeof r.running.pid, 'number');
    assert.deepEqual(r.started, [{ pid: r.running.pid, startedAt: r.running.startedAt }]);
    assert.equal(o.startedAt, r.running.startedAt);
    assert.ok(o.endedAt >= o.startedAt && o.endedAt - o.startedAt < r.wallMs + 5, JSON.stringify(o));
  });

  void test('exit 3 is an outcome value, not an error', async () => {
    const r = await run(shellScript('echo failing >&2\nexit 3'));
    const o = assertKind(r.outcome, 'exited');
    assert.equal(o.exitCode, 3);
    assert.equal(r.output.toString(), 'failing\n');
  });

  void test('direct child killed by a signal: exitCode -1 and the signal name', async () => {
    const r = await run({ command: 'sh', args: ['-c', 'kill -KILL $$'], cwd: dir, env: { PATH }, timeoutMs: 5000 });
    const o = assertKind(r.outcome, 'exited');
    assert.equal(o.exitCode, -1);
    assert.equal(o.signal, 'SIGKILL');
  });

  void test('a script killed by a signal under `sh -c <file>` reports the wrapper shell status 128+n', async () => {
    const o = assertKind((await run(shellScript('kill -KILL $$'))).outcome, 'exited');
    assert.equal(o.exitCode, 137);
    assert.equal(o.signal, null);
  });

  void test('stdout and stderr are merged in arrival order', async () => {
    const r = await run(
      shellScript('echo out1\nsleep 0.05\necho err1 >&2\nsleep 0.05\necho out2\nsleep 0.05\necho err2 >&2\nexit 0'),
    );
    assertKind(r.outcome, 'exited');
    assert.equal(r.output.toString(), 'out1\nerr1\nout2\nerr2\n');
  });

  void test('5 MB of output arrives whole and in order through the sink', async () => {
    const size = 5 * 1024 * 1024;
    const data = Buffer.alloc(size);
    for (let i = 0; i < size; i += 4) {
      data.writeUInt32BE(i, i);
    } // every offset is distinguishable
    const file = join(dir, 'big.bin');
    writeFileSync(file, data);
    const r = await run(shellScript(`cat ${file}`));
    assert.equal(assertKind(r.outcome, 'exited').exitCode, 0);
    assert.equal(r.output.length, size);
    assert.ok(r.output.equals(data), 'output differs from the file');
    assert.ok(r.chunks > 1, 'expected streaming in several chunks');
  });
});

void describe('timeout, cancel and tree kill', () => {
  void test('timeout kills the script and both background grandchildren', async () => {
    const pidFile = join(dir, 'timeout.pids');
    const r = await run(shellScript(treeScript(pidFile), { timeoutMs: 700 }));
    const o = assertKind(r.outcome, 'timedOut');
    const pids = readPids(pidFile);
    assert.equal(pids.length, 2, 'the script did not start both grandchildren before the timeout');
    assert.deepEqual(await survivors([...pids, r.running.pid!]), []);
    assert.ok(o.endedAt - o.startedAt >= 690, `ended too early: ${o.endedAt - o.startedAt} ms`);
    assert.ok(o.endedAt - o.startedAt < 3000, `ended too late: ${o.endedAt - o.startedAt} ms`);
    assert.equal(r.output.toString(), 'ready\n');
  });

  void test('abort via AbortSignal cancels and kills the whole tree', async () => {
    const pidFile = join(dir, 'abort.pids');
    const controller = new AbortController();
    const r = await run(shellScript(treeScript(pidFile), { timeoutMs: 0 }), controller.signal, (all) => {
      if (all.includes('ready')) {
        controller.abort();
      }
    });
    assertKind(r.outcome, 'cancelled');
    const pids = readPids(pidFile);
    assert.equal(pids.length, 2);
    assert.deepEqual(await survivors([...pids, r.running.pid!]), []);
    assert.ok(r.wallMs < 3000, `cancel took ${r.wallMs} ms`);
  });

  void test('a script that ignores SIGTERM is killed after the grace period', async () => {
    const pidFile = join(dir, 'trap.pids');
    const body = `trap '' TERM\nsleep 300 &\necho $! >> ${pidFile}\nsleep 300`;
    const r = await run(shellScript(body, { timeoutMs: 300, killGraceMs: 300 }));
    const o = assertKind(r.outcome, 'timedOut');
    const elapsed = o.endedAt - o.startedAt;
    // TERM at ~300 ms was ignored; only the KILL at ~600 ms ended it, well before the 5 s default.
    assert.ok(elapsed >= 580, `TERM was not ignored? ended after ${elapsed} ms`);
    assert.ok(elapsed < 2500, `KILL did not come after the 300 ms grace: ${elapsed} ms`);
    assert.deepEqual(await survivors([...readPids(pidFile), r.running.pid!]), []);
  });

  void test('the grace covers the whole group: a TERM trap in the script runs and its output is kept', async () => {
    // The direct child is the `sh -c` wrapper, which dies on TERM at once; the script itself
    // handles TERM. The run ends when the script's tree closes the pipes, not at the 3 s grace.
    const body = `trap 'echo cleanup; exit 0' TERM\necho ready\nsleep 300 & wait`;
    const r = await run(shellScript(body, { timeoutMs: 300, killGraceMs: 3000 }));
    const o = assertKind(r.outcome, 'timedOut');
    assert.equal(r.output.toString(), 'ready\ncleanup\n');
    assert.ok(o.endedAt - o.startedAt < 2000, `waited for the grace: ${o.endedAt - o.startedAt} ms`);
  });

  void test('a signal aborted before the call spawns nothing and reports cancelled', async () => {
    const controller = new AbortController();
    controller.abort();
    const marker = join(dir, 'never-created');
    const r = await run(shellScript(`touch ${marker}`), controller.signal);
    assertKind(r.outcome, 'cancelled');
    assert.equal(r.running.pid, undefined);
    assert.deepEqual(r.started, []);
    await sleep(100);
    assert.throws(() => readFileSync(marker), { code: 'ENOENT' });
  });
});

void describe('after the script exits', () => {
  void test('a background grandchild holding stdout does not hang the outcome and is killed', async () => {
    const pidFile = join(dir, 'leftover.pids');
    const r = await run(shellScript(`sleep 300 &\necho $! > ${pidFile}\necho done`, { timeoutMs: 0 }));
    assert.equal(assertKind(r.outcome, 'exited').exitCode, 0);
    assert.ok(r.wallMs < 2000, `outcome took ${r.wallMs} ms`);
    assert.equal(r.output.toString(), 'done\n');
    assert.deepEqual(await survivors(readPids(pidFile)), [], 'leftover in the script group survived');
  });

  void test('a process that left the group and holds stdout is cut off after the drain period', async () => {
    const pidFile = join(dir, 'escaped.pids');
    // setsid: a new session, out of reach of the group kill; it inherits and keeps stdout open.
    const body = `setsid sh -c 'echo $$ > ${pidFile}; exec sleep 300' &\nwhile [ ! -s ${pidFile} ]; do sleep 0.01; done\necho done`;
    const r = await run(shellScript(body, { timeoutMs: 0 }));
    const escaped = readPids(pidFile);
    try {
      assert.equal(assertKind(r.outcome, 'exited').exitCode, 0);
      assert.equal(r.output.toString(), 'done\n');
      assert.ok(r.wallMs < 1500, `outcome took ${r.wallMs} ms`);
      assert.ok(escaped.length === 1 && isAlive(escaped[0]!), 'the escaped process should still be running');
    } finally {
      for (const pid of escaped) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  });
});

void describe('environment and user', () => {
  void test('env is exactly what was given; nothing leaks from the agent', async () => {
    process.env.OCA_EXECUTOR_LEAK_CHECK = 'leaked';
    try {
      const env = { PATH, GREETING: 'hello world', EMPTY: '' };
      const r = await run({ command: '/usr/bin/env', args: [], cwd: dir, env, timeoutMs: 5000 });
      assert.equal(assertKind(r.outcome, 'exited').exitCode, 0);
      const lines = r.output.toString().trim().split('\n').sort();
      assert.deepEqual(lines, ['EMPTY=', 'GREETING=hello world', `PATH=${PATH}`]);
    } finally {
      delete process.env.OCA_EXECUTOR_LEAK_CHECK;
    }
  });

  void test('cwd is honoured', async () => {
    const r = await run({ command: 'sh', args: ['-c', 'pwd'], cwd: '/usr', env: { PATH }, timeoutMs: 5000 });
    assert.equal(r.output.toString(), '/usr\n');
  });

  // The suite runs as root (CI does): creating users needs it.
  void describe('as a created user', () => {
    let uid: number;
    let gid: number;
    let home: string;

    before(() => {
      // Robust to leftovers of an interrupted run: an existing user is reused; an orphaned group of
      // the same name is adopted as the primary group.
      const passwd = (): string => spawnSync('getent', ['passwd', TEST_USER]).stdout.toString().trim();
      if (passwd() === '') {
        const groupExists = spawnSync('getent', ['group', TEST_USER]).status === 0;
        const groupArgs = groupExists ? ['--gid', TEST_USER] : ['--user-group'];
        const add = spawnSync('useradd', ['--create-home', ...groupArgs, '--shell', '/bin/sh', TEST_USER]);
        assert.equal(add.status, 0, `useradd failed: ${add.stderr.toString()}`);
      }
      const entry = passwd().split(':');
      uid = Number(entry[2]);
      gid = Number(entry[3]);
      home = entry[5] ?? '';
      assert.ok(uid > 0 && gid > 0 && home !== '', `bad passwd entry: ${entry.join(':')}`);
    });

    after(() => {
      spawnSync('userdel', ['--remove', TEST_USER]);
    });

    void test('runs with the user uid and gid and honours HOME from env', async () => {
      const r = await run({
        command: 'sh',
        args: [
          '-c',
          'id -u; id -g; echo "$HOME"; cd && pwd; touch "$HOME/made-by-script" && stat -c %u "$HOME/made-by-script"',
        ],
        cwd: home,
        env: { PATH, HOME: home, USER: TEST_USER },
        uid,
        gid,
        timeoutMs: 5000,
      });
      assert.equal(assertKind(r.outcome, 'exited').exitCode, 0, r.output.toString());
      assert.deepEqual(r.output.toString().trim().split('\n'), [String(uid), String(gid), home, home, String(uid)]);
    });

    void test('through setpriv: uid, gid and exactly the given supplementary groups, same pid', async () => {
      const setpriv = findSetpriv();
      assert.ok(setpriv, 'util-linux setpriv is installed');
      const launch = setprivLaunch(
        setpriv,
        { uid, gid, groups: [gid, 4, 100] },
        { command: 'sh', args: ['-c', 'echo $$; id -u; id -g; id -G'] },
      );
      const r = await run({ ...launch, cwd: home, env: { PATH, HOME: home }, timeoutMs: 5000 });
      assert.equal(assertKind(r.outcome, 'exited').exitCode, 0, r.output.toString());
      const [pid, u, g, groups] = r.output.toString().trim().split('\n');
      assert.equal(Number(pid), r.running.pid, 'setpriv execs: the script keeps the spawned pid (and group)');
      assert.equal(u, String(uid));
      assert.equal(g, String(gid));
      assert.deepEqual(
        groups!
          .split(' ')
          .map(Number)
          .sort((a, b) => a - b),
        [4, 100, gid].sort((a, b) => a - b),
      );
    });

    void test('through setpriv with no groups: none but the primary one', async () => {
      const launch = setprivLaunch(findSetpriv()!, { uid, gid, groups: [] }, { command: 'id', args: ['-G'] });
      const r = await run({ ...launch, cwd: home, env: { PATH }, timeoutMs: 5000 });
      assert.equal(r.output.toString().trim(), String(gid));
    });

    void test('cannot do what root can', async () => {
      const r = await run({
        command: 'sh',
        args: ['-c', 'cat /etc/shadow > /dev/null'],
        cwd: home,
        env: { PATH, HOME: home },
        uid,
        gid,
        timeoutMs: 5000,
      });
      assert.notEqual(assertKind(r.outcome, 'exited').exitCode, 0);
    });
  });
});

void describe('stdin', () => {
  void test('input is written to stdin, then stdin is closed', async () => {
    const r = await run({
      command: 'sh',
      args: ['-c', 'read -r first; echo "got $first"; cat; echo end'],
      cwd: dir,
      env: { PATH },
      timeoutMs: 5000,
      input: Buffer.from('line one\nline two\n'),
    });
    assert.equal(r.output.toString(), 'got line one\nline two\nend\n');
  });
  void test('without input, stdin is empty', async () => {
    const r = await run({ command: 'sh', args: ['-c', 'cat; echo done'], cwd: dir, env: { PATH }, timeoutMs: 5000 });
    assert.equal(r.output.toString(), 'done\n');
  });
  void test('input the process never reads does not break the run', async () => {
    const r = await run({
      command: 'sh',
      args: ['-c', 'exit 0'],
      cwd: dir,
      env: { PATH },
      timeoutMs: 5000,
      input: Buffer.alloc(1024 * 1024, 0x61),
    });
    assert.equal(assertKind(r.outcome, 'exited').exitCode, 0);
  });
});

void describe('failedToStart', () => {
  void test('missing cwd: ENOENT with a clear message, nothing spawned', async () => {
    const cwd = join(dir, 'no-such-dir');
    const r = await run({ command: 'sh', args: ['-c', 'true'], cwd, env: { PATH }, timeoutMs: 5000 });
    const o = assertKind(r.outcome, 'failedToStart');
    assert.equal(o.code, 'ENOENT');
    assert.equal(o.errno, -2);
    assert.match(o.message, /working directory does not exist/);
    assert.ok(o.message.includes(cwd));
    assert.equal(r.running.pid, undefined);
    assert.deepEqual(r.started, []);
    assert.equal(r.output.length, 0);
  });

  void test('cwd that is a file: ENOTDIR', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    const r = await run({ command: 'sh', args: [], cwd: file, env: { PATH }, timeoutMs: 5000 });
    assert.equal(assertKind(r.outcome, 'failedToStart').code, 'ENOTDIR');
  });

  void test('missing command: ENOENT', async () => {
    const r = await run({ command: 'oca-no-such-command', args: [], cwd: dir, env: { PATH }, timeoutMs: 5000 });
    const o = assertKind(r.outcome, 'failedToStart');
    assert.equal(o.code, 'ENOENT');
    assert.equal(typeof o.errno, 'number');
    assert.match(o.message, /oca-no-such-command/);
    assert.equal(r.running.pid, undefined);
    assert.deepEqual(r.started, []);
  });

  void test('command file without execute permission: EACCES', async () => {
    const file = join(dir, 'not-executable.sh');
    writeFileSync(file, '#!/bin/sh\necho never\n');
    chmodSync(file, 0o644);
    const r = await run({ command: file, args: [], cwd: dir, env: { PATH }, timeoutMs: 5000 });
    assert.equal(assertKind(r.outcome, 'failedToStart').code, 'EACCES');
    assert.equal(r.output.length, 0);
  });

  void test('an invalid spec is reported, not thrown (uid without gid, negative timeout)', async () => {
    const base = { command: 'sh', args: ['-c', 'true'], cwd: dir, env: { PATH } };
    for (const spec of [
      { ...base, timeoutMs: 1000, uid: 65534 },
      { ...base, timeoutMs: -1 },
      { ...base, timeoutMs: 1000, killGraceMs: Number.NaN },
    ]) {
      const o = assertKind((await run(spec)).outcome, 'failedToStart');
      assert.equal(o.code, 'EINVAL', JSON.stringify(spec));
    }
  });
});
