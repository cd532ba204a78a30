// Benchmark: dispatch latency (RunCommand → the task's process started on the agent, seen as the
// `running` report with sendStart applied by the control plane), RunCommand → Finished, and the
// agent's RSS idle and with 10 tasks running. One agent: the shipped bundle as its own process.
// Prints figures; never pass/fail.
// Usage: npx tsx scripts/build.ts && npx tsx bench/dispatch-latency.ts [runs=200] [idleSeconds=30]
import { cpuSeconds, machine, quantile, rssMiB, startBench } from './dispatch-lib.js';

const runs = Number(process.argv[2] ?? 200);
const idleSeconds = Number(process.argv[3] ?? 30);

const b = await startBench();
const agent = await b.startAgent('agent');
const started = new Map<string, number>();
const ended = new Map<string, number>();
const waiters = new Map<string, () => void>();
b.onReport((_id, r) => {
  const now = performance.now();
  if (r.kind === 'running' && !started.has(r.taskId)) {
    started.set(r.taskId, now);
  } else if (r.kind !== 'running') {
    ended.set(r.taskId, now);
    waiters.get(r.taskId)?.();
  }
});

const cpu0 = cpuSeconds(agent.proc.pid!);
const dispatch: number[] = [];
const finish: number[] = [];
const api: number[] = [];
for (let i = 0; i < runs; i++) {
  const t0 = performance.now();
  const { InvokeId: id } = (await b.api.call('RunCommand', {
    Type: 'RunShellScript',
    CommandContent: 'echo hello',
    'InstanceId.1': agent.instanceId,
  })) as { InvokeId: string };
  api.push(performance.now() - t0);
  if (!ended.has(id)) {
    await new Promise<void>((resolve) => waiters.set(id, resolve));
  }
  waiters.delete(id);
  dispatch.push(started.get(id)! - t0);
  finish.push(ended.get(id)! - t0);
}

const cpuPerRunMs = ((cpuSeconds(agent.proc.pid!) - cpu0) / runs) * 1000;
const idleRssAfterRuns = rssMiB(agent.proc.pid!);
await new Promise((r) => setTimeout(r, idleSeconds * 1000));
const idleRss = rssMiB(agent.proc.pid!);

// Ten tasks running at once (sleep), RSS sampled while they run.
const sleepers: string[] = [];
for (let i = 0; i < 10; i++) {
  const r = (await b.api.call('RunCommand', {
    Type: 'RunShellScript',
    CommandContent: 'sleep 20',
    'InstanceId.1': agent.instanceId,
  })) as { InvokeId: string };
  sleepers.push(r.InvokeId);
}
while (!sleepers.every((id) => started.has(id))) {
  await new Promise((r) => setTimeout(r, 50));
}
await new Promise((r) => setTimeout(r, 5_000));
let busyRss = 0;
for (let i = 0; i < 10; i++) {
  busyRss = Math.max(busyRss, rssMiB(agent.proc.pid!));
  await new Promise((r) => setTimeout(r, 500));
}
await b.close();

const f = (xs: number[]) => {
  const s = [...xs].sort((x, y) => x - y);
  return `p50 ${quantile(s, 0.5).toFixed(1)} ms  p90 ${quantile(s, 0.9).toFixed(1)}  p99 ${quantile(s, 0.99).toFixed(1)}  min ${s[0]!.toFixed(1)}  max ${s.at(-1)!.toFixed(1)}`;
};
console.log(`machine: ${machine()}`);
console.log(`agent (dist bundle) start → notify channel connected: ${agent.connectMs} ms`);
console.log(`${runs} sequential runs of echo hello:`);
console.log(`  RunCommand API call:                         ${f(api)}`);
console.log(`  RunCommand → process started (running report applied): ${f(dispatch)}`);
console.log(`  RunCommand → Finished (final report applied): ${f(finish)}`);
console.log(`  agent CPU per run (user + system; the script's own process not counted): ${cpuPerRunMs.toFixed(1)} ms`);
console.log(
  `agent RSS: ${idleRssAfterRuns.toFixed(1)} MiB right after the runs, ${idleRss.toFixed(1)} MiB after ${idleSeconds} s idle, ${busyRss.toFixed(1)} MiB (max) with 10 tasks running`,
);
