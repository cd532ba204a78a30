/// <reference lib="dom" />
// What every page gets from the shell: the signed API of the current sign-in and navigation.
import type { Api } from './api.js';

export interface ConsoleContext {
  /** The API of the signed-in key (throws when signed out). */
  api: () => Api;
  /** Opens the Results page on one invocation. */
  showInvocation: (invokeId: string) => void;
  /** Opens a terminal session on an instance (the Sessions page). */
  connect: (instanceId: string) => void;
}

/** A tab's page: shown when its tab opens; hidden pages stop polling. */
export interface Page {
  show(): Promise<void>;
  hide(): void;
}
