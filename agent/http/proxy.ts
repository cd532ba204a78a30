// ALIYUN_ASSIST_PROXY: every agent request, HTTPS and the notify WebSocket alike, goes through an
// HTTP proxy (spec/luban-protocol.md §1.1). HTTPS goes through a CONNECT tunnel with TLS to the
// server inside it, so the proxy sees only the host and port; plain HTTP is sent to the proxy in
// absolute form, as Go's transport does.
import type http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { AgentError, type ProxySettings } from '../shared/index.js';

const CONNECT_TIMEOUT_MS = 30_000;
const MAX_RESPONSE_HEAD = 16 * 1024;

const authority = (host: string, port: number) => `${net.isIPv6(host) ? `[${host}]` : host}:${port}`;

/** Opens a TCP connection to `host:port` through the proxy's CONNECT; resolves once the proxy says 2xx. */
export function openTunnel(proxy: ProxySettings, host: string, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const target = authority(host, port);
    const socket = net.connect({ host: proxy.host, port: proxy.port });
    let head = Buffer.alloc(0);
    const fail = (message: string, cause?: unknown) => {
      cleanup();
      socket.destroy();
      reject(
        new AgentError('SERVER_UNREACHABLE', `proxy ${proxy.display}: ${message}`, {
          retryable: true,
          cause,
          details: { target },
        }),
      );
    };
    const onError = (e: Error) => fail(e.message, e);
    const onClose = () => fail('closed the connection before answering CONNECT');
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > MAX_RESPONSE_HEAD) {
          fail('sent an oversized answer to CONNECT');
        }
        return;
      }
      const statusLine = head.subarray(0, head.indexOf('\r\n')).toString('latin1');
      if (!/^HTTP\/1\.[01] 2\d\d\b/.test(statusLine)) {
        fail(`refused CONNECT ${target}: ${statusLine}`);
        return;
      }
      cleanup();
      socket.pause();
      const rest = head.subarray(end + 4);
      if (rest.length > 0) {
        socket.unshift(rest);
      }
      resolve(socket);
    };
    const cleanup = () => {
      socket.setTimeout(0);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
    };
    socket.setTimeout(CONNECT_TIMEOUT_MS, () => fail('no answer to CONNECT'));
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.once('connect', () => {
      const auth = proxy.authorization ? `Proxy-Authorization: ${proxy.authorization}\r\n` : '';
      socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n${auth}\r\n`);
    });
  });
}

/**
 * An https.Agent whose connections are TLS inside a CONNECT tunnel. Usable by node:https requests
 * and by `ws` (its `agent` option); TLS options (the CA pool) come from the agent or the request.
 */
export class ProxyTunnelAgent extends https.Agent {
  readonly #proxy: ProxySettings;
  constructor(proxy: ProxySettings, options: https.AgentOptions = {}) {
    super(options);
    this.#proxy = proxy;
  }

  // Node's Agent waits for the callback when createConnection returns nothing.
  override createConnection(
    options: http.RequestOptions,
    callback?: (err: Error | null, socket: Duplex) => void,
  ): Duplex | null | undefined {
    const host = options.host ?? 'localhost';
    const port = Number(options.port ?? 443);
    openTunnel(this.#proxy, host, port).then(
      (socket) => {
        const servername = (options as tls.ConnectionOptions).servername || (net.isIP(host) ? undefined : host);
        // The request's host, port and path name the server, not a socket to open: leave them out.
        const rest: Record<string, unknown> = { ...options };
        delete rest['host'];
        delete rest['port'];
        delete rest['path'];
        const secure = tls.connect({
          ...(rest as tls.ConnectionOptions),
          socket,
          ...(servername ? { servername } : {}),
        });
        callback?.(null, secure);
      },
      (e: unknown) => callback?.(e as Error, undefined as unknown as Duplex),
    );
    return undefined;
  }
}
