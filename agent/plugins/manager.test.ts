import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { writeZip } from '../../protocol/index.js';
import { HttpClient } from '../http/index.js';
import { LubanPluginCatalog } from './catalog.js';
import { PLUGIN_EXIT } from './exit-codes.js';
import { pluginDirs } from './installed.js';
import { execFromFile, execPlugin, guarded, listPlugins, removePlugin, type ManagerContext } from './manager.js';

describe('acs-plugin-manager exit codes', () => {
  let dir: string;
  let out: string;
  let err: string;
  let ctx: ManagerContext;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'oca-plugins-'));
    out = '';
    err = '';
    ctx = {
      dirs: pluginDirs(dir),
      os: 'linux',
      arch: 'x64',
      catalog: undefined,
      out: (t) => (out += t),
      err: (l) => (err += `${l}\n`),
      env: { PATH: process.env['PATH'] },
    };
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function pluginFile(script: string, config: Record<string, unknown> = {}): string {
    const file = join(dir, 'p.zip');
    writeFileSync(
      file,
      writeZip([
        {
          name: 'config.json',
          data: Buffer.from(JSON.stringify({ name: 'demo', version: '1.0', runPath: 'run.sh', ...config })),
        },
        { name: 'run.sh', data: Buffer.from(`#!/bin/sh\n${script}\n`), mode: 0o755 },
      ]),
    );
    return file;
  }

  it('passes the plugin own exit code through, with its arguments and PLUGIN_DIR', async () => {
    const code = await guarded(ctx, () =>
      execFromFile(ctx, pluginFile('echo "args=$* dir=$PLUGIN_DIR"; exit 7'), { args: ['--a', 'b'] }),
    );
    assert.equal(code, 7);
    assert.match(out, /Plugin\[demo\] installed!/);
    assert.match(out, new RegExp(`args=--a b dir=${join(dir, 'plugin', 'demo', '1.0')}`));
  });

  it('exits 247 when the plugin outlives its timeout, and kills it', async () => {
    const marker = join(dir, 'survived');
    const started = Date.now();
    const code = await guarded(ctx, () =>
      execFromFile(ctx, pluginFile(`sleep 30; touch '${marker}'`, { timeout: '1' }), { args: [] }),
    );
    assert.equal(code, PLUGIN_EXIT.EXECUTE_TIMEOUT_ERR);
    assert.ok(Date.now() - started < 15_000);
    assert.match(err, /EXECUTE_TIMEOUT_ERR/);
    assert.equal(existsSync(marker), false);
  });

  it('exits 234 for a plugin that is not installed (--local) and 233 with no server', async () => {
    assert.equal(await guarded(ctx, () => execPlugin(ctx, { name: 'nope', local: true, args: [] })), 234);
    assert.match(err, /^ExecutePluginOnlineOrLocal PACKAGE_NOT_FOUND: /m);
    assert.equal(await guarded(ctx, () => execPlugin(ctx, { name: 'nope', local: false, args: [] })), 233);
    assert.equal(await guarded(ctx, () => removePlugin(ctx, 'nope')), 234);
  });

  it('exits 243 when the online list fails, without falling back to the local copy', async () => {
    await guarded(ctx, () => execFromFile(ctx, pluginFile('exit 0'), { args: [] }));
    const http = new HttpClient({ userAgent: 'test' });
    // Port 1 on loopback: connection refused, a real failure of the online query.
    ctx.catalog = new LubanPluginCatalog({ host: '127.0.0.1:1', http, attempts: 1 });
    try {
      assert.equal(await guarded(ctx, () => execPlugin(ctx, { name: 'demo', local: false, args: [] })), 243);
      assert.match(err, /GET_ONLINE_PACKAGE_INFO_ERR/);
      assert.equal(await guarded(ctx, () => execPlugin(ctx, { name: 'demo', local: true, args: [] })), 0);
    } finally {
      http.close();
    }
  });

  it('exits 238 for a bad config.json and 236 for a zip that escapes, installing nothing', async () => {
    const bad = join(dir, 'bad.zip');
    writeFileSync(
      bad,
      writeZip([{ name: 'config.json', data: Buffer.from('{"name":"x","version":"1","runPath":"/bin/sh"}') }]),
    );
    assert.equal(await guarded(ctx, () => execFromFile(ctx, bad, { args: [] })), 238);
    const evil = join(dir, 'evil.zip');
    writeFileSync(
      evil,
      writeZip([
        { name: 'config.json', data: Buffer.from('{"name":"x","version":"1","runPath":"r"}') },
        { name: 'r', data: Buffer.from('x') },
        { name: 'a/../../../x', data: Buffer.from('x') },
      ]),
    );
    assert.equal(await guarded(ctx, () => execFromFile(ctx, evil, { args: [] })), 236);
    assert.equal(existsSync(join(dir, 'plugin', 'x')), false);
  });

  it('lists installed plugins in the stock table and hides removed ones', async () => {
    await guarded(ctx, () => execFromFile(ctx, pluginFile('exit 0', { publisher: 'me' }), { args: [] }));
    out = '';
    await listPlugins(ctx, { local: true });
    assert.match(out, /^Name \| Version \| Publisher \| OsType \| Arch \| PluginType$/m);
    assert.match(out, /^demo \| 1\.0 {5}\| me {8}\| +\| +\| Once$/m);
    assert.equal(await guarded(ctx, () => removePlugin(ctx, 'demo')), 0);
    out = '';
    await listPlugins(ctx, { local: true });
    assert.doesNotMatch(out, /demo/);
  });
});
