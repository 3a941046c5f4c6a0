import pino from 'pino';
import { Pool } from 'pg';
import { loadConfig } from '../../src/server/config';
import { startServer, type RunningServer } from '../../src/server/main';
import { CommerceEmulator } from '../../src/sandbox/commerce/commerce.emulator';
import { COMMERCE_SANDBOX_TOKEN } from '../../src/sandbox/commerce/commerce.seed';
import { REFRESH_QUEUE } from '../../src/sync/invoice-refresher';
import { dropTestSchema, storeName } from '../support/store';
import { deployedEnv, startSubgraphProcess as start, stopProcesses, type TsChild, waitFor } from '../support/ts-child';

/**
 * The stale-while-revalidate refresh through a real server: the read that finds status and kpis stale holds the
 * invoice in the ledger and queues an `invoice-refresh` job (pg-boss, on the ledger's database); a worker runs the
 * provider read and the ledger write. `refresher.idle()` resolves once the job this replica queued has ended.
 */

const CREATE = `mutation ($i: CreateInvoiceInput!) { createInvoice(input: $i) { invoice { id providerInvoiceId status total { amount } } userErrors { code message } } }`;
const STATUS = 'query ($id: ID!) { invoice(id: $id) { id status syncedAt } }';
const ORDERS = ['69ab24db449866373d5e3e35', '6932f96b8cd64c28a4fb5873'];

interface JobRow {
  id: string;
  state: string;
  retry_count: number;
  data: { refs: Array<{ provider: string; providerInvoiceId: string; orderId: string }> };
}

describe(`refreshes run as invoice-refresh jobs (${storeName()})`, () => {
  let server: RunningServer;
  const schema = `refr_${Date.now().toString(36)}`;
  const jobSchema = process.env.DATABASE_URL ? `${schema}_jobs` : 'pgboss';
  const logs: Array<Record<string, unknown>> = [];
  const gql = async (query: string, variables: Record<string, unknown> = {}) => {
    const res = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
    expect(res.status).toBe(200);
    return (await res.json()) as { data?: any; errors?: unknown[] };
  };
  const refreshJobs = async (providerInvoiceId: string) =>
    (await server.db.query<JobRow>(`SELECT id, state, retry_count, data FROM ${jobSchema}.job WHERE name = $1`, [REFRESH_QUEUE])).filter((r) =>
      r.data.refs.some((ref) => ref.providerInvoiceId === providerInvoiceId),
    );
  const created = async (orderId: string) => {
    const res = await gql(CREATE, { i: { commerce: { orderId } } });
    expect(res.data.createInvoice.userErrors).toEqual([]);
    // The create's answer read status too (stale at a freshness of 0): its refresh ends, then the invoice is made
    // never read and not held again, so the test's own read refreshes it.
    await server.refresher.idle();
    await server.db.query('UPDATE invoices SET synced_at = NULL, refresh_held_until = NULL WHERE id = $1', [res.data.createInvoice.invoice.id]);
    return res.data.createInvoice.invoice as { id: string; providerInvoiceId: string; status: string; total: { amount: string } };
  };

  beforeAll(async () => {
    const store = process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL, DATABASE_SCHEMA: schema } : { PGLITE_DATA_DIR: 'memory://' };
    server = await startServer(
      loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'debug', INVOICE_FRESHNESS_MS: '0', SYNC_INTERVAL_MS: '0', RECONCILE_INTERVAL_MS: '0', ...store }),
      pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) }),
    );
    // No webhooks and no polling: only a read's refresh can change a stored status here.
    server.emulators.COMMERCE!.configureWebhook?.(null);
  });
  afterAll(async () => {
    await server?.stop();
    await dropTestSchema(schema);
  });

  it('a payment at the provider reads PAID after the stale read’s refresh job, which this replica ran at once', async () => {
    const invoice = await created(ORDERS[0]!);
    server.emulators.COMMERCE!.recordPayment(invoice.providerInvoiceId, invoice.total.amount);
    const before = server.refresher.stats.refreshed;
    const earlier = new Set((await refreshJobs(invoice.providerInvoiceId)).map((j) => j.id));
    // Freshness 0: this read answers what the ledger stores and queues the refresh.
    expect((await gql(STATUS, { id: invoice.id })).data.invoice.status).toBe('ISSUED');
    const started = Date.now();
    await server.refresher.idle();
    const waited = Date.now() - started;
    const after = await gql(STATUS, { id: invoice.id });
    expect(after.data.invoice).toMatchObject({ status: 'PAID', syncedAt: expect.any(String) });
    expect(server.refresher.stats.refreshed).toBeGreaterThan(before);
    // Woken by the send, not found by the next poll (2 s on this queue): well under a poll interval.
    expect(waited).toBeLessThan(1_500);
    const jobs = (await refreshJobs(invoice.providerInvoiceId)).filter((j) => !earlier.has(j.id));
    expect(jobs.length).toBeGreaterThanOrEqual(1);
    expect(jobs[0]!.data.refs).toEqual([{ provider: 'COMMERCE', providerInvoiceId: invoice.providerInvoiceId, orderId: ORDERS[0] }]);
    await server.refresher.idle();
    // The operator's counts list the queue (pg-boss serves them from a cache up to a minute old: the states are read below).
    expect((await server.jobs.counts()).find((c) => c.name === REFRESH_QUEUE)).toMatchObject({ name: REFRESH_QUEUE, failed: 0 });
    // The job's completion is written just after its handler returned (the second read, stale again, queued another).
    const ours = async () => (await refreshJobs(invoice.providerInvoiceId)).filter((j) => jobs.some((k) => k.id === j.id));
    for (let i = 0; i < 50 && (await ours()).some((j) => j.state !== 'completed'); i++) await new Promise((r) => setTimeout(r, 50));
    expect((await ours()).map((j) => [j.state, j.retry_count])).toEqual(jobs.map(() => ['completed', 0]));
  });

  it('a provider that fails: the job completes without retrying, the stored status is kept, and why is logged', async () => {
    const invoice = await created(ORDERS[1]!);
    const commerce = server.emulators.COMMERCE!;
    commerce.server.injectFault({ method: 'GET', status: 503, times: Infinity });
    try {
      logs.length = 0;
      const failedBefore = server.refresher.stats.failed;
      const earlier = new Set((await refreshJobs(invoice.providerInvoiceId)).map((j) => j.id));
      const latest = async () => (await refreshJobs(invoice.providerInvoiceId)).filter((j) => !earlier.has(j.id));
      expect((await gql(STATUS, { id: invoice.id })).data.invoice).toMatchObject({ status: 'ISSUED', syncedAt: null });
      await server.refresher.idle();
      expect(server.refresher.stats.failed).toBeGreaterThan(failedBefore);
      expect(logs).toContainEqual(expect.objectContaining({ provider: 'COMMERCE', msg: expect.stringMatching(/could not refresh invoices/) }));
      for (let i = 0; i < 50 && (await latest()).some((j) => j.state !== 'completed'); i++) await new Promise((r) => setTimeout(r, 50));
      const jobs = await latest();
      expect(jobs.map((j) => [j.state, j.retry_count])).toEqual([['completed', 0]]);
      expect((await gql(STATUS, { id: invoice.id })).data.invoice).toMatchObject({ status: 'ISSUED', syncedAt: null });
      await server.refresher.idle();
    } finally {
      commerce.server.clearFaults();
    }
  });
});

/**
 * Across replicas, each a real process, on one PostgreSQL: a refresh job whose replica is killed (SIGKILL) while it
 * reads the provider is run again by the other replica once its heartbeat stops, and the invoice reads PAID there.
 */
const withPostgres = process.env.DATABASE_URL ? describe : describe.skip;
const HEARTBEAT_S = 10;

withPostgres('refresh jobs across replicas on one PostgreSQL', () => {
  const schema = `refrep_${Date.now().toString(36)}`;
  const commerce = new CommerceEmulator();
  const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 2 });
  const children: TsChild[] = [];
  let env: Record<string, string>;
  const gql = (url: string, query: string, variables: Record<string, unknown> = {}) =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) }).then((r) => r.json() as Promise<any>);
  const jobsOf = (providerInvoiceId: string) =>
    pool
      .query<JobRow>(`SELECT id, state, retry_count, data FROM ${schema}_jobs.job WHERE name = $1 ORDER BY created_on`, [REFRESH_QUEUE])
      .then((r) => r.rows.filter((j) => j.data.refs.some((ref) => ref.providerInvoiceId === providerInvoiceId)));

  beforeAll(async () => {
    await commerce.start(0);
    env = {
      ...deployedEnv(schema),
      COMMERCE_BASE_URL: commerce.baseUrl,
      COMMERCE_ACCESS_TOKEN: COMMERCE_SANDBOX_TOKEN,
      COMMERCE_CURRENCY: 'USD',
      SYNC_INTERVAL_MS: '0',
      RECONCILE_INTERVAL_MS: '0',
      JOB_HEARTBEAT_SECONDS: String(HEARTBEAT_S),
      INVOICE_FRESHNESS_MS: '0',
    };
  }, 30_000);
  afterAll(async () => {
    await stopProcesses(children.filter((c) => c.proc.exitCode === null && c.proc.signalCode === null));
    await commerce.stop();
    await pool.end();
    await dropTestSchema(schema);
  });

  it('a refresh job running on a replica that is killed is run again by the other replica, which then reads PAID', async () => {
    const a = await start(env);
    children.push(a.child);
    const created = await gql(a.url, CREATE, { i: { commerce: { orderId: ORDERS[0] } } });
    expect(created.data.createInvoice.userErrors).toEqual([]);
    const invoice = created.data.createInvoice.invoice;
    commerce.recordPayment(invoice.providerInvoiceId, invoice.total.amount);
    // Every read of the provider now hangs: the refresh job the next read queues stays active on replica A.
    commerce.server.injectFault({ method: 'GET', delayMs: 120_000, times: Infinity });
    expect((await gql(a.url, STATUS, { id: invoice.id })).data.invoice.status).toBe('ISSUED');
    const [victim] = await waitFor(() => jobsOf(invoice.providerInvoiceId), (rows) => rows.some((r) => r.state === 'active'), 15_000, 'an active refresh job');
    const b = await start(env);
    children.push(b.child);
    a.child.proc.kill('SIGKILL');
    await a.child.exited;
    commerce.server.clearFaults();
    // B's worker retries the dead replica's job once its heartbeat has been silent for HEARTBEAT_S (checked every HEARTBEAT_S / 2).
    const rows = await waitFor(
      () => jobsOf(invoice.providerInvoiceId),
      (r) => r.some((j) => j.id === victim!.id && j.state === 'completed'),
      (HEARTBEAT_S * 3 + 20) * 1_000,
      'the killed refresh retried and completed',
    );
    expect(rows.find((j) => j.id === victim!.id)!.retry_count).toBeGreaterThanOrEqual(1);
    // What the retried job stored is what B answers (freshness 0: B's read answers the ledger, then refreshes again).
    expect((await gql(b.url, STATUS, { id: invoice.id })).data.invoice).toMatchObject({ status: 'PAID', syncedAt: expect.any(String) });
  }, 180_000);
});
