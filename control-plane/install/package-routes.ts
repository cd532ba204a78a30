// Serves the agent packages (scripts/build-packages.ts output: .deb, .rpm, zips, SHA256SUMS,
// MD5SUMS) read-only under /assist/packages/<file>, for the install scripts. Only plain file names
// of regular files directly in the directory are served: no paths, no dot files, no symlinks out.
import { createReadStream } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { PACKAGES_PATH } from './install-scripts.js';

/** A file name the route serves: starts with a letter or digit, then letters, digits and `._+-`. */
const FILE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,199}$/;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.deb': 'application/vnd.debian.binary-package',
  '.rpm': 'application/x-rpm',
  '.zip': 'application/zip',
  '.txt': 'text/plain; charset=utf-8',
};
const TEXT_FILES = new Set(['SHA256SUMS', 'MD5SUMS']);

export function contentTypeOf(name: string): string {
  if (TEXT_FILES.has(name)) {
    return 'text/plain; charset=utf-8';
  }
  return CONTENT_TYPES[extname(name).toLowerCase()] ?? 'application/octet-stream';
}

export function packageRoutes(dir: string) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get<{ Params: { name: string } }>(`${PACKAGES_PATH}/:name`, async (req, reply) => {
      const name = req.params.name;
      if (!FILE_NAME_RE.test(name) || name.includes('..')) {
        return reply.code(404).send({ code: 404, errMsg: 'no such package' });
      }
      const path = join(dir, name);
      const st = await lstat(path).catch(() => undefined);
      if (!st?.isFile()) {
        return reply.code(404).send({ code: 404, errMsg: 'no such package' });
      }
      return reply
        .header('Content-Type', contentTypeOf(name))
        .header('Content-Length', String(st.size))
        .header('X-Content-Type-Options', 'nosniff')
        .header('Cache-Control', 'no-cache')
        .header('Last-Modified', st.mtime.toUTCString())
        .send(createReadStream(path));
    });
  };
}
