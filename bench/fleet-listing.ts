// Benchmark: DescribeManagedInstances and DescribeCloudAssistantStatus through the signed OpenAPI
// on fleets of growing size (rows in the control plane's SQLite file; no agents behind them), so
// the ratio between sizes shows whether a call's cost follows the page or the fleet.
// Prints figures; never pass/fail.
// Usage: npx tsx bench/fleet-listing.ts [calls=50] [sizes=1000,10000,50000]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildServer } from '../control-plane/index.js';
import { seedFleet } from '../test/harness/fleet.js';
import { PopClient } from '../test/harness/sdk.js';
import { machine, quantile, timedCalls } from './dispatch-lib.js';

const calls = Number(process.argv[2] ?? 50);
const sizes = (process.argv[3] ?? '1000,10000,50000').split(',').map(Number);

type Case = [label: string, action: string, params: (n: number) => Record<string, unknown>];
const CASES: Case[] = [
  ['page 1 of 50', 'DescribeManagedInstances', () => ({ PageSize: 50 })],
  ['last page of 50', 'DescribeManagedInstances', (n) => ({ PageSize: 50, PageNumber: Math.ceil(n / 50) })],
  ['NextToken page 2', 'DescribeManagedInstances', () => ({ MaxResults: 50, NextToken: '' })],
  ['exact name', 'DescribeManagedInstances', () => ({ InstanceName: 'web-00042' })],
  ['name wildcard *0042*', 'DescribeManagedInstances', () => ({ InstanceName: '*0042*' })],
  ['OsType=Windows', 'DescribeManagedInstances', () => ({ OsType: 'Windows', PageSize: 50 })],
  ['Connected=false', 'DescribeManagedInstances', () => ({ Connected: 'false', PageSize: 50 })],
  ['status page 1 of 50', 'DescribeCloudAssistantStatus', () => ({ PageSize: 50 })],
];

async function measure(size: number): Promise<Map<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'oca-bench-fleet-'));
  const cp = await buildServer({ dataDir: dir, silent: true });
  try {
    const { port } = await cp.start();
    const key = await cp.keys.create('bench');
    const api = new PopClient(`127.0.0.1:${port}`, key, cp.tls.caCertPath!);
    const t0 = performance.now();
    await seedFleet(cp.db, size);
    const seedMs = performance.now() - t0;
    const token = ((await api.call('DescribeManagedInstances', { MaxResults: 50 })) as { NextToken: string }).NextToken;
    const medians = new Map<string, number>([['(seed, one transaction)', seedMs]]);
    for (const [label, action, params] of CASES) {
      const p = params(size);
      if ('NextToken' in p) {
        p['NextToken'] = token;
      }
      const ms = await timedCalls(calls, () => api.call(action, p));
      ms.sort((a, b) => a - b);
      medians.set(label, quantile(ms, 0.5));
    }
    return medians;
  } finally {
    await cp.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`fleet listing, median of ${calls} signed calls each; ${machine()}`);
const results = new Map<number, Map<string, number>>();
for (const size of sizes) {
  results.set(size, await measure(size));
}
const labels = [...results.get(sizes[0]!)!.keys()];
const first = sizes[0]!;
console.log(
  `| Call | ${sizes.map((s) => `${s.toLocaleString('en')} instances`).join(' | ')} | ${sizes
    .slice(1)
    .map((s) => `${s / first}× fleet → ratio`)
    .join(' | ')} |`,
);
console.log(
  `|---|${sizes.map(() => '---').join('|')}|${sizes
    .slice(1)
    .map(() => '---')
    .join('|')}|`,
);
for (const l of labels) {
  const v = sizes.map((s) => results.get(s)!.get(l)!);
  console.log(
    `| ${l} | ${v.map((x) => `${x.toFixed(1)} ms`).join(' | ')} | ${v
      .slice(1)
      .map((x) => `${(x / v[0]!).toFixed(2)}×`)
      .join(' | ')} |`,
  );
}
