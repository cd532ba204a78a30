import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import {
  cpuPercent,
  isSameLiveProcess,
  parseChildren,
  parseProcStat,
  parseProcStatus,
  parseSmapsRollupPss,
  readChildren,
  readProcSnapshot,
  type ProcStat,
} from './proc-stats.js';

// A real line's shape (from /proc/<pid>/stat), with a command name that holds spaces and parentheses.
const STAT =
  '4242 (node (x) y) S 4200 4242 4242 0 -1 4194560 7000 0 12 0 150 30 7 2 20 0 11 0 375818 3133440 413 ' +
  '18446744073709551615 94356375588864 94356375608745 140721928865920 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0';

const STATUS = `Name:\tnode
Umask:\t0022
State:\tS (sleeping)
Pid:\t4242
VmPeak:\t 1234568 kB
VmHWM:\t   80000 kB
VmRSS:\t   61440 kB
RssAnon:\t   30000 kB
Threads:\t11
`;

describe('parseProcStat', () => {
  it('reads state, parent, CPU ticks and start time after a name with spaces and parentheses', () => {
    assert.deepEqual(parseProcStat(STAT), {
      pid: 4242,
      comm: 'node (x) y',
      state: 'S',
      ppid: 4200,
      utimeTicks: 150,
      stimeTicks: 30,
      startTimeTicks: 375818,
    });
  });
  it('rejects a truncated line', () => {
    assert.throws(() => parseProcStat('4242 (node) S 1 2'), /not a number/);
    assert.throws(() => parseProcStat('garbage'), /unparseable/);
  });
});

describe('parseProcStatus', () => {
  it('reads VmRSS and VmHWM in bytes', () => {
    assert.deepEqual(parseProcStatus(STATUS), { rssBytes: 61440 * 1024, peakRssBytes: 80000 * 1024 });
  });
  it('counts a zombie (no Vm lines) as 0', () => {
    assert.deepEqual(parseProcStatus('Name:\tx\nState:\tZ (zombie)\n'), { rssBytes: 0, peakRssBytes: 0 });
  });
});

describe('cpuPercent', () => {
  const stat = (utime: number, stime: number): ProcStat => ({
    ...parseProcStat(STAT),
    utimeTicks: utime,
    stimeTicks: stime,
  });
  it('is CPU seconds over wall seconds, per process (one busy core = 100)', () => {
    // 100 ticks (1 s of CPU) in 5 s of wall time
    assert.equal(cpuPercent({ atMs: 0, stat: stat(100, 50) }, { atMs: 5000, stat: stat(180, 70) }), 20);
    assert.equal(cpuPercent({ atMs: 0, stat: stat(0, 0) }, { atMs: 1000, stat: stat(150, 50) }), 200);
  });
  it('is 0 without elapsed time, and never negative', () => {
    assert.equal(cpuPercent({ atMs: 10, stat: stat(0, 0) }, { atMs: 10, stat: stat(50, 0) }), 0);
    assert.equal(cpuPercent({ atMs: 0, stat: stat(50, 0) }, { atMs: 10, stat: stat(0, 0) }), 0);
  });
});

describe('parseChildren', () => {
  it('merges the per-thread lists', () => {
    assert.deepEqual(parseChildren(['12 13 ', '', '13 14\n']), [12, 13, 14]);
  });
});

describe('parseSmapsRollupPss', () => {
  it('reads Pss, not Pss_Anon or Pss_File; none when absent', () => {
    const text =
      '00400000-ffffffffff601000 ---p 00000000 00:00 0  [rollup]\nRss:  48040 kB\nPss:  44008 kB\nPss_Dirty:  6168 kB\nPss_Anon:  6168 kB\nPss_File:  37840 kB\n';
    assert.equal(parseSmapsRollupPss(text), 44008 * 1024);
    assert.equal(parseSmapsRollupPss(''), undefined);
  });
});

describe('readers against this process', () => {
  it('snapshot of a live process, its children, and a process that is gone', async () => {
    const snap = readProcSnapshot(process.pid, 1);
    assert.ok(snap && snap.stat.pid === process.pid && snap.status.rssBytes > 10 * 1024 * 1024);
    // PSS counts shared pages in part: between this process's private memory and its RSS.
    assert.ok(snap.status.pssBytes !== undefined && snap.status.pssBytes > 1024 * 1024);
    assert.ok(snap.status.pssBytes <= snap.status.rssBytes);
    assert.ok(isSameLiveProcess(process.pid, snap.stat.startTimeTicks));
    assert.equal(isSameLiveProcess(process.pid, snap.stat.startTimeTicks + 1), false);
    const child = spawn('sleep', ['5'], { stdio: 'ignore' });
    try {
      assert.ok(readChildren(process.pid).includes(child.pid!));
    } finally {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
    assert.equal(readChildren(process.pid).includes(child.pid!), false);
    assert.equal(readProcSnapshot(child.pid!, 1), undefined);
  });
});
