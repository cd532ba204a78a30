// The Session Manager as the agent runs it: this platform's PTY, the task containment, the
// configured limits and default-user policy.
import type { AgentConfig } from '../config/index.js';
import { findSetpriv, type ProcessContainment } from '../executor/index.js';
import type { Logger } from '../shared/index.js';
import type { HttpClient } from '../http/index.js';
import { sessionBackends } from './backend-factory.js';
import { conptyWindows } from './conpty.js';
import { nodePtyPosix } from './node-pty-posix.js';
import { STOCK_SESSION_LIMITS } from './session.js';
import { SessionManager } from './session-manager.js';
import { DEFAULT_SESSION_USER, DEFAULT_SUDOERS_DIR } from './session-user.js';

export interface CreateSessionManagerOptions {
  host: string;
  http: HttpClient;
  log: Logger;
  config: Pick<AgentConfig, 'sessionIdleMs' | 'sessionMaxMs' | 'sessionUserSudo'>;
  containment: ProcessContainment;
  platform?: NodeJS.Platform;
}

export function createSessionManager(o: CreateSessionManagerOptions): SessionManager {
  const platform = o.platform ?? process.platform;
  return new SessionManager({
    host: o.host,
    http: o.http,
    log: o.log,
    limits: { ...STOCK_SESSION_LIMITS, idleMs: o.config.sessionIdleMs, maxMs: o.config.sessionMaxMs },
    backends: sessionBackends({
      pty: platform === 'win32' ? conptyWindows() : nodePtyPosix(),
      containment: o.containment,
      user: {
        defaultUser: DEFAULT_SESSION_USER,
        sudoRule: o.config.sessionUserSudo,
        sudoersDir: DEFAULT_SUDOERS_DIR,
        platform,
      },
      command: {
        platform,
        setpriv: platform === 'win32' ? undefined : findSetpriv(),
        agentUid: process.getuid?.(),
        agentGid: process.getgid?.(),
      },
    }),
  });
}
