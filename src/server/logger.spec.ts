import { PGlite } from '@electric-sql/pglite';
import { Writable } from 'node:stream';
import { createLogger, serializeError } from './logger';

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

  it('strips them from causes too', () => {
    const inner = Object.assign(new Error('boom'), { query: 'SELECT secret', params: ['p'] });
    const out = serializeError(new Error('outer', { cause: inner })) as { cause?: Record<string, unknown> };
    expect(JSON.stringify(out)).not.toMatch(/SELECT secret/);
  });
});
