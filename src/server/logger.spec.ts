import { PGlite } from '@electric-sql/pglite';
import { Writable } from 'node:stream';
import pino from 'pino';
import { createLogger, logFormatOf, serializeError } from './logger';

describe('logs never hold SQL text or statement values', () => {
  it("strips PGlite's query and params, and PostgreSQL's detail, from a real database error", async () => {
    const db = await PGlite.create();
    let caught: unknown;
    try {
      await db.exec('CREATE TABLE t (k text PRIMARY KEY)');
      await db.query('INSERT INTO t VALUES ($1)', ['secret-idempotency-key']);
      await db.query('INSERT INTO t VALUES ($1)', ['secret-idempotency-key']);
    } catch (err) {
      caught = err;
    } finally {
      await db.close();
    }
    expect(caught).toMatchObject({ query: expect.stringContaining('INSERT'), params: ['secret-idempotency-key'] });
    const lines: string[] = [];
    const logger = createLogger('error', new Writable({ write: (chunk, _e, done) => (lines.push(String(chunk)), done()) }));
    logger.error({ err: caught }, 'internal error');
    expect(lines.join('')).not.toMatch(/secret-idempotency-key|INSERT INTO/);
    expect(JSON.parse(lines[0]!).err).toMatchObject({ message: expect.stringContaining('duplicate key value violates unique constraint'), code: '23505' });
  });

  it('strips them from the errors an error holds: an AggregateError, a property holding an error', () => {
    const inner = Object.assign(new Error('boom'), { query: 'SELECT secret', params: ['secret-param'], detail: 'Key (k)=(secret-value)' });
    for (const outer of [new AggregateError([inner], 'several failed'), Object.assign(new Error('outer'), { original: inner })]) {
      const raw = JSON.stringify(pino.stdSerializers.err(outer));
      expect(raw).toMatch(/SELECT secret/);
      expect(JSON.stringify(serializeError(outer))).not.toMatch(/secret/);
    }
  });
});

describe('log format (LOG_FORMAT, else pretty on a terminal)', () => {
  it.each([
    [undefined, true, 'pretty'],
    [undefined, false, 'json'],
    [undefined, undefined, 'json'],
    ['json', true, 'json'],
    ['pretty', false, 'pretty'],
  ] as const)('%s with a terminal %s → %s', (asked, tty, format) => expect(logFormatOf(asked, tty)).toBe(format));

  it('pretty lines are readable text, with the same redaction', () => {
    const out: string[] = [];
    const logger = createLogger('info', new Writable({ write: (chunk, _e, done) => (out.push(String(chunk)), done()) }), 'pretty');
    logger.info({ provider: 'SALLA', headers: { authorization: 'Bearer secret-token' } }, 'ledger ready');
    const text = out.join('');
    expect(text).toMatch(/INFO.*ledger ready/);
    expect(text).toMatch(/provider: "SALLA"/);
    expect(text).not.toMatch(/secret-token/);
    expect(() => JSON.parse(text)).toThrow();
  });
});
