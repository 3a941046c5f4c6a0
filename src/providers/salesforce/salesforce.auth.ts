import { importPKCS8, SignJWT } from 'jose';
import { postForm, TransportError, type HttpResponse } from '../shared/http-client';
import type { IssuedToken } from '../shared/token-source';
import { mapSalesforceFailure } from './salesforce.errors';
import { tokenResponse } from './salesforce.wire';

/**
 * How this service gets its Salesforce session: a connected app's client credentials (the app's execution user), a
 * JWT signed with the key of the certificate uploaded to the connected app (the user named by `username`), or a
 * session id an operator obtained another way (never renewed).
 */
export type SalesforceCredentials =
  | { clientId: string; clientSecret: string }
  | { clientId: string; username: string; privateKey: string }
  | { accessToken: string };

/** Where JWT bearer assertions go and what their `aud` is, unless SALESFORCE_LOGIN_URL says otherwise. */
export const DEFAULT_SALESFORCE_LOGIN_URL = 'https://login.salesforce.com';

/**
 * How long a session is taken to live. Salesforce's token answer has no expires_in: a session ends at the org's
 * timeout (Session Settings, 15 minutes to 24 hours, extended while in use), which the API does not tell. So a
 * session is used until Salesforce answers INVALID_SESSION_ID (401), which renews it once and resends the call, and
 * is renewed anyway after 24 hours, the longest timeout an org can set.
 */
export const SALESFORCE_SESSION_ASSUMED_SECONDS = 24 * 3600;

/** The JWT bearer flow wants an assertion that expires within three minutes; two leave room for clock skew. */
const ASSERTION_LIFETIME_SECONDS = 120;

export interface SessionRequest {
  instanceUrl: string;
  loginUrl: string;
  timeoutMs: number;
  now: () => Date;
}

/**
 * One POST to the token endpoint; called by the TokenSource only, once per renewal however many callers wait.
 * - Client credentials flow, to `${instanceUrl}/services/oauth2/token` (the flow needs the org's My Domain):
 *   https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_client_credentials_flow.htm
 * - JWT bearer flow, to `${loginUrl}/services/oauth2/token`, with an RS256 JWT whose iss is the consumer key, sub the
 *   username, aud the login URL and exp within three minutes:
 *   https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_jwt_flow.htm
 * The answer's instance_url is not followed: SALESFORCE_INSTANCE_URL is where the token is sent, and nowhere else.
 */
export async function issueSalesforceSession(credentials: Exclude<SalesforceCredentials, { accessToken: string }>, req: SessionRequest, keyCache: { key?: Promise<CryptoKeyLike> }): Promise<IssuedToken> {
  let url: string;
  let form: URLSearchParams;
  if ('clientSecret' in credentials) {
    url = `${req.instanceUrl.replace(/\/+$/, '')}/services/oauth2/token`;
    form = new URLSearchParams({ grant_type: 'client_credentials', client_id: credentials.clientId, client_secret: credentials.clientSecret });
  } else {
    const aud = req.loginUrl.replace(/\/+$/, '');
    url = `${aud}/services/oauth2/token`;
    // The key is parsed once per provider: a PEM that does not parse is a configuration error, reported on first use.
    keyCache.key ??= importPKCS8(credentials.privateKey, 'RS256');
    const now = Math.floor(req.now().getTime() / 1000);
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256' })
      .setIssuer(credentials.clientId)
      .setSubject(credentials.username)
      .setAudience(aud)
      .setExpirationTime(now + ASSERTION_LIFETIME_SECONDS)
      .sign(await keyCache.key);
    form = new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion });
  }
  const res = await post(url, form, req.timeoutMs);
  const token = tokenResponse.safeParse(res.json);
  if (res.status !== 200 || !token.success) throw mapSalesforceFailure(res, 'token');
  return { accessToken: token.data.access_token, expiresIn: SALESFORCE_SESSION_ASSUMED_SECONDS };
}

type CryptoKeyLike = Awaited<ReturnType<typeof importPKCS8>>;

/** The token request; transport failures as the mapped error. */
async function post(url: string, form: URLSearchParams, timeoutMs: number): Promise<HttpResponse> {
  try {
    return await postForm(url, Object.fromEntries(form), timeoutMs, 'SALESFORCE');
  } catch (err) {
    if (err instanceof TransportError) throw mapSalesforceFailure(new TransportError(err.kind, `token request failed (${err.message})`, err.status), 'token');
    throw err;
  }
}
