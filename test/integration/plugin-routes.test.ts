// The luban plugin routes (spec/luban-protocol.md §9.2) as the stock agent calls them, against a
// real control plane with a published catalogue: the list (stock body, fuzzy fields), the package
// download (a plain GET, no identity), report_status feeding ListPluginStatus, update_check
// offering newer persistent versions, retired versions no longer offered, bad bodies refused.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { before, describe, it } from 'node:test';
import { writeZip } from '../../protocol/index.js';
import { startControlPlane, suiteCleanup, type TestControlPlane } from '../harness/control-plane.js';
import { registerRawPeer, type RawLubanPeer } from '../harness/raw-peer.js';

const pkg = (config: Record<string, unknown>) =>
  writeZip([
    { name: 'config.json', data: Buffer.from(JSON.stringify({ runPath: 'run.sh', ...config })) },
    { name: 'run.sh', data: Buffer.from('#!/bin/sh\necho hi\n'), mode: 0o755 },
  ]);

describe('luban plugin routes', () => {
  let h: TestControlPlane;
  let peer: RawLubanPeer;
  const cleanup = suiteCleanup();
  before(async () => {
    h = await startControlPlane(cleanup);
    peer = await registerRawPeer(cleanup, h);
    const publish = (zip: Buffer) => h.pop.call('PublishPlugin', { Package: zip.toString('base64') });
    await publish(pkg({ name: 'oosutil', version: '1.0', osType: 'linux', arch: 'all', timeout: '30' }));
    await publish(pkg({ name: 'oosutil', version: '1.10', osType: 'linux', arch: 'all', timeout: '30' }));
    await publish(pkg({ name: 'winonly', version: '1.0', osType: 'windows' }));
    await publish(
      pkg({ name: 'daemon', version: '1.0', osType: 'linux', pluginType: 'Persist', heartbeatInterval: 20 }),
    );
    await publish(
      pkg({ name: 'daemon', version: '2.0', osType: 'linux', pluginType: 'Persist', heartbeatInterval: 20 }),
    );
  });

  const post = async (path: string, body: string) => {
    const r = await peer.send({
      method: 'POST',
      path,
      body,
      headers: { 'Content-Type': 'application/json; charset=utf-8' },
    });
    return { status: r.status, json: JSON.parse(r.body) as Record<string, unknown> };
  };

  it('lists the fitting packages in the stock shape, for the stock request body', async () => {
    // The stock agent pretty-prints with a 4-space indent.
    const body = JSON.stringify({ osType: 'linux', pluginName: '', version: '', arch: 'x64' }, null, 4);
    const r = await post('/luban/api/v1/plugin/list', body);
    assert.equal(r.status, 200);
    assert.equal(r.json['code'], 200);
    assert.equal(r.json['instanceId'], peer.instanceId);
    const list = r.json['pluginList'] as Record<string, unknown>[];
    assert.deepEqual(
      list.map((p) => `${p['name']}@${p['version']}`),
      ['daemon@2.0', 'daemon@1.0', 'oosutil@1.10', 'oosutil@1.0'],
      'windows-only packages are not listed; newest first per name',
    );
    const p = list.find((x) => x['name'] === 'oosutil' && x['version'] === '1.10')!;
    assert.equal(p['timeout'], '30', 'timeout is a string on the wire');
    assert.equal(p['pluginType'], 'Once');
    assert.equal(p['isRemoved'], false);
    assert.match(String(p['md5']), /^[0-9a-f]{32}$/);
    assert.match(
      String(p['url']),
      new RegExp(`^https://${h.hostPort.replace(/\./g, '\\.')}/assist/plugins/pl-[0-9a-f]{20}/oosutil\\.zip$`),
    );
    assert.equal(list.find((x) => x['name'] === 'daemon')!['heartbeatInterval'], 20);

    // The package: a plain GET (the stock agent sends no identity), bytes matching the listed MD5 and SHA-256.
    const bytes = await new Promise<Buffer>((resolve, reject) => {
      https
        .get(String(p['url']), { ca: readFileSync(h.caPath) }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            res.statusCode === 200 ? resolve(Buffer.concat(chunks)) : reject(new Error(`HTTP ${res.statusCode}`)),
          );
        })
        .on('error', reject);
    });
    assert.equal(createHash('md5').update(bytes).digest('hex'), p['md5']);
    assert.equal(createHash('sha256').update(bytes).digest('hex'), p['sha256']);

    const byName = await post(
      '/luban/api/v1/plugin/list',
      JSON.stringify({ osType: 'linux', pluginName: 'oosutil', version: '1.0', arch: '' }),
    );
    assert.deepEqual(
      (byName.json['pluginList'] as { version: string }[]).map((x) => x.version),
      ['1.0'],
    );
  });

  it('records report_status and answers with the stock intervals; ListPluginStatus shows it', async () => {
    const r = await post(
      '/luban/api/v1/plugin/report_status',
      JSON.stringify({
        plugin: [
          { name: 'daemon', status: 'PERSIST_FAIL', version: '1.0', sysTagType: 'add' },
          { name: 'oosutil', status: 'ONCE_INSTALLED', version: '1.10' },
        ],
      }),
    );
    assert.equal(r.status, 200);
    assert.deepEqual(
      { scan: r.json['scanInterval'], pull: r.json['pullInterval'], type: r.json['reportType'] },
      { scan: 900, pull: 300, type: 0 },
    );
    const s = await h.pop.call('ListPluginStatus', { 'InstanceId.1': peer.instanceId });
    const set = s.InstancePluginStatusSet.InstancePluginStatus[0].PluginStatusSet.PluginStatus as Record<
      string,
      string
    >[];
    assert.deepEqual(
      set.map((x) => [x['PluginName'], x['PluginVersion'], x['PluginStatus']]),
      [
        ['daemon', '1.0', 'Crashed'],
        ['oosutil', '1.10', 'Installed'],
      ],
    );
    assert.match(set[0]!['FirstHeartbeatTime']!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    // By plugin name, over every instance that reported it, a page at a time.
    const other = await registerRawPeer(cleanup, h);
    const reported = await other.send({
      method: 'POST',
      path: '/luban/api/v1/plugin/report_status',
      body: JSON.stringify({ plugin: [{ name: 'daemon', status: 'PERSIST_RUNNING', version: '2.0' }] }),
    });
    assert.equal(reported.status, 200);
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await h.pop.call('ListPluginStatus', {
        Name: 'daemon',
        MaxResults: 1,
        ...(token ? { NextToken: token } : {}),
      });
      assert.equal(page.TotalCount, 2);
      for (const i of page.InstancePluginStatusSet.InstancePluginStatus) {
        const st = i.PluginStatusSet.PluginStatus[0];
        seen.push(`${i.InstanceId}:${st.PluginVersion}:${st.PluginStatus}`);
      }
      token = page.NextToken;
    } while (token);
    assert.deepEqual(seen.sort(), [`${peer.instanceId}:1.0:Crashed`, `${other.instanceId}:2.0:Running`].sort());
    const bad = await post(
      '/luban/api/v1/plugin/report_status',
      JSON.stringify({ plugin: [{ name: 'daemon', status: 'HAPPY' }] }),
    );
    assert.equal(bad.status, 400);
    const notJson = await post('/luban/api/v1/plugin/report_status', '{');
    assert.equal(notJson.status, 400);
    const unsigned = await peer.send({
      method: 'POST',
      path: '/luban/api/v1/plugin/report_status',
      body: '{"plugin":[]}',
      signed: false,
    });
    assert.equal(unsigned.status, 401);
  });

  it('offers newer persistent versions in update_check, and stops offering a retired one', async () => {
    const body = JSON.stringify({
      os: 'linux',
      arch: 'x64',
      plugin: [
        { name: 'daemon', version: '1.0' },
        { name: 'oosutil', version: '1.10' },
      ],
    });
    const r = await post('/luban/api/v2/plugin/update_check', body);
    assert.equal(r.status, 200);
    assert.equal(r.json['nextInterval'], 1800);
    assert.deepEqual(r.json['plugin'], [{ name: 'daemon', version: '2.0', timeout: 60 }]);
    await h.pop.call('RetirePluginVersion', { Name: 'daemon', PluginVersion: '2.0' });
    assert.deepEqual((await post('/luban/api/v2/plugin/update_check', body)).json['plugin'], []);
    const list = await post(
      '/luban/api/v1/plugin/list',
      JSON.stringify({ osType: 'linux', pluginName: 'daemon', version: '', arch: '' }),
    );
    assert.deepEqual(
      (list.json['pluginList'] as { version: string }[]).map((x) => x.version),
      ['1.0'],
    );
  });
});
