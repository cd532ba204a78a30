// HTTPS for the simulated agents: the stock agent's request shapes (User-Agent, content types, the
// 5 s / 8 s timeouts, "an error is a transport error or a status above 400", §1.1) over one
// keep-alive pool per worker process.
//
// Connections: the stock agent is one Go process per machine with a keep-alive client, so a real
// fleet holds about one idle HTTPS connection per agent besides its notify socket. Simulating that
// would double the simulator's sockets (and open-file needs) for no change in the requests the
// server handles, so each worker shares one keep-alive pool among its agents, large enough
// (`httpSockets`, default 1024) that requests rarely wait for a socket: the server sees the same
// requests with nearly the same concurrency, but fewer idle sockets and TLS handshakes than a real
// fleet would give it. The notify sockets (one per agent, one TLS handshake each) are real.
//
// A pooled socket is kept while idle (Node's agent would close all but 256 of them after a burst and
// open them again, with new handshakes, on the next one): each stock agent keeps its own connection
// between requests, so the server does not see those handshakes from a real fleet either. Requests
// take the pool's least recently used socket (`fifo`): a real agent's heartbeat, every 60 s, keeps
// its own connection inside the server's 72 s keep-alive, and the heartbeats spread over the pool
// keep every pooled socket warm the same way. Node's default (`lifo`) kept reusing a few sockets, the
// server closed the rest after 72 s of idle, and the first fan-out after an idle minute opened
// thousands of connections at once (10 s of the simulator's CPU in handshakes, and fetches past
// their timeout). The certificates are parsed into one TLS context for the worker, shared by the
// pool and the notify sockets, as our agent does (a `ca` option instead builds a context per
// connection).
import https from 'node:https';
import { createSecureContext, type SecureContext } from 'node:tls';

export interface HttpResult {
  status: number;
  body: string;
}

export type BodyType = 'json' | 'text';

const CONTENT_TYPE: Record<BodyType, string> = {
  json: 'application/json; charset=utf-8',
  text: 'text/plain; charset=utf-8',
};

export class HttpError extends Error {
  /** The error code (ECONNREFUSED, timeout, …), used as the counter key. */
  readonly label: string;
  constructor(label: string, message: string) {
    super(message);
    this.label = label;
  }
}

export class LubanHttp {
  readonly #agent: https.Agent;
  readonly #hostPort: string;
  readonly #userAgent: string;
  readonly #secureContext: SecureContext;
  #connectionsOpened = 0;
  /** Sockets seen so far (a queued request handed a busy socket is not flagged `reusedSocket`). */
  readonly #seen = new WeakSet<object>();
  constructor(o: { hostPort: string; caPem: string; userAgent: string; maxSockets: number }) {
    this.#hostPort = o.hostPort;
    this.#userAgent = o.userAgent;
    this.#secureContext = createSecureContext({ ca: o.caPem });
    // Go's transport: TCP keep-alive 30 s, idle connections kept 90 s.
    this.#agent = new https.Agent({
      keepAlive: true,
      keepAliveMsecs: 30_000,
      maxSockets: o.maxSockets,
      maxFreeSockets: o.maxSockets,
      scheduling: 'fifo',
      secureContext: this.#secureContext,
    });
  }

  get userAgent(): string {
    return this.#userAgent;
  }

  /** The worker's one TLS context (trusting the server's CA), for the notify sockets too. */
  get secureContext(): SecureContext {
    return this.#secureContext;
  }

  /** Connections opened so far: sockets first handed to a request (a reused one counts once). */
  get connectionsOpened(): number {
    return this.#connectionsOpened;
  }

  get hostPort(): string {
    return this.#hostPort;
  }

  /**
   * One request. Resolves with any HTTP answer; rejects (HttpError, label = the error code) on a
   * transport failure or timeout. A request that fails because the server closed an idle pooled
   * socket under it is sent again once, as Go's transport does.
   */
  async request(o: {
    method: 'GET' | 'POST';
    path: string;
    headers?: Record<string, string>;
    body?: string;
    type?: BodyType;
    timeoutMs: number;
  }): Promise<HttpResult> {
    try {
      return await this.#once(o);
    } catch (e) {
      if (e instanceof StaleSocket) {
        return this.#once(o);
      }
      throw e;
    }
  }

  #once(o: {
    method: 'GET' | 'POST';
    path: string;
    headers?: Record<string, string>;
    body?: string;
    type?: BodyType;
    timeoutMs: number;
  }): Promise<HttpResult> {
    const body = o.method === 'POST' ? Buffer.from(o.body ?? '', 'utf8') : undefined;
    const headers: Record<string, string> = {
      'User-Agent': this.#userAgent,
      // The Go library's default on GET, kept for fidelity (the spec says to ignore it).
      'Content-Type': o.method === 'GET' ? 'application/x-www-form-urlencoded' : CONTENT_TYPE[o.type ?? 'json'],
      ...o.headers,
    };
    if (body) {
      headers['Content-Length'] = String(body.length);
    }
    return new Promise<HttpResult>((resolve, reject) => {
      const req = https.request(
        `https://${this.#hostPort}${o.path}`,
        { method: o.method, agent: this.#agent, headers },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', (e) => reject(new HttpError('response', e.message)));
        },
      );
      // The clock starts when the request has a connection: waiting for a pooled socket is the
      // simulator's own queue, which an agent with its own connection would not have.
      let timer: NodeJS.Timeout | undefined;
      req.once('socket', (socket) => {
        if (!this.#seen.has(socket)) {
          this.#seen.add(socket);
          this.#connectionsOpened++;
        }
        timer = setTimeout(() => req.destroy(new HttpError('timeout', `no answer in ${o.timeoutMs} ms`)), o.timeoutMs);
      });
      req.on('close', () => clearTimeout(timer));
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (req.reusedSocket && (e.code === 'ECONNRESET' || e.code === 'EPIPE')) {
          reject(new StaleSocket());
        } else {
          reject(e instanceof HttpError ? e : new HttpError(e.code ?? 'error', e.message));
        }
      });
      req.end(body);
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}

class StaleSocket extends Error {}
