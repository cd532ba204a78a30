// The real ServiceHost: child processes without a shell, and the local file system.
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, chmod, lstat, mkdir, mkdtemp, open, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { constants as os, tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import type { CommandResult, RunOptions, ServiceHost } from './ports.js';

/** Long enough for `net stop` or `systemctl stop` to wait out a service's whole stop timeout. */
const COMMAND_TIMEOUT_MS = 120_000;

export async function runCommand(
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<CommandResult> {
  if (!options.detached) {
    return run(command, args, 'pipe', false);
  }
  // A detached command must outlive us: pipes would break when we die and SIGPIPE would end it
  // half-way, so its output goes to a private file that we read once it is done.
  const dir = await mkdtemp(join(tmpdir(), 'oca-service-'));
  try {
    const out = await open(join(dir, 'output'), 'w', 0o600);
    let r: CommandResult;
    try {
      r = await run(command, args, out.fd, true);
    } finally {
      await out.close();
    }
    return { ...r, stdout: await readFile(join(dir, 'output'), 'utf8') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function run(
  command: string,
  args: readonly string[],
  out: 'pipe' | number,
  detached: boolean,
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', out, out], timeout: COMMAND_TIMEOUT_MS, detached });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const bySignal = signal ? 128 + (os.signals[signal] ?? 0) : 1;
      resolve({ code: code ?? bySignal, stdout, stderr });
    });
  });
}

export function nodeServiceHost(env: Readonly<Record<string, string | undefined>> = process.env): ServiceHost {
  const searchPath = [...(env['PATH'] ?? '').split(delimiter), '/sbin', '/usr/sbin'].filter((d) => d !== '');
  return {
    runner: { run: runCommand },
    files: {
      async exists(path) {
        try {
          await lstat(path);
          return true;
        } catch {
          return false;
        }
      },
      async write(path, content, mode) {
        await mkdir(dirname(path), { recursive: true, mode: 0o755 });
        const tmp = `${path}.${process.pid}.tmp`;
        try {
          await writeFile(tmp, content, { mode });
          await chmod(tmp, mode); // the umask may have taken bits away
          await rename(tmp, path);
        } finally {
          await rm(tmp, { force: true });
        }
      },
      async remove(path) {
        await rm(path, { force: true });
      },
      async symlink(target, path) {
        await mkdir(dirname(path), { recursive: true, mode: 0o755 });
        await rm(path, { force: true });
        await symlink(target, path);
      },
    },
    async hasCommand(name) {
      for (const dir of searchPath) {
        try {
          await access(join(dir, name), constants.X_OK);
          return true;
        } catch {
          // not in this directory
        }
      }
      return false;
    },
  };
}
