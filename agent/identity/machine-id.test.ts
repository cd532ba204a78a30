import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { AgentError } from '../shared/index.js';
import { defaultMachineIdSources, readMachineId } from './index.js';

const root = mkdtempSync(join(tmpdir(), 'oca-machine-id-'));
after(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
function fixture(files: Record<string, string>): { dir: string; hybridDir: string; path: (name: string) => string } {
  const dir = join(root, String(n++));
  const hybridDir = join(dir, 'hybrid');
  mkdirSync(hybridDir, { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    writeFileSync(join(dir, name), text);
  }
  return { dir, hybridDir, path: (name) => join(dir, name) };
}

void describe('readMachineId', () => {
  void it('prefers hybrid/machine-id and returns it verbatim (it is signed as stored)', () => {
    const f = fixture({ dbus: 'from-dbus\n' });
    writeFileSync(join(f.hybridDir, 'machine-id'), 'stored-id\n');
    assert.equal(readMachineId(f.hybridDir, [f.path('dbus')]), 'stored-id\n');
  });

  void it('takes the first readable source in the given order, trimmed', () => {
    const f = fixture({ dbus: '  dbus-id \n', etc: 'etc-id\n', uuid: 'UUID-1' });
    const sources = [f.path('missing'), f.path('dbus'), f.path('etc'), f.path('uuid')];
    assert.equal(readMachineId(f.hybridDir, sources), 'dbus-id');
    assert.equal(readMachineId(f.hybridDir, [f.path('etc'), f.path('dbus')]), 'etc-id');
    assert.equal(readMachineId(f.hybridDir, [f.path('missing'), f.path('uuid')]), 'UUID-1');
  });

  void it('skips empty sources and an empty hybrid/machine-id', () => {
    const f = fixture({ empty: '\n', etc: 'etc-id\n' });
    writeFileSync(join(f.hybridDir, 'machine-id'), '');
    assert.equal(readMachineId(f.hybridDir, [f.path('empty'), f.path('etc')]), 'etc-id');
  });

  void it('fails with IDENTITY_MISSING when no source gives an id', () => {
    const f = fixture({ empty: '' });
    assert.throws(
      () => readMachineId(f.hybridDir, [f.path('missing'), f.path('empty')]),
      (e: unknown) => e instanceof AgentError && e.code === 'IDENTITY_MISSING',
    );
  });

  void it('uses the stock Linux source order by default', () => {
    assert.deepEqual(defaultMachineIdSources('linux'), [
      '/var/lib/dbus/machine-id',
      '/etc/machine-id',
      '/sys/class/dmi/id/product_uuid',
    ]);
    assert.deepEqual(defaultMachineIdSources('freebsd'), ['/etc/hostid']);
  });
});
