// Picks a session's backend: port forwarding when `portNumber` is set, else the PTY.
import type { BackendFactory } from './backend.js';
import { startPort } from './port-backend.js';
import { startShell, type ShellBackendDeps } from './shell-backend.js';

export function sessionBackends(shell: ShellBackendDeps): BackendFactory {
  return {
    start: (task, ctx) => (task.portNumber !== '' ? startPort(task, ctx) : startShell(shell, task, ctx)),
  };
}
