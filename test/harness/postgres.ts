// A throwaway PostgreSQL cluster for one test process, started lazily on first use: initdb into a
// temp dir, postgres on a free 127.0.0.1 port (and a unix socket in the temp dir) with durability
// off (fsync, synchronous_commit, full_page_writes) and trust auth, one fresh database per test
// file or suite. The cluster is stopped and its dir removed when the process exits. Each test
// process has its own cluster (~1 s to start), so parallel test files never share one; clusters
// of processes that died without cleaning up are swept by the next one to start.
// Root cannot run PostgreSQL: as root the cluster runs as the `postgres` OS user.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chownSync,
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openStore } from '../../control-plane/store/index.js';
import { freePort } from './ports.js';

const DIR_PREFIX = 'oca-pg-';

/** The newest installed PostgreSQL's bin dir (`OCA_PG_BIN` overrides), or undefined. */
export function postgresBinDir(): string | undefined {
  const env = process.env['OCA_PG_BIN'];
  if (env) {
    return env;
  }
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) {
    return undefined;
  }
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(root, versions[0], 'bin');
}

interface Cluster {
  dir: string;
  port: number;
  bin: string;
  runAs: { uid: number; gid: number } | undefined;
  admin: pg.Pool;
}

let cluster: Promise<Cluster> | undefined;

/** The cluster of this process, started on first call. */
export function postgresCluster(): Promise<Cluster> {
  cluster ??= startCluster();
  return cluster;
}

/** postgres refuses to run as root: then it runs as the `postgres` OS user. */
function runAsUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) {
    return undefined;
  }
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

const childEnv = () => ({ PATH: process.env['PATH'] ?? '/usr/bin:/bin', LANG: 'C', LC_ALL: 'C', TZ: 'UTC' });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Stops a cluster at once (no checkpoint: it is thrown away) and removes its dir. Synchronous: runs at exit. */
function destroyClusterDir(dir: string, bin: string, runAs: Cluster['runAs']): void {
  if (existsSync(join(dir, 'data', 'postmaster.pid'))) {
    spawnSync(join(bin, 'pg_ctl'), ['-D', join(dir, 'data'), 'stop', '-m', 'immediate', '-w', '-t', '10'], {
      stdio: 'ignore',
      env: childEnv(),
      ...(runAs ?? {}),
    });
  }
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Clusters whose test process is gone (killed before its exit handler ran). */
function sweepStale(bin: string, runAs: Cluster['runAs']): void {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(DIR_PREFIX)) {
      continue;
    }
    const dir = join(tmpdir(), name);
    let owner: number;
    try {
      owner = Number(readFileSync(join(dir, 'owner.pid'), 'utf8'));
    } catch {
      continue; // being set up right now, or not ours
    }
    if (Number.isInteger(owner) && owner > 0 && !pidAlive(owner)) {
      destroyClusterDir(dir, bin, runAs);
    }
  }
}

async function startCluster(): Promise<Cluster> {
  const bin = postgresBinDir();
  if (!bin) {
    throw new Error(
      'PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): apt-get install postgresql, or set OCA_PG_BIN',
    );
  }
  const runAs = runAsUser();
  sweepStale(bin, runAs);
  const dir = mkdtempSync(join(tmpdir(), DIR_PREFIX));
  writeFileSync(join(dir, 'owner.pid'), String(process.pid));
  if (runAs) {
    chownSync(dir, runAs.uid, runAs.gid);
  }
  process.on('exit', () => destroyClusterDir(dir, bin, runAs));
  const data = join(dir, 'data');
  const init = spawnSync(
    join(bin, 'initdb'),
    ['-D', data, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync'],
    { encoding: 'utf8', env: childEnv(), ...(runAs ?? {}) },
  );
  if (init.status !== 0) {
    throw new Error(`initdb failed (${init.status}): ${init.stderr}`);
  }

  let lastError = '';
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const logFile = join(dir, `postgres-${port}.log`);
    const log = openSync(logFile, 'a');
    const child: ChildProcess = spawn(
      join(bin, 'postgres'),
      [
        '-D',
        data,
        '-p',
        String(port),
        '-k',
        dir,
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'fsync=off',
        '-c',
        'synchronous_commit=off',
        '-c',
        'full_page_writes=off',
        '-c',
        'max_connections=200',
        '-c',
        'shared_buffers=32MB',
        '-c',
        'log_min_messages=warning',
      ],
      { stdio: ['ignore', log, log], env: childEnv(), ...(runAs ?? {}) },
    );
    closeSync(log);
    child.unref();
    let exited = false;
    child.once('exit', () => (exited = true));
    const admin = new pg.Pool({
      host: '127.0.0.1',
      port,
      user: 'postgres',
      database: 'postgres',
      max: 2,
      allowExitOnIdle: true,
    });
    admin.on('error', () => {});
    for (let waited = 0; waited < 15_000 && !exited; waited += 50) {
      try {
        await admin.query('select 1');
        return { dir, port, bin, runAs, admin };
      } catch {
        await sleep(50);
      }
    }
    await admin.end().catch(() => {});
    child.kill('SIGQUIT');
    lastError = readFileSync(logFile, 'utf8').slice(-2000);
    if (!/could not bind|Address already in use/i.test(lastError)) {
      break; // not a port race: retrying will not help
    }
  }
  throw new Error(`postgres did not start: ${lastError}`);
}

export interface TestDatabase {
  /** `postgres://postgres@127.0.0.1:<port>/<name>`. */
  url: string;
  name: string;
  /** Drops the database, closing any connection still open to it. */
  drop(): Promise<void>;
}

let migratedTemplate: Promise<string> | undefined;

/** A database with every migration applied, to copy from (faster than migrating each one). */
function template(c: Cluster): Promise<string> {
  migratedTemplate ??= (async () => {
    const name = 'tmpl_migrated';
    await c.admin.query(`CREATE DATABASE ${name}`);
    const db = await openStore(`postgres://postgres@127.0.0.1:${c.port}/${name}`, { poolSize: 1 });
    await db.destroy();
    return name;
  })();
  return migratedTemplate;
}

/**
 * A fresh, empty database in this process's cluster; `migrated: true` gives one with the store's
 * migrations applied (copied from a migrated template).
 */
export async function createTestDatabase(o: { migrated?: boolean } = {}): Promise<TestDatabase> {
  const c = await postgresCluster();
  const name = `t_${randomBytes(6).toString('hex')}`;
  const from = o.migrated ? ` TEMPLATE ${await template(c)}` : '';
  await c.admin.query(`CREATE DATABASE ${name}${from}`);
  return {
    url: `postgres://postgres@127.0.0.1:${c.port}/${name}`,
    name,
    drop: async () => {
      await c.admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}
