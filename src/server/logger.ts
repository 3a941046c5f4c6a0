import pino, { type Logger } from 'pino';

/** Structured JSON logs, to stdout unless a destination is given. Credentials are redacted wherever they could appear. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({
    level,
    redact: {
      paths: ['*.authorization', '*.Authorization', '*.accessToken', '*.access_token', '*.token', 'headers.authorization', 'req.headers.authorization'],
      censor: '[redacted]',
    },
  }, destination);
}
