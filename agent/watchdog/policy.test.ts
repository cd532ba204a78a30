import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AgentMonitor, CrashBackoff, type Budget, type Observation } from './policy.js';

describe('CrashBackoff', () => {
  const policy = { initialMs: 1000, maxMs: 60_000, factor: 2, resetAfterUpMs: 300_000 };
  it('doubles from 1 s to a 60 s cap while the agent keeps crashing', () => {
    const b = new CrashBackoff(policy);
    assert.deepEqual(
      Array.from({ length: 9 }, () => b.next(50)),
      [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000],
    );
    assert.equal(b.attempt, 9);
  });
  it('starts over after an agent stayed up for the reset period', () => {
    const b = new CrashBackoff(policy);
    b.next(10);
    b.next(10);
    assert.equal(b.next(299_999), 4000);
    assert.equal(b.next(300_000), 1000);
    assert.equal(b.next(5), 2000);
  });
});

const MiB = 1024 * 1024;
const budget: Budget = { cpuPercent: 20, rssBytes: 100 * MiB, strikes: 3, warmupMs: 60_000, livenessStaleMs: 60_000 };
const ok: Observation = {
  upMs: 120_000,
  cpuPercent: 1,
  rssBytes: 70 * MiB,
  state: 'S',
  busy: false,
  livenessAgeMs: undefined,
};

describe('AgentMonitor', () => {
  it('restarts after three consecutive samples over the memory budget, not two', () => {
    const m = new AgentMonitor(budget);
    const over = { ...ok, rssBytes: 100 * MiB };
    assert.equal(m.observe(over).restart, undefined);
    assert.equal(m.observe(over).restart, undefined);
    const v = m.observe({ ...over, rssBytes: 150 * MiB });
    assert.deepEqual(v.strikes, { cpu: 0, memory: 3, stopped: 0 });
    assert.equal(v.restart?.reason, 'memory');
    assert.match(v.restart.detail, /rss 150\.0 MiB >= 100\.0 MiB for 3 samples/);
  });
  it('with a PSS budget, counts PSS (not RSS, which counts the shared executable in full)', () => {
    const m = new AgentMonitor({ ...budget, pssBytes: 64 * MiB, rssBytes: 0 });
    const shared = { ...ok, rssBytes: 500 * MiB, pssBytes: 40 * MiB };
    for (let i = 0; i < 5; i++) {
      assert.equal(m.observe(shared).restart, undefined);
    }
    const over = { ...ok, rssBytes: 90 * MiB, pssBytes: 64 * MiB };
    m.observe(over);
    m.observe(over);
    const v = m.observe(over);
    assert.equal(v.restart?.reason, 'memory');
    assert.match(v.restart.detail, /^pss 64\.0 MiB >= 64\.0 MiB for 3 samples/);
    // Without a PSS figure (a kernel before 4.14) the PSS budget applies to RSS.
    const old = new AgentMonitor({ ...budget, pssBytes: 64 * MiB, rssBytes: 0 });
    for (let i = 0; i < 2; i++) {
      old.observe({ ...ok, rssBytes: 70 * MiB });
    }
    assert.match(old.observe({ ...ok, rssBytes: 70 * MiB }).restart?.detail ?? '', /^rss 70\.0 MiB >= 64\.0 MiB/);
  });
  it('a sample under budget resets the count', () => {
    const m = new AgentMonitor(budget);
    const over = { ...ok, rssBytes: 120 * MiB };
    m.observe(over);
    m.observe(over);
    assert.equal(m.observe(ok).strikes.memory, 0);
    m.observe(over);
    assert.equal(m.observe(over).restart, undefined);
    assert.equal(m.observe(over).restart?.reason, 'memory');
  });
  it('counts CPU at or above the budget; the first sample of a process has no CPU figure', () => {
    const m = new AgentMonitor(budget);
    assert.equal(m.observe({ ...ok, cpuPercent: undefined }).strikes.cpu, 0);
    m.observe({ ...ok, cpuPercent: 20 });
    m.observe({ ...ok, cpuPercent: 95 });
    const v = m.observe({ ...ok, cpuPercent: 40 });
    assert.equal(v.restart?.reason, 'cpu');
    assert.match(v.restart.detail, /cpu 40\.0 % >= 20 % for 3 samples/);
  });
  it('CPU samples while the agent runs a script neither count nor reset; memory still counts', () => {
    const m = new AgentMonitor(budget);
    m.observe({ ...ok, cpuPercent: 50 });
    m.observe({ ...ok, cpuPercent: 50 });
    const busy = m.observe({ ...ok, cpuPercent: 90, busy: true });
    assert.equal(busy.strikes.cpu, 2);
    assert.equal(busy.restart, undefined);
    assert.equal(m.observe({ ...ok, cpuPercent: 50 }).restart?.reason, 'cpu');
    const mem = new AgentMonitor(budget);
    for (let i = 0; i < 2; i++) {
      mem.observe({ ...ok, rssBytes: 200 * MiB, busy: true });
    }
    assert.equal(mem.observe({ ...ok, rssBytes: 200 * MiB, busy: true }).restart?.reason, 'memory');
  });
  it('ignores the budget during warm-up', () => {
    const m = new AgentMonitor(budget);
    for (let i = 0; i < 5; i++) {
      const v = m.observe({ ...ok, upMs: 1000 * i, cpuPercent: 100, rssBytes: 500 * MiB });
      assert.deepEqual(v, { strikes: { cpu: 0, memory: 0, stopped: 0 } });
    }
  });
  it('a stopped process is unresponsive after three samples, even during warm-up', () => {
    const m = new AgentMonitor(budget);
    m.observe({ ...ok, upMs: 0, state: 'T' });
    m.observe({ ...ok, upMs: 0, state: 't' });
    const v = m.observe({ ...ok, upMs: 0, state: 'T', cpuPercent: 0 });
    assert.equal(v.restart?.reason, 'unresponsive');
    assert.match(v.restart.detail, /stopped \(state T\) for 3 samples/);
    assert.equal(new AgentMonitor(budget).observe({ ...ok, state: 'D' }).restart, undefined);
  });
  it('a liveness file older than the limit is unresponsive at once; a fresh one is fine', () => {
    const m = new AgentMonitor(budget);
    assert.equal(m.observe({ ...ok, livenessAgeMs: 60_000 }).restart, undefined);
    const v = m.observe({ ...ok, livenessAgeMs: 61_000 });
    assert.equal(v.restart?.reason, 'unresponsive');
    assert.match(v.restart.detail, /liveness file not touched for 61 s/);
  });
});
