// The console's command library and deregistration in Debian's Chromium against a real control
// plane: a saved command is listed and deleted from the page; a managed instance is deregistered
// from the page. Each change is checked through the API. The managed instances page shows the
// OS as a person reads it, for our agent and for the stock agent's kernel build string.
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import os from 'node:os';
import { describe, it } from 'node:test';
import { registerAgent } from '../harness/agent.js';
import { startControlPlane, type TestControlPlane } from '../harness/control-plane.js';
import { eventually } from '../harness/eventually.js';
import { openConsole, openTab, screenshot, signIn } from './console-helpers.js';

/** The stock Go agent's osVersion (spec/luban-protocol.md §7.2): `<sysname>_<uname -v>_<machine>`. */
const STOCK_OS_VERSION = 'Linux_#1 SMP PREEMPT_DYNAMIC Fri Oct 6 2023_x86_64';

/** Registers an instance with the stock agent's register body, as the stock agent sends it. */
async function registerAsStockAgent(h: TestControlPlane, instanceName: string): Promise<string> {
  const act = await h.pop.call('CreateActivation', { InstanceCount: 1, TimeToLiveInHours: 1 });
  const { publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
  const body = JSON.stringify({
    activationCode: act.ActivationCode,
    machineId: randomBytes(16).toString('hex'),
    regionId: 'cn-local',
    instanceName,
    hostname: 'stock-host',
    intranetIp: '192.0.2.7',
    osVersion: STOCK_OS_VERSION,
    osType: 'linux',
    agentVersion: '2.2.3.578',
    publicKey: Buffer.from(publicKey, 'utf8').toString('base64'),
    activationId: act.ActivationId,
    tag: [],
  });
  const text = await new Promise<string>((resolve, reject) => {
    const req = request(
      `https://${h.hostPort}/luban/api/instance/register`,
      { method: 'POST', headers: { 'content-type': 'application/json' }, ca: readFileSync(h.caPath) },
      (res) => {
        let b = '';
        res.on('data', (d: Buffer) => (b += d.toString()));
        res.on('end', () => resolve(b));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
  const r = JSON.parse(text) as { code: number; instanceId?: string };
  assert.equal(r.code, 200, text);
  return r.instanceId!;
}

describe('console: command library and deregistration', { timeout: 90_000 }, () => {
  it('lists and deletes a saved command, and deregisters an instance', async (t) => {
    const h = await startControlPlane(t);
    const reg = await registerAgent(t, h, { instanceName: 'to-go' });
    const stock = await registerAsStockAgent(h, 'stock-agent');
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
    // OS: our agent reports the distribution (os-release's PRETTY_NAME) and the machine; the stock
    // agent's kernel build shows as the system and machine; the whole value is in the tooltip.
    const osCell = (id: string) => instances.getByRole('row').filter({ hasText: id }).getByRole('cell').nth(4);
    const pretty = /^PRETTY_NAME="?(.*?)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))![1]!;
    await eventually(() => osCell(reg.instanceId).innerText(), {
      until: (s) => s === `${pretty} · ${os.machine()}`,
      what: `the OS of ${reg.instanceId} to read ${pretty} · ${os.machine()}`,
    });
    assert.equal(
      await osCell(reg.instanceId).locator('span').getAttribute('title'),
      `linux Linux_${pretty}_${os.machine()}`,
    );
    assert.equal(await osCell(stock).innerText(), 'Linux x86_64');
    assert.equal(await osCell(stock).locator('span').getAttribute('title'), `linux ${STOCK_OS_VERSION}`);
    await screenshot(page, 'instances-os');

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
