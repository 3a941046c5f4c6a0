import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';
import { traceFields } from '../telemetry/tracing';

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

/** The format a log takes: LOG_FORMAT when set, else pretty on a terminal and JSON otherwise (a collector reads it). */
export function logFormatOf(asked: 'pretty' | 'json' | undefined, isTTY: boolean | undefined): 'pretty' | 'json' {
  return asked ?? (isTTY ? 'pretty' : 'json');
}

/**
 * Logs to stdout unless a destination is given: JSON lines, or pino-pretty's coloured lines (`format: 'pretty'`, in
 * this thread, so nothing is lost at exit). Every line written inside a traced request or job carries its
 * `trace_id` and `span_id`. Credentials are redacted wherever they could appear.
 */
export function createLogger(level: string, destination?: pino.DestinationStream, format: 'pretty' | 'json' = 'json'): Logger {
  const out = format === 'pretty' ? pretty({ colorize: !destination && Boolean(process.stdout.isTTY), destination: destination ?? 1, sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }) : destination;
  return pino(
    {
      level,
      mixin: traceFields,
      serializers: { err: serializeError, error: serializeError },
      redact: {
        paths: ['*.authorization', '*.Authorization', '*.accessToken', '*.access_token', '*.token', 'headers.authorization', 'req.headers.authorization'],
        censor: '[redacted]',
      },
    },
    out,
  );
}
