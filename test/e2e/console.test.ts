// The console in Debian's Chromium against a real control plane and a real agent: sign in with an
// AccessKey (a wrong secret shows the API's code), create an activation code and register a real
// agent with what the page showed, run a command and read its output, preview a schedule's next
// fire times, stop a long command, and send a file (checked on disk). Screenshots go to
// test-results/console/.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startAgent } from '../harness/agent.js';
import { startControlPlane } from '../harness/control-plane.js';
import { eventually } from '../harness/eventually.js';
import { openConsole, openTab, panel, screenshot } from './console-helpers.js';

describe('console', { timeout: 120_000 }, () => {
  it('signs in, activates and registers an agent, runs, previews a schedule, stops and sends a file', async (t) => {
    const h = await startControlPlane(t);
    const page = await openConsole(t, h);

    await page.getByLabel('AccessKeyId').fill(h.key.accessKeyId);
    await page.getByLabel('AccessKeySecret').fill('wrong-secret');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'SignatureDoesNotMatch' }).waitFor();
    await page.getByLabel('AccessKeySecret').fill(h.key.accessKeySecret);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('tab', { name: 'Run command', selected: true }).waitFor();

    // A new activation code, shown once with how to register; a real agent registers with it.
    const activations = await openTab(page, 'Activation codes');
    await activations.getByLabel('Instance name prefix').fill('console');
    await activations.getByLabel('Instances', { exact: true }).fill('1');
    await activations.getByRole('button', { name: 'Create activation code' }).click();
    const once = activations.getByRole('region', { name: 'New activation code: shown once' });
    await once.waitFor();
    const shown = (term: string) => once.locator(`dt:text-is("${term}") + dd`).innerText();
    const activation = { id: await shown('ActivationId'), code: await shown('ActivationCode') };
    const register = await once
      .getByText(`--ActivationCode ${activation.code} --ActivationId ${activation.id}`)
      .innerText();
    assert.ok(register.startsWith(`ALIYUN_ASSIST_SERVER_HOST=${h.hostPort} aliyun-service --register`), register);
    await screenshot(page, 'activation');
    const agent = await startAgent(t, h, { instanceName: 'console-box', activation });
    const acts = await h.pop.call('DescribeActivations', { ActivationId: activation.id });
    assert.equal(acts.ActivationList[0].RegisteredCount, 1, 'the agent used the code the console showed');
    await once.getByRole('button', { name: 'Done, hide the code' }).click();
    assert.equal(await once.count(), 0, 'the code is gone from the page');

    // The new instance is listed, online.
    const instances = await openTab(page, 'Managed instances');
    const row = instances.getByRole('row').filter({ hasText: agent.instanceId });
    await row.getByText('Online', { exact: true }).waitFor();
    await row.getByRole('cell', { name: 'console-box', exact: true }).waitFor();

    // Run a command on the instance the picker shows online.
    const run = await openTab(page, 'Run command');
    const box = run.getByLabel(new RegExp(`console-box \\(${agent.instanceId}\\)`));
    await box.check();
    await run.getByLabel('Command content').fill('echo "from the console: $((6*7))"; exit 3');
    await run.getByRole('button', { name: 'Run', exact: true }).click();
    const results = panel(page, 'Results');
    await results.getByText('from the console: 42').waitFor();
    await results.getByRole('cell', { name: '3', exact: true }).first().waitFor();
    await screenshot(page, 'results');
    const inv = await h.pop.call('DescribeInvocations', { InstanceId: agent.instanceId });
    assert.equal(inv.TotalCount, 1, 'the console went through RunCommand');

    // A schedule: the next five fire times of a cron expression are previewed before anything runs.
    await openTab(page, 'Run command');
    await run.getByLabel('On a schedule').check();
    const freqKind = run.locator('select[name=freqKind]');
    await freqKind.selectOption('cron');
    await run.locator('input[name=cron]').fill('0 0 12 * * ?');
    const preview = run.locator('#run-preview li');
    await eventually(() => preview.count(), { until: (n) => n === 5, what: 'five previewed fire times' });
    const times = await run
      .locator('#run-preview time')
      .evaluateAll((els) => els.map((e) => e.getAttribute('datetime')));
    assert.equal(times.length, 5);
    assert.ok(times.every((x, i) => i === 0 || Date.parse(x!) - Date.parse(times[i - 1]!) === 86_400_000));
    await screenshot(page, 'schedule-preview');
    await run.getByLabel('Now, once').check();

    // Stop a long command from its results.
    await run.getByLabel('Command content').fill('sleep 600');
    await run.getByRole('button', { name: 'Run', exact: true }).click();
    await results.getByRole('button', { name: 'Stop invocation' }).waitFor();
    await eventually(
      async () =>
        (await h.pop.call('DescribeInvocations', { InstanceId: agent.instanceId })).Invocations.Invocation.find(
          (i: { CommandContent: string }) => Buffer.from(i.CommandContent, 'base64').toString() === 'sleep 600',
        )?.InvocationStatus,
      { until: (s) => s === 'Running', what: 'the sleep to run' },
    );
    await results.getByRole('button', { name: 'Stop invocation' }).click();
    const stopped = await eventually(
      async () =>
        (await h.pop.call('DescribeInvocations', { InstanceId: agent.instanceId })).Invocations.Invocation.find(
          (i: { CommandContent: string }) => Buffer.from(i.CommandContent, 'base64').toString() === 'sleep 600',
        )?.InvocationStatus,
      { until: (s) => s === 'Stopped', timeoutMs: 20_000, what: 'the sleep to be stopped' },
    );
    assert.equal(stopped, 'Stopped');
    await results.getByRole('cell', { name: 'Stopped', exact: true }).first().waitFor();

    // Send a file and find it on disk.
    const dir = mkdtempSync(join(tmpdir(), 'oca-console-file-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const files = await openTab(page, 'File sends');
    await files.getByLabel('File name').fill('from-console.txt');
    await files.getByLabel('Target directory').fill(dir);
    await files.getByLabel('Content').fill('sent from the console\n');
    await files.getByLabel(new RegExp(`console-box \\(${agent.instanceId}\\)`)).check();
    await files.getByRole('button', { name: 'Send file' }).click();
    await eventually(() => readFileSync(join(dir, 'from-console.txt'), 'utf8'), {
      until: (s) => s === 'sent from the console\n',
      what: 'the file on disk',
    });
    await files.getByText('Success').first().waitFor();
    await screenshot(page, 'file-sends');
  });
});
