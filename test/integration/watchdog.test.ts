// agent/watchdog's supervisor (runWatchdog, in this process) against real child processes that
// crash, hog memory, burn CPU, block their event loop or ignore SIGTERM. The real agent under the
// real assist_daemon binary is in test/e2e/watchdog.test.ts.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { createMemoryLogger } from '../../agent/shared/index.js';
import {
  readStatusFile,
  runWatchdog,
  type WatchdogEvent,
  type WatchdogOptions,
  type WatchdogSummary,
} from '../../agent/watchdog/index.js';
import { eventually, SLACK_MS } from '../harness/eventually.js';

const ROOT = join(import.meta.dirname, '..', '..');
const TSX = join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs');
const MiB = 1024 * 1024;

/** The fake agent: notes its start and SIGTERM in a marker file, then behaves as its mode says. */
const CHILD = String.raw`
const fs = require('node:fs');
const [mode, marker, flag] = process.argv.slice(2);
const note = (what) => fs.appendFileSync(marker, what + ' ' + process.pid + ' ' + Date.now() + '\n');
note('start');
if (mode !== 'ignore-term') {
  process.on('SIGTERM', () => { note('term'); process.exit(0); });
} else {
  process.on('SIGTERM', () => note('term-ignored'));
}
const keep = [];
const firstRun = flag !== undefined && !fs.existsSync(flag);
if (firstRun) fs.writeFileSync(flag, '');
switch (mode) {
  case 'exit':
    process.exit(3);
  case 'hog-memory':
    if (firstRun) keep.push(Buffer.alloc(96 * 1024 * 1024, 1)); // touches every page
    break;
  case 'hog-cpu': {
    const spin = () => { const end = Date.now() + 20; while (Date.now() < end) {} setImmediate(spin); };
    if (firstRun) spin();
    break;
  }
}
setInterval(() => {}, 1000);
`;

/** Writes the liveness file through the agent's helper, then blocks its event loop without using CPU. */
const BLOCKER = String.raw`
import { LivenessBeacon } from ${JSON.stringify(join(ROOT, 'agent', 'shared', 'liveness.ts'))};
import { appendFileSync } from 'node:fs';
const [marker] = process.argv.slice(2);
appendFileSync(marker, 'start ' + process.pid + ' ' + Date.now() + '\n');
const beacon = new LivenessBeacon({ file: process.env.ALIYUN_ASSIST_LIVENESS_FILE, intervalMs: 100 });
await beacon.start();
setTimeout(() => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 30_000), 500);
setInterval(() => {}, 1000);
`;

let dir: string;
let childJs: string;
let blockerMjs: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'oca-watchdog-'));
  childJs = join(dir, 'child.cjs');
  blockerMjs = join(dir, 'blocker.mts');
  writeFileSync(childJs, CHILD);
  writeFileSync(blockerMjs, BLOCKER);
});
after(() => rmSync(dir, { recursive: true, force: true }));

interface Seen {
  at: number;
  e: WatchdogEvent;
}

/** Starts runWatchdog on a fake agent; stop() aborts it and waits for it to finish (also after the test). */
function supervise(t: TestContext, name: string, args: string[], o: Partial<WatchdogOptions> = {}) {
  const ac = new AbortController();
  const seen: Seen[] = [];
  const log = createMemoryLogger();
  const statusFile = join(dir, `${name}.status.json`);
  const done: Promise<WatchdogSummary> = runWatchdog({
    resolveAgent: () => ({ command: process.execPath, args }),
    env: { PATH: process.env['PATH'] },
    log,
    signal: ac.signal,
    budget: { cpuPercent: 50, rssBytes: 100 * MiB, strikes: 3, warmupMs: 0, livenessStaleMs: 60_000 },
    sampleIntervalMs: 200,
    backoff: { initialMs: 100, maxMs: 800, factor: 2, resetAfterUpMs: 60_000 },
    stopGraceMs: 2000,
    statusFile,
    agentOutput: 'ignore',
    onEvent: (e) => seen.push({ at: Date.now(), e }),
    ...o,
  });
  t.after(() => {
    ac.abort();
    return done;
  });
  const of = <T extends WatchdogEvent['type']>(type: T) =>
    seen.filter((s) => s.e.type === type) as { at: number; e: Extract<WatchdogEvent, { type: T }> }[];
  return {
    seen,
    log,
    statusFile,
    of,
    async stop() {
      ac.abort();
      return done;
    },
  };
}

const markerLines = (file: string) =>
  existsSync(file)
    ? readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((l) => {
          const [what, pid, at] = l.split(' ');
          return { what: what!, pid: Number(pid), at: Number(at) };
        })
    : [];

describe('watchdog supervising real processes', () => {
  it('restarts a child that exits at once with growing delays: 100, 200, 400, 800, 800 ms', async (t) => {
    const marker = join(dir, 'exit.marker');
    const w = supervise(t, 'exit', [childJs, 'exit', marker]);
    // 2.3 s of delays plus six Node start-ups; a loaded machine gets SLACK_MS more.
    await eventually(() => markerLines(marker).length >= 6, { timeoutMs: 2300 + SLACK_MS, what: 'six starts' });
    await w.stop();
    const delays = w.of('scheduled').map((s) => s.e.delayMs);
    assert.deepEqual(delays.slice(0, 5), [100, 200, 400, 800, 800]);
    assert.ok(w.of('scheduled').every((s) => s.e.reason === 'exited' && s.e.detail === 'exited with code 3'));
    // Observed from the children themselves: each start follows the previous one by at least the
    // scheduled delay. The upper bound only catches a delay gone wrong by far (seconds for
    // milliseconds): a gap also holds a Node start-up, which a loaded machine stretches by seconds.
    const starts = markerLines(marker).map((l) => l.at);
    const gaps = starts.slice(1, 6).map((t, i) => t - starts[i]!);
    console.log(`observed gaps between starts (ms): ${gaps.join(', ')}`);
    gaps.forEach((g, i) => {
      assert.ok(g >= delays[i]!, `gap ${i} ${g} ms < delay ${delays[i]} ms`);
      assert.ok(g < delays[i]! + 10_000, `gap ${i} ${g} ms far beyond delay ${delays[i]} ms`);
    });
    // The waits grow with the delays: from each restart scheduled to the next spawn, in the
    // watchdog itself (no start-up in it), the wait after the 100 ms delay is shorter than those
    // after the 800 ms ones. 700 ms apart: more than a busy event loop adds.
    const scheduled = w.of('scheduled');
    const waits = scheduled.slice(0, 5).map((s) => w.of('started').find((x) => x.at >= s.at)!.at - s.at);
    console.log(`waits from scheduled to started (ms): ${waits.join(', ')}`);
    waits.forEach((x, i) => assert.ok(x >= delays[i]! - 1, `wait ${i} ${x} ms < delay ${delays[i]} ms`));
    assert.ok(waits[0]! < waits[3]! && waits[0]! < waits[4]!, `waits do not grow: ${waits.join(', ')}`);
    assert.equal(readStatusFile(w.statusFile)?.state, 'stopped');
    assert.ok(w.log.events.some((e) => e.level === 'warn' && e.msg === 'agent restart scheduled'));
  });

  it('restarts a child over the memory budget after three samples, with SIGTERM first', async (t) => {
    const marker = join(dir, 'mem.marker');
    const w = supervise(t, 'mem', [childJs, 'hog-memory', marker, join(dir, 'mem.flag')]);
    const restart = (await eventually(() => w.of('restarting')[0], { what: 'a restart' }))!;
    assert.equal(restart.e.reason, 'memory');
    assert.match(restart.e.detail, /rss \d+\.\d MiB >= 100\.0 MiB for 3 samples/);
    // Exactly three over-budget samples of that process, in a row, led to it.
    const samples = w.of('sample').filter((s) => s.e.pid === restart.e.pid);
    assert.deepEqual(
      samples.map((s) => s.e.strikes.memory).filter((n) => n > 0),
      [1, 2, 3],
    );
    assert.ok(samples.at(-1)!.e.rssBytes >= 100 * MiB);
    // The second run does not hog: it stays up.
    await eventually(() => w.of('started').length === 2, { what: 'the second start' });
    await new Promise((r) => setTimeout(r, 1000));
    await w.stop();
    assert.equal(w.of('restarting').length, 1);
    const lines = markerLines(marker);
    assert.ok(
      lines.some((l) => l.what === 'term' && l.pid === restart.e.pid),
      'no SIGTERM seen by the hog',
    );
    const exited = w.of('exited').find((s) => s.e.pid === restart.e.pid)!;
    assert.deepEqual([exited.e.code, exited.e.requested], [0, true]);
    const status = readStatusFile(w.statusFile)!;
    assert.equal(status.restarts, 1);
    assert.equal(status.lastRestart?.reason, 'memory');
  });

  it('restarts a child over the CPU budget after three samples', async (t) => {
    // The stock 20 %: a spinning child gets far more even on a busy shared machine.
    const w = supervise(t, 'cpu', [childJs, 'hog-cpu', join(dir, 'cpu.marker'), join(dir, 'cpu.flag')], {
      budget: { cpuPercent: 20, rssBytes: 500 * MiB, strikes: 3, warmupMs: 0, livenessStaleMs: 60_000 },
    });
    const restart = (await eventually(() => w.of('restarting')[0], { what: 'a restart' }))!;
    await w.stop();
    assert.equal(restart.e.reason, 'cpu');
    const cpu = w
      .of('sample')
      .filter((s) => s.e.pid === restart.e.pid && s.e.strikes.cpu > 0)
      .map((s) => s.e.cpuPercent!);
    assert.equal(cpu.length, 3);
    assert.ok(
      cpu.every((c) => c >= 20),
      `cpu samples ${cpu.join(', ')}`,
    );
  });

  it('restarts a child whose event loop stops touching its liveness file', async (t) => {
    const marker = join(dir, 'blocked.marker');
    const w = supervise(t, 'blocked', ['--import', TSX, blockerMjs, marker], {
      livenessFile: join(dir, 'blocked.alive'),
      budget: { cpuPercent: 50, rssBytes: 500 * MiB, strikes: 3, warmupMs: 0, livenessStaleMs: 1000 },
      stopGraceMs: 300,
    });
    // 1 s stale plus three 200 ms samples; a loaded machine gets SLACK_MS more.
    const restart = (await eventually(() => w.of('restarting')[0], { timeoutMs: 1600 + SLACK_MS, what: 'a restart' }))!;
    await w.stop();
    assert.equal(restart.e.reason, 'unresponsive');
    assert.match(restart.e.detail, /liveness file not touched/);
    // Blocked in Atomics.wait: asleep, not busy; /proc alone would call it healthy.
    const last = w.of('sample').filter((s) => s.e.pid === restart.e.pid);
    assert.equal(last.at(-1)!.e.state, 'S');
  });

  it('stops the child gracefully when it stops, and does not restart it', async (t) => {
    const marker = join(dir, 'idle.marker');
    const w = supervise(t, 'idle', [childJs, 'idle', marker]);
    await eventually(() => markerLines(marker).length === 1, { what: 'the start' });
    const summary = await w.stop();
    assert.deepEqual(
      markerLines(marker).map((l) => l.what),
      ['start', 'term'],
    );
    assert.equal(summary.restarts, 0);
    assert.deepEqual(
      w.of('exited').map((s) => [s.e.code, s.e.requested]),
      [[0, true]],
    );
    const status = readStatusFile(w.statusFile)!;
    assert.deepEqual([status.state, status.agent], ['stopped', null]);
  });

  it('kills a child that ignores SIGTERM once the grace period is over', async (t) => {
    const marker = join(dir, 'stubborn.marker');
    const w = supervise(t, 'stubborn', [childJs, 'ignore-term', marker], { stopGraceMs: 300 });
    await eventually(() => markerLines(marker).length === 1, { what: 'the start' });
    const t0 = Date.now();
    await w.stop();
    const took = Date.now() - t0;
    assert.ok(took >= 300 && took < 3000, `stop took ${took} ms`);
    assert.deepEqual(
      markerLines(marker).map((l) => l.what),
      ['start', 'term-ignored'],
    );
    assert.deepEqual(
      w.of('exited').map((s) => s.e.signal),
      ['SIGKILL'],
    );
  });

  it('keeps retrying when the agent cannot be started at all', async (t) => {
    const w = supervise(t, 'missing', [], {
      resolveAgent: () => ({ command: join(dir, 'no-such-agent'), args: [] }),
    });
    await eventually(() => w.of('scheduled').length >= 3, { what: 'three attempts' });
    await w.stop();
    assert.deepEqual(
      w
        .of('scheduled')
        .slice(0, 3)
        .map((s) => [s.e.reason, s.e.delayMs]),
      [
        ['start-failed', 100],
        ['start-failed', 200],
        ['start-failed', 400],
      ],
    );
    assert.ok(w.log.events.some((e) => e.level === 'error' && e.msg === 'cannot start the agent'));
  });
});
