// What survives between the processes of one update (<ROOT>/state/update/, 0700, files 0600,
// written atomically): the switch in progress, the new version's word that it started, and the
// versions that failed their health check and are never installed again.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A switch from one version to another, owned by the updater process `updaterPid`. */
export interface PendingSwitch {
  from: string;
  to: string;
  updaterPid: number;
  startedAt: string;
  /** True while going back to the version that ran before a failed switch. */
  rollback?: boolean;
}

/** Written by an agent once it is connected (first heartbeat done) while a switch to its version is pending. */
export interface StartedMark {
  version: string;
  pid: number;
  at: string;
}

export type BadVersions = Record<string, { at: string; reason: string }>;

export class UpdateState {
  readonly dir: string;
  constructor(stateDir: string) {
    this.dir = join(stateDir, 'update');
  }

  pending(): PendingSwitch | undefined {
    return this.#read<PendingSwitch>('pending.json');
  }
  setPending(p: PendingSwitch): void {
    this.#write('pending.json', p);
    rmSync(join(this.dir, 'started.json'), { force: true });
  }
  clearPending(): void {
    rmSync(join(this.dir, 'pending.json'), { force: true });
    rmSync(join(this.dir, 'started.json'), { force: true });
  }

  started(): StartedMark | undefined {
    return this.#read<StartedMark>('started.json');
  }
  /** Records that `version` (this process) started, when a switch to it is pending; true when it did. */
  markStarted(version: string, pid: number): boolean {
    if (this.pending()?.to !== version) {
      return false;
    }
    this.#write('started.json', { version, pid, at: new Date().toISOString() } satisfies StartedMark);
    return true;
  }

  badVersions(): BadVersions {
    return this.#read<BadVersions>('bad-versions.json') ?? {};
  }
  isBad(version: string): boolean {
    return Object.hasOwn(this.badVersions(), version);
  }
  markBad(version: string, reason: string): void {
    this.#write('bad-versions.json', { ...this.badVersions(), [version]: { at: new Date().toISOString(), reason } });
  }

  #read<T>(name: string): T | undefined {
    try {
      return JSON.parse(readFileSync(join(this.dir, name), 'utf8')) as T;
    } catch {
      return undefined; // absent, or torn by a crash: treated as absent
    }
  }
  #write(name: string, value: unknown): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const tmp = join(this.dir, `.${name}.${process.pid}.tmp`);
    writeFileSync(tmp, `${JSON.stringify(value)}\n`, { mode: 0o600 });
    renameSync(tmp, join(this.dir, name));
  }
}
