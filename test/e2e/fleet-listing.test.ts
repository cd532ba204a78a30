// A fleet of 10,000 managed instances (rows in the real SQLite store) plus one real agent: the
// OpenAPI counts, filters and pages them in SQL, and the console's Managed instances page shows one
// page of 20 with the fleet's total, pages on, and finds instances by name and by status.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { startAgent, type TestAgent } from '../harness/agent.js';
import { startControlPlane, suiteCleanup, type TestControlPlane } from '../harness/control-plane.js';
import { fleetInstanceId, seedFleet } from '../harness/fleet.js';
import { openConsole, openTab, screenshot, signIn } from './console-helpers.js';

const FLEET = 10_000;

interface Listed {
  TotalCount: number;
  PageNumber?: number;
  PageSize: number;
  NextToken?: string;
  Instances: { InstanceId: string; InstanceName: string; Connected: boolean; OsType: string }[];
}

describe('a fleet of 10,000 managed instances', { timeout: 120_000 }, () => {
  const t = suiteCleanup();
  let h: TestControlPlane;
  let agent: TestAgent;
  const list = (p: Record<string, unknown>) => h.pop.call('DescribeManagedInstances', p) as Promise<Listed>;

  before(async () => {
    h = await startControlPlane(t);
    await seedFleet(h.cp.db, FLEET, { prefix: 'web' });
    // Registered after the seeded rows, so it is the newest: first on page 1.
    agent = await startAgent(t, h, { instanceName: 'live-one' });
  });

  it('DescribeManagedInstances counts the whole fleet and returns one page, newest first', async () => {
    const first = await list({ PageSize: 50 });
    assert.equal(first.TotalCount, FLEET + 1);
    assert.equal(first.Instances.length, 50);
    assert.equal(first.Instances[0]!.InstanceId, agent.instanceId);
    assert.equal(first.Instances[0]!.Connected, true);
    assert.equal(first.Instances[1]!.InstanceId, fleetInstanceId('web', FLEET));
    const last = await list({ PageSize: 50, PageNumber: 201 });
    assert.deepEqual(
      last.Instances.map((i) => i.InstanceId),
      [fleetInstanceId('web', 1)],
    );
  });

  it('NextToken pages run through the fleet without a gap or a repeat', async () => {
    const a = await list({ MaxResults: 50 });
    const b = await list({ MaxResults: 50, NextToken: a.NextToken });
    assert.ok(a.NextToken);
    assert.equal(b.Instances.length, 50);
    const ids = [...a.Instances, ...b.Instances].map((i) => i.InstanceId);
    assert.equal(new Set(ids).size, 100);
    assert.equal(b.Instances[0]!.InstanceId, fleetInstanceId('web', FLEET - 49));
  });

  it('filters by exact name, name wildcard, OS and connection in the store', async () => {
    const exact = await list({ InstanceName: 'web-00042' });
    assert.deepEqual(
      exact.Instances.map((i) => i.InstanceId),
      [fleetInstanceId('web', 42)],
    );
    const wild = await list({ InstanceName: 'web-0042*', PageSize: 50 });
    assert.equal(wild.TotalCount, 10);
    assert.ok(wild.Instances.every((i) => i.InstanceName.startsWith('web-0042')));
    // `_` and `%` are literal characters of a name, not SQL wildcards.
    assert.equal((await list({ InstanceName: 'web_0042*' })).TotalCount, 0);
    const windows = await list({ OsType: 'Windows' });
    assert.equal(windows.TotalCount, FLEET / 10);
    assert.ok(windows.Instances.every((i) => i.OsType === 'windows'));
    const online = await list({ Connected: 'true' });
    assert.deepEqual(
      online.Instances.map((i) => i.InstanceId),
      [agent.instanceId],
    );
    const offline = await list({ Connected: 'false' });
    assert.equal(offline.TotalCount, FLEET);
    assert.ok(offline.Instances.every((i) => !i.Connected));
  });

  it('DescribeCloudAssistantStatus pages the fleet the same way', async () => {
    const s = await h.pop.call('DescribeCloudAssistantStatus', { PageSize: 50, PageNumber: 2 });
    assert.equal(s.TotalCount, FLEET + 1);
    assert.equal(s.InstanceCloudAssistantStatusSet.InstanceCloudAssistantStatus.length, 50);
  });

  it('the console shows one page of 20, pages on, and searches by name and status', async () => {
    const page = await openConsole(t, h);
    await signIn(page, h);
    const instances = await openTab(page, 'Managed instances');
    const rows = instances.getByRole('table', { name: 'Managed instances' }).locator('tbody tr');
    const pager = instances.getByRole('navigation', { name: 'Managed instances pages' });
    await pager.getByText(`Page 1 of 501 (${FLEET + 1} in all)`).waitFor();
    assert.equal(await rows.count(), 20);
    await screenshot(page, 'fleet-instances');

    await pager.getByRole('button', { name: 'Next' }).click();
    await pager.getByText('Page 2 of 501').waitFor();
    assert.equal(await firstCell(page), fleetInstanceId('web', FLEET - 19));

    await instances.getByLabel('Search (id or name)').fill('web-0999');
    await instances.getByRole('button', { name: 'Search' }).click();
    await pager.getByText('Page 1 of 1 (10 in all)').waitFor();
    assert.equal(await rows.count(), 10);

    await instances.getByLabel('Search (id or name)').fill('');
    await instances.getByLabel('Status').selectOption('online');
    await instances.getByRole('button', { name: 'Search' }).click();
    await pager.getByText('Page 1 of 1 (1 in all)').waitFor();
    assert.equal(await firstCell(page), agent.instanceId);
  });
});

async function firstCell(page: Page): Promise<string> {
  return page
    .getByRole('table', { name: 'Managed instances' })
    .locator('tbody tr')
    .first()
    .locator('td')
    .first()
    .innerText();
}
