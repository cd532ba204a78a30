// Polls a condition until it holds or the time runs out (then throws, naming what was awaited).
//
// A deadline is the window in which the awaited thing is correct plus generous slack for a loaded
// machine (the whole suite runs two files at once on two cores), never the exact period a test
// checks: waiting for two runs of a 10-second schedule takes `2 * 10_000 + SLACK_MS`, not 20 s.
// Waiting longer costs nothing when the condition holds; a deadline that is too short fails a
// correct program.

/** Slack added to a correctness window for a loaded test machine. */
export const SLACK_MS = 30_000;

export async function eventually<T>(
  probe: () => T | Promise<T>,
  o: { timeoutMs?: number; intervalMs?: number; what?: string; until?: (v: T) => boolean } = {},
): Promise<T> {
  // The default suits things that happen "at once" (a connect, a process exit, a report).
  const deadline = Date.now() + (o.timeoutMs ?? SLACK_MS);
  const ok = o.until ?? ((v: T) => Boolean(v));
  let last: T | undefined;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      last = await probe();
      if (ok(last)) {
        return last;
      }
    } catch (e) {
      lastErr = e;
    }
    await new Promise((r) => setTimeout(r, o.intervalMs ?? 100));
  }
  throw new Error(`timed out waiting for ${o.what ?? 'a condition'}; last value: ${JSON.stringify(last)}`, {
    cause: lastErr,
  });
}
