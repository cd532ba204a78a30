import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import os from 'node:os';
import { describe, it } from 'node:test';
import { cachedIntranetIp, INTRANET_IP_TTL_MS } from './host-info.js';
import { firstIntranetIp, hostInfo, osPrettyName, osVersionOf, parseOsRelease, stockOsVersion } from './index.js';

void describe('hostInfo', () => {
  void it('reports the hostname, the stock OS type and `<sysname>_<distribution>_<machine>`', () => {
    const h = hostInfo();
    assert.equal(h.hostname, os.hostname());
    if (process.platform === 'linux') {
      assert.equal(h.osType, 'linux');
      // This machine has an os-release (Debian 12 in CI): its PRETTY_NAME, not the kernel build.
      const pretty = parseOsRelease(readFileSync('/etc/os-release', 'utf8'))['PRETTY_NAME']!;
      assert.ok(pretty, 'the test machine names its distribution');
      assert.equal(h.osVersion, `Linux_${pretty}_${os.machine()}`);
    }
  });

  void it('falls back to the stock `<sysname>_<uname -v>_<machine>` without an os-release', () => {
    assert.equal(
      osVersionOf('linux', () => undefined),
      `${os.type()}_${os.version()}_${os.machine()}`,
    );
    assert.equal(stockOsVersion('linux'), `${os.type()}_${os.version()}_${os.machine()}`);
    assert.equal(
      osVersionOf('linux', () => 'Distro 1'),
      `${os.type()}_Distro 1_${os.machine()}`,
    );
    assert.equal(
      osPrettyName(() => {
        throw Object.assign(new Error('nope'), { code: 'ENOENT' });
      }),
      undefined,
    );
  });

  void it('reads PRETTY_NAME from /etc/os-release, else /usr/lib/os-release, else NAME VERSION', () => {
    const files: Record<string, string> = {
      '/usr/lib/os-release': 'NAME="Fedora Linux"\nPRETTY_NAME="Fedora Linux 40 (Server Edition)"\n',
    };
    const read = (p: string) => {
      const t = files[p];
      if (t === undefined) {
        throw new Error(`ENOENT ${p}`);
      }
      return t;
    };
    assert.equal(osPrettyName(read), 'Fedora Linux 40 (Server Edition)');
    files['/etc/os-release'] = "NAME='Alpine Linux'\nVERSION=3.20.1\n";
    assert.equal(osPrettyName(read), 'Alpine Linux 3.20.1');
    files['/etc/os-release'] = '# nothing useful\n';
    assert.equal(osPrettyName(read), undefined);
  });

  void it('parses os-release quoting: double quotes with escapes, single quotes, bare words, comments', () => {
    assert.deepEqual(
      parseOsRelease(
        [
          '# a comment',
          'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"',
          'NAME=Debian',
          "VERSION='12 (bookworm)'",
          'HOME_URL="https://www.debian.org/"',
          'QUOTED="say \\"hi\\" \\$HOME"',
          'not a variable',
          '',
        ].join('\n'),
      ),
      {
        PRETTY_NAME: 'Debian GNU/Linux 12 (bookworm)',
        NAME: 'Debian',
        VERSION: '12 (bookworm)',
        HOME_URL: 'https://www.debian.org/',
        QUOTED: 'say "hi" $HOME',
      },
    );
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

void describe('cachedIntranetIp', () => {
  void it('answers as firstIntranetIp, and asks the system again only once the TTL has passed', () => {
    const t0 = 1_000_000;
    const first = cachedIntranetIp(t0);
    assert.equal(first, firstIntranetIp());
    assert.equal(cachedIntranetIp(t0 + INTRANET_IP_TTL_MS - 1), first);
    assert.equal(cachedIntranetIp(t0 + INTRANET_IP_TTL_MS), firstIntranetIp());
    // A clock that went backwards (another test's t0) re-reads rather than trusting the cache.
    assert.equal(cachedIntranetIp(1), firstIntranetIp());
  });
});
