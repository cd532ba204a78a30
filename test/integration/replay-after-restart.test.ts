// Agent request ids outlive the control plane: signed headers captured from one request are
// refused when replayed after a restart on the same data dir, inside the signature window.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { HttpClient } from '../../agent/http/index.js';
import { hybridHeaders, LubanPath } from '../../protocol/index.js';
import { registerAgent } from '../harness/agent.js';
import { startControlPlane, suiteCleanup, type TestControlPlane } from '../harness/control-plane.js';

const heartbeat = async (h: TestControlPlane, headers: Record<string, string>) => {
  const c = new HttpClient({
    userAgent: 'linux_amd64/2.2.3.578',
    caPem: readFileSync(h.caPath, 'utf8'),
    identityHeaders: () => headers,
  });
  try {
    return await c.request({ method: 'GET', url: `https://${h.hostPort}${LubanPath.heartbeat}?uptime=1` });
  } finally {
    c.close();
  }
};

describe('agent request ids after a control-plane restart', { timeout: 120_000 }, () => {
  const cleanup = suiteCleanup();

  it('refuses signed heartbeat headers replayed after a restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'oca-replay-'));
    cleanup.after(() => rmSync(dataDir, { recursive: true, force: true }));
    const first = await startControlPlane({ after: () => {} }, { dataDir });
    const reg = await registerAgent(cleanup, first);
    const identity = {
      instanceId: reg.instanceId,
      machineId: readFileSync(`${reg.installDir}/hybrid/machine-id`, 'utf8'),
      privateKeyPem: readFileSync(`${reg.installDir}/hybrid/pri-key`, 'utf8'),
    };
    const captured = hybridHeaders(identity);
    const untouched = hybridHeaders(identity);
    assert.equal((await heartbeat(first, captured)).status, 200);
    await first.cp.close();

    const second = await startControlPlane(cleanup, { dataDir });
    const replay = await heartbeat(second, captured);
    assert.equal(replay.status, 401);
    assert.match(replay.body, /replayed/);
    // A fresh request id signed by the same agent still passes: only the replay is refused.
    assert.equal((await heartbeat(second, untouched)).status, 200);
  });
});
