// Command-line handling that needs no server: usage errors, exit codes, and argument checks.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { EXIT, runAssist, type Io } from './index.js';
import { parseKeyValues, splitIds } from './targets.js';
import { isCliError } from './errors.js';

function io(): Io & { err: () => string; out: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    stdin: Readable.from([]),
    // A dead endpoint: these commands must fail before any call.
    env: { ASSIST_ACCESS_KEY_ID: 'id', ASSIST_ACCESS_KEY_SECRET: 's', ASSIST_ENDPOINT: 'http://127.0.0.1:1' },
    homeDir: '/nonexistent',
    cwd: '/',
    err: () => err,
    out: () => out,
  };
}

describe('assist usage errors exit 2', () => {
  for (const [why, args, message] of [
    ['no script', ['run', '--all'], /give the script after --/],
    ['script twice', ['run', '--all', '--file', 'x.sh', '--', 'true'], /not both/],
    [
      'two kinds of target',
      ['run', '--all', '--tag', 'a=b', '--', 'true'],
      /exactly one of --instances, --all or --tag/,
    ],
    ['no target', ['run', '--', 'true'], /exactly one of/],
    ['param without =', ['run', '--all', '--param', 'novalue', '--', 'true'], /--param takes key=value/],
    ['param twice', ['run', '--all', '-p', 'a=1', '-p', 'a=2', '--', 'true'], /--param a is given twice/],
    ['bad type', ['run', '--all', '--type', 'RunPerl', '--', 'true'], /Invalid values/],
    ['unknown option', ['instances', '--frob'], /Unknown argument/],
    ['unknown command', ['frobnicate'], /Unknown argument: frobnicate/],
    ['no command', [], /give a command/],
    ['commands without a subcommand', ['commands'], /list, create or delete/],
    ['invoke without a command id', ['invoke', '--all'], /Not enough non-option arguments/],
  ] as const) {
    it(why, async () => {
      const x = io();
      assert.equal(await runAssist([...args], x), EXIT.USAGE, x.err());
      assert.match(x.err(), message);
      assert.match(x.err(), /^hint: run assist --help/m);
      assert.equal(x.out(), '');
    });
  }

  it('a missing script file is a failure (exit 1), not a usage error', async () => {
    const x = io();
    assert.equal(await runAssist(['run', '--all', '--file', '/nonexistent/script.sh'], x), EXIT.FAILURE);
    assert.match(x.err(), /cannot read \/nonexistent\/script\.sh/);
  });

  it('missing credentials are a failure that says what to set', async () => {
    const x = { ...io(), env: {} };
    assert.equal(await runAssist(['instances'], x), EXIT.FAILURE);
    assert.match(
      x.err(),
      /ASSIST_ACCESS_KEY_ID, ASSIST_ACCESS_KEY_SECRET and ASSIST_ENDPOINT, or run assist configure/,
    );
  });
});

describe('target and key=value arguments', () => {
  it('split at the first =, keep the rest of the value as is', () => {
    assert.deepEqual(parseKeyValues(['a=b=c', 'x=', 'k=$(id); "q"'], 'param'), [
      ['a', 'b=c'],
      ['x', ''],
      ['k', '$(id); "q"'],
    ]);
    assert.throws(
      () => parseKeyValues(['=v'], 'tag'),
      (e: unknown) => isCliError(e) && e.code === 'USAGE',
    );
  });

  it('instance ids: commas or repeats, without duplicates', () => {
    assert.deepEqual(splitIds(['mi-1,mi-2', ' mi-3 ', 'mi-1', ',']), ['mi-1', 'mi-2', 'mi-3']);
  });
});
