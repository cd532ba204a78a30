// The two decisions of a self-update, as pure functions: whether an update_check answer is worth
// running the updater for, and whether a switched-to version is healthy, still starting, or failed
// (and must be rolled back).
import { compareVersions, versionFromUpdateUrl, type UpdateCheckResponse } from '../../protocol/index.js';
import type { PackageRef } from './stage.js';
import type { BadVersions, StartedMark } from './update-state.js';

export type SkipReason =
  /** need_update 0. */
  | 'no-update'
  /** need_update set, but no usable package (no URL or MD5, no version in the URL). */
  | 'invalid-offer'
  /** The offered version is the running one or older: never go back on the server's word alone. */
  | 'not-newer'
  /** The version failed its health check here before. */
  | 'failed-before';

export type UpdateDecision =
  { action: 'install'; version: string; pkg: PackageRef } | { action: 'skip'; reason: SkipReason; version?: string };

export function decideUpdate(o: {
  response: UpdateCheckResponse;
  currentVersion: string;
  badVersions: BadVersions;
}): UpdateDecision {
  const info = o.response.update_info;
  if (o.response.need_update === 0) {
    return { action: 'skip', reason: 'no-update' };
  }
  const version = info?.url ? versionFromUpdateUrl(info.url) : undefined;
  if (!info || !info.md5 || version === undefined) {
    return { action: 'skip', reason: 'invalid-offer' };
  }
  if (compareVersions(version, o.currentVersion) <= 0) {
    return { action: 'skip', reason: 'not-newer', version };
  }
  if (Object.hasOwn(o.badVersions, version)) {
    return { action: 'skip', reason: 'failed-before', version };
  }
  return {
    action: 'install',
    version,
    pkg: { url: info.url, md5: info.md5, ...(info.sha256 ? { sha256: info.sha256 } : {}) },
  };
}

export type HealthVerdict = 'healthy' | 'waiting' | 'failed';

/**
 * A switch to `target` succeeded once an agent of that version, other than the one that ran before
 * (`previousPid`), has written its started mark (it reached the control plane) and is still alive.
 * Until `deadlineMs` it may still be starting; after it, the switch failed.
 */
export function healthVerdict(o: {
  target: string;
  started: StartedMark | undefined;
  previousPid: number | undefined;
  isAlive: (pid: number) => boolean;
  nowMs: number;
  deadlineMs: number;
}): HealthVerdict {
  const s = o.started;
  if (s !== undefined && s.version === o.target && s.pid !== o.previousPid && o.isAlive(s.pid)) {
    return 'healthy';
  }
  return o.nowMs < o.deadlineMs ? 'waiting' : 'failed';
}
