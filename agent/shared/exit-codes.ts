// The contract between the agent, the watchdog and the service units.
export const ExitCode = {
  Ok: 0,
  Fatal: 1,
  Retryable: 2,
  Usage: 64,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
