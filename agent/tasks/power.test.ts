import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMemoryLogger } from '../shared/index.js';
import { SystemPower, powerActionFor, powerCommands } from './power.js';

describe('powerActionFor', () => {
  it('193/194 on Linux and FreeBSD, 3009/3010 on Windows, nothing else', () => {
    for (const p of ['linux', 'freebsd'] as const) {
      assert.equal(powerActionFor(193, p), 'powerOff');
      assert.equal(powerActionFor(194, p), 'reboot');
      assert.equal(powerActionFor(3009, p), undefined);
      assert.equal(powerActionFor(0, p), undefined);
    }
    assert.equal(powerActionFor(3009, 'win32'), 'powerOff');
    assert.equal(powerActionFor(3010, 'win32'), 'reboot');
    assert.equal(powerActionFor(193, 'win32'), undefined);
    assert.equal(powerActionFor(193, 'darwin'), undefined);
  });
});

describe('powerCommands', () => {
  it('uses the stock commands, with systemctl as the Linux fallback', () => {
    assert.deepEqual(powerCommands('powerOff', 'linux'), [
      { command: 'shutdown', args: ['-h', 'now'] },
      { command: 'systemctl', args: ['poweroff'] },
    ]);
    assert.deepEqual(powerCommands('reboot', 'linux'), [
      { command: 'shutdown', args: ['-r', 'now'] },
      { command: 'systemctl', args: ['reboot'] },
    ]);
    assert.deepEqual(powerCommands('powerOff', 'freebsd'), [{ command: '/sbin/shutdown', args: ['-p', 'now'] }]);
    assert.deepEqual(powerCommands('powerOff', 'win32'), [{ command: 'shutdown', args: ['-f', '-s', '-t', '0'] }]);
    assert.deepEqual(powerCommands('reboot', 'win32'), [{ command: 'shutdown', args: ['-f', '-r', '-t', '0'] }]);
  });
});

describe('SystemPower', () => {
  it('tries the next command when one fails, and logs what it ran', async () => {
    const log = createMemoryLogger();
    const ran: string[] = [];
    const power = new SystemPower(log, 'linux', async (c) => {
      ran.push([c.command, ...c.args].join(' '));
      if (c.command === 'shutdown') {
        throw Object.assign(new Error('spawn shutdown ENOENT'), { code: 'ENOENT' });
      }
    });
    await power.request('reboot', { taskId: 't-1' });
    assert.deepEqual(ran, ['shutdown -r now', 'systemctl reboot']);
    assert.ok(log.events.some((e) => e.level === 'error' && e.msg === 'power action failed'));
    assert.ok(log.events.every((e) => e.fields['taskId'] === 't-1'));
  });
});
