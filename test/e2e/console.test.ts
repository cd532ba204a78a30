// The console in a real browser against a real control plane and agent: sign in with an
// AccessKey, see the instance online, run a command, read its output, create an activation code.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startAgent } from '../harness/agent.js';
import { ARTIFACTS, launchBrowser } from '../harness/browser.js';
import { startControlPlane } from '../harness/control-plane.js';

describe('console', () => {
  it('signs in, runs a command and shows its output', async (t) => {
    const h = await startControlPlane(t);
    const agent = await startAgent(t, h, { instanceName: 'console-box' });
    const browser = await launchBrowser(t);
    const page = await browser.newPage({ ignoreHTTPSErrors: true, viewport: { width: 1100, height: 800 } });
    await page.goto(`https://${h.hostPort}/console/`);

    await page.getByLabel('AccessKeyId').fill(h.key.accessKeyId);
    await page.getByLabel('AccessKeySecret').fill('wrong-secret');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'SignatureDoesNotMatch' }).waitFor();

    await page.getByLabel('AccessKeySecret').fill(h.key.accessKeySecret);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const box = page.getByLabel(new RegExp(`console-box \\(${agent.instanceId}\\)`));
    await box.waitFor();
    assert.equal(await box.isChecked(), true);

    await page.getByLabel('Script (RunShellScript)').fill('echo "from the console: $((6*7))"');
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    await page.getByText('from the console: 42').waitFor({ timeout: 20_000 });
    await page.screenshot({ path: join(ARTIFACTS, 'console-results.png'), fullPage: true });
    const inv = await h.pop.call('DescribeInvocations', { InstanceId: agent.instanceId });
    assert.equal(inv.TotalCount, 1, 'the console went through RunCommand');

    await page.getByRole('button', { name: 'Managed instances' }).click();
    await page.getByRole('cell', { name: agent.instanceId }).waitFor();

    await page.getByRole('button', { name: 'Activation codes' }).click();
    await page.getByLabel('Instance name prefix').fill('web');
    await page.getByRole('button', { name: 'Create activation code' }).click();
    const once = page.getByRole('status');
    await once.getByText('--ActivationCode a-').waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'console-activation.png'), fullPage: true });
    const acts = await h.pop.call('DescribeActivations', { InstanceName: 'web' });
    assert.equal(acts.TotalCount, 1);
  });
});
