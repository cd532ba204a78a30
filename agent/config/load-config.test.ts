import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAgentError } from '../shared/index.js';
import { loadAgentConfig } from './load-config.js';

describe('loadAgentConfig', () => {
  it('derives the stock layout from the install dir', () => {
    const c = loadAgentConfig(
      {},
      { ALIYUN_ASSIST_SERVER_HOST: 'cp.example:8443', ALIYUN_ASSIST_CERT_PATH: '/etc/ca.pem' },
    );
    assert.equal(c.paths.installDir, '/usr/local/share/aliyun-assist');
    assert.equal(c.paths.hybridDir, '/usr/local/share/aliyun-assist/hybrid');
    assert.equal(c.paths.logFile, `/usr/local/share/aliyun-assist/${c.version}/log/aliyun_assist_main.log`);
    assert.equal(c.serverHost, 'cp.example:8443');
    assert.equal(c.certPath, '/etc/ca.pem');
    assert.ok(Object.isFrozen(c) && Object.isFrozen(c.paths));
  });
  it('honours --LogPath and the install dir override', () => {
    const c = loadAgentConfig({ logPath: '/var/log/assist' }, { ALIYUN_ASSIST_INSTALL_DIR: '/opt/x' });
    assert.equal(c.paths.logFile, '/var/log/assist/aliyun_assist_main.log');
    assert.equal(c.paths.scriptDir, '/opt/x/work/script');
  });
  it('reports every problem at once', () => {
    assert.throws(
      () =>
        loadAgentConfig(
          { installDir: 'relative' },
          { ALIYUN_ASSIST_SERVER_HOST: 'http://x/', ALIYUN_ASSIST_LOG_LEVEL: 'loud' },
        ),
      (e: unknown) => isAgentError(e) && e.code === 'CONFIG_INVALID' && (e.details['issues'] as string[]).length === 3,
    );
  });
  it('reads the Session Manager limits and the sudo switch', () => {
    const d = loadAgentConfig({}, {});
    assert.equal(d.sessionIdleMs, 180_000);
    assert.equal(d.sessionMaxMs, 3 * 3600_000);
    assert.equal(d.sessionUserSudo, true);
    const c = loadAgentConfig(
      {},
      {
        ALIYUN_ASSIST_SESSION_IDLE_MS: '1500',
        ALIYUN_ASSIST_SESSION_MAX_MS: '60000',
        ALIYUN_ASSIST_SESSION_USER_SUDO: 'False',
      },
    );
    assert.deepEqual([c.sessionIdleMs, c.sessionMaxMs, c.sessionUserSudo], [1500, 60_000, false]);
    assert.throws(
      () => loadAgentConfig({}, { ALIYUN_ASSIST_SESSION_IDLE_MS: '5s', ALIYUN_ASSIST_SESSION_USER_SUDO: 'no' }),
      (e: unknown) => isAgentError(e) && (e.details['issues'] as string[]).length === 2,
    );
  });
});
