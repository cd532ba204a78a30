// The console's Access policies and Audit trail pages in Debian's Chromium against a real control
// plane: an account key creates a RAM user and a policy and attaches it (each change checked
// through the API); a RAM user's key does not see the Access policies tab; the audit trail lists
// the user's refused call.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startControlPlane } from '../harness/control-plane.js';
import { apiError, PopClient } from '../harness/sdk.js';
import { openConsole, openTab, screenshot, signIn } from './console-helpers.js';

describe('console: access policies and audit trail', () => {
  it('an account key manages users and policies; a RAM user sees no admin page; refusals are audited', async (t) => {
    const h = await startControlPlane(t);
    const page = await openConsole(t, h);
    await signIn(page, h);
    const access = await openTab(page, 'Access policies');

    await access.getByLabel('User name').fill('carol');
    await access.getByRole('button', { name: 'Create user' }).click();
    await access.getByRole('table', { name: 'RAM users' }).getByRole('row', { name: /carol/ }).waitFor();

    await access.getByLabel('Policy name').fill('DescribeOnly');
    await access
      .getByLabel(/Policy document/)
      .fill(JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: 'ecs:Describe*', Resource: '*' }] }));
    await access.getByRole('button', { name: 'Create policy' }).click();
    await access
      .getByRole('table', { name: 'Policies' })
      .getByRole('cell', { name: 'DescribeOnly', exact: true })
      .waitFor();

    await access.getByLabel('Policy to attach').selectOption('DescribeOnly');
    await access.getByLabel('User to attach it to').selectOption('carol');
    await access.getByRole('button', { name: 'Attach' }).click();
    await access
      .getByRole('table', { name: 'RAM users' })
      .getByRole('row', { name: /carol/ })
      .getByRole('cell', { name: 'DescribeOnly', exact: true })
      .waitFor();

    // A malformed document is refused with its reason, and nothing is stored.
    await access.getByLabel('Policy name').fill('Broken');
    await access.getByLabel(/Policy document/).fill('{"Version":"1"}');
    await access.getByRole('button', { name: 'Create policy' }).click();
    await access.getByRole('alert').filter({ hasText: 'MalformedPolicyDocument' }).waitFor();

    const policies = await h.pop.call('ListRamPoliciesForUser', { UserName: 'carol' });
    assert.deepEqual(
      policies.Policies.Policy.map((p: { PolicyName: string }) => p.PolicyName),
      ['DescribeOnly'],
    );
    assert.equal((await h.pop.call('ListRamPolicies', {})).Policies.Policy.length, 1);

    await access.getByRole('button', { name: 'Create AccessKey for carol' }).click();
    const secretSection = access.getByRole('region', { name: /New AccessKey of carol/ });
    const id = (await secretSection.locator('dd').nth(0).textContent())!.trim();
    const secret = (await secretSection.locator('dd').nth(1).textContent())!.trim();
    await screenshot(page, 'access-policies');

    // The key is a RAM user's: Describe* works, RunCommand is refused and audited.
    const carol = new PopClient(h.hostPort, { accessKeyId: id, accessKeySecret: secret }, h.caPath);
    await carol.call('DescribeCommands', {});
    assert.equal(
      (
        await apiError(
          carol.call('RunCommand', { 'InstanceId.1': 'mi-none', Type: 'RunShellScript', CommandContent: 'id' }),
        )
      ).code,
      'Forbidden.RAM',
    );

    const audit = await openTab(page, 'Audit trail');
    await audit.getByLabel('User').fill('carol');
    await audit.getByLabel('Result').fill('Forbidden.RAM');
    await audit.getByRole('button', { name: 'Search' }).click();
    const rows = audit.getByRole('table', { name: 'Audit events' }).getByRole('row');
    await rows.filter({ hasText: 'RunCommand' }).waitFor();
    assert.equal(await rows.count(), 2); // the header and the one refused call
    await screenshot(page, 'audit-trail');

    // Signed in with carol's key, the Access policies tab is not offered.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('AccessKeyId').fill(id);
    await page.getByLabel('AccessKeySecret').fill(secret);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('tab', { name: 'Run command', selected: true }).waitFor();
    await page.getByRole('tab', { name: 'Audit trail' }).waitFor();
    await page.waitForFunction(() => document.getElementById('tab-access')?.hidden === true);
    assert.equal(await page.getByRole('tab', { name: 'Access policies' }).count(), 0);
  });
});
