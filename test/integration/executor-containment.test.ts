// agent/executor: Stop and Timeout reach processes that left the script's process group (setsid,
// setsid -f, double forks), through a real cgroup v2 per run. Real processes, real cgroups; the
// suite runs as root. Processes are found by their sleep arguments, unique to this test process.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  detectContainment,
  processGroupOnly,
  runProcess,
  scriptCommand,
  type ExecOutcome,
  type ProcessContainment,
  type ProcessSpec,
} from '../../agent/executor/index.js';

const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** A fraction no other process uses: `sleep 303.<TAG>` is ours. */
const TAG = String(process.pid);
const LABEL = `oca-test-${process.pid}`;
const RUN_LIMIT_MS = 8000;

const detected = detectContainment();

let dir: string;
let runs = 0;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'oca-containment-'));
});
after(() => {
  // A failing test must leave nothing behind: our sleeps, then our (now empty) cells.
  for (const pid of sleepers()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  if (detected.kind === 'cgroup-v2') {
    for (const name of safeReaddir(detected.tasksDir)) {
      if (name.startsWith(LABEL)) {
        for (let i = 0; i < 50; i++) {
          try {
            rmdirSync(join(detected.tasksDir, name));
            break;
          } catch {
            spawnSync('sleep', ['0.02']);
          }
        }
      }
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

function safeReaddir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

/** Alive = exists and is not a zombie (this machine's pid 1 does not reap orphans). */
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2)[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** Live processes whose command line is `sleep <n>.<TAG>`, by n. */
function sleepers(): number[] {
  return [...sleepersByDuration().values()].flat();
}

function sleepersByDuration(): Map<number, number[]> {
  const found = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) {
      continue;
    }
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    const m = argv[0]?.endsWith('sleep') ? /^(\d+)\.(\d+)$/.exec(argv[1] ?? '') : null;
    if (m && m[2] === TAG && isAlive(Number(name))) {
      const n = Number(m[1]);
      found.set(n, [...(found.get(n) ?? []), Number(name)]);
    }
  }
  return found;
}

/** Polls until none of the sleeps with these durations is alive; returns those still alive. */
async function sleepsLeft(durations: number[], ms = 2000): Promise<number[]> {
  const deadline = performance.now() + ms;
  for (;;) {
    const byN = sleepersByDuration();
    const left = durations.filter((n) => byN.has(n));
    if (left.length === 0 || performance.now() > deadline) {
      return left;
    }
    await sleep(20);
  }
}

/** Our cells (their names start with the label) in the tasks directory, polled until none is left. */
async function cellsLeft(ms = 3000): Promise<string[]> {
  if (detected.kind !== 'cgroup-v2') {
    return [];
  }
  const deadline = performance.now() + ms;
  for (;;) {
    const left = safeReaddir(detected.tasksDir).filter((n) => n.startsWith(LABEL));
    if (left.length === 0 || performance.now() > deadline) {
      return left;
    }
    await sleep(20);
  }
}

function shellScript(body: string, extra: Partial<ProcessSpec>): ProcessSpec {
  runs += 1;
  const path = join(dir, `script-${runs}.sh`);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  const { command, args } = scriptCommand('RunShellScript', path, 'linux');
  return {
    command,
    args,
    cwd: dir,
    env: { PATH },
    timeoutMs: 0,
    killGraceMs: 300,
    label: `${LABEL}-${runs}`,
    ...extra,
  };
}

async function run(
  spec: ProcessSpec,
  opts: { abortOn?: string } = {},
): Promise<{ outcome: ExecOutcome; output: string; pid: number | undefined }> {
  const controller = new AbortController();
  let output = '';
  const running = runProcess(
    spec,
    (chunk) => {
      output += chunk.toString();
      if (opts.abortOn !== undefined && output.includes(opts.abortOn)) {
        controller.abort();
      }
    },
    controller.signal,
  );
  let limit: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    limit = setTimeout(() => reject(new Error(`outcome did not settle within ${RUN_LIMIT_MS} ms`)), RUN_LIMIT_MS);
  });
  const outcome = await Promise.race([running.outcome, hung]).finally(() => clearTimeout(limit));
  return { outcome, output, pid: running.pid };
}

/**
 * Background sleeps in every way of leaving the process group (a new session holding the output
 * pipes; `setsid -f`; a double fork), each of which has called setsid before `ready` is printed;
 * then a long foreground sleep.
 */
function escapingScript(a: number, b: number, c: number, d: number): string {
  const started = join(dir, `started-${runs + 1}`);
  const leave = (n: number): string => `sh -c 'echo x >> ${started}; exec sleep ${n}.${TAG}'`;
  return [
    `: > ${started}`,
    `setsid ${leave(a)} &`,
    `setsid -f ${leave(b)} >/dev/null 2>&1`,
    `(setsid ${leave(c)} >/dev/null 2>&1 &) &`,
    `while [ "$(wc -l < ${started})" -lt 3 ]; do sleep 0.01; done`,
    'echo ready',
    `sleep ${d}.${TAG}`,
  ].join('\n');
}

const ownCgroup = (): string => readFileSync('/proc/self/cgroup', 'utf8');

void describe('cgroup containment', () => {
  // Tests run as root on Linux with cgroup v2 (the machines this project targets): required here.
  before(() =>
    assert.ok(
      detected.kind === 'cgroup-v2',
      `no writable cgroup v2 here: ${detected.kind === 'cgroup-v2' ? '' : detected.reason}`,
    ),
  );
  const containment = (): ProcessContainment => {
    assert.ok(detected.kind === 'cgroup-v2');
    return detected.containment;
  };

  void test('stop: nothing the script started survives, not even what called setsid; the cgroup is removed', async () => {
    const home = ownCgroup();
    const r = await run(shellScript(escapingScript(301, 302, 303, 300), { containment: containment() }), {
      abortOn: 'ready',
    });
    assert.equal(r.outcome.kind, 'cancelled', JSON.stringify(r.outcome));
    assert.deepEqual(await sleepsLeft([300, 301, 302, 303]), []);
    assert.deepEqual(await cellsLeft(), []);
    assert.equal(ownCgroup(), home, 'the agent is back in its own cgroup');
  });

  void test('timeout: the same', async () => {
    const r = await run(
      shellScript(escapingScript(311, 312, 313, 310), { containment: containment(), timeoutMs: 500 }),
    );
    assert.equal(r.outcome.kind, 'timedOut', JSON.stringify(r.outcome));
    assert.equal(r.output, 'ready\n');
    assert.deepEqual(await sleepsLeft([310, 311, 312, 313]), []);
    assert.deepEqual(await cellsLeft(), []);
  });

  void test('`setsid sleep & wait`: the run ends at the grace, not when the sleep would', async () => {
    const r = await run(shellScript(`setsid sleep 321.${TAG} &\necho ready\nwait`, { containment: containment() }), {
      abortOn: 'ready',
    });
    assert.equal(r.outcome.kind, 'cancelled');
    const o = r.outcome as Extract<ExecOutcome, { kind: 'cancelled' }>;
    assert.ok(o.endedAt - o.startedAt < 3000, `took ${o.endedAt - o.startedAt} ms`);
    assert.deepEqual(await sleepsLeft([321]), []);
  });

  void test('a process outside the group gets SIGTERM first, SIGKILL only after the grace', async () => {
    const marker = join(dir, 'termed');
    const armed = join(dir, 'armed');
    const body = [
      `: > ${armed}`,
      `setsid sh -c 'trap "echo term >> ${marker}; exit 0" TERM; echo x >> ${armed}; while :; do sleep 0.05; done' >/dev/null 2>&1 &`,
      `setsid sh -c 'trap "" TERM; echo x >> ${armed}; exec sleep 331.${TAG}' >/dev/null 2>&1 &`,
      `while [ "$(wc -l < ${armed})" -lt 2 ]; do sleep 0.01; done`,
      'echo ready',
      'sleep 330.' + TAG,
    ].join('\n');
    const r = await run(shellScript(body, { containment: containment(), killGraceMs: 500 }), { abortOn: 'ready' });
    assert.equal(r.outcome.kind, 'cancelled');
    // The first handled TERM and left by itself; the second ignored it and was killed.
    assert.equal(readFileSync(marker, 'utf8'), 'term\n');
    assert.deepEqual(await sleepsLeft([330, 331]), []);
    assert.deepEqual(await cellsLeft(), []);
  });

  void test('normal exit: a background job in the group is killed with it, what left the group keeps running', async () => {
    // Documented behaviour (docs/compatibility.md): leftovers in the script's process group are
    // killed when it exits, as before; a process that left the group on purpose (setsid -f, a
    // daemon) outlives the task as with the stock client, in the task's cgroup until it exits.
    const started = join(dir, 'daemon-started');
    const body = [
      `nohup sleep 341.${TAG} >/dev/null 2>&1 &`,
      `setsid -f sh -c 'echo $$ > ${started}; exec sleep 342.${TAG}' >/dev/null 2>&1`,
      // Out of the group before the script exits (the group is killed then).
      `while [ ! -s ${started} ]; do sleep 0.01; done`,
      'echo done',
    ].join('\n');
    const r = await run(shellScript(body, { containment: containment() }));
    assert.equal(r.outcome.kind, 'exited');
    assert.deepEqual(await sleepsLeft([341]), [], 'the background job in the group was killed');
    const daemon = [Number(readFileSync(started, 'utf8'))];
    await sleep(200);
    assert.ok(isAlive(daemon[0]!), 'the process that left the group is still running');
    assert.deepEqual(sleepersByDuration().get(342), daemon);
    const cgroup = readFileSync(`/proc/${daemon[0]}/cgroup`, 'utf8');
    assert.match(cgroup, new RegExp(`^0::.*/${LABEL}-\\d+\\.${process.pid}\\.\\d+$`, 'm'), 'it is in the task cgroup');
    // The cell stays while the daemon runs, and goes at the first sweep after it has exited.
    assert.equal((await cellsLeft(300)).length, 1);
    assert.equal(containment().sweep(), 1);
    process.kill(daemon[0]!, 'SIGKILL');
    assert.deepEqual(await sleepsLeft([342]), []);
    assert.equal(containment().sweep(), 0);
    assert.deepEqual(await cellsLeft(0), []);
  });

  void test('inside a cell nothing else changes: exact environment, same pid, exit code', async () => {
    const env = { PATH, GREETING: 'hello world' };
    const r = await run({
      command: '/usr/bin/env',
      args: [],
      cwd: dir,
      env,
      timeoutMs: 5000,
      containment: containment(),
    });
    assert.deepEqual(r.outcome.kind === 'exited' && r.outcome.exitCode, 0);
    assert.deepEqual(r.output.trim().split('\n').sort(), ['GREETING=hello world', `PATH=${PATH}`]);
    const s = await run({
      command: 'sh',
      args: ['-c', 'echo $$; cat /proc/$$/cgroup; exit 7'],
      cwd: dir,
      env: { PATH },
      timeoutMs: 5000,
      containment: containment(),
      label: `${LABEL}-pid`,
    });
    assert.equal(s.outcome.kind === 'exited' && s.outcome.exitCode, 7);
    const [pid, ...cgroupLines] = s.output.trim().split('\n');
    assert.equal(Number(pid), s.pid, 'the spawned process itself is in the cell');
    assert.match(cgroupLines.join('\n'), new RegExp(`^0::.*/${LABEL}-pid\\.\\d+\\.\\d+$`, 'm'));
  });

  void test('a command that does not exist is still failedToStart, and its cgroup is removed', async () => {
    const r = await run({
      command: 'oca-no-such-command',
      args: [],
      cwd: dir,
      env: { PATH },
      timeoutMs: 5000,
      containment: containment(),
      label: `${LABEL}-missing`,
    });
    assert.equal(r.outcome.kind, 'failedToStart');
    assert.equal(r.outcome.kind === 'failedToStart' && r.outcome.code, 'ENOENT');
    assert.deepEqual(await cellsLeft(), []);
  });

  void test('without cgroup.kill (Linux < 5.14): the members are frozen and killed one by one', async () => {
    const old = detectContainment({ useKillFile: false });
    assert.equal(old.kind, 'cgroup-v2');
    assert.equal(old.kind === 'cgroup-v2' && old.killFile, false);
    const r = await run(
      shellScript(escapingScript(351, 352, 353, 350), { containment: old.containment, timeoutMs: 500 }),
    );
    assert.equal(r.outcome.kind, 'timedOut');
    assert.deepEqual(await sleepsLeft([350, 351, 352, 353]), []);
    assert.deepEqual(await cellsLeft(), []);
  });

  void test('at start, empty cells of agents that are gone are removed; populated ones and live agents’ stay', async () => {
    if (detected.kind !== 'cgroup-v2') {
      return;
    }
    const dead = spawnSync('true').pid; // exited and reaped: nobody has this pid now
    const stale = join(detected.tasksDir, `${LABEL}-stale.${dead}.0`);
    const live = join(detected.tasksDir, `${LABEL}-live.1.0`); // pid 1 is alive
    mkdirSync(stale);
    mkdirSync(live);
    try {
      assert.equal(detectContainment().kind, 'cgroup-v2');
      assert.equal(existsSync(stale), false, 'the dead agent’s empty cell was removed');
      assert.equal(existsSync(live), true);
    } finally {
      rmdirSync(live);
    }
  });
});

void describe('process group only (no writable cgroup v2)', () => {
  void test('a process that calls setsid escapes Stop: the documented limitation of the fallback', async () => {
    const r = await run(shellScript(escapingScript(361, 362, 363, 360), { containment: processGroupOnly }), {
      abortOn: 'ready',
    });
    assert.equal(r.outcome.kind, 'cancelled');
    assert.deepEqual(await sleepsLeft([360], 2000), [], 'the process group was killed');
    // Give the kill time to reach them, had it been able to.
    await sleep(300);
    const byN = sleepersByDuration();
    assert.ok(byN.has(361) && byN.has(362) && byN.has(363), 'the escaped processes survived the stop');
    for (const pid of sleepers()) {
      process.kill(pid, 'SIGKILL');
    }
  });

  void test('detectContainment outside Linux falls back to the process group, with the reason', () => {
    const d = detectContainment({ platform: 'win32' });
    assert.equal(d.kind, 'process-group');
    assert.equal(d.containment.open('x'), undefined);
    assert.match(d.kind === 'process-group' ? d.reason : '', /not Linux/);
  });
});
