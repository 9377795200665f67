// The structured JSON logger; secrets are redacted at the source so no log line can carry one.
import { type DestinationStream, type Logger, pino } from 'pino';
import type { AuditEvent } from './model.js';

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino({ level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, destination);
}

/**
 * Writes each audit event to the log once, as `present` shapes it (the API's answer, so that logs
 * and the API agree), marked `audit: true` for shipping to a SIEM.
 */
export function logAuditEvents(
  logger: Logger,
  present: (event: AuditEvent) => unknown,
): (event: AuditEvent) => void {
  return (event) => logger.info({ audit: true, event: present(event) }, `audit: ${event.type}`);
}
