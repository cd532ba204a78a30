// Raw clients for hostile-input tests: an agent identity registered in-process (its own RSA key,
// no agent binary) that sends luban requests exactly as given, signed or not, and an OpenAPI
// caller that signs any parameters (v1, cli/signer.ts) and sends them as they are, where the SDKs
// would validate or reshape them first.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { WebSocket } from 'ws';
import { formEncode, signRequest } from '../../cli/signer.js';
import { hybridHeaders, LubanPath, userAgent } from '../../protocol/index.js';
import type { Cleanup, TestControlPlane } from './control-plane.js';
import { eventually } from './eventually.js';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface RawRequest {
  method: string;
  /** Path plus query, sent as is. */
  path: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
}

/** One HTTPS request to the control plane, trusting its CA; bodies are read as UTF-8. */
export function rawRequest(h: TestControlPlane, agent: https.Agent, r: RawRequest): Promise<RawResponse> {
  const body = r.body === undefined ? undefined : Buffer.isBuffer(r.body) ? r.body : Buffer.from(r.body);
  const [host, port] = h.hostPort.split(':');
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host,
        port: Number(port),
        method: r.method,
        path: r.path,
        agent,
        headers: { ...(body ? { 'Content-Length': String(body.length) } : {}), ...r.headers },
        timeout: 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${r.method} ${r.path.slice(0, 80)} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

export interface OpenApiCaller {
  /**
   * Signs `params` for `action` (v1) and sends them in a form body (POST) or the query (GET).
   * `compact` leaves `[`, `]` and `,` unescaped (any form decoder reads them the same), so a long
   * JSON list fits the body limit.
   */
  signed(
    action: string,
    params: Record<string, string>,
    method?: 'GET' | 'POST',
    o?: { compact?: boolean },
  ): Promise<RawResponse>;
  /** Sends a request as given, e.g. unsigned or with a hand-made query. */
  raw(r: RawRequest): Promise<RawResponse>;
}

export function openApiCaller(t: Cleanup, h: TestControlPlane): OpenApiCaller {
  const agent = new https.Agent({ ca: readFileSync(h.caPath, 'utf8'), keepAlive: true, maxSockets: 4 });
  t.after(() => agent.destroy());
  return {
    signed(action, params, method = 'POST', o = {}) {
      const all = signRequest({ method, action, ...h.key, params });
      const form = o.compact
        ? formEncode(all).replace(/%2C/g, ',').replace(/%5B/g, '[').replace(/%5D/g, ']')
        : formEncode(all);
      return method === 'POST'
        ? rawRequest(h, agent, {
            method,
            path: '/',
            body: form,
            headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
          })
        : rawRequest(h, agent, { method, path: `/?${form}` });
    },
    raw: (r) => rawRequest(h, agent, r),
  };
}

export interface RawLubanPeer {
  instanceId: string;
  /** A luban request with the stock User-Agent; signed with the peer's key unless `signed` is false. */
  send(r: RawRequest & { signed?: boolean }): Promise<RawResponse>;
  /** Fresh signed identity headers (for a WebSocket handshake). */
  identity(): Record<string, string>;
  /** Opens the notify WebSocket, so the instance counts as online. */
  connect(): Promise<WebSocket>;
}

const UA = userAgent('linux', 'x64', '2.2.3.578');

/** Registers a new managed instance with a fresh activation code, as `aliyun-service --register` would. */
export async function registerRawPeer(t: Cleanup, h: TestControlPlane): Promise<RawLubanPeer> {
  const ca = readFileSync(h.caPath, 'utf8');
  const agent = new https.Agent({ ca, keepAlive: true, maxSockets: 4 });
  const sockets: WebSocket[] = [];
  t.after(() => {
    sockets.forEach((ws) => ws.terminate());
    agent.destroy();
  });
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const act = (await h.pop.call('CreateActivation', { InstanceCount: 1, TimeToLiveInHours: 1 })) as {
    ActivationCode: string;
    ActivationId: string;
  };
  const machineId = randomUUID().replace(/-/g, '');
  const reg = await rawRequest(h, agent, {
    method: 'POST',
    path: LubanPath.register,
    headers: { 'User-Agent': UA, 'Content-Type': 'application/json; charset=utf-8' },
    body: JSON.stringify({
      activationCode: act.ActivationCode,
      activationId: act.ActivationId,
      machineId,
      regionId: 'cn-local',
      instanceName: '',
      hostname: 'raw-peer',
      intranetIp: '10.0.0.9',
      osVersion: 'Linux_test',
      osType: 'linux',
      agentVersion: '2.2.3.578',
      publicKey: Buffer.from(publicKey).toString('base64'),
      tag: [],
    }),
  });
  const instanceId = (JSON.parse(reg.body) as { instanceId?: string }).instanceId;
  if (reg.status !== 200 || !instanceId) {
    throw new Error(`register failed: ${reg.status} ${reg.body}`);
  }
  const identity = () => hybridHeaders({ instanceId, machineId, privateKeyPem: privateKey });
  return {
    instanceId,
    identity,
    send(r) {
      return rawRequest(h, agent, {
        ...r,
        headers: { 'User-Agent': UA, ...(r.signed === false ? {} : identity()), ...r.headers },
      });
    },
    async connect() {
      const ws = new WebSocket(`wss://${h.hostPort}${LubanPath.notifyServer}`, {
        headers: { 'User-Agent': UA, ...identity() },
        ca,
      });
      sockets.push(ws);
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      await eventually(() => h.cp.gateway.isConnected(instanceId), { what: 'the raw peer to connect' });
      return ws;
    },
  };
}
