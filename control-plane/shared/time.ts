// Times on the operator API are ISO 8601 UTC without milliseconds, as the stock API shows them.
export const isoTime = (ms: number | null | undefined): string =>
  ms === null || ms === undefined || ms === 0 ? '' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
