import assert from 'node:assert/strict';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { isAgentError, parseProxyUrl } from '../shared/index.js';
import { openTunnel } from './proxy.js';

describe('parseProxyUrl', () => {
  it('reads host, port and percent-encoded credentials', () => {
    const p = parseProxyUrl('http://us%40er:p%3Ass@proxy.example:3128');
    assert.equal(p.host, 'proxy.example');
    assert.equal(p.port, 3128);
    assert.equal(p.authorization, `Basic ${Buffer.from('us@er:p:ss').toString('base64')}`);
    assert.equal(p.display, 'http://us%40er@proxy.example:3128');
    assert.equal(parseProxyUrl('http://[::1]').port, 80);
    assert.equal(parseProxyUrl('http://[::1]').host, '::1');
    assert.equal(parseProxyUrl('http://p:8080/').authorization, undefined);
  });

  it('refuses other schemes and paths, without echoing a password', () => {
    for (const bad of [
      'socks5://p:1080',
      'https://p:443',
      'http://p:3128/path',
      'p:3128',
      'http://u:secret@p:3128/x',
    ]) {
      assert.throws(
        () => parseProxyUrl(bad),
        (e) => isAgentError(e) && e.code === 'CONFIG_INVALID' && !e.message.includes('secret'),
        bad,
      );
    }
  });
});

describe('openTunnel', () => {
  it('rejects with the status line when the proxy refuses CONNECT', async () => {
    const server = net.createServer((s) =>
      s.once('data', () => s.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n')),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const proxy = parseProxyUrl(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
      await assert.rejects(openTunnel(proxy, 'example.test', 443), /refused CONNECT example\.test:443: HTTP\/1\.1 403/);
    } finally {
      server.close();
    }
  });

  it('hands over bytes the proxy sent right after its answer', async () => {
    const server = net.createServer((s) =>
      s.once('data', (d: Buffer) => {
        assert.match(d.toString(), /^CONNECT \[::1\]:8443 HTTP\/1\.1\r\nHost: \[::1\]:8443\r\n\r\n$/);
        s.write('HTTP/1.1 200 Connection Established\r\n\r\nhello');
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const proxy = parseProxyUrl(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
      const socket = await openTunnel(proxy, '::1', 8443);
      // Handed over paused, for TLS to take it: read it by hand here.
      const first = await new Promise<string>((resolve) =>
        socket.once('data', (d: Buffer) => resolve(d.toString())).resume(),
      );
      assert.equal(first, 'hello');
      socket.destroy();
    } finally {
      server.close();
    }
  });
});
