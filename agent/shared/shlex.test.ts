// shlexSplit: the word splitting of a session's command line and of acs-plugin-manager's --params.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { shlexSplit, ShlexError } from './shlex.js';

describe('shlexSplit', () => {
  it('splits like a POSIX shell without expansion', () => {
    assert.deepEqual(shlexSplit(`ls -la  /tmp`), ['ls', '-la', '/tmp']);
    assert.deepEqual(shlexSplit(`sh -c 'echo "a b"; exit 3'`), ['sh', '-c', 'echo "a b"; exit 3']);
    assert.deepEqual(shlexSplit(`echo "x \\"y\\" \\$HOME" a\\ b ''`), ['echo', 'x "y" $HOME', 'a b', '']);
    assert.deepEqual(shlexSplit('  '), []);
    assert.throws(() => shlexSplit(`echo 'open`), ShlexError);
    assert.throws(() => shlexSplit(`echo "open`), ShlexError);
    assert.throws(() => shlexSplit(`echo x\\`), ShlexError, 'a trailing backslash');
  });
});
