// Timings and fixed values of the stock Go agent that the simulated agents copy, with where the
// spec states them (spec/luban-protocol.md). One place, so a reader can check them against the spec.
export const Stock = {
  /** `User-Agent` version of the simulated agents (official Linux build, §14). */
  agentVersion: '2.2.3.578',
  /** Default HTTP timeout; task-list fetches 8 s (§1.1, §12). */
  httpTimeoutMs: 5_000,
  fetchTimeoutMs: 8_000,
  /** Fetch: 3 retries 2 s apart on error; `code 408` → wait 2 s, up to 4 rounds (§5.1). */
  fetchRetries: 3,
  fetchRetryDelayMs: 2_000,
  fetch408Rounds: 4,
  /** A kick-triggered fetch that returns nothing is fetched once more after 3 s (§4.3). */
  emptyKickRefetchMs: 3_000,
  /** Final reports (finish/timeout/error/stopped/invalid): 3 retries 2 s apart (§5.6). */
  reportRetries: 3,
  reportRetryDelayMs: 2_000,
  /** After the script's process exits the agent drains its pipes for 200 ms (§5.6 step 7). */
  postExitDrainMs: 200,
  /** Bootstrap update check at startup: up to 3 attempts, 5 s apart (§9.1). */
  updateCheckAttempts: 3,
  updateCheckRetryDelayMs: 5_000,
  /** Heartbeat: 60 s until the server answers; startup makes up to 3 attempts; 3 s before a retry (§8). */
  heartbeatDefaultMs: 60_000,
  heartbeatStartupAttempts: 3,
  heartbeatRetryDelayMs: 3_000,
  heartbeatRetriesPerHour: 3,
  /** Notify WebSocket (§4.2, §12): handshake timeout, ping every 60 s with payload `keepalive`. */
  wsHandshakeTimeoutMs: 45_000,
  wsPingIntervalMs: 60_000,
  /** After the socket breaks: 5 read errors 1 s apart, then SwitchChannel (§4.1–4.2). */
  wsReadErrorLimit: 5,
  wsReadErrorDelayMs: 1_000,
  /** SwitchChannel: sleep 1 s, then 5 × (try, 5 s) (§12). */
  switchFirstDelayMs: 1_000,
  switchAttempts: 5,
  switchAttemptGapMs: 5_000,
  /** Dial cool-down: 1 failed dial → no dial for 60 s (hybrid agents never get the gshell override, §4.2). */
  wsCoolDownCount: 1,
  wsCoolDownMs: 60_000,
  /** The channel manager re-checks every 1800 s; with no channel up, that is the next dial (§4.1). */
  channelCheckMs: 1_800_000,
} as const;
