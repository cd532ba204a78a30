import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAgentError } from '../shared/index.js';
import { DEFAULT_UPDATER_SETTINGS, loadUpdaterSettings, supervisorOf } from './updater-config.js';

describe('loadUpdaterSettings', () => {
  it('defaults to the stock limits and reads the health deadline from the environment', () => {
    assert.equal(loadUpdaterSettings({}).healthTimeoutMs, DEFAULT_UPDATER_SETTINGS.healthTimeoutMs);
    assert.equal(loadUpdaterSettings({ ALIYUN_ASSIST_UPDATE_HEALTH_MS: ' 15000 ' }).healthTimeoutMs, 15_000);
    assert.ok(Object.isFrozen(loadUpdaterSettings({})));
  });
  it('refuses a deadline that is not a whole number of at least a second', () => {
    for (const bad of ['soon', '999', '1500.5']) {
      assert.throws(
        () => loadUpdaterSettings({ ALIYUN_ASSIST_UPDATE_HEALTH_MS: bad }),
        (e: unknown) => isAgentError(e) && e.code === 'CONFIG_INVALID',
      );
    }
  });
  it('tells who restarts the agent from what the agent inherited', () => {
    assert.equal(supervisorOf({ INVOCATION_ID: 'abc', ALIYUN_ASSIST_LIVENESS_FILE: '/x' }), 'systemd');
    assert.equal(supervisorOf({ ALIYUN_ASSIST_LIVENESS_FILE: '/var/lib/wd/agent.alive' }), 'watchdog');
    assert.equal(supervisorOf({ INVOCATION_ID: '' }), 'none');
  });
});
