// assist-server: the self-hosted control plane.
//   assist-server [start] [--data-dir D] [--host H] [--port P]   run the server until SIGINT/SIGTERM
//   assist-server keys create [--data-dir D] [--description T]    print a new AccessKey pair
//     (--user NAME: a key of that RAM user, checked against its policies; else an account key)
//   assist-server rotate-master-key [--data-dir D]                re-seal stored secrets under a new master key
//   assist-server users create|list|delete …                      RAM users
//   assist-server groups create|list|delete|add-user|remove-user … groups of RAM users
//   assist-server policies create|list|attach|detach|delete …     access policies (docs/access-policies.md)
// Both take --database URL (or ASSIST_DATABASE): postgres://… for PostgreSQL; default SQLite in D.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { hideBin } from 'yargs/helpers';
import yargs from 'yargs';
import { readFileSync } from 'node:fs';
import { buildServer, rotateMasterKeyOfStore, type ControlPlane } from '../control-plane/index.js';

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
  auditRetentionDays: number;
  sessionRecording: boolean;
  sessionRecordingDays: number;
  nodeUrl: string | undefined;
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
    auditRetentionDays: a.auditRetentionDays,
    sessions: { record: a.sessionRecording, recordingRetentionDays: a.sessionRecordingDays },
    ...(a.nodeUrl ? { nodeUrl: a.nodeUrl } : {}),
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

async function createKey(a: { dataDir: string; database: string | undefined; description: string; user?: string }) {
  await admin(a, async (cp) => {
    if (a.user !== undefined) {
      return cp.ram.createAccessKey(a.user);
    }
    const k = await cp.keys.create(a.description);
    return { AccessKeyId: k.accessKeyId, AccessKeySecret: k.accessKeySecret };
  });
}

/** Runs one administrative step on the store (no listening) and prints its result as one line of JSON. */
async function admin(
  a: { dataDir: string; database: string | undefined },
  step: (cp: ControlPlane) => Promise<unknown>,
): Promise<void> {
  const cp = await buildServer({ dataDir: a.dataDir, ...(a.database ? { database: a.database } : {}), silent: true });
  try {
    const out = await step(cp);
    if (out !== undefined) {
      console.log(JSON.stringify(out));
    }
  } catch (e) {
    const code = (e as { code?: string }).code;
    console.error(code ? `${code}: ${(e as Error).message}` : String(e));
    process.exitCode = 1;
  } finally {
    await cp.close();
  }
}

const dbArgs = (a: { dataDir: string; database?: string | undefined }) => ({
  dataDir: a.dataDir,
  database: a.database ?? DEFAULT_DATABASE,
});

/** A policy document from --document or --file (exactly one). */
function documentOf(a: { document?: string | undefined; file?: string | undefined }): string {
  if ((a.document === undefined) === (a.file === undefined)) {
    throw new Error('give the policy document with --document or --file (one of them)');
  }
  return a.document ?? readFileSync(a.file!, 'utf8');
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
        .option('audit-retention-days', {
          type: 'number',
          default: 90,
          describe: 'days the audit trail keeps an event',
        })
        .option('session-recording', {
          type: 'boolean',
          default: false,
          describe: 'record terminal sessions (output with timing) under <data-dir>/sessions/ (docs/sessions.md)',
        })
        .option('node-url', {
          type: 'string',
          describe:
            'https://host:port other nodes of a cluster reach this node at (session bridges; default: the listening address)',
        })
        .option('session-recording-days', {
          type: 'number',
          default: 30,
          describe: 'days a session recording is kept',
        })
        .check((a) => {
          for (const k of [
            'max-saved-commands',
            'max-instances-per-call',
            'delivery-timeout',
            'audit-retention-days',
            'session-recording-days',
          ] as const) {
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
        auditRetentionDays: a.auditRetentionDays,
        sessionRecording: a.sessionRecording,
        sessionRecordingDays: a.sessionRecordingDays,
        nodeUrl: a.nodeUrl,
      }),
  )
  .command(
    'keys create',
    'create an AccessKey pair for the operator API',
    (y) =>
      y
        .option('description', { type: 'string', default: '' })
        .option('user', { type: 'string', describe: 'a key of this RAM user (checked against its policies)' }),
    (a) =>
      createKey({
        ...dbArgs(a),
        description: a.description,
        ...(a.user !== undefined ? { user: a.user } : {}),
      }),
  )
  .command(
    'rotate-master-key',
    'seal every stored secret (AccessKey secrets, secret parameters) under a new master key; stop every node first',
    (y) => y,
    async (a) => {
      const { dataDir, database } = dbArgs(a);
      const r = await rotateMasterKeyOfStore({ dataDir, ...(database ? { database } : {}) });
      console.log(JSON.stringify(r));
    },
  )
  .command(
    'users <op> [name]',
    'RAM users: create NAME [--display-name D], list, delete NAME (with its keys)',
    (y) =>
      y
        .positional('op', { choices: ['create', 'list', 'delete'] as const, demandOption: true })
        .positional('name', { type: 'string' })
        .option('display-name', { type: 'string' }),
    (a) =>
      admin(dbArgs(a), async (cp) => {
        if (a.op === 'list') {
          return cp.ram.listUsers();
        }
        if (!a.name) {
          throw new Error(`users ${a.op} needs a user name`);
        }
        if (a.op === 'create') {
          return cp.ram.createUser({ userName: a.name, ...(a.displayName ? { displayName: a.displayName } : {}) });
        }
        await cp.ram.deleteUser(a.name);
        return undefined;
      }),
  )
  .command(
    'groups <op> [name] [user]',
    'groups of RAM users: create NAME, list, delete NAME, add-user NAME USER, remove-user NAME USER',
    (y) =>
      y
        .positional('op', {
          choices: ['create', 'list', 'delete', 'add-user', 'remove-user'] as const,
          demandOption: true,
        })
        .positional('name', { type: 'string' })
        .positional('user', { type: 'string' }),
    (a) =>
      admin(dbArgs(a), async (cp) => {
        if (a.op === 'list') {
          return cp.ram.listGroups();
        }
        if (!a.name) {
          throw new Error(`groups ${a.op} needs a group name`);
        }
        switch (a.op) {
          case 'create':
            return cp.ram.createGroup({ groupName: a.name });
          case 'delete':
            return cp.ram.deleteGroup(a.name);
          case 'add-user':
          case 'remove-user':
            if (!a.user) {
              throw new Error(`groups ${a.op} needs a group name and a user name`);
            }
            return a.op === 'add-user'
              ? cp.ram.addUserToGroup(a.user, a.name)
              : cp.ram.removeUserFromGroup(a.user, a.name);
        }
      }),
  )
  .command(
    'policies <op> [name] [user]',
    'access policies: create NAME --file F|--document JSON, list [--user U], attach NAME USER, detach NAME USER, attach-group NAME GROUP, detach-group NAME GROUP, delete NAME',
    (y) =>
      y
        .positional('op', {
          choices: ['create', 'list', 'attach', 'detach', 'attach-group', 'detach-group', 'delete'] as const,
          demandOption: true,
        })
        .positional('name', { type: 'string' })
        .positional('user', { type: 'string' })
        .option('file', { type: 'string', describe: 'a file holding the policy document (JSON)' })
        .option('document', { type: 'string', describe: 'the policy document (JSON)' })
        .option('description', { type: 'string', default: '' }),
    (a) =>
      admin(dbArgs(a), async (cp) => {
        if (a.op === 'list') {
          return (a.user ?? a.name) ? cp.ram.listPoliciesForUser((a.user ?? a.name)!) : cp.ram.listPolicies();
        }
        if (!a.name) {
          throw new Error(`policies ${a.op} needs a policy name`);
        }
        switch (a.op) {
          case 'create':
            return cp.ram.createPolicy({
              policyName: a.name,
              policyDocument: documentOf(a),
              description: a.description,
            });
          case 'delete':
            return cp.ram.deletePolicy(a.name);
          case 'attach':
          case 'detach':
            if (!a.user) {
              throw new Error(`policies ${a.op} needs a policy name and a user name`);
            }
            return a.op === 'attach'
              ? cp.ram.attachPolicyToUser(a.name, a.user)
              : cp.ram.detachPolicyFromUser(a.name, a.user);
          case 'attach-group':
          case 'detach-group':
            if (!a.user) {
              throw new Error(`policies ${a.op} needs a policy name and a group name`);
            }
            return a.op === 'attach-group'
              ? cp.ram.attachPolicyToGroup(a.name, a.user)
              : cp.ram.detachPolicyFromGroup(a.name, a.user);
        }
      }),
  )
  .strict()
  .help()
  .parseAsync();
