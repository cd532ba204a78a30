// HTTPS client of the agent API: system CAs plus the configured CA, identity headers on every call,
// stock timeouts (spec/luban-protocol.md §1.1).
import http from 'node:http';
import https from 'node:https';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import { AgentError, type ProxySettings } from '../shared/index.js';
import { ProxyTunnelAgent } from './proxy.js';

export interface HttpRequest {
  method: 'GET' | 'POST';
  url: string;
  body?: string | Buffer;
  /** `json` → application/json; charset=utf-8, `text` → text/plain; charset=utf-8. */
  contentType?: 'json' | 'text';
  timeoutMs?: number;
  /** Discovery probes and registration carry no identity headers (§1.1, §7.2). */
  withIdentity?: boolean;
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  body: string;
}

export interface HttpClientOptions {
  userAgent: string;
  /** Extra PEM CA certificates trusted besides the system pool. */
  caPem?: string;
  /** Called per request: hybrid signatures are fresh each time. */
  identityHeaders?: () => Record<string, string>;
  defaultTimeoutMs?: number;
  /** ALIYUN_ASSIST_PROXY: HTTPS through a CONNECT tunnel, HTTP in absolute form. */
  proxy?: ProxySettings;
}

export class HttpClient {
  readonly #o: HttpClientOptions;
  readonly #secureContext: SecureContext;
  readonly #httpsAgent: https.Agent;
  readonly #httpAgent: http.Agent;
  #webSocketAgent: https.Agent | undefined;
  constructor(o: HttpClientOptions) {
    this.#o = o;
    // One TLS context for every connection, built once: given a `ca` list instead, each new
    // connection parses the ~140 system roots again (about 30 ms, and the memory of the contexts
    // it drops is not given back), and https.Agent joins them into the pool key of every request.
    this.#secureContext = createSecureContext({
      ca: o.caPem ? [...rootCertificates, o.caPem] : [...rootCertificates],
    });
    const tlsOptions = { keepAlive: true, maxSockets: 16, secureContext: this.#secureContext };
    this.#httpsAgent = o.proxy ? new ProxyTunnelAgent(o.proxy, tlsOptions) : new https.Agent(tlsOptions);
    this.#httpAgent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  }

  /** The agent WebSockets connect through: the proxy tunnel when there is a proxy, else ws's own default. */
  webSocketAgent(): https.Agent | undefined {
    if (this.#o.proxy && !this.#webSocketAgent) {
      this.#webSocketAgent = new ProxyTunnelAgent(this.#o.proxy, { secureContext: this.#secureContext });
    }
    return this.#webSocketAgent;
  }

  /** The trust pool (the system roots plus the configured CA, §2.5) as one TLS context, for every connection. */
  secureContext(): SecureContext {
    return this.#secureContext;
  }

  /** Headers every API request and WebSocket handshake carries. */
  headers(withIdentity = true): Record<string, string> {
    return { 'User-Agent': this.#o.userAgent, ...(withIdentity ? (this.#o.identityHeaders?.() ?? {}) : {}) };
  }

  request(req: HttpRequest): Promise<HttpResponse> {
    const url = new URL(req.url);
    const isHttps = url.protocol === 'https:';
    const headers: Record<string, string> = this.headers(req.withIdentity !== false);
    if (req.method === 'POST') {
      headers['Content-Type'] =
        req.contentType === 'text' ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8';
    }
    const body = req.body === undefined ? undefined : Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body);
    if (body) {
      headers['Content-Length'] = String(body.length);
    }
    const timeoutMs = req.timeoutMs ?? this.#o.defaultTimeoutMs ?? 5_000;
    // Plain HTTP through the proxy: the request goes to the proxy with the absolute URL as its path.
    const proxy = isHttps ? undefined : this.#o.proxy;
    if (proxy?.authorization) {
      headers['Proxy-Authorization'] = proxy.authorization;
    }
    const target = proxy
      ? { host: proxy.host, port: proxy.port, path: url.href }
      : { host: url.hostname.replace(/^\[|\]$/g, ''), port: url.port, path: `${url.pathname}${url.search}` };
    if (proxy) {
      headers['Host'] = url.host;
    }
    return new Promise<HttpResponse>((resolve, reject) => {
      const r = (isHttps ? https : http).request(
        {
          ...target,
          method: req.method,
          headers,
          agent: isHttps ? this.#httpsAgent : this.#httpAgent,
          signal: req.signal
            ? AbortSignal.any([req.signal, AbortSignal.timeout(timeoutMs)])
            : AbortSignal.timeout(timeoutMs),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', (e) => reject(unreachable(url, e)));
        },
      );
      r.on('error', (e) => reject(unreachable(url, e)));
      r.end(body);
    });
  }

  /** A request whose answer must be 2xx/400 JSON (stock: only status > 400 is an error). */
  async requestJson(req: HttpRequest): Promise<unknown> {
    const res = await this.request(req);
    if (res.status > 400) {
      throw new AgentError('HTTP_STATUS', `${req.method} ${new URL(req.url).pathname} answered ${res.status}`, {
        retryable: res.status >= 500 || res.status === 429,
        details: { status: res.status, body: res.body.slice(0, 500) },
      });
    }
    try {
      return JSON.parse(res.body) as unknown;
    } catch (e) {
      throw new AgentError('PROTOCOL_BAD_MESSAGE', `${new URL(req.url).pathname} answered non-JSON`, { cause: e });
    }
  }

  close(): void {
    this.#httpsAgent.destroy();
    this.#httpAgent.destroy();
    this.#webSocketAgent?.destroy();
  }
}

function unreachable(url: URL, e: Error): AgentError {
  return new AgentError('SERVER_UNREACHABLE', `${url.host}${url.pathname}: ${e.message}`, {
    retryable: true,
    cause: e,
  });
}
