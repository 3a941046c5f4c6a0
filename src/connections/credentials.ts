/**
 * What a tenant's connection holds for each provider: given to connectProvider, sealed at rest, never returned. Base
 * URLs are the tenant's account at the provider (a Salesforce org's My Domain, a Zuora data centre); where the input
 * leaves one out, the deployment's own base URL for the provider is used.
 */
export type ConnectionCredentials =
  | { provider: 'SALLA'; baseUrl: string; accessToken: string; refreshToken?: string; expiresAt?: string }
  | { provider: 'ZUORA'; baseUrl: string; clientId: string; clientSecret: string; webhookSecret?: string }
  | { provider: 'SALESFORCE'; instanceUrl: string; clientId: string; clientSecret: string }
  | { provider: 'EXSITED'; baseUrl: string; clientId: string; clientSecret: string; redirectUri?: string }
  | { provider: 'COMMERCE'; baseUrl: string; accessToken: string; currency: string };

/** The base URL a connection reaches. */
export function baseUrlOf(c: ConnectionCredentials): string {
  return c.provider === 'SALESFORCE' ? c.instanceUrl : c.baseUrl;
}

/**
 * Why a base URL given by a tenant may not be used, or null. A tenant's URL is where this service sends credentials
 * and from where it reads, so it must be https (a loopback http URL only where sandboxes run, for the emulators),
 * with no user info, query or fragment: otherwise a caller could point the service at an internal address.
 */
export function baseUrlProblem(text: string, allowLoopbackHttp: boolean): string | null {
  if (text.length > 2048) return 'is longer than 2048 characters';
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'is not an absolute URL';
  }
  if (url.username || url.password) return 'must not carry user info';
  if (url.search || url.hash) return 'must not carry a query or fragment';
  const loopback = url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]';
  // ASSUMPTION: providers are reached by name; an IP literal in a private or link-local range (a metadata service,
  // a neighbour) is refused. A name that resolves to such an address is not caught here: egress rules must.
  if (!loopback && PRIVATE_LITERAL.test(url.hostname)) return 'must not be a private or link-local address';
  if (url.protocol === 'https:') return loopback && !allowLoopbackHttp ? 'must not be a loopback address' : null;
  if (url.protocol === 'http:' && loopback && allowLoopbackHttp) return null;
  return allowLoopbackHttp ? 'must be https (http only on a loopback address, for the sandboxes)' : 'must be https';
}

const PRIVATE_LITERAL = /^(10\.|127\.|0\.|169\.254\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|\[(f[cd]|fe80|::))/i;

/**
 * The credentials an account event delivered (a Salla store's tokens from app.store.authorize), reached at the
 * deployment's base URL for the provider. Only Salla delivers tokens so; any other provider's is a bug.
 */
export function deliveredCredentials(provider: string, baseUrl: string, tokens: { accessToken: string; refreshToken: string; expiresAt: Date }): ConnectionCredentials {
  if (provider !== 'SALLA') throw new Error(`${provider} delivers no tokens to the app`);
  return { provider: 'SALLA', baseUrl, accessToken: tokens.accessToken, refreshToken: tokens.refreshToken, expiresAt: tokens.expiresAt.toISOString() };
}
