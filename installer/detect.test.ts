import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { detectInitSystem, InstallerError, type InitProbes } from './index.js';

const probes = (o: Partial<InitProbes> & { paths?: string[]; initctl?: string }): InitProbes => ({
  platform: o.platform ?? 'linux',
  pathExists: (p) => (o.paths ?? []).includes(p),
  initctlVersion: () => Promise.resolve(o.initctl),
});

describe('detectInitSystem', () => {
  it('systemd when /run/systemd/system exists, even with an upstart initctl around', async () => {
    assert.equal(
      await detectInitSystem(probes({ paths: ['/run/systemd/system'], initctl: 'initctl (upstart 1.12.1)' })),
      'systemd',
    );
  });

  it('upstart when initctl --version says upstart', async () => {
    assert.equal(
      await detectInitSystem(probes({ initctl: 'initctl (upstart 1.12.1)\nCopyright (C) 2006-2014 Canonical Ltd.\n' })),
      'upstart',
    );
  });

  it('sysvinit when there is no systemd and initctl is absent or not upstart', async () => {
    assert.equal(await detectInitSystem(probes({})), 'sysvinit');
    assert.equal(await detectInitSystem(probes({ initctl: 'initctl: unrecognized option' })), 'sysvinit');
  });

  it('windows on win32, unsupported elsewhere', async () => {
    assert.equal(await detectInitSystem(probes({ platform: 'win32', paths: ['/run/systemd/system'] })), 'windows');
    await assert.rejects(
      detectInitSystem(probes({ platform: 'darwin' })),
      (e: unknown) => e instanceof InstallerError && e.code === 'UNSUPPORTED',
    );
  });
});
