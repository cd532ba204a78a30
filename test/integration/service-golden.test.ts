// Every rendered service file, byte for byte, against test/golden/<manager>/<file>.
// After an intended change: UPDATE_GOLDEN=1 npx tsx --test test/integration/service-golden.test.ts
// and review the diff of test/golden/.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, win32 } from 'node:path';
import { describe, it } from 'node:test';
import { renderServiceFiles, watchdogServiceSpec, type InitSystem, type ServiceSpec } from '../../installer/index.js';
import { TEMPLATES } from '../../service-units/index.js';
import { readTemplateFiles } from '../../service-units/embed.js';

const GOLDEN = join(import.meta.dirname, '..', 'golden');
const UPDATE = process.env['UPDATE_GOLDEN'] === '1';

/** A fixed version: goldens must not change with every release. */
const VERSION = '2.6.0.1';
const AGENT: ServiceSpec = {
  kind: 'agent',
  command: [`/usr/local/share/aliyun-assist/${VERSION}/aliyun-service`],
  installDir: '/usr/local/share/aliyun-assist',
  version: VERSION,
};
const WATCHDOG: ServiceSpec = watchdogServiceSpec({ installDir: '/usr/local/share/aliyun-assist', version: VERSION });
const WINDOWS_AGENT: ServiceSpec = {
  kind: 'agent',
  command: [`C:\\ProgramData\\aliyun\\assist\\${VERSION}\\aliyun_assist_service.exe`],
  installDir: 'C:\\ProgramData\\aliyun\\assist',
  version: VERSION,
};

const CASES: { init: InitSystem; spec: ServiceSpec; golden: string; path: string; mode: number }[] = [
  {
    init: 'systemd',
    spec: AGENT,
    golden: 'systemd/aliyun.service',
    path: '/etc/systemd/system/aliyun.service',
    mode: 0o644,
  },
  {
    init: 'systemd',
    spec: WATCHDOG,
    golden: 'systemd/assist_daemon.service',
    path: '/etc/systemd/system/assist_daemon.service',
    mode: 0o644,
  },
  {
    init: 'upstart',
    spec: AGENT,
    golden: 'upstart/aliyun-service.conf',
    path: '/etc/init/aliyun-service.conf',
    mode: 0o644,
  },
  {
    init: 'upstart',
    spec: WATCHDOG,
    golden: 'upstart/assist_daemon.conf',
    path: '/etc/init/assist_daemon.conf',
    mode: 0o644,
  },
  { init: 'sysvinit', spec: AGENT, golden: 'sysvinit/aliyun-service', path: '/etc/init.d/aliyun-service', mode: 0o755 },
  {
    init: 'sysvinit',
    spec: WATCHDOG,
    golden: 'sysvinit/assist_daemon',
    path: '/etc/init.d/assist_daemon',
    mode: 0o755,
  },
  {
    init: 'windows',
    spec: WINDOWS_AGENT,
    golden: 'windows/AliyunService.xml',
    path: `C:\\ProgramData\\aliyun\\assist\\${VERSION}\\AliyunService.xml`,
    mode: 0o644,
  },
];

describe('rendered service files match test/golden byte for byte', () => {
  for (const c of CASES) {
    it(c.golden, () => {
      const files = renderServiceFiles(c.init, c.spec);
      assert.equal(files.length, 1);
      const [f] = files;
      assert.equal(f!.path, c.path);
      assert.equal(f!.mode, c.mode);
      assert.equal(c.init === 'windows' ? win32.basename(f!.path) : basename(f!.path), basename(c.golden));
      const goldenFile = join(GOLDEN, c.golden);
      const actual = Buffer.from(f!.content, 'utf8');
      if (UPDATE) {
        mkdirSync(dirname(goldenFile), { recursive: true });
        writeFileSync(goldenFile, actual);
      }
      const expected = readFileSync(goldenFile);
      // As text first for a readable diff, then as bytes.
      assert.equal(actual.toString('utf8'), expected.toString('utf8'));
      assert.ok(actual.equals(expected), `${c.golden}: bytes differ`);
      assert.doesNotMatch(f!.content, /\{\{/, 'no placeholder left');
    });
  }

  it('every template is covered by a golden', () => {
    const used = new Set([
      'systemd/aliyun.service',
      'systemd/assist_daemon.service',
      'upstart/job.conf',
      'sysvinit/init-script',
      'windows/AliyunService.xml',
    ]);
    assert.deepEqual(Object.keys(TEMPLATES).sort(), [...used].sort());
  });

  it('the embedded templates are the .tmpl files (else run: npx tsx service-units/embed.ts)', () => {
    assert.deepEqual({ ...TEMPLATES }, readTemplateFiles());
  });
});
