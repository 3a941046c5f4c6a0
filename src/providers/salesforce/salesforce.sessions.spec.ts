import { exportPKCS8, exportSPKI, generateKeyPair } from 'jose';
import type { InvoiceDetails } from '../../domain/invoice';
import type { Money } from '../../domain/money';
import { SalesforceEmulator } from '../../sandbox/salesforce/salesforce.emulator';
import {
  SALESFORCE_SANDBOX_CLIENT_ID,
  SALESFORCE_SANDBOX_CLIENT_SECRET,
  SALESFORCE_SANDBOX_TOKEN,
  SALESFORCE_SANDBOX_USERNAME,
} from '../../sandbox/salesforce/salesforce.seed';
import type { SharedTokenStore, StoredToken } from '../shared/token-source';
import { SalesforceProvider, type SalesforceConfig } from './salesforce.provider';
import { providerFailure as failure } from '../../../test/support/provider-failure';
import { openTestDatabase, storeName } from '../../../test/support/store';
import { DatabaseTokenStore } from '../../ledger/shared-tokens';

const CA_ORDER = '0a3Dn000000cEXFIA2'; // 2 × Trail Running Shoes, shipping, CA 8.25 % → 292.20 USD
const MA_ORDER = '0a3Dn000000cEXGIA2'; // Espresso Machine 499.00 less 50.00, MA 6.25 % → 449.00 + 28.06 = 477.06 USD
const DE_ORDER = '0a3Dn000000cEXIIA2'; // 329.94 EUR in a multi-currency org
const money = (m: Money | null) => (m ? `${m.amount.toFixed(2)} ${m.currencyCode}` : null);
const ref = (d: InvoiceDetails) => ({ provider: 'SALESFORCE' as const, providerInvoiceId: d.header.providerInvoiceId, orderId: d.header.orderId });

/** The shared_tokens table as a map, with the lock as a queue: what the replicas of one process tree would share. */
class MemoryTokenStore implements SharedTokenStore {
  private rows = new Map<string, { sealed: string; expiresAt: number }>();
  private queue: Promise<unknown> = Promise.resolve();
  exclusive<T>(name: string, _waitMs: number, fn: (held: { read(): Promise<StoredToken | null>; write(sealed: string, ms: number): Promise<void> }) => Promise<T>): Promise<T> {
    const run = this.queue.then(() => fn({ read: () => this.read(name), write: (sealed, ms) => this.write(name, sealed, ms) }));
    this.queue = run.catch(() => undefined);
    return run;
  }
  async read(name: string): Promise<StoredToken | null> {
    const row = this.rows.get(name);
    return row ? { sealed: row.sealed, expiresInMs: row.expiresAt - Date.now() } : null;
  }
  async write(name: string, sealed: string, expiresInMs: number): Promise<void> {
    this.rows.set(name, { sealed, expiresAt: Date.now() + expiresInMs });
  }
}

/**
 * Sessions against the emulator's token endpoint, as the two server-to-server flows document it:
 * client credentials https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_client_credentials_flow.htm
 * JWT bearer https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_jwt_flow.htm
 * An expired session is 401 INVALID_SESSION_ID (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm).
 */
describe('Salesforce sessions (emulator token endpoint, sessions that time out)', () => {
  let keys: { privatePem: string; publicPem: string };
  let org: SalesforceEmulator;
  const clientCredentials = { clientId: SALESFORCE_SANDBOX_CLIENT_ID, clientSecret: SALESFORCE_SANDBOX_CLIENT_SECRET };
  const provider = (extra: Partial<SalesforceConfig> = {}) =>
    new SalesforceProvider({ instanceUrl: org.baseUrl, credentials: clientCredentials, apiVersion: '62.0', timeoutMs: 1_000, ...extra });

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256', { extractable: true });
    keys = { privatePem: await exportPKCS8(pair.privateKey), publicPem: await exportSPKI(pair.publicKey) };
    org = new SalesforceEmulator({ connectedApp: { ...clientCredentials, username: SALESFORCE_SANDBOX_USERNAME, jwtPublicKey: keys.publicPem } });
    await org.start(0);
  });
  afterAll(() => org.stop());
  beforeEach(() => org.reset());

  it('client credentials: one token request to the instance, then the session on every call', async () => {
    const p = provider();
    const [d] = await p.create({ fulfillmentOrderId: CA_ORDER }, { idempotencyKey: 'k' });
    expect(money(d!.header.total)).toBe('292.20 USD');
    expect(org.sessionsIssued).toEqual({ client_credentials: 1, jwt_bearer: 0 });
    const token = org.server.calls.find((c) => c.path === '/services/oauth2/token')!;
    expect(token.method).toBe('POST');
    const api = org.server.calls.filter((c) => c.path.startsWith('/services/data/'));
    expect(new Set(api.map((c) => c.headers.authorization)).size).toBe(1);
    expect(api[0]!.headers.authorization).not.toBe(`Bearer ${SALESFORCE_SANDBOX_TOKEN}`);
  });

  it('an expired session (401 INVALID_SESSION_ID) is renewed once for all concurrent calls, and each call resent once', async () => {
    const p = provider();
    const made = await p.create({ fulfillmentOrderId: CA_ORDER }, { idempotencyKey: 'k' });
    org.expireSessions();
    org.server.resetCalls();
    const reads = await Promise.all(Array.from({ length: 5 }, () => p.loadDetails(made.map(ref))));
    expect(reads.every(([d]) => !(d instanceof Error))).toBe(true);
    expect(org.sessionsIssued.client_credentials).toBe(2);
    expect(org.server.countCalls('POST', '/services/oauth2/token')).toBe(1);
    // Queries that left with the old session were refused once and resent with the new one; none twice.
    const refused = org.server.calls.filter((c) => c.status === 401).length;
    expect(refused).toBeGreaterThanOrEqual(1);
    expect(refused).toBeLessThanOrEqual(20);
    // Four queries per read: the invoice, its lines, its payment and its credit applications.
    expect(org.server.calls.filter((c) => c.path.endsWith('/query') && c.status === 200).length).toBe(20);
  });

  it('sessions time out by the clock of the org (no expires_in: used until Salesforce says so)', async () => {
    let now = new Date('2026-12-01T10:00:00Z');
    const timed = new SalesforceEmulator({ now: () => now, sessionTimeoutSeconds: 900 });
    await timed.start(0);
    try {
      const p = new SalesforceProvider({ instanceUrl: timed.baseUrl, credentials: clientCredentials, apiVersion: '62.0', timeoutMs: 1_000 });
      const made = await p.create({ fulfillmentOrderId: CA_ORDER }, { idempotencyKey: 'k' });
      now = new Date('2026-12-01T10:14:00Z');
      await p.loadDetails(made.map(ref));
      expect(timed.sessionsIssued.client_credentials).toBe(1);
      now = new Date('2026-12-01T10:16:00Z');
      const [d] = await p.loadDetails(made.map(ref));
      expect(d).not.toBeInstanceOf(Error);
      expect(timed.sessionsIssued.client_credentials).toBe(2);
    } finally {
      await timed.stop();
    }
  });

  it('JWT bearer: an RS256 assertion (iss, sub, aud = login URL, exp) posted to the login URL', async () => {
    const p = provider({ credentials: { clientId: SALESFORCE_SANDBOX_CLIENT_ID, username: SALESFORCE_SANDBOX_USERNAME, privateKey: keys.privatePem }, loginUrl: org.baseUrl });
    const [d] = await p.create({ fulfillmentOrderId: DE_ORDER }, { idempotencyKey: 'k' });
    expect(money(d!.header.total)).toBe('329.94 EUR');
    expect(org.sessionsIssued).toEqual({ client_credentials: 0, jwt_bearer: 1 });
    // The session went to the login URL's token endpoint; the instance URL got API calls only.
    expect(org.server.countCalls('POST', '/services/oauth2/token')).toBe(1);
  });

  it('refused credentials are PROVIDER_UNAUTHORIZED with the OAuth error, final, and nothing is created', async () => {
    const wrongSecret = await failure(provider({ credentials: { clientId: SALESFORCE_SANDBOX_CLIENT_ID, clientSecret: 'nope' } }).create({ fulfillmentOrderId: CA_ORDER }, { idempotencyKey: 'k' }));
    expect(wrongSecret.userErrors[0]).toMatchObject({ code: 'PROVIDER_UNAUTHORIZED', providerCode: 'invalid_client' });
    expect(wrongSecret.disposition).toBe('final');

    const other = await generateKeyPair('RS256', { extractable: true });
    const wrongKey = await failure(
      provider({ credentials: { clientId: SALESFORCE_SANDBOX_CLIENT_ID, username: SALESFORCE_SANDBOX_USERNAME, privateKey: await exportPKCS8(other.privateKey) }, loginUrl: org.baseUrl }).create(
        { fulfillmentOrderId: CA_ORDER },
        { idempotencyKey: 'k' },
      ),
    );
    expect(wrongKey.userErrors[0]).toMatchObject({ code: 'PROVIDER_UNAUTHORIZED', providerCode: 'invalid_grant' });
    expect(org.invoices()).toHaveLength(0);
    expect(org.server.countCalls('POST', /create-invoice/)).toBe(0);
  });

  it('replicas share one session through the store: the second takes the first one\'s, and a renewal by one serves the other', async () => {
    const store = new MemoryTokenStore();
    const [a, b] = [provider({ sharedTokens: store }), provider({ sharedTokens: store })];
    const made = await a.create({ fulfillmentOrderId: CA_ORDER }, { idempotencyKey: 'k' });
    await b.loadDetails(made.map(ref));
    expect(org.sessionsIssued.client_credentials).toBe(1);

    org.expireSessions();
    await a.loadDetails(made.map(ref));
    expect(org.sessionsIssued.client_credentials).toBe(2);
    // B's session was ended too: its 401 finds A's new session in the store instead of asking for a third.
    const [d] = await b.loadDetails(made.map(ref));
    expect(d).not.toBeInstanceOf(Error);
    expect(org.sessionsIssued.client_credentials).toBe(2);
  });

  it(`replicas share the session through the ledger's shared_tokens table (${storeName()})`, async () => {
    const db = await openTestDatabase();
    try {
      const store = new DatabaseTokenStore(db);
      const [a, b] = [provider({ sharedTokens: store }), provider({ sharedTokens: store })];
      const made = await a.create({ fulfillmentOrderId: CA_ORDER }, { idempotencyKey: 'k' });
      org.expireSessions();
      const [ra, rb] = await Promise.all([a.loadDetails(made.map(ref)), b.loadDetails(made.map(ref))]);
      expect([ra[0], rb[0]].every((d) => !(d instanceof Error))).toBe(true);
      expect(org.sessionsIssued.client_credentials).toBe(2);
    } finally {
      await db.close();
    }
  });

  it('a fixed SALESFORCE_ACCESS_TOKEN still works, and is never renewed', async () => {
    const p = provider({ credentials: { accessToken: SALESFORCE_SANDBOX_TOKEN } });
    const [d] = await p.create({ fulfillmentOrderId: CA_ORDER }, { idempotencyKey: 'k' });
    expect(money(d!.header.total)).toBe('292.20 USD');
    expect(org.server.countCalls('POST', '/services/oauth2/token')).toBe(0);
  });
});

describe('Salesforce orgs as they come (describe, single currency, API version, RelatedLineId)', () => {
  const provider = (emulator: SalesforceEmulator, apiVersion = '62.0') =>
    new SalesforceProvider({ instanceUrl: emulator.baseUrl, accessToken: SALESFORCE_SANDBOX_TOKEN, apiVersion, timeoutMs: 1_000 });
  const soql = (emulator: SalesforceEmulator) => emulator.server.calls.filter((c) => c.path.endsWith('/query')).map((c) => String(c.query.q));

  it('the single-currency emulator refuses CurrencyIsoCode as Salesforce does (400 INVALID_FIELD) and leaves it out of describes', async () => {
    const single = new SalesforceEmulator({ multiCurrency: false, orgCurrency: 'EUR' });
    await single.start(0);
    try {
      const auth = { headers: { authorization: `Bearer ${SALESFORCE_SANDBOX_TOKEN}` } };
      const res = await fetch(`${single.baseUrl}/services/data/v62.0/query?q=${encodeURIComponent("SELECT Id, CurrencyIsoCode FROM Invoice WHERE Id IN ('3ttDn000000AAAAAAA')")}`, auth);
      expect(res.status).toBe(400);
      expect(((await res.json()) as Array<{ errorCode: string }>)[0]!.errorCode).toBe('INVALID_FIELD');
      const describe = (await (await fetch(`${single.baseUrl}/services/data/v62.0/sobjects/Invoice/describe`, auth)).json()) as { fields: Array<{ name: string }> };
      expect(describe.fields.map((f) => f.name)).not.toContain('CurrencyIsoCode');
    } finally {
      await single.stop();
    }
  });

  it('a single-currency org: the create is read back in the org currency, never left unrecorded; described once per instance', async () => {
    const single = new SalesforceEmulator({ multiCurrency: false, orgCurrency: 'EUR' });
    await single.start(0);
    try {
      const p = provider(single);
      const [d] = await p.create({ fulfillmentOrderId: CA_ORDER }, { idempotencyKey: 'k' });
      expect([d!.header.currencyCode, money(d!.header.total)]).toEqual(['EUR', '292.20 EUR']);
      expect(soql(single).some((q) => /\bCurrencyIsoCode/.test(q))).toBe(false);
      expect(soql(single)).toContain('SELECT DefaultCurrencyIsoCode FROM Organization');
      single.server.resetCalls();
      const [again] = await p.loadDetails([ref(d!)]);
      expect(money((again as InvoiceDetails).lines[0]!.total)).toBe('281.43 EUR');
      expect(p.describes).toBe(1);
      expect(single.server.calls.filter((c) => c.path.endsWith('/describe'))).toHaveLength(0);
    } finally {
      await single.stop();
    }
  });

  it('a read-back refused for a field (the org changed) drops the describe: findCreated describes again and records the invoice', async () => {
    const org = new SalesforceEmulator();
    await org.start(0);
    try {
      const p = provider(org);
      org.server.injectFault({ method: 'GET', path: /\/query/, status: 400, body: [{ errorCode: 'INVALID_FIELD', message: "No such column 'CurrencyIsoCode' on entity 'Invoice'." }], times: 3 });
      const err = await failure(p.create({ fulfillmentOrderId: CA_ORDER }, { idempotencyKey: 'k' }));
      expect(err.disposition).toBe('indeterminate');
      const [found] = await p.findCreated({ fulfillmentOrderId: CA_ORDER });
      expect(found!.header.providerInvoiceId).toBe(org.invoices()[0]!.id);
      expect(p.describes).toBe(2);
    } finally {
      await org.stop();
    }
  });

  it('lines join their adjustment and tax lines through RelatedLineId; below API 55.0 (no LineAmount) ChargeAmount stands in', async () => {
    const org = new SalesforceEmulator({ relatedLines: true });
    await org.start(0);
    try {
      for (const version of ['62.0', '48.0']) {
        org.reset();
        const [d] = await provider(org, version).create({ fulfillmentOrderId: MA_ORDER }, { idempotencyKey: 'k' });
        expect(d!.lines.map((l) => [l.description, money(l.subtotal), money(l.taxTotal), money(l.total)])).toEqual([['Espresso Machine', '449.00 USD', '28.06 USD', '477.06 USD']]);
        expect(d!.taxes.map((t) => [t.code, money(t.amount)])).toEqual([['US-MA', '28.06 USD']]);
        const lineQuery = soql(org).find((q) => q.includes('FROM InvoiceLine'))!;
        expect(lineQuery.includes('LineAmount')).toBe(version === '62.0');
        expect(lineQuery).toContain('RelatedLineId');
      }
    } finally {
      await org.stop();
    }
  });
});
