// ALIYUN_ASSIST_PROXY's value, parsed: what the configuration reads and the HTTPS client's proxy
// tunnel (agent/http/proxy.ts) uses. No network module here: agent/shared stays free of them.
import { AgentError } from './errors.js';

export interface ProxySettings {
  host: string;
  port: number;
  /** `Proxy-Authorization` value when the URL carries user:password. */
  authorization: string | undefined;
  /** The URL without its password, for logs. */
  display: string;
}

/** Parses `http://[user:password@]host[:port]`; the default port is 80. Throws CONFIG_INVALID otherwise. */
export function parseProxyUrl(value: string): ProxySettings {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new AgentError('CONFIG_INVALID', `ALIYUN_ASSIST_PROXY is not a URL: ${redactPassword(value)}`);
  }
  if (url.protocol !== 'http:' || url.hostname === '' || (url.pathname !== '/' && url.pathname !== '')) {
    throw new AgentError(
      'CONFIG_INVALID',
      `ALIYUN_ASSIST_PROXY must be http://[user:password@]host[:port], got ${redactPassword(value)}`,
    );
  }
  const user = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return {
    host: hostname,
    port: url.port === '' ? 80 : Number(url.port),
    authorization:
      user || password ? `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}` : undefined,
    display: `http://${url.username ? `${url.username}@` : ''}${url.host}`,
  };
}

function redactPassword(value: string): string {
  return value.replace(/^(\w+:\/\/[^:/@]*):[^@/]*@/, '$1:***@');
}
