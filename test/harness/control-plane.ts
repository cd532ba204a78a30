// Starts a real control plane (HTTPS on 127.0.0.1:0, SQLite file in a temp dir) for a test, plus
import { after } from 'node:test';
// official SDK clients pointed at it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
/** Anything that can register cleanup: a TestContext, or { after } from node:test in a before() hook. */
export interface Cleanup {
  after(fn: () => unknown): void;
}
import { buildServer, type ControlPlane, type ServerOptions } from '../../control-plane/index.js';
import { createTestDatabase } from './postgres.js';
import { EcsClient, PopClient } from './sdk.js';

export interface TestControlPlane {
  cp: ControlPlane;
  dataDir: string;
  /** `127.0.0.1:<port>`, what agents get as ALIYUN_ASSIST_SERVER_HOST. */
  hostPort: string;
  caPath: string;
  key: { accessKeyId: string; accessKeySecret: string };
  ecs: EcsClient;
  pop: PopClient;
}

/** The PostgreSQL database of each data dir, so a control plane restarted on a data dir finds its store. */
const databaseOfDataDir = new Map<string, Promise<string>>();

/**
 * The store of a test control plane: `o.database` when given; with OCA_TEST_DATABASE=postgres a
 * fresh PostgreSQL database (one per data dir) in this test process's throwaway cluster; else
 * SQLite in the data dir.
 */
function testDatabase(o: Partial<ServerOptions>, dataDir: string): Promise<string | undefined> {
  if (o.database !== undefined || process.env['OCA_TEST_DATABASE'] !== 'postgres') {
    return Promise.resolve(o.database);
  }
  let url = databaseOfDataDir.get(dataDir);
  if (!url) {
    url = createTestDatabase({ migrated: true }).then((d) => d.url);
    databaseOfDataDir.set(dataDir, url);
  }
  return url;
}

export async function startControlPlane(t: Cleanup, o: Partial<ServerOptions> = {}): Promise<TestControlPlane> {
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), 'oca-cp-'));
  const database = await testDatabase(o, dataDir);
  const cp = await buildServer({
    silent: process.env['OCA_TEST_LOG'] !== '1',
    ...o,
    dataDir,
    ...(database ? { database } : {}),
  });
  const { port } = await cp.start();
  const key = await cp.keys.create('test');
  const hostPort = `127.0.0.1:${port}`;
  const caPath = cp.tls.caCertPath!;
  t.after(async () => {
    await cp.close();
    if (!o.dataDir) {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
  return {
    cp,
    dataDir,
    hostPort,
    caPath,
    key,
    ecs: new EcsClient(hostPort, key, caPath),
    pop: new PopClient(hostPort, key, caPath),
  };
}

/**
 * Cleanup for resources a suite shares: call it in the describe() body (not in a hook), so the
 * cleanups run once after the whole suite, last registered first.
 */
export function suiteCleanup(): Cleanup {
  const fns: (() => unknown)[] = [];
  after(async () => {
    for (const fn of fns.reverse()) {
      await fn();
    }
  });
  return { after: (fn) => fns.push(fn) };
}
