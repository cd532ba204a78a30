// acs-plugin-manager's log, `<VER>/log/acs_plugin_manager.log` (stock name): one JSON line per
// event, like the agent's logs, appended synchronously so a short-lived run that exits at once
// loses nothing. A user who may not write there gets no log and no error.
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export type RunLog = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

export function pluginRunLog(file: string): RunLog {
  let usable = true;
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  } catch {
    usable = false;
  }
  return (level, msg, fields = {}) => {
    if (!usable) {
      return;
    }
    try {
      appendFileSync(
        file,
        `${JSON.stringify({ level, message: msg, ...fields, pid: process.pid, timestamp: new Date().toISOString() })}\n`,
        { mode: 0o600 },
      );
    } catch {
      usable = false;
    }
  };
}
