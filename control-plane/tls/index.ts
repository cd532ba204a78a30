export { ensureTls, CA_COMMON_NAME, TLS_SUBDIR } from './ensure-tls.js';
export type { TlsMaterial, TlsOptions } from './ensure-tls.js';
