// A bounded, seeded fuzzer against a real control plane: mutated signed and unsigned requests to
// every OpenAPI action (the ACTIONS table, parameters from the SDK request models) and every luban
// route, plus the console, package and update downloads. It asserts that nothing answers >= 500
// and that no refused request (status >= 400) changes a stored row. FUZZ_SEED=<n> picks another
// sequence, FUZZ_LOG=<file> appends every request and its status; a failure names the seed, the
// request and the answer.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import SQLite from 'better-sqlite3';
import { formEncode, signRequest } from '../../cli/signer.js';
import { ACTIONS } from '../../control-plane/openapi/index.js';
import { LubanPath, REPORT_KINDS } from '../../protocol/index.js';
import { startControlPlane, suiteCleanup, type TestControlPlane } from '../harness/control-plane.js';
import {
  hostile,
  lubanBody,
  lubanValue,
  openApiParams,
  PROTO,
  PROTOCOL_PARAMS,
  prng,
  QUERY_KEYS,
  routeKeys,
  schemaOf,
  type Rng,
} from '../harness/fuzz-inputs.js';
import { openApiCaller, registerRawPeer, type OpenApiCaller, type RawLubanPeer } from '../harness/raw-peer.js';

const SEED = Number(process.env['FUZZ_SEED'] ?? 0x5eed);
const OPENAPI_ROUNDS = 70; // per action
const LUBAN_ROUNDS = 40; // per route
const OTHER_ROUNDS = 120;

/** Every listing with MaxResults paging, and the options that show the most of each row. */
const LISTINGS: [string, Record<string, string>][] = [
  ['DescribeInvocations', { IncludeOutput: 'true' }],
  ['DescribeInvocationResults', {}],
  ['DescribeCommands', {}],
  ['DescribeManagedInstances', {}],
  ['DescribeSendFileResults', {}],
];

interface Probe {
  what: string;
  send(): Promise<{ status: number; body: string }>;
}

describe('fuzzing the control plane', { timeout: 300_000 }, () => {
  let h: TestControlPlane;
  let api: OpenApiCaller;
  let peer: RawLubanPeer;
  let reader: SQLite.Database;
  const pools: string[] = [];
  /** The luban peer's own tasks, which its reports may change. */
  const taskIds: string[] = [];
  let periodicId = '';
  const cleanup = suiteCleanup();

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'oca-fuzz-'));
    cleanup.after(() => rmSync(dir, { recursive: true, force: true }));
    mkdirSync(join(dir, 'packages'));
    writeFileSync(join(dir, 'packages', 'SHA256SUMS'), 'x');
    mkdirSync(join(dir, 'updates', 'linux', 'amd64'), { recursive: true });
    writeFileSync(join(dir, 'updates', 'linux', 'amd64', '2.2.3.999_update.zip'), 'zip');
    h = await startControlPlane(cleanup, {
      deliveryTimeoutMs: 3_600_000,
      packagesDir: join(dir, 'packages'),
      updatesDir: join(dir, 'updates'),
    });
    api = openApiCaller(cleanup, h);
    peer = await registerRawPeer(cleanup, h);
    await peer.connect();
    const victim = await registerRawPeer(cleanup, h);
    await victim.connect();
    // Real ids for the pools, so mutations also reach the code behind the lookups.
    const run = (await h.pop.call('RunCommand', {
      Type: 'RunShellScript',
      CommandContent: 'echo hi',
      'InstanceId.1': peer.instanceId,
      'InstanceId.2': victim.instanceId,
    })) as { InvokeId: string; CommandId: string };
    const periodic = (await h.pop.call('RunCommand', {
      Type: 'RunShellScript',
      CommandContent: 'echo tick',
      RepeatMode: 'Period',
      Frequency: 'rate(1h)',
      'InstanceId.1': peer.instanceId,
    })) as { InvokeId: string };
    const cmd = (await h.pop.call('CreateCommand', {
      Name: 'fuzz',
      Type: 'RunShellScript',
      CommandContent: Buffer.from('echo {{a}}').toString('base64'),
      EnableParameter: true,
    })) as { CommandId: string };
    const file = (await h.pop.call('SendFile', {
      Name: 'f.txt',
      Content: 'hello',
      TargetDir: '/tmp',
      'InstanceId.1': peer.instanceId,
    })) as { InvokeId: string };
    const act = (await h.pop.call('CreateActivation', { InstanceCount: 5 })) as {
      ActivationId: string;
      ActivationCode: string;
    };
    pools.push(
      victim.instanceId,
      run.InvokeId,
      run.CommandId,
      periodic.InvokeId,
      cmd.CommandId,
      file.InvokeId,
      act.ActivationId,
      act.ActivationCode,
      'ACS-ECS-AgentVersion',
      'mi-000000000000000000',
      't-000000000000000000',
      'c-000000000000000000',
      'echo hi',
    );
    for (let i = 0; i < 20; i++) {
      const t = (await h.pop.call('RunCommand', {
        Type: 'RunShellScript',
        CommandContent: `echo ${i}`,
        'InstanceId.1': peer.instanceId,
      })) as { InvokeId: string };
      taskIds.push(t.InvokeId);
    }
    taskIds.push(run.InvokeId, periodic.InvokeId, file.InvokeId, 't-000000000000000000');
    periodicId = periodic.InvokeId;
    reader = new SQLite(join(h.dataDir, 'assist.db'), { readonly: true, fileMustExist: true });
    cleanup.after(() => reader.close());
  });

  /** A digest of every stored row, leaving out bookkeeping a refused request may rightly touch. */
  function digest(): string {
    const hash = createHash('sha256');
    const tables = reader.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).all() as {
      name: string;
    }[];
    for (const { name } of tables) {
      // Nonces and agent request ids are recorded by any validly signed request, presence is a
      // lease renewed on a timer, and the audit log records every call, refused ones too: none of
      // them is state a request is refused about.
      if (/^(sqlite_|kysely_|api_nonces$|agent_request_ids$|agent_presence$|audit_log$)/.test(name)) {
        continue;
      }
      const rows = reader
        .prepare(`SELECT * FROM "${name}"`)
        .all()
        .map((row) => JSON.stringify(row, (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('base64') : v)))
        .sort();
      hash.update(`${name}\n${rows.join('\n')}\n`);
    }
    return hash.digest('hex');
  }

  function openApiProbes(r: Rng): Probe[] {
    const probes: Probe[] = [];
    for (const action of Object.keys(ACTIONS)) {
      const schema = schemaOf(action);
      for (let i = 0; i < OPENAPI_ROUNDS; i++) {
        const params = openApiParams(r, schema, pools);
        const method = r.chance(0.8) ? 'POST' : 'GET';
        const k = r.int(10);
        if (k < 7) {
          probes.push({
            what: `signed ${method} ${action} ${JSON.stringify(params).slice(0, 300)}`,
            send: () => api.signed(action, params, method, { compact: true }),
          });
        } else if (k === 7) {
          // Protocol parameters mutated after signing: wrong signature, bad time, duplicate keys.
          const all = signRequest({ method: 'POST', action, ...h.key, params });
          const key = r.pick([...PROTOCOL_PARAMS, 'Signature']);
          const body = r.chance(0.5)
            ? `${formEncode(all)}&${encodeURIComponent(key)}=${encodeURIComponent(hostile(r, pools))}`
            : formEncode({ ...all, [key]: hostile(r, pools) });
          probes.push({
            what: `tampered ${action} ${key}`,
            send: () =>
              api.raw({
                method: 'POST',
                path: '/',
                body,
                headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
              }),
          });
        } else if (k === 8) {
          const q = formEncode({ Action: r.chance(0.5) ? action : hostile(r, pools), ...params });
          probes.push({
            what: `unsigned ${action} ${q.slice(0, 200)}`,
            send: () => api.raw({ method: 'GET', path: `/?${q}` }),
          });
        } else {
          const auth = `ACS3-HMAC-SHA256 Credential=${r.pick([h.key.accessKeyId, ...PROTO])},SignedHeaders=${r.pick([
            'host;x-acs-date',
            '__proto__;constructor',
            'x-acs-date;x-acs-signature-nonce;x-acs-content-sha256;x-acs-action',
          ])},Signature=${r.pick(['00', 'constructor', ''])}`;
          const headers = {
            Authorization: auth,
            'x-acs-action': r.chance(0.7) ? action : r.pick(PROTO),
            'x-acs-version': '2014-05-26',
            'x-acs-date': r.pick([new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'), '9999-99-99T99:99:99Z', 'x']),
            'x-acs-signature-nonce': r.pick(['n1', '__proto__', '']),
            'x-acs-content-sha256': createHash('sha256').update('').digest('hex'),
          };
          const path = `/?${formEncode(params)}`;
          probes.push({ what: `acs3 ${action} ${auth}`, send: () => api.raw({ method: 'POST', path, headers }) });
        }
      }
    }
    // Action names that are members of Object.prototype, or near misses of real ones.
    for (const action of [
      ...PROTO,
      'isPrototypeOf',
      'propertyIsEnumerable',
      'toLocaleString',
      '__lookupGetter__',
      'runcommand',
      'RunCommand ',
    ]) {
      const method = r.chance(0.5) ? 'GET' : 'POST';
      probes.push({ what: `signed ${method} action ${action}`, send: () => api.signed(action, {}, method) });
    }
    return probes;
  }

  function lubanProbes(r: Rng, taskIds: string[]): Probe[] {
    const gets = new Set<string>([
      LubanPath.connectionDetect,
      LubanPath.heartbeat,
      LubanPath.classicRegionId,
      LubanPath.notifyServer,
      LubanPath.sessionBackend,
    ]);
    const paths = [
      ...Object.values(LubanPath).flatMap((v) => (typeof v === 'string' && v !== LubanPath.deregister ? [v] : [])),
      ...REPORT_KINDS.map((k) => LubanPath.taskReport(k)),
    ];
    const probes: Probe[] = [];
    for (const path of paths) {
      for (let i = 0; i < LUBAN_ROUNDS; i++) {
        const q = new URLSearchParams();
        // The keys the route's stock query has, each mostly there; then a few of anything.
        for (const key of routeKeys(r, path)) {
          if (r.chance(0.85)) {
            q.append(key, lubanValue(r, key, taskIds, pools));
          }
        }
        for (let j = 0, n = r.int(4); j < n; j++) {
          const key = r.chance(0.9) ? r.pick(QUERY_KEYS) : r.pick(PROTO);
          q.append(key, lubanValue(r, key, taskIds, pools)); // append: duplicate keys too
        }
        const method = gets.has(path) ? (r.chance(0.9) ? 'GET' : 'POST') : r.chance(0.95) ? 'POST' : 'GET';
        const body = method === 'POST' ? lubanBody(r, path, pools) : undefined;
        const k = r.int(10);
        const signed = k < 7;
        const headers: Record<string, string> = {
          'Content-Type': r.pick([
            'application/json; charset=utf-8',
            'text/plain; charset=utf-8',
            'application/x-www-form-urlencoded',
          ]),
        };
        if (k === 7) {
          // Identity headers that do not verify: garbage time, foreign or prototype instance ids.
          Object.assign(headers, peer.identity(), {
            [r.pick(['x-acs-timestamp', 'x-acs-instance-id', 'x-acs-signature', 'x-acs-request-id'])]: r.pick([
              'NaN',
              '-1',
              '99999999999999999999',
              ...PROTO,
              pools[0]!,
              '',
            ]),
          });
        }
        const query = q.toString();
        const url = query === '' ? path : `${path}?${query}`;
        probes.push({
          what: `${signed ? 'signed' : 'unsigned'} ${method} ${url.slice(0, 300)} ${String(body).slice(0, 200)}`,
          send: () =>
            peer.send({ method, path: url, signed: signed, headers, ...(body !== undefined ? { body } : {}) }),
        });
      }
    }
    return probes;
  }

  function otherProbes(r: Rng): Probe[] {
    const bases = ['/console/', '/assist/packages/', '/assist/updates/linux/amd64/', '/assist/updates/'];
    return Array.from({ length: OTHER_ROUNDS }, () => {
      const path = r.pick(bases) + encodeURIComponent(hostile(r, pools)).slice(0, 2_000);
      const method = r.pick(['GET', 'HEAD']);
      return { what: `${method} ${path.slice(0, 200)}`, send: () => api.raw({ method, path }) };
    });
  }

  it(`answers every mutated request below 500 and changes nothing when it refuses (seed ${SEED})`, async (t) => {
    const r = prng(SEED);
    // Fixed order per seed; luban probes are interleaved so reports meet state the API changed.
    const probes = [...openApiProbes(r), ...lubanProbes(r, taskIds), ...otherProbes(r)];
    const order = probes.map((p, i) => ({ p, k: r.next(), i })).sort((a, b) => a.k - b.k || a.i - b.i);
    const serverErrors: string[] = [];
    const changed: string[] = [];
    let refused = 0;
    const statuses = new Map<number, number>();
    let before = digest();
    for (const { p } of order) {
      let res: { status: number; body: string };
      try {
        res = await p.send();
      } catch (e) {
        serverErrors.push(`${p.what}\n  → no answer: ${String(e)}`);
        continue;
      }
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (process.env['FUZZ_LOG']) {
        appendFileSync(process.env['FUZZ_LOG'], `${res.status} ${p.what.slice(0, 400)}\n`);
      }
      const after = digest();
      if (res.status >= 500) {
        serverErrors.push(`${p.what}\n  → ${res.status} ${res.body.slice(0, 300)}`);
      } else if (res.status >= 400) {
        refused++;
        if (after !== before) {
          changed.push(`${p.what}\n  → ${res.status} ${res.body.slice(0, 300)}`);
        }
      }
      before = after;
    }
    // The operator still sees every row the fuzzing left behind: every page of every listing.
    const history: [string, Record<string, string>] = [
      'DescribeInvocationResults',
      { InvokeId: periodicId, IncludeHistory: 'true' },
    ];
    for (const [action, extra] of [...LISTINGS, history]) {
      let token: string | undefined;
      let pages = 0;
      do {
        const params: Record<string, string> = { MaxResults: '50', ...extra, ...(token ? { NextToken: token } : {}) };
        const res = await api.signed(action, params);
        if (res.status !== 200) {
          serverErrors.push(`listing ${action} ${JSON.stringify(params)}\n  → ${res.status} ${res.body.slice(0, 300)}`);
          break;
        }
        token = (JSON.parse(res.body) as { NextToken?: string }).NextToken;
      } while (token && ++pages < 100);
    }
    t.diagnostic(`${probes.length} requests; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`);
    assert.ok(probes.length >= 2_000, `${probes.length} probes`);
    assert.ok(refused > probes.length / 3, `only ${refused} of ${probes.length} refused: the mutations are too mild`);
    assert.deepEqual(serverErrors, [], `seed ${SEED}: server errors:\n${serverErrors.slice(0, 20).join('\n')}`);
    assert.deepEqual(
      changed,
      [],
      `seed ${SEED}: refused requests that changed state:\n${changed.slice(0, 20).join('\n')}`,
    );
  });
});
