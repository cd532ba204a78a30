// Session Manager tables (migration 0014_sessions): one row per terminal session, one per client
// connection to it. Kept apart from schema.ts/migrations.ts so the feature's store is one file.
import type { Kysely, Migration } from 'kysely';

/**
 * One StartTerminalSession (0014). status: Pending (agent kicked) → Connected (the agent's data
 * channel is open) → Ended. `end_reason` is the agent's `errorcode` (Ok, Timeout, Notified, …) or
 * the server's own reason (EndedByUser, ClientClosed, AgentLost, DeliveryTimeout).
 */
export interface TerminalSessionTable {
  session_id: string;
  instance_id: string;
  command_line: string;
  /** 0: no port forwarding. */
  port_number: number;
  target_server: string;
  username: string;
  connection_type: string;
  status: string;
  /** Who started it (the AccessKey id of the call), and the address its client connected from. */
  access_key_id: string;
  client_ip: string;
  /** SHA-256 of the WebSocket token (the token itself is returned once, never stored). */
  token_hash: string;
  token_expires_at: number;
  /** 1 once a client WebSocket has used the token (single use). */
  token_used: number;
  created_at: number;
  ended_at: number | null;
  end_reason: string;
  /** `Success` / `Failed` as the agent reported it; empty until it does. */
  agent_status: string;
  /** Relative path of the recording under the data dir, when recording was on. */
  recording: string;
  /** `https://host:port` of the node holding the agent's data channel (clusters bridge to it). */
  agent_node_url: string;
}

/** One client WebSocket on a session (0014): who, when, from where, how long, how it ended. */
export interface TerminalSessionConnectionTable {
  connection_id: string;
  session_id: string;
  instance_id: string;
  access_key_id: string;
  client_ip: string;
  /** Connected → Closed | Failed. */
  status: string;
  started_at: number;
  ended_at: number | null;
  closed_reason: string;
  failed_detail: string;
}

export const sessionsMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('terminal_sessions')
      .addColumn('session_id', 'varchar(32)', (c) => c.primaryKey())
      .addColumn('instance_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('command_line', 'text', (c) => c.notNull())
      .addColumn('port_number', 'integer', (c) => c.notNull())
      .addColumn('target_server', 'text', (c) => c.notNull())
      .addColumn('username', 'text', (c) => c.notNull())
      .addColumn('connection_type', 'text', (c) => c.notNull())
      .addColumn('status', 'varchar(16)', (c) => c.notNull())
      .addColumn('access_key_id', 'text', (c) => c.notNull())
      .addColumn('client_ip', 'text', (c) => c.notNull())
      .addColumn('token_hash', 'varchar(64)', (c) => c.notNull())
      .addColumn('token_expires_at', 'bigint', (c) => c.notNull())
      .addColumn('token_used', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('ended_at', 'bigint')
      .addColumn('end_reason', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('agent_status', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('recording', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('agent_node_url', 'text', (c) => c.notNull().defaultTo(''))
      .execute();
    await db.schema
      .createIndex('terminal_sessions_instance')
      .on('terminal_sessions')
      .columns(['instance_id', 'created_at'])
      .execute();
    await db.schema.createIndex('terminal_sessions_created').on('terminal_sessions').column('created_at').execute();
    await db.schema
      .createTable('terminal_session_connections')
      .addColumn('connection_id', 'varchar(40)', (c) => c.primaryKey())
      .addColumn('session_id', 'varchar(32)', (c) => c.notNull())
      .addColumn('instance_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('access_key_id', 'text', (c) => c.notNull())
      .addColumn('client_ip', 'text', (c) => c.notNull())
      .addColumn('status', 'varchar(16)', (c) => c.notNull())
      .addColumn('started_at', 'bigint', (c) => c.notNull())
      .addColumn('ended_at', 'bigint')
      .addColumn('closed_reason', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('failed_detail', 'text', (c) => c.notNull().defaultTo(''))
      .execute();
    await db.schema
      .createIndex('terminal_session_connections_session')
      .on('terminal_session_connections')
      .column('session_id')
      .execute();
  },
};
