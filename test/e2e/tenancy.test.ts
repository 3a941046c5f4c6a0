import { SignJWT } from 'jose';
import pino from 'pino';
import { loadConfig } from '../../src/server/config';
import { startServer, type RunningServer } from '../../src/server/main';
import { dropTestSchema, storeName } from '../support/store';

const SECRET = 'a-development-hs256-secret-of-32-chars!';
const ISSUER = 'https://auth.example.com/';
const AUDIENCE = 'invoicing';

async function token(claims: Record<string, unknown>, options: { secret?: string; audience?: string; expiresIn?: string } = {}): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(ISSUER)
    .setAudience(options.audience ?? AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '5m')
    .sign(new TextEncoder().encode(options.secret ?? SECRET));
}

const CREATE = 'mutation ($i: CreateInvoiceInput!, $k: String) { createInvoice(input: $i, idempotencyKey: $k) { invoice { id } userErrors { code } } }';
const READ = 'query ($id: ID!) { invoice(id: $id) { id } }';
const ENTITIES = 'query ($r: [_Any!]!) { _entities(representations: $r) { ... on Invoice { id } ... on Order { id invoices { id } } } }';

describe(`tenants and scopes from the forwarded token (${storeName()})`, () => {
  let server: RunningServer;
  const call = async (query: string, variables: Record<string, unknown>, bearer?: string) => {
    const res = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    return { status: res.status, body: (await res.json()) as { data?: any; errors?: Array<{ message: string; extensions?: { code?: string } }> } };
  };
  let a: string;
  let b: string;
  let invoiceOfA: string;
  const schema = `jwt_${Date.now().toString(36)}`;

  beforeAll(async () => {
    const store = process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL, DATABASE_SCHEMA: schema } : { PGLITE_DATA_DIR: 'memory://' };
    server = await startServer(
      loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE, JWT_SECRET: SECRET, ...store }),
      pino({ level: 'silent' }),
    );
    a = await token({ tenant_id: 'tenant-a', scope: 'invoices:read invoices:write' });
    b = await token({ tenant_id: 'tenant-b', scope: 'invoices:read invoices:write' });
    const created = await call(CREATE, { i: { commerce: { orderId: '69ab2a10449866373d5e3e40' } }, k: 'shared-key' }, a);
    expect(created.body.data.createInvoice.userErrors).toEqual([]);
    invoiceOfA = created.body.data.createInvoice.invoice.id;
  });
  afterAll(async () => {
    await server.stop();
    await dropTestSchema(schema);
  });

  it("a tenant reads its own invoice, and another tenant cannot read it, resolve it or list it", async () => {
    expect((await call(READ, { id: invoiceOfA }, a)).body.data.invoice).toEqual({ id: invoiceOfA });
    expect((await call(READ, { id: invoiceOfA }, b)).body.data.invoice).toBeNull();
    const entities = await call(ENTITIES, { r: [{ __typename: 'Invoice', id: invoiceOfA }, { __typename: 'Order', id: '69ab2a10449866373d5e3e40' }] }, b);
    expect(entities.body.data._entities).toEqual([null, { id: '69ab2a10449866373d5e3e40', invoices: [] }]);
  });

  it("replaying another tenant's idempotency key never returns that tenant's invoice", async () => {
    const replay = await call(CREATE, { i: { commerce: { orderId: '69ab2a10449866373d5e3e40' } }, k: 'shared-key' }, b);
    expect(replay.body.data.createInvoice.invoice?.id).not.toBe(invoiceOfA);
    // The order is invoiced at the provider already: tenant B is told so, and gets nothing of tenant A's.
    expect(replay.body.data.createInvoice.userErrors).toEqual([{ code: 'ALREADY_INVOICED' }]);
  });

  it.each([
    ['no token', undefined],
    ['a token signed with another key', 'other'],
    ['a token for another audience', 'audience'],
    ['an expired token', 'expired'],
    ['a token without a tenant', 'tenantless'],
  ])('refuses %s with UNAUTHENTICATED (401)', async (_name, kind) => {
    const bearer =
      kind === 'other'
        ? await token({ tenant_id: 't', scope: 'invoices:read' }, { secret: 'another-secret-of-at-least-32-characters' })
        : kind === 'audience'
          ? await token({ tenant_id: 't', scope: 'invoices:read' }, { audience: 'someone-else' })
          : kind === 'expired'
            ? await token({ tenant_id: 't', scope: 'invoices:read' }, { expiresIn: '-1m' })
            : kind === 'tenantless'
              ? await token({ scope: 'invoices:read' })
              : undefined;
    const res = await call(READ, { id: invoiceOfA }, bearer);
    expect(res.status).toBe(401);
    expect(res.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(res.body.data).toBeUndefined();
  });

  it('needs invoices:write to create and invoices:read to read (FORBIDDEN, 403), before anything runs', async () => {
    const readOnly = await token({ tenant_id: 'tenant-a', scope: 'invoices:read' });
    const create = await call(CREATE, { i: { commerce: { orderId: '69ab2b77449866373d5e3e50' } } }, readOnly);
    expect(create.status).toBe(403);
    expect(create.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const writeOnly = await token({ tenant_id: 'tenant-a', scope: 'invoices:write' });
    const read = await call(READ, { id: invoiceOfA }, writeOnly);
    expect(read.status).toBe(403);
    // The refused create reached no provider: the order can still be invoiced.
    const ok = await call(CREATE, { i: { commerce: { orderId: '69ab2b77449866373d5e3e50' } } }, a);
    expect(ok.body.data.createInvoice.userErrors).toEqual([]);
  });
});
