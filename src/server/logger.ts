import pino, { type Logger } from 'pino';

/**
 * Properties of database errors that carry SQL text or the values of a statement (PGlite adds `query`, `params` and
 * `queryOptions`; PostgreSQL's `detail` quotes the offending key, `where` and `internalQuery` the statement): an
 * idempotency key, a tenant, a snapshot. They never reach the log; the message, code, constraint and stack do.
 */
const STATEMENT_FIELDS = ['query', 'params', 'parameters', 'queryOptions', 'detail', 'where', 'internalQuery', 'values'] as const;

/** pino's error serializer, without what STATEMENT_FIELDS names, in the error and in its causes. */
export function serializeError(err: unknown): unknown {
  const out = pino.stdSerializers.err(err as Error) as unknown as Record<string, unknown>;
  const strip = (o: Record<string, unknown> | undefined, depth: number) => {
    if (!o || typeof o !== 'object' || depth > 5) return;
    for (const f of STATEMENT_FIELDS) delete o[f];
    strip(o.cause as Record<string, unknown> | undefined, depth + 1);
  };
  strip(out, 0);
  return out;
}

/** Structured JSON logs, to stdout unless a destination is given. Credentials are redacted wherever they could appear. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      serializers: { err: serializeError, error: serializeError },
      redact: {
        paths: ['*.authorization', '*.Authorization', '*.accessToken', '*.access_token', '*.token', 'headers.authorization', 'req.headers.authorization'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
