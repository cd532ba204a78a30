// A hand-driven stand-in for the stock agent: a real registered identity (registered by the real
// agent CLI), a signed notify WebSocket that records every kick, and signed luban calls sent
// exactly as given. It never fetches or reports on its own, so a test can replay the stock
// agent's message sequences (spec/luban-protocol.md §0, §5) or leave a task undelivered.
import { readFileSync } from 'node:fs';
import { WebSocket } from 'ws';
import { HttpClient } from '../../agent/http/index.js';
import { hybridHeaders, LubanPath, userAgent } from '../../protocol/index.js';
import { registerAgent } from './agent.js';
import type { Cleanup, TestControlPlane } from './control-plane.js';
import { eventually } from './eventually.js';

export interface StockPeer {
  instanceId: string;
  /** Every notify message received, oldest first. */
  kicks: string[];
  /** Waits for a notify message equal to `text`. */
  kicked(text: string): Promise<void>;
  /** `POST /luban/api/v1/task/list?<query>` with an empty JSON body; the parsed answer. */
  fetch(query: string): Promise<{ status: number; json: Record<string, unknown> }>;
  /** `POST /luban/api/v1/task/<kind>?<query>` with a text body, as the stock agent reports. */
  report(kind: string, query: string, body?: string | Buffer): Promise<{ status: number; body: string }>;
  close(): void;
}

export async function connectStockPeer(t: Cleanup, h: TestControlPlane): Promise<StockPeer> {
  const reg = await registerAgent(t, h);
  const machineId = readFileSync(`${reg.installDir}/hybrid/machine-id`, 'utf8');
  const privateKeyPem = readFileSync(`${reg.installDir}/hybrid/pri-key`, 'utf8');
  const caPem = readFileSync(h.caPath, 'utf8');
  const identity = () => hybridHeaders({ instanceId: reg.instanceId, machineId, privateKeyPem });
  const ua = userAgent('linux', 'x64', '2.2.3.578');
  const http = new HttpClient({ userAgent: ua, caPem, identityHeaders: identity, defaultTimeoutMs: 8_000 });
  const kicks: string[] = [];
  const ws = new WebSocket(`wss://${h.hostPort}${LubanPath.notifyServer}`, {
    headers: { 'User-Agent': ua, ...identity() },
    ca: caPem,
  });
  ws.on('message', (data) => {
    const text = Buffer.isBuffer(data) ? data.toString('utf8') : String(data);
    kicks.push(text);
    ws.send(`accept:${text}`); // the stock agent's answer to a kick it understood (§4.2)
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const peer: StockPeer = {
    instanceId: reg.instanceId,
    kicks,
    async kicked(text) {
      await eventually(() => kicks.includes(text), { what: `kick ${text}` });
    },
    async fetch(query) {
      const r = await http.request({
        method: 'POST',
        url: `https://${h.hostPort}${LubanPath.taskList}?${query}`,
        body: '',
      });
      return { status: r.status, json: JSON.parse(r.body) as Record<string, unknown> };
    },
    async report(kind, query, body = '') {
      return http.request({
        method: 'POST',
        url: `https://${h.hostPort}/luban/api/v1/task/${kind}?${query}`,
        body,
        contentType: 'text',
      });
    },
    close() {
      ws.close();
      http.close();
    },
  };
  t.after(() => peer.close());
  await eventually(() => h.cp.gateway.isConnected(reg.instanceId), { what: 'the stock peer to connect' });
  return peer;
}
