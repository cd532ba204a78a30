// Every endpoint of the luban catalogue (spec/luban-protocol.md §3) against a real control plane:
// none may answer 404 (the stock agent logs each one as an error, every time it calls), and a
// feature this server does not offer answers the way the stock agent reads "not here".
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { startControlPlane, suiteCleanup, type TestControlPlane } from '../harness/control-plane.js';
import { registerRawPeer, type RawLubanPeer, type RawResponse } from '../harness/raw-peer.js';

/** §3, in its order. `signed`: the stock agent sends its identity headers on it (§1.1). */
const CATALOGUE: { n: number; method: 'GET' | 'POST' | 'WSS'; path: string; signed: boolean; query?: string }[] = [
  { n: 1, method: 'GET', path: '/luban/api/connection_detect', signed: false },
  { n: 2, method: 'GET', path: '/luban/api/classic/region-id', signed: false },
  { n: 3, method: 'GET', path: '/luban/api/heart-beat', signed: true, query: 'uptime=1&timestamp=1&pid=1' },
  { n: 4, method: 'POST', path: '/luban/api/gshell', signed: true },
  { n: 5, method: 'WSS', path: '/luban/notify_server', signed: true },
  { n: 6, method: 'POST', path: '/luban/api/v1/task/list', signed: true, query: 'reason=startup' },
  { n: 7, method: 'POST', path: '/luban/api/v1/session/list', signed: true, query: 'channelId=s-1' },
  { n: 8, method: 'POST', path: '/luban/api/v1/task/running', signed: true, query: 'taskId=t-none' },
  { n: 9, method: 'POST', path: '/luban/api/v1/task/finish', signed: true, query: 'taskId=t-none' },
  { n: 10, method: 'POST', path: '/luban/api/v1/task/timeout', signed: true, query: 'taskId=t-none' },
  { n: 11, method: 'POST', path: '/luban/api/v1/task/error', signed: true, query: 'taskId=t-none' },
  { n: 12, method: 'POST', path: '/luban/api/v1/task/stopped', signed: true, query: 'taskId=t-none&result=killed' },
  { n: 13, method: 'POST', path: '/luban/api/v1/task/invalid', signed: true, query: 'taskId=t-none' },
  { n: 14, method: 'POST', path: '/luban/api/v1/task/verified', signed: true, query: 'taskId=t-none' },
  {
    n: 15,
    method: 'POST',
    path: '/luban/api/v1/session/status',
    signed: true,
    query: 'channelId=s-1&status=Failed&errorcode=Open_channel_failed',
  },
  { n: 16, method: 'WSS', path: '/luban/session/backend', signed: true, query: 'channelId=s-1' },
  { n: 17, method: 'POST', path: '/luban/api/v1/update/update_check', signed: true },
  { n: 18, method: 'POST', path: '/luban/api/v1/plugin/list', signed: true },
  { n: 19, method: 'POST', path: '/luban/api/v1/plugin/report_status', signed: true },
  { n: 20, method: 'POST', path: '/luban/api/v2/plugin/update_check', signed: true },
  { n: 21, method: 'POST', path: '/luban/api/v1/exception/client_report', signed: true },
  { n: 22, method: 'POST', path: '/luban/api/metrics', signed: true },
  { n: 23, method: 'POST', path: '/luban/api/instance/register', signed: false },
  { n: 24, method: 'POST', path: '/luban/api/instance/deregister', signed: true },
  { n: 25, method: 'POST', path: '/luban/api/instance/list_instance_state_configurations', signed: true },
  { n: 26, method: 'POST', path: '/luban/api/instance/get_template', signed: true },
  { n: 27, method: 'POST', path: '/luban/api/instance/put_instance_state_report', signed: true },
  { n: 28, method: 'POST', path: '/luban/api/instance/put_inventory', signed: true },
];

/** Request bodies the stock agent sends (§7.2, §9, §10); the rest are empty. */
const BODIES: Record<string, unknown> = {
  '/luban/api/v1/update/update_check': {
    os: 'linux',
    arch: 'x64',
    app_id: 'aliyun assistant',
    app_version: '2.2.3.578',
  },
  '/luban/api/v1/plugin/list': { osType: 'linux', pluginName: 'oosutil', version: '', arch: '' },
  '/luban/api/v1/plugin/report_status': { plugin: [{ name: 'p', status: 'PERSIST_RUNNING', version: '1.0' }] },
  '/luban/api/v2/plugin/update_check': { os: 'linux', arch: 'x64', plugin: [{ name: 'p', version: '1.0' }] },
  '/luban/api/v1/exception/client_report': { type: 'switch_channel_in_timer', info: 'x' },
  '/luban/api/metrics': { eventId: 'agent.startup', category: 'AGENT', eventTime: 1 },
  '/luban/api/instance/list_instance_state_configurations': {
    agentName: 'aliyunAssist',
    agentVersion: '2.2.3.578',
    computerName: 'h',
    platformName: 'Linux',
    platformType: 'linux',
    platformVersion: '6',
    ipAddress: '10.0.0.9',
    ramRole: '',
  },
  '/luban/api/instance/get_template': { templateName: 'ACS-Inventory' },
  '/luban/api/instance/put_instance_state_report': {
    stateConfigurationId: 'sc-1',
    reportTime: '2024-01-01T00:00:00Z',
    status: 'Compliant',
    mode: 'Apply',
  },
  '/luban/api/instance/put_inventory': { items: '' },
};

describe('the luban endpoint catalogue', () => {
  let h: TestControlPlane;
  let peer: RawLubanPeer;
  const cleanup = suiteCleanup();
  before(async () => {
    h = await startControlPlane(cleanup);
    peer = await registerRawPeer(cleanup, h);
  });

  /** The HTTP status of a WebSocket handshake: 101 when it opened. */
  async function handshake(path: string, signed: boolean): Promise<number> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`wss://${h.hostPort}${path}`, {
        headers: { 'User-Agent': 'linux_amd64/2.2.3.578', ...(signed ? peer.identity() : {}) },
        ca: readFileSync(h.caPath, 'utf8'),
      });
      ws.once('open', () => {
        ws.close();
        resolve(101);
      });
      ws.once('unexpected-response', (_req, res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      ws.once('error', reject);
    });
  }

  it('answers every endpoint of §3, none with 404 and none with a server error', async () => {
    const seen: string[] = [];
    // Deregistration last: it ends the peer's identity.
    const order = [...CATALOGUE.filter((e) => e.n !== 24), CATALOGUE.find((e) => e.n === 24)!];
    for (const e of order) {
      const url = e.query ? `${e.path}?${e.query}` : e.path;
      const status =
        e.method === 'WSS'
          ? await handshake(url, e.signed)
          : (
              await peer.send({
                method: e.method,
                path: url,
                signed: e.signed,
                body: e.method === 'POST' ? JSON.stringify(BODIES[e.path] ?? {}) : undefined,
                headers: e.method === 'POST' ? { 'Content-Type': 'application/json; charset=utf-8' } : {},
              })
            ).status;
      seen.push(`#${e.n} ${e.method} ${e.path} → ${status}`);
    }
    const bad = seen.filter((s) => / → (404|5\d\d|0)$/.test(s));
    assert.deepEqual(bad, [], seen.join('\n'));
  });

  it('tells the state manager the feature is not offered, so the agent backs off to once a day', async () => {
    const fresh = await registerRawPeer(cleanup, h);
    for (const path of [
      '/luban/api/instance/list_instance_state_configurations',
      '/luban/api/instance/get_template',
      '/luban/api/instance/put_instance_state_report',
      '/luban/api/instance/put_inventory',
    ]) {
      const r: RawResponse = await fresh.send({
        method: 'POST',
        path,
        body: JSON.stringify(BODIES[path]),
        headers: { 'Content-Type': 'application/json; charset=utf-8' },
      });
      assert.equal(r.status, 200, `${path}: ${r.body}`);
      const body = JSON.parse(r.body) as { errCode: string; errMsg: string };
      assert.equal(body.errCode, 'ServiceNotSupported', path);
      assert.ok(body.errMsg.length > 0);
      // The stock agent's test for an error: errCode >= "400" as strings.
      assert.ok(body.errCode >= '400');
    }
    const unsigned = await fresh.send({
      method: 'POST',
      path: '/luban/api/instance/list_instance_state_configurations',
      signed: false,
      body: '{}',
    });
    assert.equal(unsigned.status, 401);
  });

  it('answers a request the store fails with 500, and logs it with its path and error', async () => {
    const fresh = await registerRawPeer(cleanup, h);
    const errors: [string, Record<string, unknown>][] = [];
    const log = h.cp.log as unknown as { error: (msg: string, meta: Record<string, unknown>) => unknown };
    const error = log.error;
    log.error = (msg, meta) => errors.push([msg, meta]);
    // Every signed request claims its request id in this table: without it, none can be answered.
    await h.cp.db.schema.alterTable('agent_request_ids').renameTo('agent_request_ids_away').execute();
    try {
      const r = await fresh.send({ method: 'GET', path: '/luban/api/heart-beat?uptime=1' });
      assert.equal(r.status, 500);
    } finally {
      await h.cp.db.schema.alterTable('agent_request_ids_away').renameTo('agent_request_ids').execute();
      log.error = error;
    }
    const failed = errors.filter(([msg]) => msg === 'request failed').map(([, meta]) => meta);
    assert.equal(failed.length, 1, JSON.stringify(errors));
    assert.equal(failed[0]!['path'], '/luban/api/heart-beat');
    assert.equal(failed[0]!['status'], 500);
    assert.match(String(failed[0]!['err']), /agent_request_ids/);
    const again = await fresh.send({ method: 'GET', path: '/luban/api/heart-beat?uptime=1' });
    assert.equal(again.status, 200);
  });

  it('offers no plugins and no sessions, and tells the classic-network probe its region', async () => {
    const fresh = await registerRawPeer(cleanup, h);
    const post = async (path: string) => {
      const r = await fresh.send({
        method: 'POST',
        path,
        body: JSON.stringify(BODIES[path] ?? {}),
        headers: { 'Content-Type': 'application/json; charset=utf-8' },
      });
      assert.equal(r.status, 200, `${path}: ${r.body}`);
      return JSON.parse(r.body) as Record<string, unknown>;
    };
    assert.deepEqual((await post('/luban/api/v1/plugin/list'))['pluginList'], []);
    assert.deepEqual((await post('/luban/api/v2/plugin/update_check'))['plugin'], []);
    const status = await post('/luban/api/v1/plugin/report_status');
    assert.equal(status['code'], 200);
    assert.equal(status['scanInterval'], 900);
    const sessions = await post('/luban/api/v1/session/list?channelId=s-1');
    assert.deepEqual(sessions['session'], []);
    assert.deepEqual(sessions['run'], []);
    const region = await fresh.send({ method: 'GET', path: '/luban/api/classic/region-id', signed: false });
    assert.equal(region.status, 200);
    assert.equal(region.body, 'cn-local');
  });
});
