// One simulated stock agent (aliyun-service 2.x.3.578, hybrid mode) as the server sees it: the
// signed notify WebSocket with its keepalive pings and the stock reconnect schedule, heartbeats at
// the interval the server gives, a fetch on every kick, `running` then `finish` reports with the
// script's output, and an answer to every kick. Startup follows the stock order (§11): bootstrap
// update check, channel, first heartbeat, the `agent.startup` metrics event, then the startup
// fetch, which absorbs any kick that came before it.
//
// Not simulated: gshell, sessions, SendFile, periodic schedules, installing updates, plugins, the
// state manager, the 30-minute update check and other metrics. What the server asks for that is
// not simulated is counted as an error, so a benchmark that needs it shows up.
import { uptime } from 'node:os';
import type { SecureContext } from 'node:tls';
import { WebSocket } from 'ws';
import {
  buildHeartbeatQuery,
  buildReportQuery,
  buildTaskListQuery,
  clampHeartbeatInterval,
  kickReply,
  LubanPath,
  OUTPUT_QUOTA_FLOOR,
  parseKick,
  parseTaskListResponse,
  type FetchReason,
  type Report,
  type RunTaskEntry,
  UPDATE_APP_ID,
  type UpdateCheckRequest,
} from '../../protocol/index.js';
import type { Gate } from './gate.js';
import type { FleetMember, SimCounters } from './ipc.js';
import { HttpError, type HttpResult, type LubanHttp } from './luban-http.js';
import type { HybridSigner } from './signer.js';
import { decodeBase64, echoOutput, substituteBuiltIns } from './sim-shell.js';
import { Stock } from './stock.js';

const OS_VERSION = 'Linux_#1 SMP PREEMPT_DYNAMIC fleet-sim_x86_64';
const KERNEL_VERSION = '5.10.134-15.al8.x86_64';

/** What one agent saw of one task. */
export interface TaskTrack {
  kicks: number;
  fetches: number;
  deliveries: number;
  finishes: number;
  state: 'new' | 'running' | 'done';
  firstKickAt: number;
  finishAt: number;
}

export interface AgentEnv {
  http: LubanHttp;
  counters: SimCounters;
  /** Limits the notify dials in flight in this worker. */
  dialGate: Gate;
  /** The worker's clock settings, sent with every fetch. */
  offsetSeconds: number;
  timeZone: string;
}

type FetchQuery = { reason: FetchReason; coldStart?: boolean; taskId?: string };

export class SimAgent {
  readonly tasks = new Map<string, TaskTrack>();
  readonly #m: FleetMember;
  readonly #signer: HybridSigner;
  readonly #env: AgentEnv;
  readonly #c: SimCounters;
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #kicksSeen = new Set<string>();
  readonly #pid = 1000 + Math.floor(Math.random() * 60_000);
  #ws: WebSocket | undefined;
  #stopped = false;
  #startedAt = 0;
  #everConnected = false;
  #startupFetchBegun = false;
  #switching = false;
  #dialFailures = 0;
  #coolDownUntil = 0;
  #hbIndex = 0;
  #hbSeq = 0;
  #hbIntervalMs: number = Stock.heartbeatDefaultMs;
  #hbRetryWindowStart = 0;
  #hbRetries = 0;

  constructor(member: FleetMember, signer: HybridSigner, env: AgentEnv) {
    this.#m = member;
    this.#signer = signer;
    this.#env = env;
    this.#c = env.counters;
  }

  get instanceId(): string {
    return this.#m.instanceId;
  }

  /** Runs the stock startup sequence; resolves when the startup fetch is done. */
  async start(): Promise<void> {
    this.#startedAt = Date.now();
    await this.#updateCheck();
    this.#every(Stock.channelCheckMs, () => this.#channelCheck());
    await this.#dial();
    let ok = false;
    for (let i = 0; i < Stock.heartbeatStartupAttempts && !ok && !this.#stopped; i++) {
      if (i > 0) {
        await this.#sleep(Stock.heartbeatRetryDelayMs);
      }
      ok = (await this.#heartbeat()) === 'ok';
    }
    this.#scheduleHeartbeat();
    if (this.#stopped) {
      return;
    }
    await this.#startupMetrics();
    this.#startupFetchBegun = true;
    await this.#fetch({ reason: 'startup', coldStart: true }, false);
    this.#c.ready++;
    this.#c.lastReadyAt = Date.now();
  }

  /** Like a killed process: the socket drops, timers stop, nothing more is sent. */
  stop(): void {
    this.#stopped = true;
    for (const t of this.#timers) {
      clearTimeout(t);
      clearInterval(t);
    }
    this.#timers.clear();
    this.#ws?.terminate();
  }

  // -- notify channel ---------------------------------------------------------------------------

  /** One dial of the notify WebSocket; false when it failed or the cool-down refused it. */
  async #dial(): Promise<boolean> {
    if (this.#stopped) {
      return false;
    }
    if (Date.now() < this.#coolDownUntil) {
      this.#c.wsDialsRefused++;
      return false;
    }
    await this.#env.dialGate.acquire();
    let ok = false;
    try {
      if (!this.#stopped) {
        this.#c.wsDials++;
        ok = await this.#open();
      }
    } finally {
      this.#env.dialGate.release();
    }
    if (ok) {
      this.#dialFailures = 0;
    } else if (!this.#stopped) {
      this.#c.wsDialFailures++;
      if (++this.#dialFailures >= Stock.wsCoolDownCount) {
        this.#coolDownUntil = Date.now() + Stock.wsCoolDownMs;
      }
    }
    return ok;
  }

  #open(): Promise<boolean> {
    const http = this.#env.http;
    return new Promise<boolean>((resolve) => {
      // ws hands its options to tls.connect: the worker's one TLS context (its types omit the option).
      const options: WebSocket.ClientOptions & { secureContext: SecureContext } = {
        headers: { 'User-Agent': http.userAgent, ...this.#signer.headers() },
        secureContext: http.secureContext,
        handshakeTimeout: Stock.wsHandshakeTimeoutMs,
        perMessageDeflate: false, // gorilla's dialer does not offer compression
      };
      const ws = new WebSocket(`wss://${http.hostPort}${LubanPath.notifyServer}`, options);
      let opened = false;
      ws.on('open', () => {
        opened = true;
        this.#onOpen(ws);
        resolve(true);
      });
      ws.on('error', (e: Error & { code?: string }) => {
        if (!opened) {
          const status = /Unexpected server response: (\d+)/.exec(e.message)?.[1];
          this.#error(`notify ${status ?? e.code ?? 'error'}`);
          resolve(false);
        }
      });
      ws.on('close', () => {
        if (opened) {
          this.#onClose(ws);
        } else {
          resolve(false);
        }
      });
    });
  }

  #onOpen(ws: WebSocket): void {
    if (this.#stopped) {
      ws.terminate();
      return;
    }
    this.#ws = ws;
    this.#c.wsOpen++;
    if (!this.#everConnected) {
      this.#everConnected = true;
      this.#c.everConnected++;
      this.#c.lastFirstOpenAt = Date.now();
    }
    const ping = () => ws.ping('keepalive');
    ping();
    const timer = setInterval(ping, Stock.wsPingIntervalMs);
    this.#timers.add(timer);
    ws.once('close', () => {
      clearInterval(timer);
      this.#timers.delete(timer);
    });
    ws.on('message', (data: Buffer) => this.#onKick(ws, data.toString('utf8')));
  }

  #onClose(ws: WebSocket): void {
    if (this.#ws !== ws) {
      return;
    }
    this.#ws = undefined;
    this.#c.wsOpen--;
    this.#c.wsCloses++;
    if (!this.#stopped) {
      void this.#switchChannel();
    }
  }

  /** Stock: 5 read errors 1 s apart, SwitchChannel sleeps 1 s, then 5 × (dial, 5 s). */
  async #switchChannel(): Promise<void> {
    if (this.#switching) {
      return;
    }
    this.#switching = true;
    await this.#sleep(Stock.wsReadErrorLimit * Stock.wsReadErrorDelayMs + Stock.switchFirstDelayMs);
    for (let i = 0; i < Stock.switchAttempts && !this.#stopped; i++) {
      if (await this.#dial()) {
        break;
      }
      await this.#sleep(Stock.switchAttemptGapMs);
    }
    this.#switching = false;
  }

  /** The channel manager's periodic check: with no channel up, it dials again. */
  #channelCheck(): void {
    if (!this.#ws && !this.#switching) {
      void this.#dial();
    }
  }

  #onKick(ws: WebSocket, text: string): void {
    this.#c.kicks++;
    const kick = parseKick(text);
    // `kick_vm agent deregister` is not in the stock route table: it is answered `unknow:` (§4.3).
    if (!kick || (kick.type === 'agent' && kick.action === 'deregister')) {
      this.#c.kicksUnknown++;
      ws.send(kickReply('unknow', text));
      return;
    }
    ws.send(kickReply('accept', text));
    switch (kick.type) {
      case 'all':
        this.#kickFetch({ reason: 'kickoff' });
        return;
      case 'task':
      case 'file': {
        if (this.#kicksSeen.has(text)) {
          this.#c.kicksDuplicate++;
        }
        this.#kicksSeen.add(text);
        const t = this.#track(kick.id);
        t.kicks++;
        t.firstKickAt ||= Date.now();
        this.#kickFetch({ reason: 'kickoff', taskId: kick.id });
        return;
      }
      case 'session':
        if (kick.action === 'start') {
          this.#error('session unsupported');
        }
        return;
      case 'noop':
      case 'agent':
        return;
    }
  }

  /** Fetching starts with the startup fetch: a kick before it is absorbed into it. */
  #kickFetch(q: FetchQuery): void {
    if (!this.#startupFetchBegun) {
      this.#c.kicksAbsorbed++;
      return;
    }
    void this.#fetch(q, true);
  }

  // -- tasks ------------------------------------------------------------------------------------

  async #fetch(q: FetchQuery, kickTriggered: boolean): Promise<void> {
    let answer: unknown;
    for (let round = 0; round < Stock.fetch408Rounds && !this.#stopped; round++) {
      const query = buildTaskListQuery({
        ...q,
        currentTime: Date.now(),
        offset: this.#env.offsetSeconds,
        timeZone: this.#env.timeZone,
      });
      if (q.taskId !== undefined) {
        this.#track(q.taskId).fetches++;
      }
      const r = await this.#call(
        'fetch',
        {
          method: 'POST',
          path: `${LubanPath.taskList}?${query}`,
          body: '',
          type: 'json',
          timeoutMs: Stock.fetchTimeoutMs,
        },
        Stock.fetchRetries,
        Stock.fetchRetryDelayMs,
      );
      if (!r) {
        this.#c.fetchFailures++;
        return;
      }
      this.#c.fetches++;
      try {
        answer = JSON.parse(r.body) as unknown;
      } catch {
        this.#error('fetch not-json');
        return;
      }
      if ((answer as { code?: unknown }).code !== 408) {
        break;
      }
      await this.#sleep(Stock.fetchRetryDelayMs);
    }
    const parsed = parseTaskListResponse(answer);
    if (!parsed.ok) {
      this.#error('fetch invalid-answer');
      return;
    }
    const list = parsed.value;
    const items = list.run.length + list.stop.length + list.test.length + list.file.length + list.session.length;
    if (items === 0 && kickTriggered) {
      this.#c.fetchesEmpty++;
      await this.#sleep(Stock.emptyKickRefetchMs);
      return this.#fetch(q, false);
    }
    if (list.file.length + list.session.length + list.test.length > 0) {
      this.#error('fetch unsupported-items');
    }
    for (const e of list.run) {
      void this.#run(e, list.instanceId || this.#m.instanceId);
    }
    for (const e of list.stop) {
      void this.#stopTask(e);
    }
  }

  async #run(e: RunTaskEntry, instanceId: string): Promise<void> {
    const t = e.task;
    const track = this.#track(t.taskID);
    track.deliveries++;
    this.#c.deliveries++;
    const base = { taskId: t.taskID, invokeVersion: t.invokeVersion };
    if (track.state !== 'new') {
      this.#c.deliveriesDuplicate++;
      // A running task with the same invokeVersion is ignored; a finished one-shot task finds its
      // script file and fails with ScriptFileExisted (§5.4).
      if (track.state === 'done') {
        await this.#report({
          ...base,
          kind: 'error',
          start: 0,
          end: 0,
          exitCode: 0,
          dropped: 0,
          errCode: '-9',
          errDesc: 'ScriptFileExisted: the script file of this task exists',
        });
      }
      return;
    }
    track.state = 'running';
    if (e.repeat !== 'Once' && e.repeat !== 'NextRebootOnly' && e.repeat !== 'EveryReboot') {
      this.#error(`task ${e.repeat} unsupported`);
      track.state = 'done';
      return;
    }
    const script = decodeBase64(t.commandContent);
    if (t.type !== 'RunShellScript' || script === undefined) {
      await this.#report(
        t.type !== 'RunShellScript'
          ? { ...base, kind: 'invalid', param: 'TypeInvalid', value: `TypeInvalid_${t.type}` }
          : { ...base, kind: 'invalid', param: 'CommandContentInvalid', value: 'illegal base64 data' },
      );
      track.state = 'done';
      return;
    }
    const rendered = t.enableParameter
      ? substituteBuiltIns(script, {
          ...t.builtInParameter,
          InstanceId: instanceId,
          CommandId: t.commandId,
          InvokeId: t.taskID,
        })
      : script;
    const output = Buffer.from(echoOutput(rendered), 'utf8');
    const start = Date.now();
    if (e.output.sendStart) {
      await this.#report({ ...base, kind: 'running', start });
    }
    await this.#sleep(Stock.postExitDrainMs);
    const quota = Math.max(e.output.logQuota, OUTPUT_QUOTA_FLOOR);
    const dropped = Math.max(0, output.length - quota);
    const sent = await this.#report(
      { ...base, kind: 'finish', start, end: Date.now(), exitCode: 0, dropped },
      output.subarray(dropped).toString('utf8'),
    );
    if (sent) {
      track.finishes++;
      track.finishAt = Date.now();
    }
    track.state = 'done';
  }

  /** Tasks end at once here, so a stop always finds nothing running: the zero-valued report (§5.7). */
  async #stopTask(e: RunTaskEntry): Promise<void> {
    await this.#report({
      taskId: e.task.taskID,
      invokeVersion: e.task.invokeVersion,
      kind: 'stopped',
      start: 0,
      end: 0,
      exitCode: 0,
      dropped: 0,
      result: 'killed',
    });
  }

  /** A report: metadata in the query, output as the text body; final reports retry 3 × 2 s. */
  async #report(r: Report, body = ''): Promise<boolean> {
    const retries = r.kind === 'running' || r.kind === 'verified' ? 0 : Stock.reportRetries;
    const res = await this.#call(
      `report ${r.kind}`,
      {
        method: 'POST',
        path: `${LubanPath.taskReport(r.kind)}?${buildReportQuery(r)}`,
        body,
        type: 'text',
        timeoutMs: Stock.httpTimeoutMs,
      },
      retries,
      Stock.reportRetryDelayMs,
    );
    if (res) {
      this.#c.reports[r.kind] = (this.#c.reports[r.kind] ?? 0) + 1;
    } else {
      this.#c.reportFailures++;
    }
    return res !== undefined;
  }

  #track(taskId: string): TaskTrack {
    let t = this.tasks.get(taskId);
    if (!t) {
      t = { kicks: 0, fetches: 0, deliveries: 0, finishes: 0, state: 'new', firstKickAt: 0, finishAt: 0 };
      this.tasks.set(taskId, t);
    }
    return t;
  }

  // -- startup calls ----------------------------------------------------------------------------

  /** The bootstrap update check (§9.1): up to 3 attempts 5 s apart; the answer is not acted on. */
  async #updateCheck(): Promise<void> {
    const body: UpdateCheckRequest = {
      os: 'linux',
      arch: 'amd64',
      os_version: OS_VERSION,
      app_id: UPDATE_APP_ID,
      app_version: Stock.agentVersion,
      kernel_version: KERNEL_VERSION,
    };
    await this.#call(
      'update_check',
      {
        method: 'POST',
        path: LubanPath.updateCheck,
        body: JSON.stringify(body),
        type: 'json',
        timeoutMs: Stock.httpTimeoutMs,
      },
      Stock.updateCheckAttempts - 1,
      Stock.updateCheckRetryDelayMs,
    );
  }

  /** The `agent.startup` metrics event (§10.2, §11 step 10): one try, answer ignored. */
  async #startupMetrics(): Promise<void> {
    const common = {
      arch: 'amd64',
      instanceId: this.#m.instanceId,
      osVersion: OS_VERSION,
      virtualType: 'kvm',
      distribution: 'fleet-sim',
      kernelVersion: KERNEL_VERSION,
    };
    const event = {
      eventId: 'agent.startup',
      category: 'AGENT',
      subCategory: '',
      eventLevel: 'INFO',
      eventTime: Date.now(),
      common: JSON.stringify(common),
      keywords: JSON.stringify({ type: 'cold start' }),
    };
    await this.#call(
      'metrics',
      {
        method: 'POST',
        path: LubanPath.metrics,
        body: JSON.stringify(event),
        type: 'json',
        timeoutMs: Stock.httpTimeoutMs,
      },
      0,
      0,
    );
  }

  // -- heartbeat --------------------------------------------------------------------------------

  /** 'ok'; 'retry' after a transport error or a 5xx; 'no-retry' after 401–499 (§8). */
  async #heartbeat(): Promise<'ok' | 'retry' | 'no-retry'> {
    const now = Date.now();
    const q = buildHeartbeatQuery({
      uptime: Math.floor(uptime()) * 1000,
      timestamp: now,
      pid: this.#pid,
      processUptime: now - this.#startedAt,
      index: this.#hbIndex,
      seqNo: this.#hbSeq,
      ...(this.#hbIndex === 0
        ? { first: { osVersion: OS_VERSION, az: 'unknown', machineId: this.#m.machineId, coldStart: true } }
        : {}),
    });
    this.#hbSeq++;
    let r: HttpResult;
    try {
      r = await this.#env.http.request({
        method: 'GET',
        path: `${LubanPath.heartbeat}?${q}`,
        headers: this.#signer.headers(),
        timeoutMs: Stock.httpTimeoutMs,
      });
    } catch (e) {
      this.#error(`heartbeat ${e instanceof HttpError ? e.label : 'error'}`);
      this.#c.heartbeatFailures++;
      return 'retry';
    }
    if (r.status >= 400) {
      this.#error(`heartbeat ${r.status}`);
      this.#c.heartbeatFailures++;
      return r.status >= 500 ? 'retry' : 'no-retry';
    }
    let next: unknown;
    try {
      next = (JSON.parse(r.body) as { nextInterval?: unknown }).nextInterval;
    } catch {
      next = undefined;
    }
    this.#hbIntervalMs = clampHeartbeatInterval(next);
    this.#c.heartbeatIntervalMs = Math.max(this.#c.heartbeatIntervalMs, this.#hbIntervalMs);
    this.#hbIndex++;
    this.#c.heartbeats++;
    return 'ok';
  }

  #scheduleHeartbeat(): void {
    this.#after(this.#hbIntervalMs, () => {
      void (async () => {
        if ((await this.#heartbeat()) === 'retry' && this.#mayRetryHeartbeat()) {
          await this.#sleep(Stock.heartbeatRetryDelayMs);
          await this.#heartbeat();
        }
        if (!this.#stopped) {
          this.#scheduleHeartbeat();
        }
      })();
    });
  }

  /** At most 3 heartbeat retries per one-hour window. */
  #mayRetryHeartbeat(): boolean {
    const now = Date.now();
    if (now - this.#hbRetryWindowStart >= 3_600_000) {
      this.#hbRetryWindowStart = now;
      this.#hbRetries = 0;
    }
    return this.#hbRetries++ < Stock.heartbeatRetriesPerHour;
  }

  // -- plumbing ---------------------------------------------------------------------------------

  /** A signed call (fresh signature per attempt); the answer, or undefined when every attempt failed. */
  async #call(
    label: string,
    req: { method: 'GET' | 'POST'; path: string; body?: string; type?: 'json' | 'text'; timeoutMs: number },
    retries: number,
    delayMs: number,
  ): Promise<HttpResult | undefined> {
    for (let attempt = 0; !this.#stopped; attempt++) {
      try {
        const r = await this.#env.http.request({ ...req, headers: this.#signer.headers() });
        if (r.status >= 400) {
          this.#error(`${label} ${r.status}`);
        }
        // Stock: only a status above 400 is an error; 400 itself is an answer.
        if (r.status <= 400) {
          return r;
        }
      } catch (e) {
        this.#error(`${label} ${e instanceof HttpError ? e.label : 'error'}`);
      }
      if (attempt >= retries) {
        return undefined;
      }
      await this.#sleep(delayMs);
    }
    return undefined;
  }

  #error(key: string): void {
    this.#c.errors[key] = (this.#c.errors[key] ?? 0) + 1;
  }

  #after(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    this.#timers.add(t);
  }

  #every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    this.#timers.add(t);
  }

  /** A sleep that never ends once the agent is stopped (its work is abandoned, like a killed process). */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.#after(ms, resolve));
  }
}
