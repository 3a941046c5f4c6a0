import { SignJWT } from 'jose';
import { sallaSandboxStores, type SallaStoreSeed } from '../../src/sandbox/salla/salla.seed';

/** The JWT settings of the multi-tenant e2e servers (HS256, development). */
export const JWT = { JWT_ISSUER: 'https://auth.example.com/', JWT_AUDIENCE: 'invoicing', JWT_SECRET: 'a-development-hs256-secret-of-32-chars!' } as const;
export const ALL_SCOPES = 'invoices:read invoices:write connections:read connections:write';

/** A token for `tenant` as the platform's auth server would sign it. */
export function tenantToken(tenant: string, scope = ALL_SCOPES): Promise<string> {
  return new SignJWT({ tenant_id: tenant, scope })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(JWT.JWT_ISSUER)
    .setAudience(JWT.JWT_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(new TextEncoder().encode(JWT.JWT_SECRET));
}

/** A second store of the same app: its own id, tokens and order ids (Salla's order ids are unique across stores). */
export const STORE_B_TOKEN = 'salla-store-b-token';
export const STORE_B_ID = 1305146799;
export const STORE_B_ORDER_OFFSET = 7;

/** The sandbox's store and store B. */
export function twoSallaStores(): SallaStoreSeed[] {
  const [a] = sallaSandboxStores();
  const b: SallaStoreSeed = {
    ...a!,
    id: STORE_B_ID,
    name: 'Store B',
    tokens: [{ token: STORE_B_TOKEN, scopes: ['orders.read_write'] }],
    refreshTokens: [],
    orders: a!.orders.map((o) => ({ ...o, id: o.id + STORE_B_ORDER_OFFSET, items: o.items.map((i) => ({ ...i })) })),
  };
  return [a!, b];
}

/** Posts a GraphQL operation as the bearer; the HTTP status and the parsed body. */
export async function callAs(url: string, query: string, variables: Record<string, unknown>, bearer: string) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` }, body: JSON.stringify({ query, variables }) });
  const text = await res.text();
  return { status: res.status, text, body: JSON.parse(text) as { data?: any; errors?: Array<{ message: string; extensions?: { code?: string } }> } };
}
