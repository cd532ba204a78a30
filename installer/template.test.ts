import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import {
  InstallerError,
  renderServiceFiles,
  renderTemplate,
  shQuote,
  systemdExec,
  windowsArg,
  xmlEscape,
} from './index.js';

const isCode = (code: InstallerError['code']) => (e: unknown) => e instanceof InstallerError && e.code === code;

describe('renderTemplate', () => {
  it('fills every placeholder, verbatim', () => {
    assert.equal(renderTemplate('a={{a}} b={{b}} a={{a}}\n', { a: '1', b: '$x' }), 'a=1 b=$x a=1\n');
  });

  it('names every placeholder that has no value', () => {
    assert.throws(
      () => renderTemplate('{{a}} {{b}} {{c}}', { b: '' }),
      (e: unknown) => isCode('TEMPLATE_INVALID')(e) && /: a, c$/.test((e as Error).message),
    );
  });

  it('rejects a malformed placeholder instead of leaving it in the output', () => {
    assert.throws(() => renderTemplate('x {{ a }}', { a: '1' }), isCode('TEMPLATE_INVALID'));
  });

  it('rejects a value with a newline, which would inject a directive', () => {
    assert.throws(
      () => renderTemplate('ExecStart={{x}}', { x: '/bin/true\nExecStartPre=/bin/evil' }),
      isCode('SPEC_INVALID'),
    );
  });
});

describe('quoting', () => {
  it('sh: plain words as is, anything else single-quoted, and sh reads it back', () => {
    const words = ['/usr/bin/node', "it's", 'a b', '$HOME', '`id`', '', '*'];
    assert.equal(shQuote('/usr/bin/node'), '/usr/bin/node');
    assert.equal(shQuote("it's"), `'it'\\''s'`);
    const r = spawnSync('sh', ['-c', `printf '%s\\n' ${words.map(shQuote).join(' ')}`], { encoding: 'utf8' });
    assert.equal(r.stdout, words.map((w) => `${w}\n`).join(''));
  });

  it('systemd: quotes words with spaces and doubles % and $', () => {
    assert.equal(systemdExec(['/usr/bin/node', '/opt/a b/x.cjs']), '/usr/bin/node "/opt/a b/x.cjs"');
    assert.equal(systemdExec(['/bin/x', '50%', '$HOME', 'say "hi"']), '/bin/x "50%%" "$$HOME" "say \\"hi\\""');
  });

  it('systemd: the program itself is not $-expanded, and may not hold quotes or backslashes', () => {
    assert.equal(systemdExec(['/opt/a $b %c/x', '$d']), '"/opt/a $b %%c/x" "$$d"');
    assert.throws(() => systemdExec(['/opt/"x"/y']), isCode('SPEC_INVALID'));
    assert.throws(() => systemdExec(['/opt/a\\b']), isCode('SPEC_INVALID'));
  });

  it('Windows: the C runtime rules for quotes and backslashes', () => {
    assert.equal(windowsArg('C:\\a\\b.exe'), 'C:\\a\\b.exe');
    assert.equal(windowsArg('C:\\Program Files\\x\\'), '"C:\\Program Files\\x\\\\"');
    assert.equal(windowsArg('say "hi"'), '"say \\"hi\\""');
    assert.equal(windowsArg(''), '""');
  });

  it('XML: the five special characters', () => {
    assert.equal(xmlEscape(`<a href="x">&'`), '&lt;a href=&quot;x&quot;&gt;&amp;&apos;');
  });
});

describe('renderServiceFiles', () => {
  const spec = {
    kind: 'agent',
    command: ['/opt/oca/aliyun-service'],
    installDir: '/opt/oca',
    version: '1.2.3.4',
  } as const;

  it('rejects a relative program, a relative install dir and a bad version all at once', () => {
    assert.throws(
      () => renderServiceFiles('systemd', { ...spec, command: ['aliyun-service'], installDir: 'oca', version: '1 2' }),
      (e: unknown) =>
        isCode('SPEC_INVALID')(e) &&
        (e as InstallerError).details['issues'] instanceof Array &&
        ((e as InstallerError).details['issues'] as unknown[]).length === 3,
    );
  });

  it('rejects % on Windows, where WinSW would expand it', () => {
    assert.throws(
      () => renderServiceFiles('windows', { ...spec, command: ['C:\\x\\100%\\a.exe'], installDir: 'C:\\x' }),
      isCode('SPEC_INVALID'),
    );
  });

  it('sysvinit and upstart quote a path with spaces for sh', () => {
    const [script] = renderServiceFiles('sysvinit', { ...spec, command: ['/opt/my oca/aliyun-service', '-x'] });
    assert.match(script!.content, /^ {4}setsid '\/opt\/my oca\/aliyun-service' -x <\/dev\/null/m);
    assert.match(script!.content, /^MATCH='\/opt\/my oca\/aliyun-service -x'$/m);
  });
});
