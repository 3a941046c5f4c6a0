import pino, { type Logger } from 'pino';

/**
 * Properties of database errors that carry SQL text or the values of a statement (PGlite adds `query`, `params` and
 * `queryOptions`; PostgreSQL's `detail` quotes the offending key, `where` and `internalQuery` the statement): an
 * idempotency key, a tenant, a snapshot. They never reach the log; the message, code, constraint and stack do.
 */
const STATEMENT_FIELDS = ['query', 'params', 'parameters', 'queryOptions', 'detail', 'where', 'internalQuery', 'values'] as const;

/**
 * pino's error serializer, without what STATEMENT_FIELDS names anywhere in what it writes: in the error, and in the
 * errors it holds (AggregateError's `aggregateErrors`, a property holding an error), a few levels down.
 */
export function serializeError(err: unknown): unknown {
  const out = pino.stdSerializers.err(err as Error) as unknown;
  const strip = (o: unknown, depth: number): void => {
    if (typeof o !== 'object' || o === null || depth > 6) return;
    if (Array.isArray(o)) return o.forEach((v) => strip(v, depth + 1));
    for (const f of STATEMENT_FIELDS) delete (o as Record<string, unknown>)[f];
    for (const v of Object.values(o)) strip(v, depth + 1);
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
