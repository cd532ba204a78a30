import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { findSetpriv, setprivLaunch, windowsLauncherScript, windowsLogonLaunch, windowsQuoteArg } from './run-as.js';

describe('setprivLaunch', () => {
  const target = { command: 'sh', args: ['-c', "/dir/it's.sh"] };
  it('sets uid, gid and the exact group list, then execs the target unchanged', () => {
    assert.deepEqual(setprivLaunch('/usr/bin/setpriv', { uid: 1000, gid: 1000, groups: [1000, 4, 4, 27] }, target), {
      command: '/usr/bin/setpriv',
      args: ['--reuid=1000', '--regid=1000', '--groups=1000,4,27', '--', 'sh', '-c', "/dir/it's.sh"],
    });
  });
  it('clears the groups when the user has none', () => {
    const l = setprivLaunch('/bin/setpriv', { uid: 5, gid: 6, groups: [] }, target);
    assert.deepEqual(l.args.slice(0, 4), ['--reuid=5', '--regid=6', '--clear-groups', '--']);
  });
  it('refuses ids that are not ids', () => {
    for (const id of [
      { uid: -1, gid: 1, groups: [] },
      { uid: 1, gid: 1.5, groups: [] },
      { uid: 1, gid: 1, groups: [Number.NaN] },
      { uid: 2 ** 32 - 1, gid: 1, groups: [] },
    ]) {
      assert.throws(() => setprivLaunch('/usr/bin/setpriv', id, target), RangeError, JSON.stringify(id));
    }
  });
});

describe('findSetpriv', () => {
  it('returns the first executable candidate', () => {
    const dir = mkdtempSync(join(tmpdir(), 'oca-setpriv-'));
    try {
      const plain = join(dir, 'plain');
      const exe = join(dir, 'exe');
      writeFileSync(plain, '');
      writeFileSync(exe, '');
      chmodSync(plain, 0o644);
      chmodSync(exe, 0o755);
      // root passes X_OK for any file with at least one x bit, so a 0644 file is skipped even for root.
      assert.equal(findSetpriv([join(dir, 'missing'), plain, exe]), exe);
      assert.equal(findSetpriv([join(dir, 'missing')]), undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('finds the system setpriv on this machine (util-linux)', () => {
    assert.ok(findSetpriv()?.endsWith('/setpriv'));
  });
});

describe('Windows run-as plan', () => {
  it('quotes arguments the way CommandLineToArgvW reads them', () => {
    assert.equal(windowsQuoteArg('plain'), 'plain');
    assert.equal(windowsQuoteArg(''), '""');
    assert.equal(windowsQuoteArg('a b'), '"a b"');
    assert.equal(windowsQuoteArg('say "hi"'), '"say \\"hi\\""');
    assert.equal(windowsQuoteArg('C:\\dir with space\\'), '"C:\\dir with space\\\\"');
    assert.equal(windowsQuoteArg('a\\\\"b'), '"a\\\\\\\\\\"b"');
    assert.equal(windowsQuoteArg('C:\\no\\space'), 'C:\\no\\space');
  });

  it('a PowerShell launcher, the password only on stdin', () => {
    const target = { command: 'cmd.exe', args: ['/c', 'C:\\ProgramData\\aliyun\\assist\\work\\script\\t-1.bat'] };
    const l = windowsLogonLaunch({ user: "o'brien", domain: '.', password: 'p@ss w0rd' }, target, 'C:\\Users\\o');
    assert.equal(l.command, 'powershell.exe');
    assert.deepEqual(l.args.slice(0, 5), [
      '-NoProfile',
      '-NonInteractive',
      '-ExecutionPolicy',
      'Bypass',
      '-EncodedCommand',
    ]);
    assert.equal(l.args.length, 6);
    assert.ok(!l.args.some((a) => a.includes('p@ss')));
    assert.deepEqual(l.input, Buffer.from('p@ss w0rd\r\n'));
    const script = Buffer.from(l.args[5]!, 'base64').toString('utf16le');
    assert.equal(script, windowsLauncherScript({ user: "o'brien", domain: '.' }, target, 'C:\\Users\\o'));
    const lines = script.split('\r\n');
    assert.ok(lines.includes("$psi.FileName = 'cmd.exe'"));
    assert.ok(lines.includes("$psi.Arguments = '/c C:\\ProgramData\\aliyun\\assist\\work\\script\\t-1.bat'"));
    assert.ok(lines.includes("$psi.UserName = 'o''brien'"), 'single quotes doubled inside the literal');
    assert.ok(lines.includes("$psi.Domain = '.'"));
    assert.ok(lines.includes('$pw = [Console]::In.ReadLine()'));
    assert.equal(lines.at(-1), 'exit $p.ExitCode');
  });
});
