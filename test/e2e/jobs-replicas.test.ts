import { Pool } from 'pg';
import { CommerceEmulator } from '../../src/sandbox/commerce/commerce.emulator';
import { COMMERCE_SANDBOX_TOKEN } from '../../src/sandbox/commerce/commerce.seed';
import { dropTestSchema } from '../support/store';
import { deployedEnv, startSubgraphProcess as start, stopProcesses, type TsChild, waitFor } from '../support/ts-child';

/**
 * The sync's jobs across two replicas, each a real process as `npm start` runs it, on one PostgreSQL: a provider's
 * pass runs once at a time across both, and a pass whose replica is killed (SIGKILL, no goodbye) is taken over by
 * the other once its heartbeat stops. Needs DATABASE_URL: the embedded store is one process's by design.
 */
const withPostgres = process.env.DATABASE_URL ? describe : describe.skip;

const INTERVAL_MS = 1_000;
const HEARTBEAT_S = 10;

interface JobRow {
  id: string;
  state: string;
  retry_count: number;
  started_on: Date | null;
  completed_on: Date | null;
}

withPostgres('sync jobs across replicas on one PostgreSQL', () => {
  const schema = `jobrep_${Date.now().toString(36)}`;
  const commerce = new CommerceEmulator();
  const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 2 });
  const children: TsChild[] = [];
  let env: Record<string, string>;
  const passes = (since: Date) =>
    pool
      .query<JobRow>(`SELECT id, state, retry_count, started_on, completed_on FROM ${schema}_jobs.job WHERE name = 'sync-pass' AND singleton_key = 'COMMERCE' AND created_on >= $1 ORDER BY started_on NULLS LAST`, [since])
      .then((r) => r.rows);

  beforeAll(async () => {
    await commerce.start(0);
    env = {
      ...deployedEnv(schema),
      COMMERCE_BASE_URL: commerce.baseUrl,
      COMMERCE_ACCESS_TOKEN: COMMERCE_SANDBOX_TOKEN,
      COMMERCE_CURRENCY: 'USD',
      SYNC_INTERVAL_MS: String(INTERVAL_MS),
      JOB_HEARTBEAT_SECONDS: String(HEARTBEAT_S),
      INVOICE_FRESHNESS_MS: '86400000',
    };
  }, 30_000);
  afterAll(async () => {
    await stopProcesses(children.filter((c) => c.proc.exitCode === null && c.proc.signalCode === null));
    await commerce.stop();
    await pool.end();
    await dropTestSchema(schema);
  });

  it('a pass running on a replica that is killed is taken over by the other replica and the chain goes on', async () => {
    const a = await start(env);
    children.push(a.child);
    const created = await fetch(a.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'mutation { createInvoice(input: { commerce: { orderId: "69ab24db449866373d5e3e35" } }) { invoice { id } userErrors { code } } }' }),
    }).then((r) => r.json() as Promise<any>);
    expect(created.data.createInvoice.userErrors).toEqual([]);
    // Every read of the provider now hangs: the next pass stays active on replica A, the only one running.
    commerce.server.injectFault({ method: 'GET', delayMs: 120_000, times: Infinity });
    const since = new Date(Date.now() - 5_000);
    const running = await waitFor(() => passes(since), (rows) => rows.some((r) => r.state === 'active'), 30_000, 'an active pass');
    const victim = running.find((r) => r.state === 'active')!;
    const b = await start(env);
    children.push(b.child);
    a.child.proc.kill('SIGKILL');
    await a.child.exited;
    commerce.server.clearFaults();
    // B retries the dead replica's pass once its heartbeat has been silent for HEARTBEAT_S (checked every HEARTBEAT_S / 2).
    const after = await waitFor(
      () => passes(since),
      (rows) => rows.some((r) => r.id === victim.id && r.state === 'completed' && r.retry_count >= 1),
      (HEARTBEAT_S * 3 + 20) * 1_000,
      'the killed pass retried and completed',
    );
    expect(after.find((r) => r.id === victim.id)!.retry_count).toBeGreaterThanOrEqual(1);
    // And the chain continues on B: newer passes complete.
    await waitFor(() => passes(since), (rows) => rows.filter((r) => r.state === 'completed').length >= 3, 15_000, 'later passes');
  }, 180_000);

  it('with both replicas running, a provider pass runs once at a time: no two passes overlap, and no more than one per interval', async () => {
    const c = await start(env);
    children.push(c.child);
    const since = new Date();
    const windowMs = 8_000;
    await new Promise((r) => setTimeout(r, windowMs));
    const done = (await passes(since)).filter((r) => r.state === 'completed' && r.started_on && r.completed_on);
    expect(done.length).toBeGreaterThanOrEqual(3);
    // One chain: each starts after the previous one ended (two replicas each running their own would overlap or double).
    for (let i = 1; i < done.length; i++) expect(new Date(done[i]!.started_on!).getTime()).toBeGreaterThanOrEqual(new Date(done[i - 1]!.completed_on!).getTime());
    expect(done.length).toBeLessThanOrEqual(windowMs / INTERVAL_MS + 1);
  }, 120_000);
});
