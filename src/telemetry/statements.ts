import { ledgerQueryDuration } from './metrics';
import { inSpan, SpanKind } from './tracing';

/** The first keyword of a statement (SELECT, INSERT, WITH…), upper-cased: a label from a closed set. Pure. */
export function operationOf(text: string): string {
  const m = /^\s*([A-Za-z]+)/.exec(text.length > 64 ? text.slice(0, 64) : text);
  const word = m ? m[1]!.toUpperCase() : 'OTHER';
  return KNOWN.has(word) ? word : 'OTHER';
}

const KNOWN = new Set(['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'WITH', 'BEGIN', 'COMMIT', 'ROLLBACK', 'CREATE', 'ALTER', 'DROP', 'SET', 'LOCK', 'DO']);

/**
 * Runs one ledger statement in a client span (`db.system.name`, the operation, the statement's text: ours, with
 * placeholders, never a value; a failure is marked by its SQLSTATE, never its message, which may quote a value) and
 * times it by store and operation. Called by the Database for every statement.
 */
export function statement<T>(store: 'pglite' | 'postgres', text: string, run: () => Promise<T>): Promise<T> {
  const operation = operationOf(text);
  const started = performance.now();
  return inSpan(
    `${operation} ledger`,
    { 'db.system.name': 'postgresql', 'db.operation.name': operation, 'invoicing.ledger.store': store, 'db.query.text': text.length > 2_000 ? text.slice(0, 2_000) : text },
    run,
    SpanKind.CLIENT,
  ).finally(() => ledgerQueryDuration.observe({ store, operation }, (performance.now() - started) / 1000));
}
