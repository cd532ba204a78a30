import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startAgent } from '../harness/agent.js';
import { startControlPlane } from '../harness/control-plane.js';
import { eventually } from '../harness/eventually.js';

describe('smoke', () => {
  it('runs echo hello', async (t) => {
    const h = await startControlPlane(t);
    const agent = await startAgent(t, h);
    const r = await h.ecs.call('runCommand', {
      regionId: 'cn-local',
      type: 'RunShellScript',
      commandContent: 'echo hello',
      instanceId: [agent.instanceId],
    });
    const res = await eventually(() => h.pop.call('DescribeInvocationResults', { InvokeId: r.invokeId }), {
      until: (x) => x.Invocation.InvocationResults.InvocationResult[0]?.InvokeRecordStatus === 'Finished',
      timeoutMs: 20_000,
    }).catch((e) => {
      console.log(agent.log());
      throw e;
    });
    console.log(JSON.stringify(res));
    assert.equal(
      Buffer.from(res.Invocation.InvocationResults.InvocationResult[0].Output, 'base64').toString(),
      'hello\n',
    );
  });
});
