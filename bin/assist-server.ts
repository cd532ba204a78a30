// assist-server: the self-hosted control plane.
//   assist-server [start] [--data-dir D] [--host H] [--port P]   run the server until SIGINT/SIGTERM
//   assist-server keys create [--data-dir D] [--description T]    print a new AccessKey pair
// Both take --database URL (or ASSIST_DATABASE): postgres://… for PostgreSQL; default SQLite in D.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { hideBin } from 'yargs/helpers';
import yargs from 'yargs';
import { buildServer } from '../control-plane/index.js';

const DEFAULT_DATA_DIR = process.env['ASSIST_DATA_DIR'] ?? '/var/lib/assist-server';
/** From the environment rather than argv when it holds a password (argv is visible in `ps`). */
const DEFAULT_DATABASE = process.env['ASSIST_DATABASE'] || undefined;
/** The packages scripts/build-packages writes: dist/packages of the repo (from bin/) or beside the bundle (dist/). */
const DEFAULT_PACKAGES_DIR = [
  join(import.meta.dirname, '..', 'dist', 'packages'),
  join(import.meta.dirname, 'packages'),
].find((d) => existsSync(join(d, 'SHA256SUMS')));

async function start(a: {
  dataDir: string;
  database: string | undefined;
  host: string;
  port: number;
  region: string;
  hostname: string[];
  logLevel: string;
  maxSavedCommands: number;
  maxInstancesPerCall: number;
  deliveryTimeout: number;
  accountId: string;
  packagesDir: string | undefined;
  publicHost: string | undefined;
  updatesDir: string | undefined;
}) {
  const cp = await buildServer({
    dataDir: a.dataDir,
    ...(a.database ? { database: a.database } : {}),
    host: a.host,
    port: a.port,
    regionId: a.region,
    logLevel: a.logLevel,
    limits: { maxCommands: a.maxSavedCommands, maxInstancesPerCall: a.maxInstancesPerCall },
    deliveryTimeoutMs: a.deliveryTimeout * 1000,
    accountId: a.accountId,
    ...(a.hostname.length > 0 ? { hostnames: ['localhost', ...a.hostname] } : {}),
    ...(a.packagesDir ? { packagesDir: a.packagesDir } : {}),
    ...(a.publicHost ? { publicHost: a.publicHost } : {}),
    ...(a.updatesDir ? { updatesDir: a.updatesDir } : {}),
  });
  const { url } = await cp.start();
  console.log(JSON.stringify({ event: 'ready', url, caCert: cp.tls.caCertPath, dataDir: a.dataDir }));
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      return;
    }
    stopping = true;
    cp.log.info('control plane stopping', { signal });
    const backstop = setTimeout(() => process.exit(1), 10_000);
    backstop.unref();
    cp.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

async function createKey(a: { dataDir: string; database: string | undefined; description: string }) {
  const cp = await buildServer({ dataDir: a.dataDir, ...(a.database ? { database: a.database } : {}), silent: true });
  try {
    const k = await cp.keys.create(a.description);
    console.log(JSON.stringify({ AccessKeyId: k.accessKeyId, AccessKeySecret: k.accessKeySecret }));
  } finally {
    await cp.close();
  }
}

void yargs(hideBin(process.argv))
  .scriptName('assist-server')
  .option('data-dir', { type: 'string', default: DEFAULT_DATA_DIR, describe: 'where the database, CA and keys live' })
  .option('database', {
    type: 'string',
    describe:
      'the store: postgres://user@host:5432/db (PostgreSQL; ?pool_size=N) or an SQLite file; default: $ASSIST_DATABASE, else <data-dir>/assist.db',
  })
  .command(
    ['start', '$0'],
    'run the control plane',
    (y) =>
      y
        .option('host', { type: 'string', default: '127.0.0.1' })
        .option('port', { type: 'number', default: 8443 })
        .option('region', { type: 'string', default: 'cn-local' })
        .option('hostname', {
          type: 'string',
          array: true,
          default: [] as string[],
          describe: 'extra certificate names',
        })
        .option('log-level', { type: 'string', default: 'info' })
        .option('max-saved-commands', { type: 'number', default: 100, describe: 'saved commands per region' })
        .option('max-instances-per-call', { type: 'number', default: 50, describe: 'instances one call may target' })
        .option('delivery-timeout', {
          type: 'number',
          default: 60,
          describe: 'seconds before an undelivered execution fails with DeliveryTimeout',
        })
        .option('account-id', { type: 'string', default: 'local', describe: 'the value of {{ACS::AccountId}}' })
        .option('packages-dir', {
          type: 'string',
          describe: 'agent packages to serve under /assist/packages/ (default: dist/packages when built)',
        })
        .option('public-host', {
          type: 'string',
          describe: 'host[:port] agents reach this server at, for install scripts (default: the listening address)',
        })
        .option('updates-dir', {
          type: 'string',
          describe: 'agent self-update packages, <dir>/<os>/<arch>/<version>_update.zip (docs/operations.md)',
        })
        .check((a) => {
          for (const k of ['max-saved-commands', 'max-instances-per-call', 'delivery-timeout'] as const) {
            if (!Number.isInteger(a[k]) || a[k] < 1) {
              throw new Error(`--${k} must be a positive whole number`);
            }
          }
          return true;
        }),
    (a) =>
      start({
        dataDir: a.dataDir,
        database: a.database ?? DEFAULT_DATABASE,
        host: a.host,
        port: a.port,
        region: a.region,
        hostname: a.hostname,
        logLevel: a.logLevel,
        maxSavedCommands: a.maxSavedCommands,
        maxInstancesPerCall: a.maxInstancesPerCall,
        deliveryTimeout: a.deliveryTimeout,
        accountId: a.accountId,
        packagesDir: a.packagesDir ?? DEFAULT_PACKAGES_DIR,
        publicHost: a.publicHost,
        updatesDir: a.updatesDir,
      }),
  )
  .command(
    'keys create',
    'create an AccessKey pair for the operator API',
    (y) => y.option('description', { type: 'string', default: '' }),
    (a) => createKey({ dataDir: a.dataDir, database: a.database ?? DEFAULT_DATABASE, description: a.description }),
  )
  .strict()
  .help()
  .parseAsync();
