// Table types of the control plane's store. Times are ms since the epoch; booleans are 0/1.
import type { Generated } from 'kysely';
import type { ParameterTable, ParameterTagTable, ParameterVersionTable } from './parameter-tables.js';
export type { ParameterTable, ParameterTagTable, ParameterVersionTable } from './parameter-tables.js';
import type { InstancePluginTable, PluginVersionTable } from './plugin-tables.js';
import type { TerminalSessionConnectionTable, TerminalSessionTable } from './session-tables.js';
export type { TerminalSessionConnectionTable, TerminalSessionTable } from './session-tables.js';
import type {
  AuditLogTable,
  RamGroupMemberTable,
  RamGroupTable,
  RamPolicyAttachmentTable,
  RamPolicyTable,
  RamStateTable,
  RamUserTable,
} from './access-tables.js';

export interface AccessKeyTable {
  access_key_id: string;
  /** AES-256-GCM of the secret under the data dir's master key (HMAC checks need the secret itself). */
  secret_enc: string;
  description: string;
  created_at: number;
  disabled: number;
  /** The RAM user the key belongs to (0011); null for an account (root) key. */
  user_name: string | null;
}

export interface ApiNonceTable {
  nonce: string;
  access_key_id: string;
  expires_at: number;
}

/** Agent request ids (x-acs-request-id) seen within the signature window, per instance (0007). */
export interface AgentRequestIdTable {
  /** `<instanceId>:<requestId>`. */
  id: string;
  expires_at: number;
}

/** Which node holds an agent's notify socket, until `lease_until` unless renewed (0008). */
export interface AgentPresenceTable {
  instance_id: string;
  node_id: string;
  lease_until: number;
}

export interface ActivationTable {
  activation_id: string;
  /** SHA-256 of the activation code: the code itself is shown once and never stored. */
  code_hash: string;
  instance_name: string;
  description: string;
  ip_address_range: string;
  instance_count: number;
  registered_count: number;
  deregistered_count: number;
  ttl_hours: number;
  created_at: number;
  disabled: number;
}

export interface InstanceTable {
  instance_id: string;
  activation_id: string;
  machine_id: string;
  instance_name: string;
  hostname: string;
  intranet_ip: string;
  os_type: string;
  os_version: string;
  agent_version: string;
  public_key: string;
  region_id: string;
  tags: string;
  registered_at: number;
  last_heartbeat_at: number | null;
  last_invoked_at: number | null;
  deregistered_at: number | null;
}

export interface CommandTable {
  command_id: string;
  name: string;
  description: string;
  type: string;
  /** Base64 of the script, as the API and the agent carry it. */
  content: string;
  working_dir: string;
  timeout: number;
  enable_parameter: number;
  username: string;
  /** 0 for RunCommand without KeepCommand: such commands use no quota and are not listed. */
  kept: number;
  created_at: number;
  /** CreateCommand's idempotency token. */
  client_token: string | null;
}

export interface InvocationTable {
  invoke_id: string;
  command_id: string;
  command_name: string;
  command_type: string;
  command_content: string;
  command_description: string;
  parameters: string;
  repeat_mode: string;
  frequency: string;
  timed: number;
  username: string;
  working_dir: string;
  timeout: number;
  enable_parameter: number;
  client_token: string | null;
  created_at: number;
  /** Base64 of the content before custom parameters were substituted (command_content is what runs). */
  command_template: string;
  windows_password_name: string;
  /** Hash of the request that created it, to tell a ClientToken retry from a reuse. */
  request_fingerprint: string;
  /** Aggregated status (`InvocationStatus` of DescribeInvocations), implied by the counters below. */
  status: string;
  /** Records per coarse status (`InvokeRecordStatus`); kept in step with every record transition. */
  n_pending: number;
  n_running: number;
  n_stopping: number;
  n_stopped: number;
  n_finished: number;
  n_failed: number;
  /** Records waiting for their first scheduled or boot-time run (0004). */
  n_scheduled: number;
  /** What periodic invocations carry on the wire (0004): `repeat` (Period|Rate|At) and `cron`; '' otherwise. */
  wire_repeat: string;
  wire_cron: string;
  /** The task's `invokeVersion`: bumped when the schedule or content of a periodic invocation changes. */
  invoke_version: number;
}

export interface InvocationInstanceTable {
  invoke_id: string;
  instance_id: string;
  /** Detailed per-instance status (`InvocationStatus`): Pending, Running, Success, Failed, Timeout, … */
  status: string;
  exit_code: number | null;
  output: Buffer;
  dropped: number;
  error_code: string;
  error_info: string;
  repeats: number;
  creation_time: number;
  update_time: number;
  start_time: number | null;
  finish_time: number | null;
  stop_time: number | null;
  delivered_at: number | null;
  /** The `invokeVersion` the agent last got in a `run` entry (0004); null before any delivery. */
  delivered_version: number | null;
}

/**
 * One run of a periodic (Period/Rate/At) or EveryReboot execution (0004). The agent's `start` time
 * of the run is part of the key, so a re-sent report of the same run is recorded once.
 */
export interface InvocationRunTable {
  invoke_id: string;
  instance_id: string;
  /** The run's start as the agent reported it (ms); the idempotency key of the run. */
  run_start: number;
  /** 1 for the first run of this execution, 2 for the next, … (`Repeats` of this run). */
  repeat_no: number;
  status: string;
  exit_code: number | null;
  output: Buffer;
  dropped: number;
  error_code: string;
  error_info: string;
  creation_time: number;
  update_time: number;
  start_time: number | null;
  finish_time: number | null;
  stop_time: number | null;
}

export interface TagTable {
  /** `command` or `invocation`. */
  resource_type: string;
  resource_id: string;
  tag_key: string;
  tag_value: string;
}

export interface Database {
  access_keys: AccessKeyTable;
  api_nonces: ApiNonceTable;
  agent_request_ids: AgentRequestIdTable;
  agent_presence: AgentPresenceTable;
  activations: ActivationTable;
  instances: InstanceTable;
  commands: CommandTable;
  invocations: InvocationTable;
  invocation_instances: InvocationInstanceTable;
  invocation_runs: InvocationRunTable;
  file_sends: FileSendTable;
  file_send_instances: FileSendInstanceTable;
  tags: TagTable;
  parameters: ParameterTable;
  parameter_versions: ParameterVersionTable;
  parameter_tags: ParameterTagTable;
  terminal_sessions: TerminalSessionTable;
  terminal_session_connections: TerminalSessionConnectionTable;
  ram_users: RamUserTable;
  ram_policies: RamPolicyTable;
  ram_policy_attachments: RamPolicyAttachmentTable;
  ram_groups: RamGroupTable;
  ram_group_members: RamGroupMemberTable;
  ram_state: RamStateTable;
  audit_log: AuditLogTable;
  plugin_versions: PluginVersionTable;
  instance_plugins: InstancePluginTable;
  schema_notes: { id: Generated<number>; note: string };
}

/** One SendFile call (0005). `content` is the file as base64, whatever ContentType the call used. */
export interface FileSendTable {
  invoke_id: string;
  name: string;
  description: string;
  content: string;
  content_type: string;
  target_dir: string;
  file_owner: string;
  file_group: string;
  file_mode: string;
  overwrite: number;
  timeout: number;
  client_token: string | null;
  request_fingerprint: string;
  created_at: number;
}

/** A SendFile's record on one instance (0005): Pending → Running (handed out) → Success|Failed|Invalid|Timeout, or Aborted. */
export interface FileSendInstanceTable {
  invoke_id: string;
  instance_id: string;
  status: string;
  error_code: string;
  error_info: string;
  creation_time: number;
  update_time: number;
  start_time: number | null;
  finish_time: number | null;
}
