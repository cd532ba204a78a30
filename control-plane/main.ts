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
  updateFileRoutes,
} from './agent-api/index.js';
import { joinFleet } from './cluster/index.js';
import { consoleRoutes } from './console/index.js';
import { packageRoutes, renderInstallScripts, type Activation } from './install/index.js';
import { openApiRoutes } from './openapi/index.js';
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
  RequestIdLedger,
  type InvocationLimits,
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
}

export interface ControlPlane {
  app: FastifyInstance;
  /** This node's name in the presence table (random per start). */
  nodeId: string;
  db: Db;
  keys: AccessKeyService;
  activations: ActivationService;
  instances: InstanceService;
  invocations: InvocationService;
  commands: CommandService;
  files: FileSendService;
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
  const keys = await AccessKeyService.load(db, SecretBox.fromFile(join(o.dataDir, 'master.key')));

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
  const invocations = new InvocationService(db, fleet.notifier, regionId, limits, {
    accountId: o.accountId ?? DEFAULT_INVOCATION_OPTIONS.accountId,
    deliveryTimeoutMs: o.deliveryTimeoutMs ?? DEFAULT_INVOCATION_OPTIONS.deliveryTimeoutMs,
  });
  const commands = new CommandService(db, regionId, limits);
  const files = new FileSendService(db, fleet.notifier, regionId, {
    maxInstancesPerCall: limits.maxInstancesPerCall,
    deliveryTimeoutMs: o.deliveryTimeoutMs ?? DEFAULT_INVOCATION_OPTIONS.deliveryTimeoutMs,
  });
  const sweeper = new DeliverySweeper(invocations, log, { files, exclusive: (name, job) => runOnce(db, name, job) });

  // The official SDK sends every parameter in the query string: a 32 KB SendFile or a 16 KB script,
  // percent-encoded, is far past Node's 16 KiB default for the request head.
  const app = Fastify({
    https: { cert: tls.cert, key: tls.key, maxHeaderSize: MAX_REQUEST_HEAD_BYTES },
    logger: false,
    trustProxy: false,
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
      activations,
      instances,
      invocations,
      commands,
      files,
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
      log,
      heartbeatIntervalMs: o.heartbeatIntervalMs ?? 60_000,
      regionId,
      ...(updates ? { updates } : {}),
    }),
  );
  if (updates) {
    await app.register(updateFileRoutes(updates));
  }
  app.server.on('upgrade', (req, socket, head: Buffer) => {
    if (!gateway.handleUpgrade(req, socket, head)) {
      refuseUpgrade(req, socket);
    }
  });

  return {
    app,
    nodeId: fleet.nodeId,
    db,
    keys,
    activations,
    instances,
    invocations,
    commands,
    files,
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
      await fleet.start();
      sweeper.start();
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
      gateway.close();
      await app.close();
      await db.destroy();
    },
  };
}
