import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Pool } from 'pg';
import { sallaSignature } from '../src/providers/salla/salla.webhooks';
import type { LoadResult } from './load';

/**
 * (e) Salla webhook deliveries against a real subgraph process (`dist/src/server/main.js`, embedded store, Salla's
 * sandbox), from this process: a burst of deliveries about the orders the ledger knows, a tenth of them delivered
 * twice and a tenth sent out of order, while the sandbox records a payment in full on each invoice. Measured: each
 * delivery's answer (p50/p99, the target is p99 < 50 ms), the time from the last delivery until every invoice reads
 * PAID, and from one sandbox payment alone to PAID (the target is < 2 s).
 */

/** Sandbox orders of the Salla emulator the scenario invoices (its seed), those paid online: a payment makes them PAID. */
const ORDERS = ['1371877152', '389701957', '213320125', '1124455667'];

export interface WebhookBurstResult {
  burst: LoadResult;
  deliveries: number;
  redelivered: number;
  reordered: number;
  /** From the last delivery's answer until every invoice reads PAID. */
  drainMs: number;
  /** From a sandbox payment (the emulator's own webhook) until the invoice reads PAID, per invoice. */
  paymentToPaidMs: number[];
}

/** Starts the subgraph as `npm start` does, with a known webhook secret; resolves with its URL and the Salla sandbox's. */
async function startSubgraph(secret: string, databaseUrl: string | null, schema: string): Promise<{ child: ChildProcess; url: string; salla: string }> {
  const store = databaseUrl ? { DATABASE_URL: databaseUrl, DATABASE_SCHEMA: schema } : { DATABASE_URL: '', PGLITE_DATA_DIR: 'memory://' };
  const child = fork(join(__dirname, '../src/server/main.js'), {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', SALLA_WEBHOOK_SECRET: secret, SYNC_INTERVAL_MS: '0', INVOICE_FRESHNESS_MS: '86400000', NODE_ENV: 'production', SANDBOX_PROVIDERS: 'salla', ...store },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  let buffered = '';
  let salla = '';
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`subgraph exited with ${code}`)));
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        let log: { msg?: string; provider?: string; baseUrl?: string; url?: string };
        try {
          log = JSON.parse(line);
        } catch {
          continue;
        }
        if (log.provider === 'SALLA' && log.baseUrl) salla = new URL(log.baseUrl).origin;
        if (log.msg === 'invoicing subgraph ready') resolve({ child, url: log.url!, salla });
      }
    });
  });
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

/** Runs the scenario on the embedded store, or on PostgreSQL at `databaseUrl` (a schema of its own, dropped after); `deliveries` defaults to 1,000 (BENCH_WEBHOOKS). */
export async function webhookBurst(deliveries = Number(process.env.BENCH_WEBHOOKS ?? 1_000), databaseUrl: string | null = null): Promise<WebhookBurstResult> {
  const secret = randomBytes(32).toString('base64url');
  const schema = `bench_hooks_${Date.now().toString(36)}`;
  const { child, url, salla } = await startSubgraph(secret, databaseUrl, schema);
  const gql = async (query: string, variables: Record<string, unknown> = {}) =>
    (await (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) })).json()) as { data?: any };
  try {
    const invoices: Array<{ id: string; providerInvoiceId: string; total: string; orderId: string }> = [];
    for (const orderId of ORDERS) {
      const res = await gql('mutation ($o: ID!) { createInvoice(input: { salla: { orderId: $o, dataType: URL, url: "https://x.example/b.pdf" } }) { invoice { id providerInvoiceId total { amount } } } }', { o: orderId });
      const inv = res.data?.createInvoice.invoice;
      if (inv) invoices.push({ id: inv.id, providerInvoiceId: inv.providerInvoiceId, total: inv.total.amount, orderId });
    }
    if (invoices.length < 2) throw new Error(`(e) could not invoice the sandbox's orders: ${invoices.length} of ${ORDERS.length}`);
    const status = async (id: string) => (await gql('query ($id: ID!) { invoice(id: $id) { status } }', { id })).data?.invoice?.status as string;
    const waitPaid = async (ids: string[], limitMs = 30_000): Promise<number> => {
      const started = performance.now();
      while ((await Promise.all(ids.map(status))).some((s) => s !== 'PAID')) {
        if (performance.now() - started > limitMs) throw new Error('invoices not PAID in time');
        await new Promise((r) => setTimeout(r, 10));
      }
      return performance.now() - started;
    };
    const pay = (inv: (typeof invoices)[number]) =>
      fetch(`${salla}/_sandbox/invoices/${inv.providerInvoiceId}/payments`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ amount: inv.total }) });

    // One payment alone first: the emulator's own signed webhook is what makes it PAID.
    const [first, ...rest] = invoices;
    await pay(first!);
    const paymentToPaidMs = [await waitPaid([first!.id])];

    // The burst: events about the orders, created_at spread over time; a tenth sent twice, a tenth moved later.
    const bodies: string[] = [];
    const base = Date.now();
    for (let i = 0; i < deliveries * 0.9; i++) {
      const inv = invoices[i % invoices.length]!;
      bodies.push(JSON.stringify({ event: 'order.status.updated', merchant: 1305146709, created_at: new Date(base + i * 1000).toISOString(), data: { id: Number(inv.orderId), status: { slug: 'in_progress' } } }));
    }
    const redelivered = Math.round(deliveries * 0.1);
    for (let i = 0; i < redelivered; i++) bodies.push(bodies[(i * 7) % bodies.length]!);
    // A tenth swapped with deliveries far from them: older events after newer ones.
    const reordered = Math.round(deliveries * 0.1);
    for (let i = 0; i < reordered; i += 2) {
      const [x, y] = [(i * 13) % bodies.length, bodies.length - 1 - ((i * 13) % bodies.length)];
      [bodies[x], bodies[y]] = [bodies[y]!, bodies[x]!];
    }
    const latencies: number[] = [];
    let errors = 0;
    let next = 0;
    const started = performance.now();
    const paying = Promise.all(rest.map(pay));
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        while (next < bodies.length) {
          const body = bodies[next++]!;
          const t = performance.now();
          const res = await fetch(new URL('/webhooks/salla', url), { method: 'POST', headers: { 'content-type': 'application/json', 'x-salla-signature': sallaSignature(body, secret), 'x-salla-security-strategy': 'Signature' }, body });
          await res.arrayBuffer();
          latencies.push(performance.now() - t);
          if (res.status !== 200) errors++;
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    await paying;
    const drainMs = await waitPaid(invoices.map((i) => i.id));
    latencies.sort((a, b) => a - b);
    return {
      burst: { requests: latencies.length, sent: latencies.length, rps: latencies.length / seconds, p50: Math.round(percentile(latencies, 50)), p99: Math.round(percentile(latencies, 99)), errors: 0, non2xx: errors },
      deliveries: bodies.length,
      redelivered,
      reordered,
      drainMs,
      paymentToPaidMs,
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    if (databaseUrl) {
      const pool = new Pool({ connectionString: databaseUrl, max: 1 });
      await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; DROP SCHEMA IF EXISTS ${schema}_jobs CASCADE`).finally(() => pool.end());
    }
  }
}
