// The console's Plugins page and the Run page's "Run a plugin" in Debian's Chromium against a real
// control plane: a zip published from the page, the catalogue listed, a version retired, an
// instance's plugin state shown, and the run form filled with the acs-plugin-manager command.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { writeZip } from '../../protocol/index.js';
import { registerAgent } from '../harness/agent.js';
import { startControlPlane } from '../harness/control-plane.js';
import { openConsole, openTab, panel, screenshot, signIn } from './console-helpers.js';

describe('console: plugins', { timeout: 120_000 }, () => {
  it('publishes, lists and retires plugins, shows states, and fills the run form with a plugin', async (t) => {
    const h = await startControlPlane(t);
    const { instanceId } = await registerAgent(t, h, { instanceName: 'plugin-console-box' });
    const dir = mkdtempSync(join(tmpdir(), 'oca-console-plugin-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const zip = join(dir, 'disk-report.zip');
    writeFileSync(
      zip,
      writeZip([
        {
          name: 'config.json',
          data: Buffer.from(
            JSON.stringify({ name: 'disk-report', version: '1.2', runPath: 'run.sh', publisher: 'ops' }),
          ),
        },
        { name: 'run.sh', data: Buffer.from('#!/bin/sh\ndf -h\n'), mode: 0o755 },
      ]),
    );

    const page = await openConsole(t, h);
    await signIn(page, h);
    const plugins = await openTab(page, 'Plugins');
    await plugins.getByText('No plugins are published yet.').waitFor();
    await plugins.getByLabel('Plugin package (.zip)').setInputFiles(zip);
    await plugins.getByLabel('Description').fill('disk usage');
    await plugins.getByRole('button', { name: 'Publish' }).click();
    const row = plugins.getByRole('row', { name: /disk-report 1\.2 Once any any ops/ });
    await row.waitFor();
    const listed = await h.pop.call('ListPlugins', {});
    assert.equal(listed.Plugins.Plugin[0].Name, 'disk-report');
    assert.equal(listed.Plugins.Plugin[0].Description, 'disk usage');

    // Plugin states: a plugin the instance never reported is NotInstalled.
    await plugins.getByLabel('Instance ID').fill(instanceId);
    await plugins.getByLabel('Plugin', { exact: true }).fill('disk-report');
    await plugins.getByRole('button', { name: 'Show states' }).click();
    await plugins.getByRole('row', { name: new RegExp(`${instanceId} disk-report NotInstalled`) }).waitFor();
    await screenshot(page, 'plugins');

    // The Run page offers it and writes the command line.
    const run = await openTab(page, 'Run command');
    await run.getByRole('combobox', { name: /^Plugin/ }).selectOption('disk-report');
    await run.getByRole('textbox', { name: 'Parameters', exact: true }).fill('-h,--total');
    await run.getByRole('button', { name: 'Use plugin' }).click();
    assert.equal(
      await panel(page, 'Run command').getByLabel('Command content').inputValue(),
      'acs-plugin-manager --exec --plugin disk-report --params -h,--total',
    );

    // Retire it: no longer listed (the API agrees), shown again with "Show retired versions".
    await openTab(page, 'Plugins');
    await plugins.getByRole('button', { name: 'Retire disk-report 1.2' }).click();
    await plugins.getByText('No plugins are published yet.').waitFor();
    assert.equal((await h.pop.call('ListPlugins', {})).TotalCount, 0);
    await plugins.getByLabel('Show retired versions').check();
    await plugins.getByRole('row', { name: /disk-report 1\.2 .* retired/ }).waitFor();
  });
});
