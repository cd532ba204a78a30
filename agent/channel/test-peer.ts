// Test-only (not exported from index.ts): a real TLS control-plane peer on 127.0.0.1 serving the notify
// WebSocket plus `connection_detect` and `heart-beat`, with a throwaway self-signed certificate.
import { generateKeyPairSync } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import forge from 'node-forge';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { LubanPath } from '../../protocol/index.js';
import { HttpClient } from '../http/index.js';

let cached: { cert: string; key: string } | undefined;

/** A self-signed certificate for 127.0.0.1/localhost, made once per test process. */
export function testCert(): { cert: string; key: string } {
  if (cached) {
    return cached;
  }
  // Node makes the key (fast, native); forge only builds and signs the certificate.
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
  cert.serialNumber = '01' + forge.util.bytesToHex(forge.random.getBytesSync(8));
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 24 * 3600_000);
  const name = [{ name: 'commonName', value: 'channel test peer' }];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [
        { type: 7, ip: '127.0.0.1' },
        { type: 2, value: 'localhost' },
      ],
    },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(keyPem), forge.md.sha256.create());
  cached = { cert: forge.pki.certificateToPem(cert), key: keyPem };
  return cached;
}

/** The agent's HTTP client as the brief prescribes for these tests. */
export function testHttpClient(): HttpClient {
  return new HttpClient({
    userAgent: 'linux_amd64/test',
    caPem: testCert().cert,
    identityHeaders: () => ({ 'x-acs-instance-id': 'mi-1' }),
  });
}

export interface PeerConnection {
  ws: WebSocket;
  headers: IncomingHttpHeaders;
  /** Text of every frame the agent sent. */
  received: string[];
  /** How many of them were binary frames (the agent must answer with text). */
  binaryFrames: number;
  /** Payloads of the agent's pings. */
  pings: string[];
  /** Close code seen by the server, once closed. */
  closeCode?: number;
}

export interface Reply {
  status: number;
  body: string;
}

export interface Peer {
  port: number;
  /** `127.0.0.1:<port>`, what the agent gets as its server host. */
  host: string;
  connections: PeerConnection[];
  detectRequests: IncomingHttpHeaders[];
  heartbeats: { query: URLSearchParams; headers: IncomingHttpHeaders }[];
  /** Answer of `connection_detect`; n counts from 0. */
  detect: (n: number) => Reply;
  /** Answer of `heart-beat`; n counts from 0. */
  heartbeat: (n: number) => Reply;
  close(): Promise<void>;
}

export async function startPeer(o: { port?: number; autoPong?: boolean } = {}): Promise<Peer> {
  const { cert, key } = testCert();
  const server = https.createServer({ cert, key });
  const wss = new WebSocketServer({ server, path: LubanPath.notifyServer, autoPong: o.autoPong ?? true });
  const peer: Peer = {
    port: 0,
    host: '',
    connections: [],
    detectRequests: [],
    heartbeats: [],
    detect: () => ({ status: 200, body: 'ok' }),
    heartbeat: () => ({ status: 200, body: '{"code":200,"nextInterval":60000}' }),
    close: async () => {
      for (const c of wss.clients) {
        c.terminate();
      }
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  server.on('request', (req, res) => {
    const url = new URL(req.url ?? '/', 'https://peer');
    let reply: Reply = { status: 404, body: 'not found' };
    if (url.pathname === LubanPath.connectionDetect) {
      peer.detectRequests.push(req.headers);
      reply = peer.detect(peer.detectRequests.length - 1);
    } else if (url.pathname === LubanPath.heartbeat) {
      peer.heartbeats.push({ query: url.searchParams, headers: req.headers });
      reply = peer.heartbeat(peer.heartbeats.length - 1);
    }
    res.writeHead(reply.status, { 'content-type': 'text/plain' }).end(reply.body);
  });
  wss.on('connection', (ws, req) => {
    const c: PeerConnection = { ws, headers: req.headers, received: [], binaryFrames: 0, pings: [] };
    peer.connections.push(c);
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      c.received.push(data.toString('utf8'));
      if (isBinary) {
        c.binaryFrames++;
      }
    });
    ws.on('ping', (data: Buffer) => c.pings.push(data.toString('utf8')));
    ws.on('close', (code: number) => (c.closeCode = code));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, '127.0.0.1', () => resolve());
  });
  peer.port = (server.address() as AddressInfo).port;
  peer.host = `127.0.0.1:${peer.port}`;
  return peer;
}

/** Polls until pred() holds; rejects after timeoutMs naming what was awaited. */
export async function until(pred: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}
