// The updater's timings and how the agent is supervised, from the environment it inherits from the
// agent (pure; every problem reported at once).
import { AgentError, LIVENESS_FILE_ENV } from '../shared/index.js';

/** Who starts the agent again once the updater has stopped it. */
export type Supervisor = 'systemd' | 'watchdog' | 'none';

export interface UpdaterSettings {
  /** How long a new version has to start and reach the control plane before it is rolled back. */
  healthTimeoutMs: number;
  downloadTimeoutMs: number;
  /** How long to wait for running tasks to finish before giving up until the next check. */
  taskWaitMs: number;
  pollMs: number;
  /** update_install's limit (stock: 120 s). */
  scriptTimeoutMs: number;
  /** SIGTERM → SIGKILL for the old agent (it stops within 10 s, 15 s at most). */
  stopGraceMs: number;
  supervisor: Supervisor;
}

export const HEALTH_TIMEOUT_ENV = 'ALIYUN_ASSIST_UPDATE_HEALTH_MS';

export const DEFAULT_UPDATER_SETTINGS: Omit<UpdaterSettings, 'supervisor'> = Object.freeze({
  healthTimeoutMs: 120_000,
  downloadTimeoutMs: 120_000,
  taskWaitMs: 30 * 60_000,
  pollMs: 1_000,
  scriptTimeoutMs: 120_000,
  stopGraceMs: 20_000,
});

export function loadUpdaterSettings(env: Readonly<Record<string, string | undefined>>): UpdaterSettings {
  const raw = env[HEALTH_TIMEOUT_ENV]?.trim();
  let healthTimeoutMs = DEFAULT_UPDATER_SETTINGS.healthTimeoutMs;
  if (raw) {
    healthTimeoutMs = Number(raw);
    if (!Number.isInteger(healthTimeoutMs) || healthTimeoutMs < 1000) {
      throw new AgentError('CONFIG_INVALID', `${HEALTH_TIMEOUT_ENV} must be an integer >= 1000`, {
        details: { issues: [`${HEALTH_TIMEOUT_ENV} must be an integer >= 1000`] },
      });
    }
  }
  return Object.freeze({ ...DEFAULT_UPDATER_SETTINGS, healthTimeoutMs, supervisor: supervisorOf(env) });
}

/**
 * systemd sets INVOCATION_ID for every unit it runs (and the updater inherits it from the agent);
 * the watchdog hands the agent its liveness file. Without either the agent was started by hand or
 * by an init script, and the updater starts the new version itself when it had to stop the old.
 */
export function supervisorOf(env: Readonly<Record<string, string | undefined>>): Supervisor {
  if (env['INVOCATION_ID']) {
    return 'systemd';
  }
  return env[LIVENESS_FILE_ENV] ? 'watchdog' : 'none';
}
