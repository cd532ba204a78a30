// The agent's packages (scripts/build-packages.ts), built once for this file from a fresh single
// executable: inspected with dpkg-deb and rpm, installed into fresh roots with the real package
// managers (dpkg --root with chrootless maintainer scripts; rpm --root with its scriptlets run
// the way rpm calls them), uninstalled until nothing is left; the update zip unpacked and its
// update_install run; the executable, unpacked as the updater does, runs a real shell session
// with the node-pty it ships.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { AGENT_VERSION } from '../../agent/shared/version.js';
import { extractZip } from '../../agent/update/index.js';
import { buildPackages, LAYOUT, type PackagesBuild } from '../../scripts/build-packages.js';
import { buildSea } from '../../scripts/build-sea.js';
import { suiteCleanup } from '../harness/control-plane.js';
import { eventually } from '../harness/eventually.js';
import { startSessionServer } from '../harness/luban-session-server.js';
import { startSessionAgent } from '../harness/session-agent.js';

const exec = promisify(execFile);
const sh = async (cmd: string, args: string[], env: Record<string, string> = {}) =>
  (await exec(cmd, args, { env: { ...process.env, ...env }, maxBuffer: 16 * 2 ** 20 })).stdout;

const V = AGENT_VERSION;
const VDIR = `${LAYOUT.installRoot}/${V}`;
const hasSystemctl = await exec('systemctl', ['--version']).then(
  () => true,
  () => false,
);

/** Every path below `root` (relative, with a leading /), skipping the package managers' databases. */
function tree(root: string): string[] {
  return readdirSync(root, { recursive: true, encoding: 'utf8' })
    .map((p) => `/${p}`)
    .filter((p) => !/^\/(var|root)(\/|$)/.test(p))
    .sort();
}

/** What every install puts on disk (files and links), with link targets. */
const EXPECTED_LINKS: Record<string, string> = {
  [`${VDIR}/aliyun_assist_update`]: 'aliyun-service',
  [`${VDIR}/acs-plugin-manager`]: 'aliyun-service',
  [`${LAYOUT.daemonDir}/assist_daemon`]: `${VDIR}/aliyun-service`,
  '/usr/sbin/aliyun-service': `${VDIR}/aliyun-service`,
  '/usr/sbin/acs-plugin-manager': `${VDIR}/acs-plugin-manager`,
};
/** node-pty as agent/session/node-pty-loader.ts finds it: node_modules beside the executable. */
const PTY = `${VDIR}/node_modules/node-pty`;
/** All of it: on Linux node-pty loads these lib files and its addon, nothing else. */
const PTY_FILES = [
  'package.json',
  'build/Release/pty.node',
  'lib/eventEmitter2.js',
  'lib/index.js',
  'lib/terminal.js',
  'lib/unixTerminal.js',
  'lib/utils.js',
];
const UNIT = `${LAYOUT.unitDir}/aliyun.service`;
const WATCHDOG_UNIT = `${LAYOUT.unitDir}/assist_daemon.service`;
const EXPECTED_FILES = [
  `${VDIR}/aliyun-service`,
  `${VDIR}/update_install`,
  `${VDIR}/init/aliyun.service`,
  `${VDIR}/init/assist_daemon.service`,
  ...PTY_FILES.map((f) => `${PTY}/${f}`),
  UNIT,
  WATCHDOG_UNIT,
];

function assertInstalled(root: string): void {
  for (const [link, target] of Object.entries(EXPECTED_LINKS)) {
    assert.equal(readlinkSync(join(root, link)), target, link);
  }
  for (const f of EXPECTED_FILES) {
    assert.ok(lstatSync(join(root, f)).isFile(), f);
  }
  assert.equal(lstatSync(join(root, VDIR, 'aliyun-service')).mode & 0o777, 0o755);
  assert.equal(lstatSync(join(root, PTY, 'build/Release/pty.node')).mode & 0o777, 0o644);
  assert.equal(readFileSync(join(root, LAYOUT.installRoot, 'version'), 'utf8'), `${V}\n`);
  // Rendered by the installer from service-units/, as `aliyun-service --install` would write them.
  const unit = readFileSync(join(root, UNIT), 'utf8');
  assert.match(unit, new RegExp(`^ExecStart=${VDIR}/aliyun-service$`, 'm'));
  assert.match(unit, new RegExp(`^Environment=ALIYUN_ASSIST_INSTALL_DIR=${LAYOUT.installRoot}$`, 'm'));
  assert.match(unit, /^WantedBy=multi-user.target$/m);
  const watchdog = readFileSync(join(root, WATCHDOG_UNIT), 'utf8');
  assert.match(watchdog, new RegExp(`^ExecStart=${LAYOUT.daemonDir}/assist_daemon --start$`, 'm'));
  assert.match(watchdog, /^Conflicts=aliyun.service$/m);
  assert.equal(readFileSync(join(root, VDIR, 'init/aliyun.service'), 'utf8'), unit);
}

/** The runtime state an agent leaves: identity, logs, scripts, an updater-installed version. */
function addRuntimeState(root: string): void {
  const r = join(root, LAYOUT.installRoot);
  mkdirSync(join(r, 'hybrid'), { recursive: true });
  writeFileSync(join(r, 'hybrid', 'instance-id'), 'mi-test\n');
  mkdirSync(join(r, 'config'), { recursive: true });
  writeFileSync(join(r, 'config', 'disable_update'), '');
  mkdirSync(join(r, V, 'log'), { recursive: true });
  writeFileSync(join(r, V, 'log', 'aliyun_assist_main.log'), 'line\n');
  mkdirSync(join(r, 'work', 'script'), { recursive: true });
  writeFileSync(join(r, 'work', 'script', 't-1.sh'), 'echo\n');
  mkdirSync(join(r, '9.9.9.9'), { recursive: true });
  writeFileSync(join(r, '9.9.9.9', 'aliyun-service'), '');
}

const IDENTITY_ONLY = [
  '/usr',
  '/usr/local',
  '/usr/local/share',
  LAYOUT.installRoot,
  `${LAYOUT.installRoot}/config`,
  `${LAYOUT.installRoot}/config/disable_update`,
  `${LAYOUT.installRoot}/hybrid`,
  `${LAYOUT.installRoot}/hybrid/instance-id`,
];

describe('packages', () => {
  const cleanup = suiteCleanup();
  let work: string;
  let built: PackagesBuild;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'oca-pkg-'));
    cleanup.after(() => rmSync(work, { recursive: true, force: true }));
    const sea = await buildSea(join(work, 'sea'));
    built = await buildPackages({ outDir: join(work, 'packages'), binary: sea.binary });
    const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
    console.log(
      `# executable ${mib(built.bytes.binary)} (${sea.ms} ms); deb ${mib(built.bytes.deb)}, rpm ${mib(built.bytes.rpm)}, ` +
        `zip ${mib(built.bytes.zip)} (${built.ms.packages} ms)`,
    );
  });

  it('names the outputs after the version and records their checksums', () => {
    assert.match(built.deb, new RegExp(`/aliyun-assist_${V}_(amd64|arm64)\\.deb$`));
    assert.match(built.rpm, new RegExp(`/aliyun_assist-${V}-1\\.(x86_64|aarch64)\\.rpm$`));
    assert.match(built.zip, new RegExp(`/${V}_update\\.zip$`));
    const sums = readFileSync(join(work, 'packages', 'MD5SUMS'), 'utf8');
    const md5 = createHash('md5').update(readFileSync(built.zip)).digest('hex');
    assert.ok(sums.includes(`${md5}  ${V}_update.zip\n`), sums);
  });

  it('builds a .deb with the stock layout and maintainer scripts', async () => {
    const info = await sh('dpkg-deb', ['-I', built.deb]);
    assert.match(info, /^ Package: aliyun-assist$/m);
    assert.match(info, new RegExp(`^ Version: ${V.replaceAll('.', '\\.')}$`, 'm'));
    for (const s of ['postinst', 'prerm', 'postrm']) {
      assert.match(info, new RegExp(`\\d+ lines\\s+\\*\\s+${s}\\s+#!/bin/sh`));
    }
    assert.equal((await sh('dpkg-deb', ['-f', built.deb, 'Depends'])).trim(), '');
    const listing = await sh('dpkg-deb', ['-c', built.deb]);
    assert.match(listing, new RegExp(`^-rwxr-xr-x root/root +\\d+ .* \\.${VDIR}/aliyun-service$`, 'm'));
    for (const [link, target] of Object.entries(EXPECTED_LINKS)) {
      assert.match(listing, new RegExp(`^lrwxrwxrwx root/root .* \\.${link} -> ${target}$`, 'm'));
    }
    for (const f of [UNIT, WATCHDOG_UNIT, ...PTY_FILES.map((p) => `${PTY}/${p}`)]) {
      assert.match(listing, new RegExp(`^-rw-r--r-- root/root .* \\.${f}$`, 'm'));
    }
    assert.match(listing, new RegExp(`^drwxr-xr-x root/root .* \\.${PTY}/build/Release/$`, 'm'));
    // Only the run-time files: no sources, no node-gyp leftovers, nothing for another OS.
    assert.deepEqual(
      listing
        .split('\n')
        .filter((l) => l.includes('/node-pty/') && !l.endsWith('/'))
        .map((l) => l.slice(l.indexOf('/node-pty/') + '/node-pty/'.length))
        .sort(),
      [...PTY_FILES].sort(),
    );
    // The version file is the maintainer scripts' (and the updater's), not a package file.
    assert.doesNotMatch(listing, /aliyun-assist\/version$/m);
  });

  it('builds an .rpm with the same files, its scriptlets and no automatic dependencies', async () => {
    const q = await sh('rpm', ['-qp', '--qf', '%{NAME} %{VERSION} %{RELEASE}', built.rpm]);
    assert.equal(q, `aliyun_assist ${V} 1`);
    const files = (await sh('rpm', ['-qlp', built.rpm])).trim().split('\n');
    for (const f of [...EXPECTED_FILES, ...Object.keys(EXPECTED_LINKS)]) {
      assert.ok(files.includes(f), `${f} in ${files.join(' ')}`);
    }
    assert.ok(!files.includes('/etc/systemd/system'), 'shared directories are not owned');
    const links = await sh('rpm', ['-qp', '--qf', '[%{FILENAMES} -> %{FILELINKTOS}\n]', built.rpm]);
    for (const [link, target] of Object.entries(EXPECTED_LINKS)) {
      assert.ok(links.includes(`${link} -> ${target}\n`), link);
    }
    const requires = await sh('rpm', ['-qpR', built.rpm]);
    assert.doesNotMatch(requires, /\.so|^lib/m);
    const scripts = await sh('rpm', ['-qp', '--scripts', built.rpm]);
    for (const [section, file] of [
      ['postinstall', 'postinst'],
      ['preuninstall', 'prerm'],
      ['postuninstall', 'postrm'],
    ] as const) {
      assert.match(scripts, new RegExp(`^${section} scriptlet \\(using /bin/sh\\):$`, 'm'));
      const text = readFileSync(join(import.meta.dirname, '../../packaging/scripts', file), 'utf8');
      assert.ok(scripts.includes(text.replaceAll('@VERSION@', V).trim()), `${file} inlined as is`);
    }
  });

  it('installs the .deb into a fresh root and removes it, then purges it until nothing is left', async () => {
    const root = join(work, 'deb-root');
    mkdirSync(join(root, 'var/lib/dpkg/info'), { recursive: true });
    mkdirSync(join(root, 'var/lib/dpkg/updates'), { recursive: true });
    writeFileSync(join(root, 'var/lib/dpkg/status'), '');
    // Chrootless: the maintainer scripts run here with DPKG_ROOT=<root>, as for an image build.
    const dpkg = (...args: string[]) =>
      sh('dpkg', [`--root=${root}`, '--force-not-root', '--force-script-chrootless', '--log=/dev/null', ...args]);
    await dpkg('-i', built.deb);
    assertInstalled(root);
    assert.match(await dpkg('-s', 'aliyun-assist'), /^Status: install ok installed$/m);
    if (hasSystemctl) {
      // The agent's unit is enabled offline in the other root (nothing starts on this machine);
      // the watchdog's, its alternative, is not.
      const wants = join(root, LAYOUT.unitDir, 'multi-user.target.wants');
      assert.equal(readlinkSync(join(wants, 'aliyun.service')), UNIT);
      assert.ok(!existsSync(join(wants, 'assist_daemon.service')));
    }
    // The installed binary works under each name it is installed by.
    assert.equal(await sh(join(root, VDIR, 'aliyun-service'), ['-v']), `${V}\n`);
    assert.match(
      await sh(join(root, VDIR, 'acs-plugin-manager'), ['--list', '--local'], {
        ALIYUN_ASSIST_INSTALL_DIR: join(root, LAYOUT.installRoot),
      }),
      /^Name \| Version \| Publisher \| OsType \| Arch \| PluginType$/m,
    );

    // Installing again (same version: an upgrade in dpkg's terms) keeps the layout.
    await dpkg('-i', built.deb);
    assertInstalled(root);

    addRuntimeState(root);
    await dpkg('-r', 'aliyun-assist');
    assert.deepEqual(tree(root), IDENTITY_ONLY, 'remove keeps only the identity and settings');
    await dpkg('-P', 'aliyun-assist');
    assert.deepEqual(tree(root), [], 'purge leaves nothing');
    await assert.rejects(dpkg('-s', 'aliyun-assist'));
  });

  it('installs the .rpm into a fresh root, runs its scriptlets with rpm arguments, and erases it', async () => {
    const root = join(work, 'rpm-root');
    mkdirSync(root);
    const rpm = (...args: string[]) => sh('rpm', [`--root=${root}`, '--dbpath=/var/lib/rpm', ...args]);
    await rpm('--initdb');
    // rpm runs scriptlets chrooted into --root, which holds no shell here: run them as rpm would
    // (the count of installed versions as $1), with DPKG_ROOT naming the root.
    const scriptlet = async (tag: 'POSTIN' | 'PREUN' | 'POSTUN', arg: string) =>
      sh('sh', ['-c', await sh('rpm', ['-qp', '--qf', `%{${tag}}`, built.rpm]), tag, arg], { DPKG_ROOT: root });
    await rpm('-i', '--noscripts', '--nodeps', built.rpm);
    await scriptlet('POSTIN', '1');
    assertInstalled(root);
    assert.match(await rpm('-q', 'aliyun_assist'), new RegExp(`^aliyun_assist-${V}-1\\.`));

    // An upgrade's old-package scriptlets ($1 = 1) stop and remove nothing.
    addRuntimeState(root);
    await scriptlet('PREUN', '1');
    await scriptlet('POSTUN', '1');
    assertInstalled(root);

    await scriptlet('PREUN', '0');
    await rpm('-e', '--noscripts', 'aliyun_assist');
    await scriptlet('POSTUN', '0');
    // rpm leaves the shared directories it created (they belong to the system on a real host).
    const left = tree(root).filter((p) => !['/etc', '/etc/systemd', '/etc/systemd/system', '/usr/sbin'].includes(p));
    assert.deepEqual(left, IDENTITY_ONLY, 'erase keeps only the identity and settings');
  });

  it('lays the update zip out as <version>/… with update_install, which activates that version', async () => {
    const names = (await sh('unzip', ['-Z1', built.zip])).trim().split('\n').sort();
    assert.deepEqual(
      names,
      [
        `${V}/`,
        `${V}/acs-plugin-manager`,
        `${V}/aliyun-service`,
        `${V}/aliyun_assist_update`,
        `${V}/config/`,
        `${V}/config/hash_file`,
        `${V}/init/`,
        `${V}/init/aliyun.service`,
        `${V}/init/assist_daemon.service`,
        `${V}/node_modules/`,
        `${V}/node_modules/node-pty/`,
        `${V}/node_modules/node-pty/build/`,
        `${V}/node_modules/node-pty/build/Release/`,
        `${V}/node_modules/node-pty/lib/`,
        ...PTY_FILES.map((f) => `${V}/node_modules/node-pty/${f}`),
        `${V}/update_install`,
      ].sort(),
    );
    // The stock manual update: unzip into <ROOT>, then run <version>/update_install.
    const root = join(work, 'zip-root');
    const installRoot = join(root, LAYOUT.installRoot);
    mkdirSync(installRoot, { recursive: true });
    mkdirSync(join(root, 'etc/systemd'), { recursive: true }); // a systemd system
    await sh('unzip', ['-q', '-o', built.zip, '-d', installRoot]);
    const hashes = JSON.parse(
      Buffer.from(readFileSync(join(installRoot, V, 'config', 'hash_file'), 'utf8'), 'base64').toString(),
    ) as Record<string, string>;
    assert.deepEqual(
      Object.keys(hashes).sort(),
      [
        'aliyun-service',
        'init/aliyun.service',
        'init/assist_daemon.service',
        ...PTY_FILES.map((f) => `node_modules/node-pty/${f}`),
        'update_install',
      ].sort(),
    );
    for (const [f, md5] of Object.entries(hashes)) {
      assert.equal(
        createHash('md5')
          .update(readFileSync(join(installRoot, V, f)))
          .digest('hex'),
        md5,
        f,
      );
    }
    const out = await sh('sh', [join(installRoot, V, 'update_install')]);
    assert.match(out, new RegExp(`${V} is the active version`));
    assertInstalled(root);
    assert.ok(!existsSync(join(installRoot, 'version.new')));
  });

  it('runs a real shell session from the update zip unpacked as the updater does, and fails it without node-pty', async (t) => {
    // The agent's own unzip (agent/update), which a self-update uses: node-pty comes along.
    const dir = join(work, 'self-update');
    mkdirSync(dir);
    extractZip(readFileSync(built.zip), V, dir);
    const shipped = join(dir, V, 'node_modules');
    assert.equal(statSync(join(shipped, 'node-pty/build/Release/pty.node')).mode & 0o777, 0o644);
    const server = await startSessionServer();
    t.after(() => server.close());
    const agent = await startSessionAgent(t, server, join(dir, V, 'aliyun-service'));

    // A server without it: the session fails and the log says why; the agent goes on.
    renameSync(shipped, join(dir, 'elsewhere'));
    await agent.startSession('s-nopty');
    const failed = await eventually(() => server.reports.find((r) => r.channelId === 's-nopty'), { what: 'report' });
    assert.deepEqual(failed, { channelId: 's-nopty', status: 'Failed', errorcode: 'Open_pty_failed' });
    const logged = await eventually(
      () =>
        agent
          .log()
          .split('\n')
          .find((l) => l.includes('"session start failed"') && l.includes('s-nopty')),
      { what: 'the log line' },
    );
    assert.match(logged!, /Open_pty_failed.*node-pty is not available/);

    renameSync(join(dir, 'elsewhere'), shipped);
    await agent.startSession('s-pty');
    server.sendInput('s-pty', 'echo hi\n');
    // The terminal echoes the typed line first; the command's own output is a line of its own.
    await eventually(() => /[\r\n]hi\r\n/.test(server.output('s-pty').toString()), { what: 'hi from the shell' }).catch(
      (e: unknown) => {
        console.log(agent.log(), agent.output(), JSON.stringify(server.output('s-pty').toString()));
        throw e;
      },
    );
  });
});
