// The update and rollback decisions, and the state files they read, on real files in a temp dir.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decideUpdate, healthVerdict } from './policy.js';
import { UpdateState } from './update-state.js';

const MD5 = '0123456789abcdef0123456789abcdef';
const offer = (version: string, extra: Record<string, string> = {}) => ({
  need_update: 1,
  update_info: { file_name: `${version}_update.zip`, md5: MD5, url: `https://cp/u/${version}_update.zip`, ...extra },
});

describe('decideUpdate', () => {
  it('installs a newer offered version, with both digests', () => {
    const sha256 = 'a'.repeat(64);
    assert.deepEqual(
      decideUpdate({ response: offer('2.6.0.2', { sha256 }), currentVersion: '2.6.0.1', badVersions: {} }),
      {
        action: 'install',
        version: '2.6.0.2',
        pkg: { url: 'https://cp/u/2.6.0.2_update.zip', md5: MD5, sha256 },
      },
    );
  });

  it('compares versions numerically, not as strings', () => {
    const d = decideUpdate({ response: offer('2.6.0.10'), currentVersion: '2.6.0.9', badVersions: {} });
    assert.equal(d.action, 'install');
  });

  it('skips need_update 0, the running or an older version, and a broken offer', () => {
    const skip = (response: Parameters<typeof decideUpdate>[0]['response'], current = '2.6.0.5') =>
      decideUpdate({ response, currentVersion: current, badVersions: {} });
    assert.deepEqual(skip({ need_update: 0 }), { action: 'skip', reason: 'no-update' });
    assert.deepEqual(skip(offer('2.6.0.5')), { action: 'skip', reason: 'not-newer', version: '2.6.0.5' });
    assert.deepEqual(skip(offer('2.5.9.9')), { action: 'skip', reason: 'not-newer', version: '2.5.9.9' });
    assert.deepEqual(skip({ need_update: 1 }), { action: 'skip', reason: 'invalid-offer' });
    const noVersion = { need_update: 1, update_info: { file_name: 'x', md5: MD5, url: 'https://cp/u/latest.zip' } };
    assert.deepEqual(skip(noVersion), { action: 'skip', reason: 'invalid-offer' });
  });

  it('never installs a version recorded as bad, read back from the state files', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'oca-update-policy-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const state = new UpdateState(dir);
    state.markBad('2.6.0.3', 'did not start');
    // A fresh reader (another process in real life) sees it.
    const bad = new UpdateState(dir).badVersions();
    assert.deepEqual(Object.keys(bad), ['2.6.0.3']);
    assert.deepEqual(decideUpdate({ response: offer('2.6.0.3'), currentVersion: '2.6.0.2', badVersions: bad }), {
      action: 'skip',
      reason: 'failed-before',
      version: '2.6.0.3',
    });
    // A newer one still goes through.
    assert.equal(
      decideUpdate({ response: offer('2.6.0.4'), currentVersion: '2.6.0.2', badVersions: bad }).action,
      'install',
    );
  });
});

describe('healthVerdict', () => {
  const alive = new Set([200, 300]);
  const base = {
    target: '2.6.0.2',
    previousPid: 100,
    isAlive: (p: number) => alive.has(p),
    nowMs: 1000,
    deadlineMs: 5000,
  };
  const mark = (version: string, pid: number) => ({ version, pid, at: '' });

  it('is healthy once a live agent of the target version, not the old one, has started', () => {
    assert.equal(healthVerdict({ ...base, started: mark('2.6.0.2', 200) }), 'healthy');
    // Even after the deadline: the mark is what counts.
    assert.equal(healthVerdict({ ...base, started: mark('2.6.0.2', 200), nowMs: 9000 }), 'healthy');
  });

  it('waits until the deadline, then fails: no mark, the wrong version, a dead or the old process', () => {
    for (const started of [undefined, mark('2.6.0.1', 200), mark('2.6.0.2', 999), mark('2.6.0.2', 100)]) {
      assert.equal(healthVerdict({ ...base, started }), 'waiting', JSON.stringify(started));
      assert.equal(healthVerdict({ ...base, started, nowMs: 5000 }), 'failed', JSON.stringify(started));
    }
  });

  it('reads the started mark only for the switch that is pending', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'oca-update-health-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const state = new UpdateState(dir);
    assert.equal(state.markStarted('2.6.0.2', 200), false, 'no switch pending');
    state.setPending({ from: '2.6.0.1', to: '2.6.0.2', updaterPid: 1, startedAt: '' });
    assert.equal(state.markStarted('2.6.0.1', 300), false, 'the old version is not the target');
    assert.equal(healthVerdict({ ...base, started: state.started() }), 'waiting');
    assert.equal(state.markStarted('2.6.0.2', 200), true);
    assert.equal(healthVerdict({ ...base, started: new UpdateState(dir).started() }), 'healthy');
    // A new switch (a rollback) forgets the previous word.
    state.setPending({ from: '2.6.0.2', to: '2.6.0.1', updaterPid: 1, startedAt: '', rollback: true });
    assert.equal(state.started(), undefined);
    state.clearPending();
    assert.equal(state.pending(), undefined);
  });
});
