// The control plane's log: one JSON event per line, fixed message, data in fields.
import winston from 'winston';

export type Log = Pick<winston.Logger, 'error' | 'warn' | 'info' | 'debug'>;

export function createServerLogger(level: string, silent = false): Log {
  return winston.createLogger({
    level,
    silent,
    format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] })],
  });
}
