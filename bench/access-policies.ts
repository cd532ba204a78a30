// Benchmark: what access policies cost a call. (1) The policy engine alone: a RAM user with 20
// policies of 10 statements each, RunCommand on 50 instances with tag conditions (51 checks).
// (2) End to end through a real control plane: signed DescribeInvocations calls with an account
// key and with a RAM user's key (its policies from memory, its instances' tags from the store), and
// RunCommand-sized authorization with tag conditions. Prints figures; never pass/fail.
// Usage: npx tsx bench/access-policies.ts [engineRuns=20000] [apiCalls=500]
import os from 'node:os';
import { compilePolicy, evaluate, plannedChecks, type Check } from '../control-plane/access/index.js';
import { startControlPlane } from '../test/harness/control-plane.js';
import { seedFleet } from '../test/harness/fleet.js';
import { PopClient } from '../test/harness/sdk.js';

const engineRuns = Number(process.argv[2] ?? 20_000);
const apiCalls = Number(process.argv[3] ?? 500);
const scope = { regionId: 'cn-local', accountId: 'local' };

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.floor(q * (xs.length - 1))]!;

// --- (1) the engine ---------------------------------------------------------------------------
const statement = (i: number, j: number) => ({
  Effect: 'Allow',
  Action: [`ecs:Describe${i}${j}*`, 'ecs:RunCommand'],
  Resource: `acs:ecs:*:*:instance/*`,
  Condition: { StringEquals: { 'ecs:tag/team': [`team-${i}-${j}`, 'ops'] } },
});
const policies = Array.from({ length: 20 }, (_, i) =>
  compilePolicy(
    `p${i}`,
    JSON.stringify({
      Version: '1',
      Statement: [
        ...Array.from({ length: 9 }, (_, j) => statement(i, j)),
        { Effect: 'Allow', Action: 'ecs:RunCommand', Resource: 'acs:ecs:*:*:command/*' },
      ],
    }),
  ),
);
const params = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`InstanceId.${i + 1}`, `mi-${i}`]));
const tags = new Map([['team', 'ops']]);
const checks: Check[] = plannedChecks('RunCommand', params, scope).map((c) => ({
  action: c.action,
  resource: c.resource.arn,
  ...(c.resource.instanceId ? { tags } : {}),
}));
let allowed = 0;
const t0 = performance.now();
for (let i = 0; i < engineRuns; i++) {
  allowed += evaluate(policies, checks, { sourceIp: '127.0.0.1', nowMs: Date.now(), secureTransport: true }).allowed
    ? 1
    : 0;
}
const engineUs = ((performance.now() - t0) * 1000) / engineRuns;

// --- (2) end to end ---------------------------------------------------------------------------
const cleanups: (() => unknown)[] = [];
const h = await startControlPlane({ after: (fn) => cleanups.push(fn) });
const ids = await seedFleet(h.cp.db, 50, { prefix: 'bench' });
await h.cp.db
  .updateTable('instances')
  .set({ tags: JSON.stringify([{ key: 'team', value: 'ops' }]) })
  .execute();
await h.pop.call('CreateRamUser', { UserName: 'bench' });
const k = (await h.pop.call('CreateRamAccessKey', { UserName: 'bench' })).AccessKey;
await h.pop.call('CreateRamPolicy', {
  PolicyName: 'BenchOps',
  PolicyDocument: JSON.stringify({
    Version: '1',
    Statement: [
      { Effect: 'Allow', Action: 'ecs:Describe*', Resource: '*' },
      {
        Effect: 'Allow',
        Action: 'ecs:StopInvocation',
        Resource: 'acs:ecs:*:*:instance/*',
        Condition: { StringEquals: { 'ecs:tag/team': 'ops' } },
      },
    ],
  }),
});
await h.pop.call('AttachRamPolicyToUser', { PolicyName: 'BenchOps', UserName: 'bench' });
const user = new PopClient(h.hostPort, { accessKeyId: k.AccessKeyId, accessKeySecret: k.AccessKeySecret }, h.caPath);

async function timed(client: PopClient, action: string, p: Record<string, unknown>): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < apiCalls; i++) {
    const s = performance.now();
    await client.call(action, p).catch(() => undefined);
    ms.push(performance.now() - s);
  }
  return ms;
}
await timed(h.pop, 'DescribeInvocations', {}); // warm up
const rootMs = await timed(h.pop, 'DescribeInvocations', {});
const userMs = await timed(user, 'DescribeInvocations', {});
// StopInvocation of an unknown invocation on 50 tagged instances: authorized (tags read), then refused by the service.
const stopParams = { InvokeId: 't-none', ...Object.fromEntries(ids.map((id, i) => [`InstanceId.${i + 1}`, id])) };
const rootStop = await timed(h.pop, 'StopInvocation', stopParams);
const userStop = await timed(user, 'StopInvocation', stopParams);
await h.cp.audit.flush();
const events = await h.cp.db
  .selectFrom('audit_log')
  .select((eb) => eb.fn.countAll<number>().as('n'))
  .executeTakeFirst();

const row = (name: string, root: number[], ram: number[]) =>
  `${name.padEnd(38)} p50 ${quantile(root, 0.5).toFixed(2)} / ${quantile(ram, 0.5).toFixed(2)} ms   p99 ${quantile(root, 0.99).toFixed(2)} / ${quantile(ram, 0.99).toFixed(2)} ms   ratio p50 ${(quantile(ram, 0.5) / quantile(root, 0.5)).toFixed(2)}`;
console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, node ${process.version}`);
console.log(
  `engine: ${checks.length} checks against 20 policies × 10 statements: ${engineUs.toFixed(1)} µs per call (${allowed}/${engineRuns} allowed)`,
);
console.log(`API, ${apiCalls} sequential signed calls each, account key / RAM user key:`);
console.log(row('DescribeInvocations', rootMs, userMs));
console.log(row('StopInvocation, 50 tagged instances', rootStop, userStop));
console.log(`audit events written: ${Number(events?.n)}`);
for (const fn of cleanups.reverse()) {
  await fn();
}
