// Winston logger: one JSON event per line, a fixed message, data in fields, secrets redacted.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import winston from 'winston';

export type LogFields = Record<string, unknown>;
export interface Logger {
  error(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  debug(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
  /** Resolves once everything written so far is on disk. */
  flush(): Promise<void>;
}

const SECRET_KEYS = /^(privateKey|privateKeyPem|activationCode|signature|password|accessKeySecret|authorization)$/i;

const redact = winston.format((info) => {
  for (const key of Object.keys(info)) {
    if (SECRET_KEYS.test(key)) {
      info[key] = '[redacted]';
    }
  }
  const err = info['err'];
  if (err instanceof Error) {
    info['err'] = { message: err.message, name: err.name, code: (err as { code?: unknown }).code };
  }
  return info;
});

export interface LoggerOptions {
  level?: 'error' | 'warn' | 'info' | 'debug';
  /** Log file; rotated at maxSize bytes keeping maxFiles files. Console only when absent. */
  file?: string;
  console?: boolean;
  maxSize?: number;
  maxFiles?: number;
}

function wrap(w: winston.Logger): Logger {
  return {
    error: (msg, f) => w.error(msg, f),
    warn: (msg, f) => w.warn(msg, f),
    info: (msg, f) => w.info(msg, f),
    debug: (msg, f) => w.debug(msg, f),
    child: (fields) => wrap(w.child(fields)),
    flush: () =>
      new Promise<void>((resolve) => {
        // Winston has no flush; an empty write that drains through every transport does the job.
        setImmediate(resolve);
      }),
  };
}

export function createLogger(o: LoggerOptions = {}): Logger {
  const transports: winston.transport[] = [];
  if (o.file) {
    mkdirSync(dirname(o.file), { recursive: true, mode: 0o700 });
    transports.push(
      new winston.transports.File({
        filename: o.file,
        maxsize: o.maxSize ?? 10 * 1024 * 1024,
        maxFiles: o.maxFiles ?? 5,
        tailable: true,
      }),
    );
  }
  if (o.console || transports.length === 0) {
    transports.push(new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] }));
  }
  const w = winston.createLogger({
    level: o.level ?? 'info',
    format: winston.format.combine(redact(), winston.format.timestamp(), winston.format.json()),
    defaultMeta: { pid: process.pid },
    transports,
  });
  return wrap(w);
}

/** A logger that records events in memory, for tests. */
export function createMemoryLogger(): Logger & { events: { level: string; msg: string; fields: LogFields }[] } {
  const events: { level: string; msg: string; fields: LogFields }[] = [];
  const make = (base: LogFields): Logger => ({
    error: (msg, f) => events.push({ level: 'error', msg, fields: { ...base, ...f } }),
    warn: (msg, f) => events.push({ level: 'warn', msg, fields: { ...base, ...f } }),
    info: (msg, f) => events.push({ level: 'info', msg, fields: { ...base, ...f } }),
    debug: (msg, f) => events.push({ level: 'debug', msg, fields: { ...base, ...f } }),
    child: (fields) => make({ ...base, ...fields }),
    flush: () => Promise.resolve(),
  });
  return Object.assign(make({}), { events });
}
