// Serves the console's static assets under /console/. The console is a plain client of the
// operator OpenAPI: it signs its own requests, so nothing here needs a session.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';

const TYPES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.generated.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
};

export function consoleRoutes(assetsDir: string) {
  const files = new Map(
    Object.entries(TYPES).map(([name, type]) => [name, { type, body: readFileSync(join(assetsDir, name)) }]),
  );
  return async (app: FastifyInstance): Promise<void> => {
    app.get('/console', async (_req, reply) => reply.redirect('/console/'));
    app.get('/console/', async (_req, reply) => send(reply, 'index.html'));
    app.get<{ Params: { file: string } }>('/console/:file', async (req, reply) => send(reply, req.params.file));
    function send(reply: FastifyReply, name: string) {
      const f = files.get(name);
      if (!f) {
        return reply.code(404).type('text/plain').send('not found');
      }
      return reply
        .type(f.type)
        .header('Cache-Control', 'no-cache')
        .header(
          'Content-Security-Policy',
          "default-src 'self'; style-src 'self'; script-src 'self'; connect-src 'self'",
        )
        .send(f.body);
    }
  };
}
