// A large fleet for listing tests and benchmarks: managed-instance rows written straight into the
// control plane's store in one transaction (registering 10,000 real agents would take an hour).
// The rows are what a registration writes; none of them has an agent behind it.
import type { Db, InstanceTable } from '../../control-plane/store/index.js';

export interface FleetOptions {
  /** Names are `<prefix>-00001` …; ids `mi-fleet<prefix>00001` …. */
  prefix?: string;
  /** Registration times count up from here, one millisecond apart (the last is the newest). */
  startMs?: number;
  activationId?: string;
}

export function fleetInstanceId(prefix: string, i: number): string {
  return `mi-fleet${prefix}${String(i).padStart(5, '0')}`;
}

export async function seedFleet(db: Db, count: number, o: FleetOptions = {}): Promise<string[]> {
  const prefix = o.prefix ?? 'web';
  const startMs = o.startMs ?? Date.UTC(2026, 0, 1);
  const rows: InstanceTable[] = [];
  for (let i = 1; i <= count; i++) {
    rows.push({
      instance_id: fleetInstanceId(prefix, i),
      activation_id: o.activationId ?? 'act-fleet',
      machine_id: `machine-${prefix}-${i}`,
      instance_name: `${prefix}-${String(i).padStart(5, '0')}`,
      hostname: `${prefix}-${i}.example`,
      intranet_ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      // Every tenth machine runs Windows, so an OsType filter has something to pick.
      os_type: i % 10 === 0 ? 'windows' : 'linux',
      os_version: i % 10 === 0 ? 'Windows Server 2022' : 'Debian 12',
      agent_version: '2.1.0.1',
      public_key: 'not-a-key',
      region_id: 'cn-local',
      tags: '[]',
      registered_at: startMs + i,
      last_heartbeat_at: null,
      last_invoked_at: null,
      deregistered_at: null,
    });
  }
  await db.transaction().execute(async (tx) => {
    // SQLite binds at most 32,766 values per statement: 500 rows × 16 columns stays under it.
    for (let i = 0; i < rows.length; i += 500) {
      await tx
        .insertInto('instances')
        .values(rows.slice(i, i + 500))
        .execute();
    }
  });
  return rows.map((r) => r.instance_id);
}
