import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseForwardSpec } from './port-forward.js';

describe('assist port-forward <local>:<remote>[@host]', () => {
  it('reads the local and remote ports and the optional host', () => {
    assert.deepEqual(parseForwardSpec('8080:80'), { local: 8080, remote: 80, host: '' });
    assert.deepEqual(parseForwardSpec('5433:5432@10.0.0.5'), { local: 5433, remote: 5432, host: '10.0.0.5' });
    assert.deepEqual(parseForwardSpec('0:22@db.internal'), { local: 0, remote: 22, host: 'db.internal' });
  });

  it('refuses anything else as a usage error', () => {
    for (const bad of ['80', ':80', '8080:0', '8080:70000', '70000:80', 'a:b', '8080:80@']) {
      assert.throws(() => parseForwardSpec(bad), { code: 'USAGE' }, bad);
    }
  });
});
