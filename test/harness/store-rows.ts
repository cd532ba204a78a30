// Rows and inputs that store and service tests build again and again: a registered instance, and
// a RunCommand naming instances. Each test overrides only what it is about.
import type { RunCommandInput } from '../../control-plane/services/invocations.js';
import type { InstanceTable } from '../../control-plane/store/index.js';

/** A registered, live managed instance (no heartbeat yet). */
export function instanceRow(instanceId: string, o: Partial<InstanceTable> = {}): InstanceTable {
  return {
    instance_id: instanceId,
    activation_id: 'a',
    machine_id: 'm',
    instance_name: instanceId,
    hostname: 'h',
    intranet_ip: '127.0.0.1',
    os_type: 'linux',
    os_version: '',
    agent_version: '',
    public_key: '',
    region_id: 'cn-local',
    tags: '[]',
    registered_at: 0,
    last_heartbeat_at: null,
    last_invoked_at: null,
    deregistered_at: null,
    ...o,
  };
}

/** RunCommand of a plain shell script, once, to `instanceIds`. */
export function runCommandInput(instanceIds: string[], o: Partial<RunCommandInput> = {}): RunCommandInput {
  return {
    instanceIds,
    type: 'RunShellScript',
    commandContent: 'echo hi',
    contentEncoding: 'PlainText',
    name: '',
    description: '',
    workingDir: '',
    timeout: 10,
    enableParameter: false,
    parameters: {},
    username: '',
    keepCommand: false,
    repeatMode: 'Once',
    clientToken: undefined,
    ...o,
  };
}
