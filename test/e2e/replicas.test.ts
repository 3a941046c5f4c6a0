import { CommerceEmulator } from '../../src/sandbox/commerce/commerce.emulator';
import { COMMERCE_SANDBOX_TOKEN } from '../../src/sandbox/commerce/commerce.seed';
import { ExsitedEmulator } from '../../src/sandbox/exsited/exsited.emulator';
import { EXSITED_SANDBOX_CLIENT_ID, EXSITED_SANDBOX_CLIENT_SECRET } from '../../src/sandbox/exsited/exsited.seed';
import { dropTestSchema } from '../support/store';
import { deployedEnv, startSubgraphProcess as start, stopProcesses, type TsChild } from '../support/ts-child';

/**
 * Two replicas of the subgraph, each a real process started as `npm start` starts it, on one PostgreSQL: the
 * ledger alone must make a key's provider create happen once. Needs DATABASE_URL; the embedded store is one
 * process's by design.
 */
const withPostgres = process.env.DATABASE_URL ? describe : describe.skip;

withPostgres('idempotency across replicas on one PostgreSQL', () => {
  const schema = `replicas_${Date.now().toString(36)}`;
  const commerce = new CommerceEmulator();
  const exsited = new ExsitedEmulator();
  let replicas: Array<{ child: TsChild; url: string }>;

  beforeAll(async () => {
    await Promise.all([commerce.start(0), exsited.start(0)]);
    const env = {
      ...deployedEnv(schema),
      COMMERCE_BASE_URL: commerce.baseUrl,
      COMMERCE_ACCESS_TOKEN: COMMERCE_SANDBOX_TOKEN,
      COMMERCE_CURRENCY: 'USD',
      EXSITED_BASE_URL: exsited.baseUrl,
      EXSITED_CLIENT_ID: EXSITED_SANDBOX_CLIENT_ID,
      EXSITED_CLIENT_SECRET: EXSITED_SANDBOX_CLIENT_SECRET,
    };
    // One after the other: the second finds the schema migrated (and would wait on the advisory lock otherwise).
    replicas = [await start(env), await start(env)];
    expect(new Set(replicas.map((r) => r.child.proc.pid)).size).toBe(2);
  }, 150_000); // two starts one after the other, each up to waitForLog's 60 s (SWC compiles every source uncached)
  afterAll(async () => {
    await stopProcesses((replicas ?? []).map((r) => r.child));
    await Promise.all([commerce.stop(), exsited.stop()]);
    await dropTestSchema(schema);
  });

  it('100 concurrent requests with one key, spread over both, make one provider create and get one invoice', async () => {
    // Hold the create long enough for every request to arrive while it is in flight.
    commerce.server.injectFault({ method: 'POST', delayMs: 300 });
    const body = JSON.stringify({
      query: 'mutation ($i: CreateInvoiceInput!, $k: String) { createInvoice(input: $i, idempotencyKey: $k) { invoice { id } userErrors { code } } }',
      variables: { i: { commerce: { orderId: '69ab2b77449866373d5e3e50' } }, k: 'one-key-for-everybody' },
    });
    const answers = await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        const res = await fetch(replicas[i % 2]!.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        return (await res.json()) as { data: { createInvoice: { invoice: { id: string } | null; userErrors: unknown[] } } };
      }),
    );
    expect(answers.flatMap((a) => a.data.createInvoice.userErrors)).toEqual([]);
    expect(new Set(answers.map((a) => a.data.createInvoice.invoice!.id)).size).toBe(1);
    // The emulator refuses a second invoice for an order, so its invoice count could not show a duplicate; the
    // create requests that reached it can.
    expect(commerce.server.countCalls('POST')).toBe(1);
  });

  it("replicas share one Exsited token: taking turns, neither ends the other's (a new Exsited token ends the previous)", async () => {
    const orders = ['ORD-7K2M4P', 'ORD-8N3Q5R', 'ORD-2V5X7Z', 'ORD-3W6Y8B', 'ORD-4X7Z9C'];
    const answers = [];
    for (const [i, orderId] of orders.entries()) {
      const res = await fetch(replicas[i % 2]!.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          query: 'mutation ($i: CreateInvoiceInput!) { createInvoice(input: $i) { invoice { order { id } } userErrors { code message } } }',
          variables: { i: { exsited: { orderId } } },
        }),
      });
      answers.push(((await res.json()) as { data: { createInvoice: unknown } }).data.createInvoice);
    }
    expect(answers).toEqual(orders.map((id) => ({ invoice: { order: { id } }, userErrors: [] })));
    expect(exsited.server.countCalls('POST', '/api/v1/oauth2/token')).toBe(1);
    expect(exsited.server.calls.filter((c) => c.status === 401)).toEqual([]);
  });
});
