// Exponential backoff with full jitter, and an abortable sleep.

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  factor?: number;
  /** Full jitter spreads reconnect storms after a control-plane restart. */
  jitter?: boolean;
  random?: () => number;
}

export function backoffDelay(attempt: number, o: BackoffOptions): number {
  const raw = Math.min(o.maxMs, o.initialMs * (o.factor ?? 2) ** attempt);
  if (o.jitter === false) {
    return raw;
  }
  const r = (o.random ?? Math.random)();
  return Math.round(raw / 2 + (raw / 2) * r);
}

/** Resolves after ms, or early (without throwing) when the signal aborts. Returns false when aborted. */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      return resolve(false);
    }
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      resolve(false);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
