import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inspectPluginPackage } from './plugin-package.js';
import {
  comparePluginVersions,
  parsePluginConfig,
  parsePluginInfo,
  parsePluginStatusReport,
  pluginArch,
  pluginFits,
} from './plugins.js';
import { writeZip } from './zip.js';

const valid = { name: 'kdump', version: '1.2', runPath: 'bin/run.sh', osType: 'linux', arch: 'x64', timeout: '30' };

describe('plugin config.json validation', () => {
  it('accepts a stock config, numbers where strings are expected, and fills the defaults', () => {
    const r = parsePluginConfig({ ...valid, timeout: 30, pluginType: 1 });
    assert.ok(r.ok);
    assert.equal(r.value.timeout, '30');
    assert.equal(r.value.pluginType, 'Persist');
    assert.equal(r.value.heartbeatInterval, 60);
    assert.equal(r.value.addSysTag, false);
    const once = parsePluginConfig({ ...valid, pluginType: undefined });
    assert.ok(once.ok && once.value.pluginType === 'Once', 'missing pluginType means Once');
  });

  it('reports every problem at once', () => {
    const r = parsePluginConfig({
      name: '../x',
      version: 'latest',
      runPath: '../../etc/passwd',
      osType: 'plan9',
      arch: 'mips',
      timeout: 'soon',
      pluginType: 'Forever',
      heartbeatInterval: -1,
      addSysTag: 'maybe',
    });
    assert.equal(r.ok, false);
    const text = r.ok ? '' : r.errors.join('\n');
    for (const field of [
      'name',
      'version',
      'runPath',
      'osType',
      'arch',
      'timeout',
      'pluginType',
      'heartbeatInterval',
      'addSysTag',
    ]) {
      assert.match(text, new RegExp(`config.json: ${field} `), field);
    }
  });

  it('refuses an absolute or escaping runPath', () => {
    for (const runPath of ['/bin/sh', 'a/../../b', 'C:\\x.exe', '']) {
      assert.equal(parsePluginConfig({ ...valid, runPath }).ok, false, runPath);
    }
  });
});

describe('plugin packages', () => {
  const files = (config: unknown, more: { name: string; data: Buffer }[] = []) =>
    writeZip([{ name: 'config.json', data: Buffer.from(JSON.stringify(config)) }, ...more]);

  it('reads config.json from the zip root and requires the entry point in the package', () => {
    const ok = inspectPluginPackage(files(valid, [{ name: 'bin/run.sh', data: Buffer.from('#!/bin/sh\n') }]));
    assert.ok(ok.ok);
    assert.equal(ok.value.config.name, 'kdump');
    const noEntry = inspectPluginPackage(files(valid));
    assert.equal(noEntry.ok, false);
    assert.equal(noEntry.problem, 'config');
  });

  it('refuses entries that escape, a missing config.json and a damaged zip', () => {
    const escape = inspectPluginPackage(
      files(valid, [
        { name: 'bin/run.sh', data: Buffer.from('x') },
        { name: '../evil', data: Buffer.from('x') },
      ]),
    );
    assert.equal(escape.ok, false);
    assert.equal(escape.problem, 'zip');
    assert.equal(inspectPluginPackage(writeZip([{ name: 'run.sh', data: Buffer.from('x') }])).problem, 'config');
    assert.equal(inspectPluginPackage(Buffer.from('not a zip')).problem, 'zip');
  });
});

describe('plugin wire helpers', () => {
  it('orders versions numerically', () => {
    assert.ok(comparePluginVersions('1.10', '1.9') > 0);
    assert.equal(comparePluginVersions('1.0', '1'), 0);
    assert.ok(comparePluginVersions('2.0.0.1', '2.0') > 0);
  });

  it('names arches the stock way and matches any/all', () => {
    assert.equal(pluginArch('x64'), 'x64');
    assert.equal(pluginArch('arm64'), 'arm');
    assert.equal(pluginArch('ia32'), 'x86');
    assert.ok(pluginFits({ osType: 'both', arch: 'all' }, 'linux', 'x64'));
    assert.ok(!pluginFits({ osType: 'windows', arch: '' }, 'linux', 'x64'));
  });

  it('decodes plugin list entries fuzzily (0/1 plugin types, numeric strings)', () => {
    const p = parsePluginInfo({ name: 'a', pluginType: 0, timeout: 60, heartbeatInterval: '30', isRemoved: 'true' });
    assert.equal(p?.pluginType, 'Once');
    assert.equal(p?.timeout, '60');
    assert.equal(p?.heartbeatInterval, 30);
    assert.equal(p?.isRemoved, true);
    assert.equal(parsePluginInfo({ name: 'a', pluginType: 'Sometimes' }), undefined);
  });

  it('checks report_status bodies and cuts names to 255 bytes, versions to 32', () => {
    const r = parsePluginStatusReport({
      plugin: [{ name: 'é'.repeat(200), status: 'PERSIST_RUNNING', version: '1'.repeat(40) }],
    });
    assert.ok(r.ok);
    assert.ok(Buffer.byteLength(r.value[0]!.name) <= 255);
    assert.equal(r.value[0]!.version.length, 32);
    assert.equal(parsePluginStatusReport({ plugin: [{ name: 'a', status: 'HAPPY' }] }).ok, false);
  });
});
