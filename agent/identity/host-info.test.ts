import assert from 'node:assert/strict';
import { isIPv4 } from 'node:net';
import os from 'node:os';
import { describe, it } from 'node:test';
import { hostInfo } from './index.js';

void describe('hostInfo', () => {
  void it('reports the hostname, the stock OS type and `<sysname>_<uname -v>_<machine>`', () => {
    const h = hostInfo();
    assert.equal(h.hostname, os.hostname());
    if (process.platform === 'linux') {
      assert.equal(h.osType, 'linux');
      assert.equal(h.osVersion, `Linux_${os.version()}_${os.machine()}`);
    }
  });

  void it('reports a non-loopback IPv4 address of this host, or nothing', () => {
    const { intranetIp } = hostInfo();
    if (intranetIp === '') {
      return;
    }
    assert.ok(isIPv4(intranetIp), intranetIp);
    assert.ok(!intranetIp.startsWith('127.'), intranetIp);
    const own = Object.values(os.networkInterfaces()).flatMap((a) => (a ?? []).map((x) => x.address));
    assert.ok(own.includes(intranetIp));
  });
});
