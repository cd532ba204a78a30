// Every request the real agent process sends is checked against the wire contract in protocol/:
// a strict HTTPS luban server parses each one with protocol's parsers (and the stock query order
// and escaping, by rebuilding it), verifies the hybrid signature, and records anything invalid.
// The agent registers, connects, heartbeats, fetches, runs tasks of every outcome, reports and
// deregisters; the test fails on the first request that does not validate.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  HybridHeader,
  LubanPath,
  buildReportQuery,
  buildTaskListQuery,
  hybridSignatureInput,
  isReportKind,
  parseRegisterRequest,
  parseReportQuery,
  parseTaskListQuery,
  verifyHybrid,
  type Report,
} from '../../protocol/index.js';
import { agentCommand, runAgentCli } from '../harness/agent.js';
import { eventually } from '../harness/eventually.js';

interface Seen {
  method: string;
  path: string;
  query: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const UA = /^linux_(amd64|arm64|386|arm|ppc64|s390x|riscv64)\/\d+\.\d+\.\d+\.\d+$/;
const HEARTBEAT_KEYS = ['uptime', 'timestamp', 'pid', 'process_uptime', 'index', 'seq_no'];
const HEARTBEAT_FIRST_KEYS = ['virt_type', 'os_version', 'az', 'machineid', 'cold_start'];

describe('every request of the agent validates against protocol/', { timeout: 90_000 }, () => {
  let dir: string;
  let server: Server;
  let wss: WebSocketServer;
  let hostPort: string;
  let agent: ChildProcess | undefined;
  let env: Record<string, string>;
  const seen: Seen[] = [];
  const violations: string[] = [];
  const sockets = new Set<WebSocket>();
  const requestIds = new Set<string>();
  let publicKeyPem = '';
  let machineId = '';
  const instanceId = `mi-${randomBytes(8).toString('hex')}`;
  /** What the next task-list fetches answer, in order; then empty lists. */
  const lists: unknown[] = [];

  const bad = (s: Seen, why: string): void => {
    violations.push(`${s.method} ${s.path}?${s.query}: ${why}`);
  };

  /** Identity headers of a signed request: present, fresh, unique, and the signature verifies. */
  function checkIdentity(s: Seen): void {
    const h = (k: string): string => String(s.headers[k.toLowerCase()] ?? '');
    const [id, ts, rid, sig] = [
      h(HybridHeader.instanceId),
      h(HybridHeader.timestamp),
      h(HybridHeader.requestId),
      h(HybridHeader.signature),
    ];
    if (id !== instanceId) {
      return bad(s, `instance id header ${id}`);
    }
    if (!/^\d{13}$/.test(ts) || Math.abs(Number(ts) - Date.now()) > 60_000) {
      return bad(s, `timestamp header ${ts}`);
    }
    if (rid === '' || requestIds.has(rid)) {
      return bad(s, `request id missing or reused: ${rid}`);
    }
    requestIds.add(rid);
    if (!verifyHybrid(publicKeyPem, hybridSignatureInput(id, machineId, ts, rid), sig)) {
      bad(s, 'hybrid signature does not verify');
    }
  }

  function contentType(s: Seen, want: 'json' | 'text'): void {
    const ct = String(s.headers['content-type'] ?? '');
    const expected = want === 'json' ? 'application/json; charset=utf-8' : 'text/plain; charset=utf-8';
    if (ct !== expected) {
      bad(s, `content-type ${ct}, expected ${expected}`);
    }
  }

  /** Validates one request; returns the report it carried, if it is a report. */
  function validate(s: Seen): Report | undefined {
    if (!UA.test(String(s.headers['user-agent']))) {
      bad(s, `user-agent ${s.headers['user-agent']}`);
    }
    const q = new URLSearchParams(s.query);
    if (s.path === LubanPath.connectionDetect) {
      if (s.method !== 'GET' || s.headers[HybridHeader.signature] !== undefined) {
        bad(s, 'connection_detect is a GET without identity');
      }
      return undefined;
    }
    if (s.path === LubanPath.register) {
      contentType(s, 'json');
      if (s.method !== 'POST' || s.headers[HybridHeader.signature] !== undefined) {
        bad(s, 'register is a POST without identity');
      }
      let json: unknown;
      try {
        json = JSON.parse(s.body.toString('utf8'));
      } catch {
        bad(s, 'register body is not JSON');
        return undefined;
      }
      const r = parseRegisterRequest(json);
      if (!r.ok) {
        bad(s, `register: ${r.errors.join('; ')}`);
        return undefined;
      }
      publicKeyPem = Buffer.from(r.value.publicKey, 'base64').toString('utf8');
      machineId = r.value.machineId;
      if (!publicKeyPem.startsWith('-----BEGIN PUBLIC KEY-----')) {
        bad(s, 'publicKey is not base64 of a PEM public key');
      }
      return undefined;
    }
    checkIdentity(s);
    if (s.path === LubanPath.heartbeat) {
      if (s.method !== 'GET') {
        bad(s, 'heartbeat is a GET');
      }
      const keys = [...q.keys()];
      const want = q.get('index') === '0' ? [...HEARTBEAT_KEYS, ...HEARTBEAT_FIRST_KEYS] : HEARTBEAT_KEYS;
      if (keys.join(',') !== want.join(',')) {
        bad(s, `heartbeat keys ${keys.join(',')}, expected ${want.join(',')}`);
      }
      for (const k of HEARTBEAT_KEYS) {
        if (!/^\d+$/.test(q.get(k) ?? '')) {
          bad(s, `heartbeat ${k} is not a number`);
        }
      }
      if (q.has('cold_start') && !['true', 'false'].includes(q.get('cold_start')!)) {
        bad(s, 'cold_start is not a boolean');
      }
      return undefined;
    }
    if (s.path === LubanPath.notifyServer) {
      if (s.method !== 'GET' || s.headers['upgrade'] !== 'websocket') {
        bad(s, 'notify_server is a WebSocket upgrade');
      }
      return undefined;
    }
    if (s.path === LubanPath.deregister) {
      contentType(s, 'json');
      return undefined;
    }
    if (s.path === LubanPath.taskList) {
      contentType(s, 'json');
      if (s.method !== 'POST' || s.body.length !== 0) {
        bad(s, 'task list is a POST with an empty body');
      }
      const r = parseTaskListQuery(q);
      if (!r.ok) {
        bad(s, `task list query: ${r.errors.join('; ')}`);
      } else if (buildTaskListQuery(r.value) !== s.query) {
        bad(s, `task list query not in the stock form: ${buildTaskListQuery(r.value)}`);
      }
      return undefined;
    }
    const m = /^\/luban\/api\/v1\/task\/(\w+)$/.exec(s.path);
    if (m && isReportKind(m[1]!)) {
      contentType(s, 'text');
      if (s.method !== 'POST') {
        bad(s, 'reports are POSTs');
      }
      const r = parseReportQuery(m[1], q);
      if ('error' in r) {
        bad(s, `report: ${r.error}`);
        return undefined;
      }
      // Rebuilding the query from what was parsed must give the very same text: keys in the stock
      // order, nothing extra, numbers as integers, stock escaping.
      if (buildReportQuery(r) !== s.query) {
        bad(s, `report query not in the stock form: ${buildReportQuery(r)}`);
      }
      return r;
    }
    bad(s, 'not a luban endpoint');
    return undefined;
  }

  const reports: { report: Report; body: Buffer }[] = [];
  const reportsFor = (id: string) => reports.filter((r) => r.report.taskId === id);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'oca-proto-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    server = createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) });
    wss = new WebSocketServer({ noServer: true });
    server.on('upgrade', (req, socket, head) => {
      const url = new URL(req.url ?? '/', 'https://x');
      const s: Seen = {
        method: req.method ?? '',
        path: url.pathname,
        query: url.search.slice(1),
        headers: req.headers,
        body: Buffer.alloc(0),
      };
      seen.push(s);
      validate(s);
      wss.handleUpgrade(req, socket, head, (ws) => {
        sockets.add(ws);
        ws.on('close', () => sockets.delete(ws));
        ws.send('kick_vm');
      });
    });
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'https://x');
        const s: Seen = {
          method: req.method ?? '',
          path: url.pathname,
          query: url.search.slice(1),
          headers: req.headers,
          body: Buffer.concat(chunks),
        };
        seen.push(s);
        const report = validate(s);
        if (report) {
          reports.push({ report, body: s.body });
        }
        const json = (v: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(v));
        switch (s.path) {
          case LubanPath.connectionDetect:
            return res.writeHead(200).end('ok');
          case LubanPath.register:
            return json({ code: 200, instanceId });
          case LubanPath.deregister:
            return json({ code: 200 });
          case LubanPath.heartbeat:
            return json({ code: 200, instanceId, nextInterval: 60_000 });
          case LubanPath.taskList:
            return json(lists.shift() ?? { code: 200, instanceId });
          default:
            return json({ code: 200 });
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    hostPort = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    env = {
      ALIYUN_ASSIST_SERVER_HOST: hostPort,
      ALIYUN_ASSIST_CERT_PATH: join(dir, 'cert.pem'),
      ALIYUN_ASSIST_INSTALL_DIR: join(dir, 'install'),
      ALIYUN_ASSIST_LOG_LEVEL: 'debug',
    };
  });

  after(async () => {
    if (agent && agent.exitCode === null && agent.signalCode === null) {
      agent.kill('SIGKILL');
    }
    for (const ws of sockets) {
      ws.terminate();
    }
    wss.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('registers, connects, heartbeats, fetches, reports every outcome and deregisters, all valid', async () => {
    const r = await runAgentCli(
      [
        '--register',
        '--RegionId',
        'cn-local',
        '--ActivationCode',
        'a-code',
        '--ActivationId',
        'ACT-1',
        '--tag',
        'k=v w',
      ],
      env,
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`instance id: ${instanceId}`));

    const run = (taskID: string, script: string, task: Record<string, unknown> = {}, output = {}) => ({
      task: {
        taskID,
        invokeVersion: 3,
        type: 'RunShellScript',
        commandId: 'c-1',
        commandName: 'proto',
        commandContent: b64(script),
        timeOut: '30',
        ...task,
      },
      output: { interval: 1000, logQuota: 12000, skipEmpty: false, sendStart: true, ...output },
      repeat: 'Once',
    });
    const ids = {
      finish: 't-finish',
      nonzero: 't-nonzero',
      timeout: 't-timeout',
      error: 't-error',
      invalid: 't-invalid',
      badUser: 't-baduser',
      stopUnknown: 't-stop-unknown',
      stopRunning: 't-stop-running',
    };
    // The startup fetch gets every kind of task; a later fetch stops one.
    lists.push({
      code: 200,
      instanceId,
      run: [
        run(ids.finish, 'printf "héllo & <wörld> %%s\\n"; head -c 9000 /dev/zero | tr "\\0" "y"'),
        run(ids.nonzero, 'echo "not ok" >&2; exit 3'),
        run(ids.timeout, 'echo t; sleep 30', { timeOut: '1' }),
        run(ids.error, 'Write-Output x', { type: 'RunPowerShellScript' }),
        run(ids.invalid, 'true', { type: 'Run Something&Else=1' }),
        run(ids.badUser, 'true', { username: "no such:user&x=1'" }),
        run(ids.stopRunning, 'echo started; sleep 30'),
      ],
    });
    const c = agentCommand([]);
    agent = spawn(c.command, c.args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    agent.stdout?.resume();
    agent.stderr?.resume();
    await eventually(() => reportsFor(ids.stopRunning).some((x) => x.report.kind === 'running'), {
      timeoutMs: 30_000,
      what: 'the task to stop to be running',
    });
    lists.push({ code: 200, instanceId, stop: [run(ids.stopRunning, ''), run(ids.stopUnknown, '')] });
    for (const ws of sockets) {
      ws.send(`kick_vm task stop ${ids.stopRunning}`);
    }
    const finals = new Set(['finish', 'timeout', 'error', 'stopped', 'invalid']);
    await eventually(() => Object.values(ids).every((id) => reportsFor(id).some((x) => finals.has(x.report.kind))), {
      timeoutMs: 30_000,
      what: 'a final report for every task',
    });

    agent.kill('SIGTERM');
    await new Promise((resolve) => agent!.once('exit', resolve));
    const d = await runAgentCli(['--deregister'], env);
    assert.equal(d.status, 0, d.stderr);

    assert.deepEqual(violations, []);
    const kinds = (id: string) => reportsFor(id).map((x) => x.report.kind);
    assert.equal(kinds(ids.finish).at(-1), 'finish');
    assert.ok(kinds(ids.finish).includes('running'));
    assert.deepEqual(kinds(ids.timeout).at(-1), 'timeout');
    assert.deepEqual(kinds(ids.error), ['error']);
    assert.deepEqual(kinds(ids.invalid), ['invalid']);
    assert.deepEqual(kinds(ids.badUser), ['invalid']);
    assert.equal(kinds(ids.stopRunning).at(-1), 'stopped');
    assert.deepEqual(kinds(ids.stopUnknown), ['stopped']);
    const inv = reportsFor(ids.invalid)[0]!.report;
    assert.deepEqual(inv.kind === 'invalid' && [inv.param, inv.value], [
      'TypeInvalid',
      'TypeInvalid_Run Something&Else=1',
    ]);
    const paths = new Set(seen.map((s) => s.path));
    for (const p of [
      LubanPath.connectionDetect,
      LubanPath.register,
      LubanPath.heartbeat,
      LubanPath.notifyServer,
      LubanPath.taskList,
      LubanPath.deregister,
    ]) {
      assert.ok(paths.has(p), `the agent called ${p}`);
    }
    assert.ok(seen.length >= 15, `${seen.length} requests checked`);
  });

  it('the checker itself refuses malformed requests', () => {
    const before = violations.length;
    const ua = { 'user-agent': 'linux_amd64/2.6.0.1' };
    const cases: Seen[] = [
      // stock key order broken
      {
        method: 'POST',
        path: '/luban/api/v1/task/finish',
        query: 'invokeVersion=0&taskId=t-1&start=1&end=2&exitCode=0&dropped=0',
        headers: { ...ua, 'content-type': 'text/plain; charset=utf-8' },
        body: Buffer.alloc(0),
      },
      // errDesc escaped the JavaScript way, not Go's (space as %20)
      {
        method: 'POST',
        path: '/luban/api/v1/task/error',
        query: 'taskId=t-1&invokeVersion=0&start=0&end=0&exitCode=0&dropped=0&errCode=-1&errDesc=a%20b',
        headers: { ...ua, 'content-type': 'text/plain; charset=utf-8' },
        body: Buffer.alloc(0),
      },
      // task list without currentTime
      {
        method: 'POST',
        path: LubanPath.taskList,
        query: 'reason=kickoff&offset=0&timeZone=UTC',
        headers: { ...ua, 'content-type': 'application/json; charset=utf-8' },
        body: Buffer.alloc(0),
      },
      // register with a missing field
      {
        method: 'POST',
        path: LubanPath.register,
        query: '',
        headers: { ...ua, 'content-type': 'application/json; charset=utf-8' },
        body: Buffer.from('{"machineId":"m"}'),
      },
      // an unknown endpoint
      { method: 'GET', path: '/luban/api/nope', query: '', headers: ua, body: Buffer.alloc(0) },
    ];
    for (const c of cases) {
      const n = violations.length;
      validate(c);
      assert.ok(violations.length > n, `refused: ${c.path}?${c.query}`);
    }
    violations.splice(before);
  });
});
