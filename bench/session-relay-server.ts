// The control plane of bench/session-relay.ts in a process of its own, so its memory is measured
// apart from the bench's clients and agent peers. Prints `{hostPort, key, caPath}` as one JSON line;
// answers each line on stdin with `{rss, heapUsed}` in bytes (after a GC when --expose-gc is on),
// the relay's open sessions, and the process's CPU time so far (`cpuMs`).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { buildServer } from '../control-plane/index.js';

const cp = await buildServer({ dataDir: mkdtempSync(join(tmpdir(), 'oca-bench-relay-')), silent: true });
const { port } = await cp.start();
const key = await cp.keys.create('bench');
console.log(JSON.stringify({ hostPort: `127.0.0.1:${port}`, key, caPath: cp.tls.caCertPath }));
const requests = createInterface({ input: process.stdin });
requests.on('line', () => {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  const cpu = process.cpuUsage();
  console.log(
    JSON.stringify({
      rss: m.rss,
      heapUsed: m.heapUsed,
      open: cp.relay.openCount,
      cpuMs: (cpu.user + cpu.system) / 1000,
    }),
  );
});
