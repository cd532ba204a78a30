// agent/session: the Session Manager (interactive shell and port forwarding over the
// `/luban/session/backend` data channel, spec/luban-protocol.md §6).
export { SessionStartError, type BackendContext, type BackendFactory, type SessionBackend } from './backend.js';
export { sessionBackends } from './backend-factory.js';
export { createSessionManager, type CreateSessionManagerOptions } from './create-session-manager.js';
export { conptyCommand, conptySpawnOptions, conptyWindows, WINDOWS_DEFAULT_SHELL } from './conpty.js';
export { STOCK_PING_INTERVAL_MS, STOCK_RECONNECT, type ReconnectPolicy } from './data-channel.js';
export { nodePtyPosix } from './node-pty-posix.js';
export { OutputPump, pacingFor, UNPACED_CHUNK_BYTES, type Pacing, type SessionMode } from './output-pump.js';
export { DEFAULT_PTY_SIZE, type PtyExit, type PtyPort, type PtyProcess, type PtySpawnSpec } from './pty-port.js';
export { Session, STOCK_SESSION_LIMITS, type SessionLimits } from './session.js';
export { sessionCommand, SESSION_TERM, type SessionCommand, type SessionCommandContext } from './session-command.js';
export { SessionManager, type SessionManagerOptions } from './session-manager.js';
export {
  applySudoRule,
  DEFAULT_SESSION_USER,
  DEFAULT_SUDOERS_DIR,
  resolveSessionUser,
  SessionUserError,
  sudoRuleText,
  type SessionUserOptions,
} from './session-user.js';
export type { ShellBackendDeps } from './shell-backend.js';
export { utf8SafeLength } from './utf8-cut.js';
