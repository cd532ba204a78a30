// Downloads an update package to a file: a plain GET (the stock agent sends no identity headers
// with it), HTTP 200 required, size-capped, time-limited, MD5 and SHA-256 computed on the way.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { HttpClient } from '../http/index.js';
import { UpdateError } from './update-errors.js';

export interface Downloaded {
  path: string;
  size: number;
  md5: string;
  sha256: string;
}

export const DEFAULT_MAX_PACKAGE_BYTES = 256 * 2 ** 20;

export async function downloadPackage(o: {
  url: string;
  file: string;
  http: HttpClient;
  timeoutMs: number;
  maxBytes?: number;
  signal?: AbortSignal;
}): Promise<Downloaded> {
  const maxBytes = o.maxBytes ?? DEFAULT_MAX_PACKAGE_BYTES;
  const url = new URL(o.url);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new UpdateError('DownloadPackageFailed', `unsupported URL scheme ${url.protocol}`);
  }
  const timeout = AbortSignal.timeout(o.timeoutMs);
  const signal = o.signal ? AbortSignal.any([o.signal, timeout]) : timeout;
  const md5 = createHash('md5');
  const sha256 = createHash('sha256');
  let size = 0;
  const out = createWriteStream(o.file, { flags: 'wx', mode: 0o600 });
  const opened = new Promise<void>((resolve, reject) => out.once('open', () => resolve()).once('error', reject));
  try {
    await opened;
    await new Promise<void>((resolve, reject) => {
      const fail = (e: UpdateError) => {
        req.destroy();
        reject(e);
      };
      const isHttps = url.protocol === 'https:';
      const req = (isHttps ? https : http).get(
        url,
        {
          signal,
          // Same trust as the agent API (system roots + ALIYUN_ASSIST_CERT_PATH), through the proxy if set.
          ...(isHttps
            ? { secureContext: o.http.secureContext(), agent: o.http.webSocketAgent() ?? false }
            : { agent: false }),
        },
        (res) => {
          if (res.statusCode !== 200) {
            res.resume();
            const reason = res.statusCode === 403 || res.statusCode === 401 ? 'AccessDenied' : undefined;
            fail(
              new UpdateError('DownloadPackageFailed', `GET ${url.pathname} answered ${res.statusCode}`, {
                ...(reason ? { reason } : {}),
              }),
            );
            return;
          }
          const declared = Number(res.headers['content-length'] ?? NaN);
          if (declared > maxBytes) {
            fail(new UpdateError('DownloadPackageFailed', `package is ${declared} bytes, more than ${maxBytes}`));
            return;
          }
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > maxBytes) {
              fail(new UpdateError('DownloadPackageFailed', `package is more than ${maxBytes} bytes`));
              return;
            }
            md5.update(c);
            sha256.update(c);
            if (!out.write(c)) {
              res.pause();
              out.once('drain', () => res.resume());
            }
          });
          res.on('end', () => {
            if (!res.complete || (Number.isFinite(declared) && size !== declared)) {
              fail(new UpdateError('DownloadPackageFailed', 'the download ended early', { reason: 'UnexpectedEOF' }));
              return;
            }
            out.end(() => resolve());
          });
          res.on('error', (e) => fail(downloadError(e, timeout)));
        },
      );
      req.on('error', (e) => fail(downloadError(e, timeout)));
      out.on('error', (e) =>
        fail(
          new UpdateError('DownloadPackageFailed', `cannot write ${o.file}: ${e.message}`, {
            ...((e as NodeJS.ErrnoException).code === 'ENOSPC' ? { reason: 'NoEnoughSpace' } : {}),
          }),
        ),
      );
    });
  } finally {
    out.destroy();
  }
  return { path: o.file, size, md5: md5.digest('hex'), sha256: sha256.digest('hex') };
}

function downloadError(e: Error, timeout: AbortSignal): UpdateError {
  if (timeout.aborted) {
    return new UpdateError('DownloadPackageFailed', 'the download timed out', { reason: 'NetworkTimeout', cause: e });
  }
  return new UpdateError('DownloadPackageFailed', e.message, { cause: e });
}
