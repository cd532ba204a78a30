// A simulator worker process: owns a slice of the fleet (one SimAgent per instance, one HTTPS
// keep-alive pool, one dial gate) and answers the parent's questions over the IPC channel.
// Started by fleet.ts as `node --import tsx bench/fleet/worker.ts`; exits when the parent goes.
import { userAgent } from '../../protocol/index.js';
import { SimAgent } from './agent-sim.js';
import { Gate } from './gate.js';
import {
  emptyCounters,
  emptyTaskStats,
  type FromWorker,
  type TaskStats,
  type ToWorker,
  type WorkerConfig,
} from './ipc.js';
import { LubanHttp } from './luban-http.js';
import { HybridSigner, loadSigningKey } from './signer.js';
import { Stock } from './stock.js';

const counters = emptyCounters();
let agents: SimAgent[] = [];
let http: LubanHttp | undefined;

function send(m: FromWorker): void {
  process.send?.(m);
}

function start(config: WorkerConfig): void {
  http = new LubanHttp({
    hostPort: config.hostPort,
    caPem: config.caPem,
    userAgent: userAgent('linux', 'x64', Stock.agentVersion),
    maxSockets: config.httpSockets,
  });
  const keys = new Map(Object.entries(config.keys).map(([i, pem]) => [Number(i), loadSigningKey(pem)]));
  const env = {
    http,
    counters,
    dialGate: new Gate(config.connectConcurrency),
    offsetSeconds: -new Date().getTimezoneOffset() * 60,
    timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC',
  };
  agents = config.members.map((m) => {
    const key = keys.get(m.keyIndex);
    if (!key) {
      throw new Error(`no key ${m.keyIndex} for ${m.instanceId}`);
    }
    return new SimAgent(m, new HybridSigner(m.instanceId, m.machineId, key, m.ip), env);
  });
  counters.agents = agents.length;
  counters.firstStartAt = Date.now();
  for (const a of agents) {
    void a.start();
  }
  send({ type: 'started' });
}

function taskStats(taskId: string): TaskStats {
  const s = emptyTaskStats();
  for (const a of agents) {
    const t = a.tasks.get(taskId);
    if (!t) {
      continue;
    }
    s.agents++;
    s.kicks += t.kicks;
    s.kicksDuplicate += Math.max(0, t.kicks - 1);
    s.fetches += t.fetches;
    s.deliveries += t.deliveries;
    s.deliveriesDuplicate += Math.max(0, t.deliveries - 1);
    if (t.finishes === 1) {
      s.finishedOnce++;
    } else if (t.finishes > 1) {
      s.finishedMore++;
    } else {
      s.notFinished++;
    }
    if (t.firstKickAt > 0 && (s.firstKickAt === 0 || t.firstKickAt < s.firstKickAt)) {
      s.firstKickAt = t.firstKickAt;
    }
    s.lastFinishAt = Math.max(s.lastFinishAt, t.finishAt);
  }
  return s;
}

process.on('message', (m: ToWorker) => {
  try {
    switch (m.type) {
      case 'start':
        start(m.config);
        return;
      case 'counters':
        counters.httpConnections = http?.connectionsOpened ?? 0;
        send({ type: 'counters', id: m.id, counters });
        return;
      case 'task':
        send({ type: 'task', id: m.id, stats: taskStats(m.taskId) });
        return;
      case 'stop':
        for (const a of agents) {
          a.stop();
        }
        http?.close();
        process.exit(0);
    }
  } catch (e) {
    send({ type: 'fatal', message: String((e as Error)?.stack ?? e) });
  }
});
// The parent went away (or closed the channel): nothing is left to simulate for.
process.on('disconnect', () => process.exit(0));
