import { pino, type Logger } from 'pino';

export type { Logger };

/** One JSON line per event on stdout; secrets are redacted even if someone logs them by mistake. */
export function createLogger(level: string, bindings: Record<string, unknown> = {}): Logger {
  return pino({
    level,
    base: { service: 'bookstore', ...bindings },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: ['password', '*.password', 'token', '*.token', 'authorization', '*.authorization', 'cookie', '*.cookie'],
      censor: '[redacted]',
    },
  });
}
