// agent/http: the agent's HTTPS client of the control plane (system CAs plus the configured CA,
// identity headers, stock timeouts) and the HTTP proxy tunnel it can go through. Apart from
// agent/shared so that programs without a network client (the watchdog) do not load http, https,
// tls and crypto.
export { HttpClient, type HttpClientOptions, type HttpRequest, type HttpResponse } from './http-client.js';
export { openTunnel, ProxyTunnelAgent } from './proxy.js';
