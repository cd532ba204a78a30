// Heartbeat (spec/luban-protocol.md §8).
import { HEARTBEAT_INTERVAL_MAX_MS, HEARTBEAT_INTERVAL_MIN_MS } from './constants.js';
import { goQueryEscape } from './reports.js';

export interface HeartbeatQuery {
  uptime: number;
  timestamp: number;
  pid: number;
  processUptime: number;
  index: number;
  seqNo: number;
  /** Sent only before the first success (index 0). */
  first?: { osVersion: string; az: string; machineId: string; coldStart: boolean };
}

export function buildHeartbeatQuery(q: HeartbeatQuery): string {
  let s =
    `uptime=${q.uptime}&timestamp=${q.timestamp}&pid=${q.pid}&process_uptime=${q.processUptime}` +
    `&index=${q.index}&seq_no=${q.seqNo}`;
  if (q.first) {
    s +=
      `&virt_type=kvm&os_version=${goQueryEscape(q.first.osVersion)}&az=${q.first.az}` +
      `&machineid=${q.first.machineId}&cold_start=${q.first.coldStart}`;
  }
  return s;
}

export interface HeartbeatResponse {
  code: number;
  instanceId?: string;
  nextInterval: number;
  errMsg?: string;
}

/** The agent's rule: a `nextInterval` outside [55 s, 65 s] is replaced by a random value inside it. */
export function clampHeartbeatInterval(v: unknown, random: () => number = Math.random): number {
  if (typeof v === 'number' && v >= HEARTBEAT_INTERVAL_MIN_MS && v <= HEARTBEAT_INTERVAL_MAX_MS) {
    return v;
  }
  return HEARTBEAT_INTERVAL_MIN_MS + Math.floor(random() * (HEARTBEAT_INTERVAL_MAX_MS - HEARTBEAT_INTERVAL_MIN_MS));
}
