import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { killTreePlan } from './run-process.js';
import { scriptCommand, scriptPrelude, type ScriptType } from './script-command.js';

void describe('scriptCommand', () => {
  void test('RunShellScript runs `sh -c <path>` with the path as one unquoted argv element', () => {
    const path = '/usr/local/share/aliyun-assist/work/script/my cmd-t-1.sh';
    assert.deepEqual(scriptCommand('RunShellScript', path, 'linux'), {
      command: 'sh',
      args: ['-c', path],
      extension: '.sh',
    });
  });

  void test('RunBatScript runs `cmd.exe /c <path>`', () => {
    const path = 'C:\\ProgramData\\aliyun\\assist\\work\\script\\t-1.bat';
    assert.deepEqual(scriptCommand('RunBatScript', path, 'win32'), {
      command: 'cmd.exe',
      args: ['/c', path],
      extension: '.bat',
    });
  });

  void test('RunPowerShellScript runs powershell.exe with no profile, non-interactive, bypass policy, -File', () => {
    const path = 'C:\\work\\t-1.iv2.ps1';
    assert.deepEqual(scriptCommand('RunPowerShellScript', path, 'win32'), {
      command: 'powershell.exe',
      args: ['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-File', path],
      extension: '.ps1',
    });
  });

  void test('RunPowerShellScript outside Windows uses pwsh with the same arguments', () => {
    const c = scriptCommand('RunPowerShellScript', '/tmp/t.ps1', 'linux');
    assert.equal(c.command, 'pwsh');
    assert.deepEqual(c.args, ['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-File', '/tmp/t.ps1']);
  });

  void test('shell and bat commands do not depend on the platform', () => {
    for (const type of ['RunShellScript', 'RunBatScript'] as const) {
      assert.deepEqual(scriptCommand(type, '/x', 'linux'), scriptCommand(type, '/x', 'win32'));
    }
  });

  void test('an unknown type from unchecked input is rejected', () => {
    assert.throws(() => scriptCommand('RunPythonScript' as ScriptType, '/x', 'linux'), TypeError);
    assert.throws(() => scriptPrelude('RunPythonScript' as ScriptType, 'x'), TypeError);
  });
});

void describe('scriptPrelude', () => {
  void test('RunBatScript gets `@echo off` and CRLF line ends', () => {
    assert.equal(scriptPrelude('RunBatScript', 'dir\nver\n'), '@echo off\r\ndir\r\nver\r\n');
  });

  void test('RunBatScript keeps existing CRLF (no doubled CR) and fixes mixed line ends', () => {
    assert.equal(scriptPrelude('RunBatScript', 'a\r\nb\nc'), '@echo off\r\na\r\nb\r\nc');
  });

  void test('RunBatScript with empty content is just the prefix', () => {
    assert.equal(scriptPrelude('RunBatScript', ''), '@echo off\r\n');
  });

  void test('RunPowerShellScript is CRLF-normalised without a prefix', () => {
    assert.equal(scriptPrelude('RunPowerShellScript', 'Get-Date\nexit 3\r\n'), 'Get-Date\r\nexit 3\r\n');
  });

  void test('RunShellScript is unchanged, even with CR characters', () => {
    const content = '#!/bin/sh\necho a\r\necho b\n';
    assert.equal(scriptPrelude('RunShellScript', content), content);
  });
});

void describe('killTreePlan', () => {
  void test('win32 runs `taskkill /T /F /PID <pid>` for both TERM and KILL', () => {
    for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
      assert.deepEqual(killTreePlan(4321, signal, 'win32'), {
        kind: 'exec',
        command: 'taskkill',
        args: ['/T', '/F', '/PID', '4321'],
      });
    }
  });

  void test('POSIX signals the process group whose id is the pid', () => {
    assert.deepEqual(killTreePlan(4321, 'SIGTERM', 'linux'), { kind: 'signalGroup', pgid: 4321, signal: 'SIGTERM' });
    assert.deepEqual(killTreePlan(77, 'SIGKILL', 'darwin'), { kind: 'signalGroup', pgid: 77, signal: 'SIGKILL' });
  });

  void test('refuses pids that would signal the own group or every process', () => {
    for (const pid of [0, 1, -1, -4321, 1.5, Number.NaN]) {
      assert.throws(() => killTreePlan(pid, 'SIGKILL', 'linux'), RangeError, `pid ${pid}`);
      assert.throws(() => killTreePlan(pid, 'SIGKILL', 'win32'), RangeError, `pid ${pid}`);
    }
  });
});
