// Starts a real control plane (HTTPS on 127.0.0.1:0, SQLite file in a temp dir) for a test, plus
// official SDK clients pointed at it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { buildServer, type ControlPlane, type ServerOptions } from '../../control-plane/index.js';
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

export async function startControlPlane(t: TestContext, o: Partial<ServerOptions> = {}): Promise<TestControlPlane> {
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), 'oca-cp-'));
  const cp = await buildServer({ silent: process.env['OCA_TEST_LOG'] !== '1', ...o, dataDir });
  const { port } = await cp.start();
  const key = await cp.keys.create('test');
  const hostPort = `127.0.0.1:${port}`;
  const caPath = cp.tls.caCertPath!;
  t.after(async () => {
    await cp.close();
    if (!o.dataDir) rmSync(dataDir, { recursive: true, force: true });
  });
  return { cp, dataDir, hostPort, caPath, key, ecs: new EcsClient(hostPort, key, caPath), pop: new PopClient(hostPort, key, caPath) };
}
