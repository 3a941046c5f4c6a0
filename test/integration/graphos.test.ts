import pino from 'pino';
import { createApp } from '../../src/server/app';
import { loadConfig } from '../../src/server/config';
import { ProviderRegistry } from '../../src/providers/registry';
import { openTestDatabase } from '../support/store';

/** What a router sends to ask a subgraph for a federated trace. */
const traceRequest = (url: string) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'apollo-federation-include-trace': 'ftv1' },
    body: JSON.stringify({ query: '{ invoice(id: "00000000-0000-4000-8000-000000000000") { id } }' }),
  }).then((r) => r.json() as Promise<{ extensions?: { ftv1?: string } }>);

describe('Apollo GraphOS readiness', () => {
  it('returns federated traces only when APOLLO_KEY and APOLLO_GRAPH_REF are set', async () => {
    const db = await openTestDatabase();
    const logger = pino({ level: 'silent' });
    const providers = new ProviderRegistry([]);
    const off = await createApp({ db, providers, logger, production: false, graphos: loadConfig({}).graphos });
    const on = await createApp({ db, providers, logger, production: false, graphos: loadConfig({ APOLLO_KEY: 'service:test:key', APOLLO_GRAPH_REF: 'invoicing@dev' }).graphos });
    try {
      expect((await traceRequest(await off.listen(0, '127.0.0.1'))).extensions?.ftv1).toBeUndefined();
      const traced = await traceRequest(await on.listen(0, '127.0.0.1'));
      expect(typeof traced.extensions?.ftv1).toBe('string');
      expect(Buffer.from(traced.extensions!.ftv1!, 'base64').length).toBeGreaterThan(10);
    } finally {
      await off.stop();
      await on.stop();
      await db.close();
    }
  });

  it('a key without a graph ref stops the start, naming the missing variable', () => {
    expect(() => loadConfig({ APOLLO_KEY: 'service:test:key' })).toThrow(/APOLLO_GRAPH_REF: required when APOLLO_KEY is set/);
  });
});
