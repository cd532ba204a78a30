import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAgentError } from '../shared/index.js';
import { loadWatchdogConfig, loadWatchdogFiles, resolveAgentCommand } from './watchdog-config.js';

describe('loadWatchdogConfig', () => {
  it('defaults: stock paths, stock CPU budget and cadence, our PSS budget (no RSS one), 1 s → 60 s backoff', () => {
    const c = loadWatchdogConfig({}, {});
    assert.equal(c.stateDir, '/usr/local/share/assist-daemon');
    assert.equal(c.pidFile, '/usr/local/share/assist-daemon/assist_daemon.pid');
    assert.equal(c.statusFile, '/usr/local/share/assist-daemon/status.json');
    assert.deepEqual(c.agent, { kind: 'install-dir', installDir: '/usr/local/share/aliyun-assist', args: [] });
    assert.deepEqual(c.budget, {
      cpuPercent: 20,
      pssBytes: 128 * 1024 * 1024,
      rssBytes: 0,
      strikes: 3,
      warmupMs: 60_000,
      livenessStaleMs: 60_000,
    });
    assert.equal(c.sampleIntervalMs, 5000);
    assert.deepEqual(c.backoff, { initialMs: 1000, maxMs: 60_000, factor: 2, resetAfterUpMs: 300_000 });
    assert.equal(c.stopGraceMs, 20_000);
    assert.ok(Object.isFrozen(c) && Object.isFrozen(c.budget));
  });
  it('flags win over the environment', () => {
    const c = loadWatchdogConfig(
      { rssMib: '64', agent: '/opt/a/aliyun-service', agentArgs: ['-x'] },
      { ASSIST_DAEMON_RSS_MIB: '300', ASSIST_DAEMON_SAMPLE_MS: '250', ASSIST_DAEMON_STATE_DIR: '/var/lib/wd' },
    );
    assert.equal(c.budget.rssBytes, 64 * 1024 * 1024);
    const p = loadWatchdogConfig({ pssMib: '96' }, { ASSIST_DAEMON_PSS_MIB: '300', ASSIST_DAEMON_RSS_MIB: '0' });
    assert.deepEqual([p.budget.pssBytes, p.budget.rssBytes], [96 * 1024 * 1024, 0]);
    assert.equal(loadWatchdogConfig({}, { ASSIST_DAEMON_PSS_MIB: '0' }).budget.pssBytes, 0, '0 turns it off');
    assert.equal(c.sampleIntervalMs, 250);
    assert.equal(c.livenessFile, '/var/lib/wd/agent.alive');
    assert.deepEqual(c.agent, { kind: 'path', command: '/opt/a/aliyun-service', args: ['-x'] });
  });
  it('reports every problem at once', () => {
    try {
      loadWatchdogConfig(
        { cpuPercent: 'lots', strikes: '0', stateDir: 'relative' },
        { ASSIST_DAEMON_BACKOFF_MS: '5000', ASSIST_DAEMON_BACKOFF_MAX_MS: '1000', ASSIST_DAEMON_LOG_LEVEL: 'loud' },
      );
      assert.fail('expected CONFIG_INVALID');
    } catch (e) {
      assert.ok(isAgentError(e) && e.code === 'CONFIG_INVALID');
      assert.equal((e.details['issues'] as string[]).length, 5, e.message);
    }
  });
  it('the files alone load even when a budget setting is broken', () => {
    assert.equal(
      loadWatchdogFiles({ stateDir: '/tmp/wd' }, { ASSIST_DAEMON_RSS_MIB: 'x' }).pidFile,
      '/tmp/wd/assist_daemon.pid',
    );
  });
});

describe('resolveAgentCommand', () => {
  it('starts the version named in <installDir>/version', () => {
    const read = (p: string) => (p === '/r/version' ? '2.6.0.7\n' : assert.fail(p));
    assert.deepEqual(resolveAgentCommand({ kind: 'install-dir', installDir: '/r', args: [] }, read), {
      command: '/r/2.6.0.7/aliyun-service',
      args: [],
    });
  });
  it('refuses a version that is not n.n.n.n (it names a directory) and a missing file', () => {
    const src = { kind: 'install-dir', installDir: '/r', args: [] } as const;
    assert.throws(() => resolveAgentCommand(src, () => '../../tmp'), /does not hold a version/);
    assert.throws(
      () =>
        resolveAgentCommand(src, () => {
          throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
        }),
      /cannot read \/r\/version/,
    );
  });
  it('a fixed path is used as is', () => {
    assert.deepEqual(resolveAgentCommand({ kind: 'path', command: '/bin/a', args: ['b'] }), {
      command: '/bin/a',
      args: ['b'],
    });
  });
});
