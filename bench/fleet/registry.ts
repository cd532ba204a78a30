// Registers the simulated instances the way the stock agent's `--register` does (§7.2): activation
// codes from the operator API (CreateActivation, at most 1000 instances per code), then one unsigned
// `POST /luban/api/instance/register` per instance with its own machine id and a real public key.
// The registered fleet is kept in <dir>/fleet.json: a rerun against the same data dir registers
// only the instances it does not have yet.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LubanPath, type RegisterRequest } from '../../protocol/index.js';
import type { ApiClient } from './api-client.js';
import { eachLimited } from './gate.js';
import type { FleetMember } from './ipc.js';
import type { KeyPair } from './key-pool.js';
import type { LubanHttp } from './luban-http.js';
import { Stock } from './stock.js';

const MAX_PER_ACTIVATION = 1000;

interface FleetFile {
  members: FleetMember[];
}

function load(file: string): FleetMember[] {
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as FleetFile).members : [];
}

function save(file: string, members: FleetMember[]): void {
  writeFileSync(`${file}.tmp`, JSON.stringify({ members } satisfies FleetFile));
  renameSync(`${file}.tmp`, file);
}

/** A private address per instance (10.x.y.z), sent as intranetIp and X-Client-IP. */
const ipOf = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255 || 1}`;

/**
 * The first `n` members of the cached fleet, registering the missing ones (`concurrency` register
 * calls in flight). Progress is saved after every activation code's batch.
 */
export async function ensureFleet(o: {
  dir: string;
  n: number;
  api: ApiClient;
  http: LubanHttp;
  keys: KeyPair[];
  concurrency: number;
  log: (line: string) => void;
}): Promise<FleetMember[]> {
  const file = join(o.dir, 'fleet.json');
  const members = load(file);
  if (members.length >= o.n) {
    return members.slice(0, o.n);
  }
  const t0 = performance.now();
  o.log(`registering ${o.n - members.length} instances (${members.length} cached)`);
  while (members.length < o.n) {
    const count = Math.min(MAX_PER_ACTIVATION, o.n - members.length);
    const { body } = await o.api.call('CreateActivation', {
      InstanceCount: count,
      TimeToLiveInHours: 24,
      InstanceName: 'fleet',
      Description: 'bench/fan-out.ts simulated fleet',
    });
    const activationId = String(body['ActivationId']);
    const activationCode = String(body['ActivationCode']);
    const first = members.length;
    const batch: FleetMember[] = new Array<FleetMember>(count);
    await eachLimited(
      Array.from({ length: count }, (_, k) => first + k),
      o.concurrency,
      async (i) => {
        batch[i - first] = await registerOne(o.http, { activationId, activationCode }, i, o.keys);
      },
    );
    members.push(...batch);
    save(file, members);
  }
  o.log(`registered in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return members.slice(0, o.n);
}

async function registerOne(
  http: LubanHttp,
  a: { activationId: string; activationCode: string },
  i: number,
  keys: KeyPair[],
): Promise<FleetMember> {
  const keyIndex = i % keys.length;
  const machineId = randomBytes(16).toString('hex');
  const ip = ipOf(i);
  const req: RegisterRequest = {
    activationCode: a.activationCode,
    machineId,
    regionId: 'cn-local',
    instanceName: `fleet-${i}`,
    hostname: `fleet-${i}`,
    intranetIp: ip,
    osVersion: 'Linux_#1 SMP PREEMPT_DYNAMIC fleet-sim_x86_64',
    osType: 'linux',
    agentVersion: Stock.agentVersion,
    // Base64 of the whole PEM text, as the stock agent sends it.
    publicKey: Buffer.from(keys[keyIndex]!.publicKeyPem, 'utf8').toString('base64'),
    activationId: a.activationId,
    tag: [],
  };
  const r = await http.request({
    method: 'POST',
    path: LubanPath.register,
    body: JSON.stringify(req),
    type: 'json',
    timeoutMs: 30_000,
  });
  const j = JSON.parse(r.body) as { code?: number; instanceId?: string; errMsg?: string };
  if (j.code !== 200 || !j.instanceId) {
    throw new Error(`register fleet-${i}: HTTP ${r.status} ${r.body}`);
  }
  return { instanceId: j.instanceId, machineId, keyIndex, ip };
}
