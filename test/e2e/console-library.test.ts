// The console's command library and deregistration in Debian's Chromium against a real control
// plane: a saved command is listed and deleted from the page; a managed instance is deregistered
// from the page. Each change is checked through the API.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { registerAgent } from '../harness/agent.js';
import { startControlPlane } from '../harness/control-plane.js';
import { eventually } from '../harness/eventually.js';
import { openConsole, openTab, screenshot, signIn } from './console-helpers.js';

describe('console: command library and deregistration', { timeout: 90_000 }, () => {
  it('lists and deletes a saved command, and deregisters an instance', async (t) => {
    const h = await startControlPlane(t);
    const reg = await registerAgent(t, h, { instanceName: 'to-go' });
    const created = await h.pop.call('CreateCommand', {
      Name: 'disk-report',
      Type: 'RunShellScript',
      CommandContent: Buffer.from('df -h').toString('base64'),
    });
    const page = await openConsole(t, h);
    await signIn(page, h);

    const commands = await openTab(page, 'Commands');
    await commands.getByRole('button', { name: 'Run disk-report' }).waitFor();
    await screenshot(page, 'commands');
    await commands.getByRole('button', { name: 'Delete disk-report' }).click();
    await eventually(() => h.pop.call('DescribeCommands', { CommandId: created.CommandId }), {
      until: (r) => r.TotalCount === 0,
      what: 'the command to be deleted',
    });

    const instances = await openTab(page, 'Managed instances');
    await instances.getByLabel('Search (id or name)').fill(reg.instanceId);
    await instances.getByRole('button', { name: 'Search' }).click();
    await instances.getByRole('button', { name: `Deregister ${reg.instanceId}` }).click();
    const left = await eventually(() => h.pop.call('DescribeManagedInstances', { 'InstanceId.1': reg.instanceId }), {
      until: (r) => r.TotalCount === 0,
      what: 'the instance to be deregistered',
    });
    assert.equal(left.TotalCount, 0);
  });
});
