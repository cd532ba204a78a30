// Composition root of the control plane: buildServer(options) wires store, services and edges;
// start() listens. HTTPS serves the operator API, the luban agent API and the notify WebSocket.
import { hostname } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import {
  HybridAuthenticator,
  lubanRoutes,
  NotifyGateway,
  refuseUpgrade,
  UpdateCatalog,
  pluginPackageRoutes,
  updateFileRoutes,
} from './agent-api/index.js';
import { AccessControl, AuditTrail, plainIp, RamDirectory } from './access/index.js';
import { joinFleet } from './cluster/index.js';
import { Recorder, SessionRelay, CLIENT_SESSION_PATH, DEFAULT_RECORDING_MAX_BYTES } from './session-relay/index.js';
import { consoleRoutes } from './console/index.js';
import { packageRoutes, renderInstallScripts, type Activation } from './install/index.js';
import { oosParameterNames, openApiRoutes } from './openapi/index.js';
import {
  AccessKeyService,
  ActivationService,
  CommandService,
  DEFAULT_INVOCATION_OPTIONS,
  DEFAULT_LIMITS,
  DeliverySweeper,
  FileSendService,
  InstanceService,
  InvocationService,
  ParameterService,
  PluginService,
  RequestIdLedger,
  SessionService,
  type InvocationLimits,
  type SessionOptions,
} from './services/index.js';
import { createServerLogger, SecretBox, type Log } from './shared/index.js';
import { openStore, runOnce, type Db } from './store/index.js';
import { ensureTls, type TlsMaterial } from './tls/index.js';

/**
 * Request line plus headers. The official SDKs put every parameter in the query string, so this is
 * what bounds one call: a RunCommand naming 20,000 instances (`&InstanceId.N=mi-…`, ~40 bytes
 * each) or the largest documented script, percent-encoded. Callers with more use a POST form body.
 */
const MAX_REQUEST_HEAD_BYTES = 1024 * 1024;

/** An agent's presence row lapses this long after its node last renewed it (a node that died). */
const PRESENCE_LEASE_MS = 90_000;

/** Expired agent request ids are purged this often (they expire 15 minutes after their timestamp). */
const REQUEST_ID_PURGE_MS = 60_000;

export interface ServerOptions {
  dataDir: string;
  /**
   * The store: `postgres://…` / `postgresql://…` (PostgreSQL, for several nodes), `sqlite:<file>` or
   * a path (SQLite). Default: `<dataDir>/assist.db`.
   */
  database?: string;
  /** How long an agent's presence row outlives its node's last renewal (default 90 s). */
  presenceLeaseMs?: number;
  host?: string;
  port?: number;
  regionId?: string;
  /** Names and addresses agents use to reach this server (certificate SANs). */
  hostnames?: string[];
  ipAddresses?: string[];
  tls?: { certFile: string; keyFile: string; caFile?: string };
  logLevel?: string;
  silent?: boolean;
  limits?: Partial<InvocationLimits>;
  /** A task no agent fetched this long after it was created fails with DeliveryTimeout (default 60 s). */
  deliveryTimeoutMs?: number;
  /** The value of `{{ACS::AccountId}}` in scripts (default `local`). */
  accountId?: string;
  /** Audit events older than this many days are purged (default 90). */
  auditRetentionDays?: number;
  heartbeatIntervalMs?: number;
  /** The console's static files; next to this module by default (the build copies them to dist/). */
  consoleAssetsDir?: string;
  /**
   * Agent packages (scripts/build-packages.ts output) served under /assist/packages/; with it,
   * CreateActivation also returns install scripts that download from here.
   */
  packagesDir?: string;
  /** `host[:port]` agents use to reach this server, written into install scripts (default: the bound address). */
  publicHost?: string;
  /**
   * Agent self-update packages, `<updatesDir>/<os>/<arch>/<version>_update.zip`: update_check offers
   * the newest one newer than the agent, served under /assist/updates/ (docs/operations.md).
   */
  updatesDir?: string;
  /**
   * `https://host:port` other nodes of a cluster reach this node at, to bridge a session whose
   * client and agent landed on different nodes (default: the listening address, or this machine's
   * name when listening on all addresses; it must be a name in the server certificate).
   */
  nodeUrl?: string;
  /** Session Manager: token lifetime, agent flow limit, and recording (off by default, docs/sessions.md). */
  sessions?: Partial<SessionOptions> & { record?: boolean; recordingRetentionDays?: number };
}

export interface ControlPlane {
  app: FastifyInstance;
  /** This node's name in the presence table (random per start). */
  nodeId: string;
  db: Db;
  keys: AccessKeyService;
  /** RAM users, keys and policies; the authorizer; the audit trail. */
  ram: RamDirectory;
  access: AccessControl;
  audit: AuditTrail;
  activations: ActivationService;
  instances: InstanceService;
  invocations: InvocationService;
  commands: CommandService;
  files: FileSendService;
  parameters: ParameterService;
  plugins: PluginService;
  sessions: SessionService;
  relay: SessionRelay;
  gateway: NotifyGateway;
  tls: TlsMaterial;
  log: Log;
  /** Listens; resolves to the bound `host:port`. */
  start(): Promise<{ host: string; port: number; url: string }>;
  close(): Promise<void>;
}

export async function buildServer(o: ServerOptions): Promise<ControlPlane> {
  const log = createServerLogger(o.logLevel ?? 'info', o.silent ?? false);
  const regionId = o.regionId ?? 'cn-local';
  const tls = ensureTls({
    dataDir: o.dataDir,
    hostnames: o.hostnames ?? ['localhost', hostname()],
    ipAddresses: o.ipAddresses ?? ['127.0.0.1', '::1'],
    ...(o.tls
      ? { certFile: o.tls.certFile, keyFile: o.tls.keyFile, ...(o.tls.caFile ? { caFile: o.tls.caFile } : {}) }
      : {}),
  });
  const db = await openStore(o.database ?? join(o.dataDir, 'assist.db'), {
    onPoolError: (e) => log.warn('store connection lost', { err: e.message }),
  });
  const box = SecretBox.fromFile(join(o.dataDir, 'master.key'));
  const keys = await AccessKeyService.load(db, box);
  const parameters = new ParameterService(db, box);

  // The gateway needs the instance service to authenticate, and services need the gateway to kick:
  // the authenticator takes a lookup function, which breaks the cycle.
  const requestIds = new RequestIdLedger(db);
  const auth: HybridAuthenticator = new HybridAuthenticator((id: string) => instances.identity(id), requestIds);
  const gateway: NotifyGateway = new NotifyGateway(auth, log);
  const fleet = joinFleet({
    db,
    gateway,
    ...(o.database ? { databaseUrl: o.database } : {}),
    leaseMs: o.presenceLeaseMs ?? PRESENCE_LEASE_MS,
    log,
    hasWork: async (id) => (await invocations.hasPendingWork(id)) || (await files.hasPendingWork(id)),
    forget: (id) => instances.forgetIdentity(id),
  });
  const instances: InstanceService = new InstanceService(db, fleet.notifier);
  const activations = new ActivationService(db, regionId);
  const limits: InvocationLimits = { ...DEFAULT_LIMITS, ...o.limits };
  const invocations = new InvocationService(
    db,
    fleet.notifier,
    regionId,
    limits,
    {
      accountId: o.accountId ?? DEFAULT_INVOCATION_OPTIONS.accountId,
      deliveryTimeoutMs: o.deliveryTimeoutMs ?? DEFAULT_INVOCATION_OPTIONS.deliveryTimeoutMs,
    },
    parameters,
  );
  const commands = new CommandService(db, regionId, limits);
  const ram = new RamDirectory(db, keys);
  const access = new AccessControl(db, ram, {
    regionId,
    accountId: o.accountId ?? DEFAULT_INVOCATION_OPTIONS.accountId,
  });
  access.useOosParameterNames(oosParameterNames);
  await access.reload();
  const audit = new AuditTrail(db, { retentionDays: o.auditRetentionDays ?? 90 });
  audit.onError = (what, e) => log.error(what, { err: String((e as Error)?.stack ?? e) });
  const files = new FileSendService(db, fleet.notifier, regionId, {
    maxInstancesPerCall: limits.maxInstancesPerCall,
    deliveryTimeoutMs: o.deliveryTimeoutMs ?? DEFAULT_INVOCATION_OPTIONS.deliveryTimeoutMs,
  });
  const plugins = new PluginService(db);
  const sessions = new SessionService(db, fleet.notifier, { ...o.sessions, dataDir: o.dataDir });
  sessions.onAudit = (e) => {
    const userName = access.identityOf(e.accessKeyId).userName;
    audit.record({
      time: e.nowMs,
      requestId: '',
      identityType: userName === null ? 'Account' : 'RAMUser',
      userName: userName ?? '',
      accessKeyId: e.accessKeyId,
      action: e.action,
      resources: [access.ecsArn('instance', e.instanceId), access.ecsArn('session', e.sessionId)],
      sourceIp: plainIp(e.sourceIp),
      result: e.result,
    });
  };
  const relay = new SessionRelay({
    sessions,
    auth,
    log,
    ...(o.sessions?.record
      ? {
          recorder: new Recorder({
            dir: join(o.dataDir, 'sessions'),
            retentionMs: (o.sessions.recordingRetentionDays ?? 30) * 24 * 3600_000,
            maxBytes: DEFAULT_RECORDING_MAX_BYTES,
          }),
        }
      : {}),
  });
  const sweeper = new DeliverySweeper(invocations, log, { files, exclusive: (name, job) => runOnce(db, name, job) });

  // The official SDK sends every parameter in the query string: a 32 KB SendFile or a 16 KB script,
  // percent-encoded, is far past Node's 16 KiB default for the request head.
  const app = Fastify({
    https: { cert: tls.cert, key: tls.key, maxHeaderSize: MAX_REQUEST_HEAD_BYTES },
    logger: false,
    trustProxy: false,
  });
  // Fastify's own logger is off, so a handler's unexpected failure (answered 500) is logged here;
  // a hook registered before the routes hears the errors of all of them.
  app.addHook('onError', async (req, _reply, e) => {
    const status = (e as { statusCode?: number }).statusCode ?? 500;
    if (status >= 500) {
      log.error('request failed', {
        method: req.method,
        path: req.routeOptions.url ?? req.url,
        status,
        err: String(e.stack ?? e),
      });
    }
  });
  await app.register(consoleRoutes(o.consoleAssetsDir ?? join(import.meta.dirname, 'console', 'assets')));
  // Known once the server listens (port 0 picks one), unless given.
  let publicHost = o.publicHost;
  const installScripts = o.packagesDir
    ? (a: Activation) => renderInstallScripts({ serverHost: publicHost ?? 'localhost', regionId, caPem: tls.caCert }, a)
    : undefined;
  if (o.packagesDir) {
    await app.register(packageRoutes(o.packagesDir));
  }
  await app.register(
    openApiRoutes({
      keys,
      access,
      ram,
      audit,
      activations,
      instances,
      invocations,
      commands,
      files,
      parameters,
      plugins,
      sessions,
      sessionUrl: (id, token) =>
        `wss://${publicHost ?? 'localhost'}${CLIENT_SESSION_PATH}?sessionId=${id}&token=${token}`,
      log,
      hostId: hostname(),
      ...(installScripts ? { installScripts } : {}),
    }),
  );
  const updates = o.updatesDir ? new UpdateCatalog(o.updatesDir) : undefined;
  await app.register(
    lubanRoutes({
      auth,
      activations,
      instances,
      invocations,
      files,
      gateway,
      sessions,
      plugins,
      log,
      heartbeatIntervalMs: o.heartbeatIntervalMs ?? 60_000,
      regionId,
      ...(updates ? { updates } : {}),
    }),
  );
  if (updates) {
    await app.register(updateFileRoutes(updates));
  }
  await app.register(pluginPackageRoutes(plugins));
  app.server.on('upgrade', (req, socket, head: Buffer) => {
    if (!gateway.handleUpgrade(req, socket, head) && !relay.handleUpgrade(req, socket, head)) {
      refuseUpgrade(req, socket);
    }
  });

  return {
    app,
    nodeId: fleet.nodeId,
    db,
    keys,
    ram,
    access,
    audit,
    activations,
    instances,
    invocations,
    commands,
    files,
    parameters,
    plugins,
    sessions,
    relay,
    gateway,
    tls,
    log,
    async start() {
      // A fleet reconnects all at once after a restart: a deep accept queue (the kernel caps it at
      // net.core.somaxconn) keeps the connect storm from being refused.
      await app.listen({ host: o.host ?? '127.0.0.1', port: o.port ?? 0, backlog: 4096 });
      const addr = app.server.address();
      if (addr === null || typeof addr === 'string') {
        throw new Error('server has no TCP address');
      }
      const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
      // A wildcard address is no place to connect to: the machine's name is (a certificate SAN).
      publicHost ??= `${['0.0.0.0', '::'].includes(addr.address) ? hostname() : host}:${addr.port}`;
      relay.setNode(
        o.nodeUrl ?? `https://${['0.0.0.0', '::'].includes(addr.address) ? hostname() : host}:${addr.port}`,
        tls.caCert,
      );
      await fleet.start();
      sweeper.start();
      audit.start();
      relay.start();
      requestIds.start(REQUEST_ID_PURGE_MS, (e) =>
        log.error('request id purge failed', { err: String((e as Error)?.stack ?? e) }),
      );
      log.info('control plane listening', { host, port: addr.port });
      return { host, port: addr.port, url: `https://${host}:${addr.port}` };
    },
    async close() {
      await sweeper.stop();
      await requestIds.stop();
      await fleet.stop();
      await relay.close();
      gateway.close();
      await app.close();
      // After the last call: its event is written before the store closes.
      await audit.stop();
      await db.destroy();
    },
  };
}
