// Benchmark: throughput of many commands over many agents. `commands` RunCommand calls, each to all
// `agents` agent processes (the shipped bundle), sent `inFlight` at a time through the signed
// OpenAPI; measures the wall time until every execution's final report is applied, and counts the
// outcomes (a task refused by a full agent queue shows up as Error / TaskQueueFull).
// Prints figures; never pass/fail.
// Usage: npx tsx scripts/build.ts && npx tsx bench/dispatch-throughput.ts [commands=100] [agents=10] [inFlight=10]
import { cpuSeconds, machine, quantile, rssMiB, startBench } from './dispatch-lib.js';

const commands = Number(process.argv[2] ?? 100);
const agentCount = Number(process.argv[3] ?? 10);
const inFlight = Number(process.argv[4] ?? 10);

const b = await startBench();
const agents: Awaited<ReturnType<typeof b.startAgent>>[] = [];
for (let i = 0; i < agentCount; i++) {
  agents.push(await b.startAgent(`agent-${i}`));
}
const total = commands * agentCount;
const finals = new Map<string, string>();
let done!: () => void;
const allDone = new Promise<void>((r) => (done = r));
b.onReport((instanceId, r) => {
  if (r.kind === 'running') {
    return;
  }
  const key = `${r.taskId}/${instanceId}`;
  if (!finals.has(key)) {
    finals.set(key, r.kind === 'error' ? `error ${r.errDesc.split(':')[0]}` : r.kind);
    if (finals.size === total) {
      done();
    }
  }
});

const instanceParams = Object.fromEntries(agents.map((a, i) => [`InstanceId.${i + 1}`, a.instanceId]));
const apiMs: number[] = [];
let peakRss = 0;
const sampler = setInterval(() => {
  for (const a of agents) {
    try {
      peakRss = Math.max(peakRss, rssMiB(a.proc.pid!));
    } catch {
      // exited
    }
  }
}, 200);
const agentCpu0 = agents.reduce((n, a) => n + cpuSeconds(a.proc.pid!), 0);
const cpCpu0 = process.cpuUsage();
const t0 = performance.now();
let next = 0;
await Promise.all(
  Array.from({ length: inFlight }, async () => {
    while (next < commands) {
      const i = next++;
      const t = performance.now();
      await b.api.call('RunCommand', {
        Type: 'RunShellScript',
        CommandContent: `echo command-${i}`,
        ...instanceParams,
      });
      apiMs.push(performance.now() - t);
    }
  }),
);
const sentMs = performance.now() - t0;
await allDone;
const wallMs = performance.now() - t0;
clearInterval(sampler);
const agentCpu = agents.reduce((n, a) => n + cpuSeconds(a.proc.pid!), 0) - agentCpu0;
const cpCpuUs = process.cpuUsage(cpCpu0);
const cpCpu = (cpCpuUs.user + cpCpuUs.system) / 1e6;
await b.close();

const outcomes = new Map<string, number>();
for (const k of finals.values()) {
  outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
}
apiMs.sort((x, y) => x - y);
console.log(`machine: ${machine()}`);
console.log(
  `${commands} RunCommand calls × ${agentCount} agent processes = ${total} executions, ${inFlight} API calls in flight`,
);
console.log(
  `  all RunCommand calls answered after ${(sentMs / 1000).toFixed(2)} s (per call: p50 ${quantile(apiMs, 0.5).toFixed(1)} ms, p99 ${quantile(apiMs, 0.99).toFixed(1)} ms)`,
);
console.log(
  `  all ${total} final reports applied after ${(wallMs / 1000).toFixed(2)} s → ${(total / (wallMs / 1000)).toFixed(1)} executions/s`,
);
console.log(`  outcomes: ${[...outcomes.entries()].map(([k, v]) => `${k} ${v}`).join(', ')}`);
console.log(
  `  CPU used meanwhile: control plane + API client (this process) ${cpCpu.toFixed(1)} s, the ${agentCount} agents together ${agentCpu.toFixed(1)} s (${((agentCpu / total) * 1000).toFixed(1)} ms per execution, scripts not included)`,
);
console.log(`  peak agent RSS (largest of the ${agentCount}): ${peakRss.toFixed(1)} MiB`);
