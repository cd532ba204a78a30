// Polls a condition until it holds or the time runs out (then throws, naming what was awaited).
export async function eventually<T>(
  probe: () => T | Promise<T>,
  o: { timeoutMs?: number; intervalMs?: number; what?: string; until?: (v: T) => boolean } = {},
): Promise<T> {
  const deadline = Date.now() + (o.timeoutMs ?? 10_000);
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
