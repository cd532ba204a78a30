import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  base64Problem,
  builtInParameters,
  decodeBase64,
  runnableTypes,
  scriptFileName,
  substituteParameters,
  taskError,
  timeoutMs,
  truncateUtf8,
} from './task-input.js';

describe('base64Problem (Go StdEncoding semantics)', () => {
  it('accepts padded standard base64, the empty string, and CR/LF anywhere', () => {
    for (const ok of ['', 'aGVsbG8=', 'aGk=', 'aGVsbG8gd29ybGQK', 'aGVs\nbG8=', 'aGVsbG8=\r\n', 'aG\r\nk=', 'ab+/']) {
      assert.equal(base64Problem(ok), undefined, ok);
    }
    assert.equal(decodeBase64('aGVs\nbG8=').toString(), 'hello');
  });
  it('rejects with the byte offset Go reports', () => {
    const cases: [string, number][] = [
      ['aGVsbG8', 4], // unpadded: the incomplete quantum's first byte
      ['aGk', 0],
      ['a', 0],
      ['aGVs bG8=', 4], // a space is not skipped
      ['aGVsbG8==', 8], // trailing garbage after the padding
      ['=aGV', 0],
      ['a=bc', 1],
      ['aG=a', 2],
      ['aG=', 3], // "==" expected, input ended
      ['aGVsbG8-', 7], // URL alphabet
      ['aGVsbG8_', 7],
      ['aGk=aGk=', 4], // padding in the middle
    ];
    for (const [s, at] of cases) {
      assert.equal(base64Problem(s), `illegal base64 data at input byte ${at}`, s);
    }
  });
});

describe('runnableTypes', () => {
  it('runs shell (and pwsh) off Windows, BAT and PowerShell on it', () => {
    assert.deepEqual([...runnableTypes('linux')], ['RunShellScript', 'RunPowerShellScript']);
    assert.ok(!runnableTypes('linux').includes('RunBatScript'));
    assert.ok(!runnableTypes('win32').includes('RunShellScript'));
  });
});

describe('timeoutMs', () => {
  it('parses decimal integer seconds like strconv.Atoi', () => {
    assert.equal(timeoutMs('10'), 10_000);
    assert.equal(timeoutMs('+7'), 7_000);
    assert.equal(timeoutMs('0'), 0);
    assert.equal(timeoutMs('-5'), 0);
  });
  it('falls back to 3600 s when it does not parse', () => {
    for (const bad of ['', 'abc', '1.5', ' 10', '10s', '1e3', '99999999999999999999']) {
      assert.equal(timeoutMs(bad), 3_600_000, bad);
    }
  });
});

describe('scriptFileName', () => {
  it('is [name-]id[.ivN].ext with .iv only for invokeVersion > 0', () => {
    assert.equal(scriptFileName('', 't-1', 0, '.sh'), 't-1.sh');
    assert.equal(scriptFileName('deploy', 't-1', 0, '.sh'), 'deploy-t-1.sh');
    assert.equal(scriptFileName('deploy', 't-1', 3, '.sh'), 'deploy-t-1.iv3.sh');
    assert.equal(scriptFileName('x', 't-1', -1, '.ps1'), 'x-t-1.ps1');
  });
  it('reduces names to [A-Za-z0-9._-], the command name to 64 chars', () => {
    assert.equal(scriptFileName('my cmd/../$(x)', '../../etc/t', 0, '.sh'), 'my_cmd_..___x_-.._.._etc_t.sh');
    const long = scriptFileName('n'.repeat(100), 't', 0, '.sh');
    assert.equal(long, `${'n'.repeat(64)}-t.sh`);
    assert.equal(scriptFileName('命令', 't', 0, '.sh'), '__-t.sh');
  });
});

describe('parameter substitution', () => {
  const params = builtInParameters({ RegionId: 'cn-x', InvokeId: 'spoofed' }, 'i-1', 'c-1', 't-1');
  it('adds InstanceId, CommandId and InvokeId over the server values', () => {
    assert.deepEqual(params, { RegionId: 'cn-x', InvokeId: 't-1', InstanceId: 'i-1', CommandId: 'c-1' });
  });
  it('replaces known tokens, with or without spaces, and leaves unknown ones', () => {
    assert.equal(
      substituteParameters('echo {{ACS::InstanceId}} {{ ACS::RegionId }} {{  ACS::InvokeId}} {{ACS::Nope}}', params),
      'echo i-1 cn-x t-1 {{ACS::Nope}}',
    );
    assert.equal(substituteParameters('{{ACS::CommandId}}{{ACS::CommandId}}', params), 'c-1c-1');
    assert.equal(
      substituteParameters('{{ACS:: InstanceId}} {ACS::InstanceId}', params),
      '{{ACS:: InstanceId}} {ACS::InstanceId}',
    );
    assert.equal(substituteParameters('{{ACS::toString}}', params), '{{ACS::toString}}');
  });
  it('inserts values literally ($ patterns are not special)', () => {
    assert.equal(substituteParameters('{{ACS::X}}', { X: "$& $' $1" }), "$& $' $1");
  });
});

describe('errDesc', () => {
  it('is cut to 255 bytes without splitting a UTF-8 character', () => {
    const s = 'é'.repeat(200);
    const t = truncateUtf8(s);
    assert.equal(Buffer.byteLength(t), 254);
    assert.ok(s.startsWith(t));
    assert.equal(truncateUtf8('short'), 'short');
    assert.equal(Buffer.byteLength(truncateUtf8('a'.repeat(300))), 255);
  });
  it('uses the errno and its phrase on Linux, the category code otherwise', () => {
    assert.deepEqual(taskError('ExecuteScriptFailed', -7, 'ENOENT', 'spawn sh ENOENT', 'linux'), {
      errCode: '2',
      errDesc: 'ExecuteScriptFailed.NoSuchFileOrDirectory: spawn sh ENOENT',
    });
    assert.deepEqual(taskError('ExecuteScriptFailed', -7, 'EWEIRD', 'boom', 'linux'), {
      errCode: '-7',
      errDesc: 'ExecuteScriptFailed: boom',
    });
    assert.deepEqual(taskError('SaveScriptFileFailed', -4, 'ENOSPC', 'full', 'win32'), {
      errCode: '-4',
      errDesc: 'SaveScriptFileFailed: full',
    });
    assert.ok(Buffer.byteLength(taskError('X', -13, undefined, 'z'.repeat(400), 'linux').errDesc) <= 255);
  });
});
