// Builds the install packages of the agent from the single executable (scripts/build-sea.ts):
//   dist/packages/aliyun-assist_<v>_<arch>.deb     dpkg-deb
//   dist/packages/aliyun_assist-<v>-1.<arch>.rpm   rpmbuild
//   dist/packages/<v>_update.zip                   the update package: <v>/… plus <v>/update_install
// Each installs /usr/local/share/aliyun-assist/<v>/{aliyun-service, aliyun_assist_update →,
// acs-plugin-manager →, node_modules/node-pty/ (the terminals' addon, scripts/node-pty-files.ts)},
// /usr/local/share/assist-daemon/assist_daemon →, /usr/sbin links and the
// systemd units aliyun.service and assist_daemon.service (rendered by installer/ from
// service-units/); the maintainer scripts are packaging/scripts/. See docs/packaging.md.
// Usage: scripts/build-packages [--skip-sea]   (--skip-sea: reuse dist/sea/aliyun-assist)
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  constants,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { AGENT_VERSION } from '../agent/shared/version.js';
import { renderServiceFiles, serviceLayout } from '../installer/index.js';
import { buildSea } from './build-sea.js';
import { shipNodePty } from './node-pty-files.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');
const PKG = join(ROOT, 'packaging');

/** Absolute paths on the target system. */
export const LAYOUT = {
  installRoot: '/usr/local/share/aliyun-assist',
  daemonDir: '/usr/local/share/assist-daemon',
  unitDir: '/etc/systemd/system',
  /** aliyun.service runs the agent (enabled and started); assist_daemon.service, the alternative, the watchdog. */
  units: ['aliyun.service', 'assist_daemon.service'],
  sbinLinks: ['aliyun-service', 'acs-plugin-manager'],
  /** Names in <root>/<version>/ that link to aliyun-service there. */
  versionLinks: ['aliyun_assist_update', 'acs-plugin-manager'],
} as const;

export interface PackagesBuild {
  version: string;
  deb: string;
  rpm: string;
  zip: string;
  /** Bytes of each output, and of the executable. */
  bytes: { binary: number; deb: number; rpm: number; zip: number };
  ms: { sea: number; packages: number };
}

const ARCH: Partial<Record<NodeJS.Architecture, { deb: string; rpm: string }>> = {
  x64: { deb: 'amd64', rpm: 'x86_64' },
  arm64: { deb: 'arm64', rpm: 'aarch64' },
};

function fill(template: string, values: Record<string, string>): string {
  return template.replace(/@([A-Z_]+)@/g, (m, k: string) => values[k] ?? m);
}

/** The systemd units of this version, rendered by the installer from service-units/ as `--install` would. */
function systemdUnits(version: string): { name: string; content: string }[] {
  const common = { installDir: LAYOUT.installRoot, version };
  const files = [
    ...renderServiceFiles(
      'systemd',
      { ...common, kind: 'agent', command: [join(LAYOUT.installRoot, version, 'aliyun-service')] },
      serviceLayout('/'),
    ),
    ...renderServiceFiles(
      'systemd',
      { ...common, kind: 'watchdog', command: [join(LAYOUT.daemonDir, 'assist_daemon'), '--start'] },
      serviceLayout('/'),
    ),
  ];
  const units = files.map((f) => ({ name: basename(f.path), content: f.content }));
  const names = units.map((u) => u.name);
  if (JSON.stringify(names) !== JSON.stringify(LAYOUT.units) || files.some((f) => dirname(f.path) !== LAYOUT.unitDir)) {
    throw new Error(`the installer renders ${files.map((f) => f.path).join(', ')}; packaging expects ${LAYOUT.units}`);
  }
  return units;
}

function maintainerScript(name: 'postinst' | 'prerm' | 'postrm', version: string): string {
  return fill(readFileSync(join(PKG, 'scripts', name), 'utf8'), { VERSION: version });
}

function writeExecutable(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text, { mode: 0o755 });
  chmodSync(path, 0o755);
}

/**
 * The version directory as shipped: binary, its links, node-pty (which the binary loads from its
 * own directory), update_install, the units for update_install.
 */
function layVersionDir(dir: string, binary: string, version: string): void {
  mkdirSync(join(dir, 'init'), { recursive: true });
  // A copy, not a hard link: tar refuses a file whose link count changes while it reads it, and
  // the three packages are built at the same time.
  copyFileSync(binary, join(dir, 'aliyun-service'), constants.COPYFILE_FICLONE);
  chmodSync(join(dir, 'aliyun-service'), 0o755);
  for (const name of LAYOUT.versionLinks) {
    symlinkSync('aliyun-service', join(dir, name));
  }
  shipNodePty(dir);
  writeExecutable(join(dir, 'update_install'), readFileSync(join(PKG, 'update_install'), 'utf8'));
  for (const unit of systemdUnits(version)) {
    writeFileSync(join(dir, 'init', unit.name), unit.content, { mode: 0o644 });
  }
}

/** The files of the deb and rpm payloads, below `root`. */
function layPayload(root: string, binary: string, version: string): void {
  const versionDir = join(root, LAYOUT.installRoot, version);
  layVersionDir(versionDir, binary, version);
  mkdirSync(join(root, LAYOUT.daemonDir), { recursive: true });
  symlinkSync(join(LAYOUT.installRoot, version, 'aliyun-service'), join(root, LAYOUT.daemonDir, 'assist_daemon'));
  mkdirSync(join(root, 'usr/sbin'), { recursive: true });
  for (const name of LAYOUT.sbinLinks) {
    symlinkSync(join(LAYOUT.installRoot, version, name), join(root, 'usr/sbin', name));
  }
  mkdirSync(join(root, LAYOUT.unitDir), { recursive: true });
  for (const unit of systemdUnits(version)) {
    writeFileSync(join(root, LAYOUT.unitDir, unit.name), unit.content, { mode: 0o644 });
  }
}

/** Kilobytes of regular files below `dir` (what dpkg reports as Installed-Size). */
function installedKb(dir: string): number {
  let bytes = 0;
  for (const f of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const st = lstatSync(join(dir, f), { throwIfNoEntry: false });
    if (st?.isFile()) {
      bytes += st.size;
    }
  }
  return Math.ceil(bytes / 1024);
}

async function buildDeb(stage: string, binary: string, version: string, arch: string, out: string): Promise<void> {
  const tree = join(stage, 'deb');
  layPayload(tree, binary, version);
  const kb = installedKb(tree);
  mkdirSync(join(tree, 'DEBIAN'));
  writeFileSync(
    join(tree, 'DEBIAN', 'control'),
    fill(readFileSync(join(PKG, 'deb', 'control.in'), 'utf8'), {
      VERSION: version,
      DEB_ARCH: arch,
      INSTALLED_KB: String(kb),
    }),
  );
  for (const name of ['postinst', 'prerm', 'postrm'] as const) {
    writeExecutable(join(tree, 'DEBIAN', name), maintainerScript(name, version));
  }
  // gzip: every dpkg reads it (zstd needs dpkg >= 1.21.18), and it is quick to build.
  await run('dpkg-deb', ['--root-owner-group', '-Zgzip', '-z6', '--build', tree, out]);
}

async function buildRpm(stage: string, binary: string, version: string, arch: string, out: string): Promise<void> {
  const tree = join(stage, 'rpm-root');
  layPayload(tree, binary, version);
  const license = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { license?: string }).license;
  // Scriptlets are inlined into the spec, where `%` starts a macro.
  const scriptlet = (name: 'postinst' | 'prerm' | 'postrm') => maintainerScript(name, version).replaceAll('%', '%%');
  const spec = join(stage, 'aliyun_assist.spec');
  writeFileSync(
    spec,
    fill(readFileSync(join(PKG, 'rpm', 'aliyun_assist.spec.in'), 'utf8'), {
      VERSION: version,
      RPM_ARCH: arch,
      LICENSE: license ?? 'UNLICENSED',
      STAGE: tree,
      POSTINST: scriptlet('postinst'),
      PRERM: scriptlet('prerm'),
      POSTRM: scriptlet('postrm'),
    }),
  );
  const top = join(stage, 'rpmbuild');
  await run(
    'rpmbuild',
    [
      '-bb',
      '--quiet',
      '--target',
      arch,
      '--define',
      `_topdir ${top}`,
      '--define',
      `_rpmdir ${join(stage, 'rpms')}`,
      '--define',
      `_tmppath ${join(top, 'tmp')}`,
      spec,
    ],
    { maxBuffer: 16 * 2 ** 20 },
  );
  renameSync(join(stage, 'rpms', arch, `aliyun_assist-${version}-1.${arch}.rpm`), out);
}

async function buildZip(stage: string, binary: string, version: string, out: string): Promise<void> {
  const top = join(stage, 'zip');
  const dir = join(top, version);
  layVersionDir(dir, binary, version);
  // config/hash_file: base64 of {file: md5} over the regular files, which the stock agent checks
  // before it reuses an unpacked version (spec/client-features.md §7.3).
  const md5s: Record<string, string> = {};
  for (const f of readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort()) {
    const st = statSync(join(dir, f));
    if (st.isFile() && !(LAYOUT.versionLinks as readonly string[]).includes(f)) {
      md5s[f] = createHash('md5')
        .update(readFileSync(join(dir, f)))
        .digest('hex');
    }
  }
  mkdirSync(join(dir, 'config'));
  writeFileSync(join(dir, 'config', 'hash_file'), Buffer.from(JSON.stringify(md5s)).toString('base64'));
  // -y keeps the program-name links as links; -X leaves out extra attributes.
  await run('zip', ['-q', '-r', '-y', '-X', out, version], { cwd: top });
}

function fileHash(algo: 'md5' | 'sha256', path: string): string {
  return createHash(algo).update(readFileSync(path)).digest('hex');
}

/**
 * Builds the three packages into `outDir` (default dist/packages, emptied first) from `binary`
 * (default: a fresh single-executable build in dist/sea).
 */
export async function buildPackages(o: { outDir?: string; binary?: string } = {}): Promise<PackagesBuild> {
  const outDir = o.outDir ?? join(ROOT, 'dist', 'packages');
  const version = AGENT_VERSION;
  const arch = ARCH[process.arch];
  if (!arch || process.platform !== 'linux') {
    throw new Error(`packages are built for linux x64 or arm64, not ${process.platform}-${process.arch}`);
  }
  const seaStarted = Date.now();
  const binary = o.binary ?? (await buildSea()).binary;
  const seaMs = Date.now() - seaStarted;

  const started = Date.now();
  rmSync(outDir, { recursive: true, force: true });
  const stage = join(outDir, '.stage');
  mkdirSync(stage, { recursive: true });
  const deb = join(outDir, `aliyun-assist_${version}_${arch.deb}.deb`);
  const rpm = join(outDir, `aliyun_assist-${version}-1.${arch.rpm}.rpm`);
  // The updater takes the version from the URL's last segment, which must hold exactly one `_`.
  const zip = join(outDir, `${version}_update.zip`);
  await Promise.all([
    buildDeb(stage, binary, version, arch.deb, deb),
    buildRpm(stage, binary, version, arch.rpm, rpm),
    buildZip(stage, binary, version, zip),
  ]);
  rmSync(stage, { recursive: true, force: true });
  const outputs = [deb, rpm, zip];
  for (const algo of ['sha256', 'md5'] as const) {
    writeFileSync(
      join(outDir, `${algo.toUpperCase()}SUMS`),
      outputs.map((f) => `${fileHash(algo, f)}  ${relative(outDir, f)}\n`).join(''),
    );
  }
  return {
    version,
    deb,
    rpm,
    zip,
    bytes: {
      binary: statSync(binary).size,
      deb: statSync(deb).size,
      rpm: statSync(rpm).size,
      zip: statSync(zip).size,
    },
    ms: { sea: seaMs, packages: Date.now() - started },
  };
}

const isEntry = process.argv[1] !== undefined && realpathSync(process.argv[1]) === import.meta.filename;
if (isEntry) {
  const built = join(ROOT, 'dist', 'sea', 'aliyun-assist');
  if (process.argv.includes('--skip-sea') && !existsSync(built)) {
    throw new Error(`--skip-sea: ${built} is not built (npx tsx scripts/build-sea.ts)`);
  }
  const r = await buildPackages(process.argv.includes('--skip-sea') ? { binary: built } : {});
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
  console.log(`build-packages ${r.version}: executable ${mib(r.bytes.binary)} (${r.ms.sea} ms)`);
  for (const k of ['deb', 'rpm', 'zip'] as const) {
    console.log(`  ${relative(ROOT, r[k])}  ${mib(r.bytes[k])}`);
  }
  console.log(`  in ${r.ms.packages} ms; checksums in ${relative(ROOT, dirname(r.deb))}/SHA256SUMS, MD5SUMS`);
}
