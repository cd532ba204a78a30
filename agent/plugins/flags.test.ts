import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FlagError, parsePluginFlags, pluginArgs, shellSplit } from './flags.js';

describe('acs-plugin-manager flags (stock parsing rules)', () => {
  it('takes a long flag value as --name value, --name=value and --name:value', () => {
    assert.equal(parsePluginFlags(['--plugin', 'a']).plugin, 'a');
    assert.equal(parsePluginFlags(['--plugin=b']).plugin, 'b');
    assert.equal(parsePluginFlags(['--plugin:c']).plugin, 'c');
  });

  it('takes a short flag value as -x value and -x=value', () => {
    assert.equal(parsePluginFlags(['-P', 'a']).plugin, 'a');
    assert.equal(parsePluginFlags(['-P=b']).plugin, 'b');
    assert.equal(parsePluginFlags(['-n', '1.2']).pluginVersion, '1.2');
  });

  it('gives a value flag the next argument verbatim, even when it starts with -', () => {
    const f = parsePluginFlags(['--exec', '--plugin=ecs_dump_config', '--params', '--enable']);
    assert.equal(f.exec, true);
    assert.equal(f.plugin, 'ecs_dump_config');
    assert.equal(f.params, '--enable');
    assert.deepEqual(pluginArgs(f), ['--enable']);
    assert.equal(parsePluginFlags(['-p', '-x', '--list']).list, true, 'parsing goes on after the value');
  });

  it('accepts unknown flags and keeps them aside', () => {
    const f = parsePluginFlags(['--list', '--whatever', '-Z']);
    assert.equal(f.list, true);
    assert.deepEqual(f.unknown, ['--whatever', '-Z']);
  });

  it('is case-sensitive: -v is --version, -V is --verbose, -L is --local, -l is --list', () => {
    const f = parsePluginFlags(['-v', '-L']);
    assert.equal(f.version, true);
    assert.equal(f.verbose, false);
    assert.equal(f.local, true);
    assert.equal(f.list, false);
    assert.equal(parsePluginFlags(['--Plugin', 'x']).plugin, undefined);
  });

  it('refuses a value flag at the end and a timeout that is not a number', () => {
    assert.throws(() => parsePluginFlags(['--plugin']), FlagError);
    assert.throws(() => parsePluginFlags(['--timeout', 'ten']), FlagError);
    assert.equal(parsePluginFlags(['--timeout', '0']).timeout, 0);
    assert.equal(parsePluginFlags(['--fetchTimeout=30']).fetchTimeout, 30);
  });

  it('splits --params on the separator, then shell-style', () => {
    assert.deepEqual(pluginArgs({ params: '--operation,install,--reboot,ifneed' }), [
      '--operation',
      'install',
      '--reboot',
      'ifneed',
    ]);
    assert.deepEqual(pluginArgs({ params: "--static;eth0;'a b'", separator: ';' }), ['--static', 'eth0', 'a b']);
    assert.deepEqual(pluginArgs({ params: 'a,b', paramsV2: '"x y" z' }), ['x y', 'z'], '--paramsV2 wins, no separator');
    assert.deepEqual(pluginArgs({}), []);
  });

  it('splits like shlex: quotes, escapes, unterminated quotes refused', () => {
    assert.deepEqual(shellSplit(`a 'b c' "d \\"e\\"" f\\ g ''`), ['a', 'b c', 'd "e"', 'f g', '']);
    assert.throws(() => shellSplit(`'open`), FlagError);
  });
});
