// The control plane under test for one fleet size: one node, or K nodes on one PostgreSQL behind
// nginx (load-balancer.ts). Node A starts first, alone, so that it creates the CA, the certificate
// and the master key in the data dir every node shares; then the others, each on its own port.
// The simulated agents dial the load balancer (or the only node); the operator API and the
// registration calls go to node A directly.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CpuSample } from './cpu-probe.js';
import { cpuSeconds, rssMiB } from './metrics.js';
import { LoadBalancer } from './load-balancer.js';
import { freePort, ServerProcess } from './server-process.js';
import type { FileLimit } from './spawn-limited.js';
import type { NodeRef } from './store-setup.js';

export interface DeploymentOptions {
  bin: string;
  nodeFlags: string[];
  /** Environment added for every node. */
  env: Record<string, string>;
  /** Flags for every node (`--max-instances-per-call`, the database URL, the user's). */
  args: string[];
  nodes: number;
  /** The data dir all nodes share. */
  dataDir: string;
  /** Node logs go to <logDir>/server-<name>.log. */
  logDir: string;
  limit: FileLimit;
  /** Client connections the load balancer must carry at once. */
  lbConnections: number;
  log: (s: string) => void;
}

export const nodeName = (i: number) => `node ${String.fromCharCode(65 + i)}`;

export class Deployment {
  readonly nodes: (NodeRef & { server: ServerProcess })[] = [];
  lb: LoadBalancer | undefined;
  #stopped = false;

  /** Starts the nodes and the load balancer; the caller holds the object first, to kill it on Ctrl-C. */
  async start(o: DeploymentOptions): Promise<void> {
    for (let i = 0; i < o.nodes && !this.#stopped; i++) {
      const name = nodeName(i);
      const server = await ServerProcess.start({
        bin: o.bin,
        nodeFlags: o.nodeFlags,
        env: o.env,
        dataDir: o.dataDir,
        port: await freePort(),
        args: o.args,
        limit: o.limit,
        logFile: join(o.logDir, `server-${name.replace(' ', '-')}.log`),
        timeoutMs: 120_000,
      });
      this.nodes.push({ name, pid: server.pid, server });
      o.log(`${name} listening on ${server.hostPort} (pid ${server.pid})`);
    }
    if (o.nodes > 1 && !this.#stopped) {
      this.lb = await LoadBalancer.start(
        this.nodes.map((n) => n.server.hostPort),
        o.lbConnections,
      );
      o.log(`nginx on ${this.lb.hostPort} (pid ${this.lb.pid}) in front of ${this.nodes.length} nodes`);
    }
    if (this.#stopped) {
      this.kill();
      throw new Error('stopped while starting');
    }
  }

  get nodeA(): ServerProcess {
    return this.nodes[0]!.server;
  }

  /** Where the agents connect. */
  get agentHostPort(): string {
    return this.lb?.hostPort ?? this.nodeA.hostPort;
  }

  /** Where the operator API is called. */
  get apiHostPort(): string {
    return this.nodeA.hostPort;
  }

  get caPem(): string {
    return readFileSync(this.nodeA.caPath, 'utf8');
  }

  /** CPU seconds so far of every node and of nginx. */
  cpu(): CpuSample {
    const s: CpuSample = {};
    for (const n of this.nodes) {
      s[n.name] = cpuSeconds(n.pid);
    }
    if (this.lb) {
      s['nginx'] = this.lb.cpuSeconds();
    }
    return s;
  }

  rss(): Record<string, number> {
    return Object.fromEntries(this.nodes.map((n) => [n.name, rssMiB(n.pid)]));
  }

  /** Nodes in reverse order of start (SIGTERM: each closes its sockets, releases its presence), then nginx. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const n of [...this.nodes].reverse()) {
      await n.server.stop();
    }
    await this.lb?.stop();
  }

  /** For exit paths that cannot wait. */
  kill(): void {
    this.#stopped = true;
    for (const n of this.nodes) {
      n.server.kill();
    }
    this.lb?.kill();
  }
}
