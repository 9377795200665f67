// The structured JSON logger; secrets are redacted at the source so no log line can carry one.
import { type DestinationStream, type Logger, pino } from 'pino';

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
];

/**
 * Standard output through a buffer: lines are written 4 KiB at a time, at least once a second, and
 * on exit, rather than one write system call per line (per request). What a crash that skips exit
 * handlers (kill -9) loses is the last second of lines at most; the process flushes after its
 * start-up lines so they show at once. Should stdout stall, at most 16 MiB wait in memory; lines
 * beyond that are dropped rather than let the process grow without bound.
 */
export const bufferedStdout = (): DestinationStream =>
  pino.destination({
    dest: 1,
    sync: false,
    minLength: 4096,
    maxLength: 16 * 1024 * 1024,
    periodicFlush: 1000,
  });

export function createLogger(level: string, destination: DestinationStream = bufferedStdout()): Logger {
  return pino({ level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, destination);
}
