// Exit codes that power off or reboot the OS after the task's final report is acknowledged
// (spec/luban-protocol.md §5.6 step 9, client-features.md §3.11).
import { execFile } from 'node:child_process';
import type { Command } from '../executor/index.js';
import { ensureError, type Logger } from '../shared/index.js';

export type PowerAction = 'powerOff' | 'reboot';

/** Port: performs a power action. Tests inject a recorder; main.ts passes SystemPower. */
export interface PowerPort {
  request(action: PowerAction, reason: { taskId: string }): Promise<void>;
}

/** 193/194 on Linux and FreeBSD, 3009/3010 on Windows; nothing elsewhere or for other codes. */
export function powerActionFor(exitCode: number, platform: NodeJS.Platform): PowerAction | undefined {
  const codes: Partial<Record<NodeJS.Platform, [number, number]>> = {
    linux: [193, 194],
    freebsd: [193, 194],
    win32: [3009, 3010],
  };
  const pair = codes[platform];
  if (pair === undefined) {
    return undefined;
  }
  return exitCode === pair[0] ? 'powerOff' : exitCode === pair[1] ? 'reboot' : undefined;
}

/**
 * The commands for an action, tried in order until one starts and exits 0. Linux: the stock
 * `shutdown -h now` / `shutdown -r now`, then systemd's `systemctl poweroff|reboot` for systems
 * without a shutdown binary. FreeBSD halts with power-off (`-p`). Windows: the stock `shutdown -f`.
 */
export function powerCommands(action: PowerAction, platform: NodeJS.Platform): Command[] {
  const off = action === 'powerOff';
  if (platform === 'win32') {
    return [{ command: 'shutdown', args: ['-f', off ? '-s' : '-r', '-t', '0'] }];
  }
  if (platform === 'freebsd') {
    return [{ command: '/sbin/shutdown', args: [off ? '-p' : '-r', 'now'] }];
  }
  return [
    { command: 'shutdown', args: [off ? '-h' : '-r', 'now'] },
    { command: 'systemctl', args: [off ? 'poweroff' : 'reboot'] },
  ];
}

export type CommandRunner = (c: Command) => Promise<void>;

const runCommand: CommandRunner = (c) =>
  new Promise((resolve, reject) => {
    execFile(
      c.command,
      c.args,
      {
        timeout: 30_000,
        windowsHide: true,
        env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', ...process.env },
      },
      (err) => (err === null ? resolve() : reject(err)),
    );
  });

/** The real thing: runs powerCommands() until one succeeds; failures are logged at error level. */
export class SystemPower implements PowerPort {
  readonly #log: Logger;
  readonly #platform: NodeJS.Platform;
  readonly #run: CommandRunner;
  constructor(log: Logger, platform: NodeJS.Platform = process.platform, run: CommandRunner = runCommand) {
    this.#log = log;
    this.#platform = platform;
    this.#run = run;
  }

  async request(action: PowerAction, reason: { taskId: string }): Promise<void> {
    for (const c of powerCommands(action, this.#platform)) {
      this.#log.warn('power action', { action, taskId: reason.taskId, command: [c.command, ...c.args].join(' ') });
      try {
        await this.#run(c);
        return;
      } catch (e) {
        this.#log.error('power action failed', { action, taskId: reason.taskId, err: ensureError(e) });
      }
    }
  }
}
