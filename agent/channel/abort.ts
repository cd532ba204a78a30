// Small AbortSignal helper shared by this module.

/** Resolves when the signal aborts (at once if it already has). Never rejects. */
export function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      return resolve();
    }
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}
