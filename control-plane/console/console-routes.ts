// Serves the console's static assets under /console/. The console is a plain client of the
// operator OpenAPI: it signs its own requests, so nothing here needs a session.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';

/**
 * On every response under /console: the page loads only its own files (styles may also be inline:
 * the terminal, xterm.js's DOM renderer, sizes its character grid and colours cells through
 * <style> elements and style attributes; scripts stay same-origin only), and no other site may
 * frame it (clickjacking: a framed console could be tricked into clicks that run commands) or
 * have a response sniffed into another type.
 */
const SECURITY_HEADERS = {
  'Content-Security-Policy':
    "default-src 'self'; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; " +
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
} as const;

const TYPES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.generated.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
  'xterm.css': 'text/css; charset=utf-8',
};

export function consoleRoutes(assetsDir: string) {
  const files = new Map(
    Object.entries(TYPES).map(([name, type]) => [name, { type, body: readFileSync(join(assetsDir, name)) }]),
  );
  return async (app: FastifyInstance): Promise<void> => {
    // Scoped to this plugin's routes: the OpenAPI and luban answers keep their own headers.
    app.addHook('onSend', async (_req, reply) => {
      reply.headers(SECURITY_HEADERS);
    });
    app.get('/console', async (_req, reply) => reply.redirect('/console/'));
    app.get('/console/', async (_req, reply) => send(reply, 'index.html'));
    app.get<{ Params: { file: string } }>('/console/:file', async (req, reply) => send(reply, req.params.file));
    function send(reply: FastifyReply, name: string) {
      const f = files.get(name);
      if (!f) {
        return reply.code(404).type('text/plain').send('not found');
      }
      return reply.type(f.type).header('Cache-Control', 'no-cache').send(f.body);
    }
  };
}
