import { openTestDatabase } from '../../test/support/store';
import type { Database } from './database';
import { EventLog, MAX_EVENT_FAILURES } from './event-log';

describe('EventLog', () => {
  let db: Database;
  let log: EventLog;
  beforeAll(async () => {
    db = await openTestDatabase();
    log = new EventLog(db);
  });
  afterAll(() => db.close());

  it('records a delivery once; a redelivery is counted and is not new', async () => {
    const first = await log.record('SALLA', 'k1', 'order.updated', '{"a":1}');
    const again = await log.record('SALLA', 'k1', 'order.updated', '{"a":1}');
    expect(first.fresh).toBe(true);
    expect(again).toEqual({ id: first.id, fresh: false });
    // Another provider's delivery with the same key is its own.
    expect((await log.record('ZUORA', 'k1', 'x', '{}')).fresh).toBe(true);
    const [row] = await db.query<{ deliveries: number }>('SELECT deliveries FROM provider_events WHERE id = $1', [first.id]);
    expect(row!.deliveries).toBe(2);
  });

  it('concurrent copies of one delivery share a statement: one is new, all are counted', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => log.record('SALLA', i % 2 === 0 ? 'burst' : `other-${i}`, 'e', `{"i":${i}}`)));
    const burst = results.filter((_, i) => i % 2 === 0);
    expect(burst.filter((r) => r.fresh)).toHaveLength(1);
    expect(new Set(burst.map((r) => r.id)).size).toBe(1);
    expect(results.filter((_, i) => i % 2 === 1).every((r) => r.fresh)).toBe(true);
    const [row] = await db.query<{ deliveries: number }>(`SELECT deliveries FROM provider_events WHERE delivery_key = 'burst'`);
    expect(row!.deliveries).toBe(10);
    expect(log.stats.batches).toBeLessThan(log.stats.items);
  });

  it('keeps a body as received, escapes and all, and hands back what is still to process, oldest first', async () => {
    const body = JSON.stringify({ event: 'x', data: { s: '\u0000\ud800\u001f' } });
    const { id } = await log.record('EXSITED', 'odd', 'x', body);
    const pending = await log.pending('EXSITED', 10);
    expect(pending.map((e) => [e.id, e.body])).toEqual([[id, body]]);
    await log.processed([id]);
    expect(await log.pending('EXSITED', 10)).toEqual([]);
    expect(await log.stalled('SALLA', 0)).toBe(true);
    expect(await log.stalled('SALLA', 60_000)).toBe(false);
  });

  it("records the tenant whose secret verified a delivery, and puts off a failed one with its own backoff, then parks it", async () => {
    const a = await log.record('ZUORA', 'tenant:1:a:n-1', 'InvoicePosted', '{}', 'a');
    const b = await log.record('ZUORA', 'n-2', 'InvoicePosted', '{}');
    expect((await log.pending('ZUORA', 10)).filter((e) => [a.id, b.id].includes(e.id)).map((e) => [e.id, e.tenantId])).toEqual([[a.id, 'a'], [b.id, null]]);
    // a's read failed: b is what is pending now, and a comes back once its wait (0.5 s after a first failure) is over.
    expect(await log.defer([a.id], true)).toBe(0);
    expect((await log.pending('ZUORA', 10)).map((e) => e.id)).not.toContain(a.id);
    expect((await log.pending('ZUORA', 10)).map((e) => e.id)).toContain(b.id);
    expect(await log.stalled('ZUORA', 0)).toBe(true);
    await new Promise((r) => setTimeout(r, 600));
    expect((await log.pending('ZUORA', 10)).map((e) => e.id)).toContain(a.id);
    const [second] = await db.query<{ wait: number }>(`SELECT extract(epoch FROM retry_at - now())::float AS wait FROM provider_events WHERE id = $1`, [a.id]);
    expect(second!.wait).toBeLessThanOrEqual(0);
    // The wait doubles per failure; the last allowed failure parks it: never pending or stalled again, still recorded.
    await db.query('UPDATE provider_events SET failures = $2 WHERE id = $1', [a.id, MAX_EVENT_FAILURES - 1]);
    expect(await log.defer([a.id], true)).toBe(1);
    const [row] = await db.query<{ failures: number; parked: boolean }>(`SELECT failures, retry_at = 'infinity'::timestamptz AS parked FROM provider_events WHERE id = $1`, [a.id]);
    expect(row).toEqual({ failures: MAX_EVENT_FAILURES, parked: true });
    await log.processed([b.id]);
    expect((await log.pending('ZUORA', 10)).map((e) => e.id)).not.toContain(a.id);
    // (the first test's ZUORA delivery is still due)
    expect((await log.counts()).filter((c) => c.provider === 'ZUORA')).toEqual([{ provider: 'ZUORA', state: 'due', count: 1 }, { provider: 'ZUORA', state: 'parked', count: 1 }]);
    // Waiting for a reauthorization is not a failure: a minute, not counted.
    const c = await log.record('ZUORA', 'tenant:1:c:n-3', 'InvoicePosted', '{}', 'c');
    await log.defer([c.id], false);
    const [waiting] = await db.query<{ failures: number; seconds: number }>(`SELECT failures, round(extract(epoch FROM retry_at - now()))::int AS seconds FROM provider_events WHERE id = $1`, [c.id]);
    // (a busy machine may take a few seconds between the two statements)
    expect(waiting!.failures).toBe(0);
    expect(waiting!.seconds).toBeGreaterThanOrEqual(50);
    expect(waiting!.seconds).toBeLessThanOrEqual(60);
  });
});
