import { createPublicKey, type KeyObject } from 'node:crypto';
import { GraphQLError, Kind, type DocumentNode, type FragmentDefinitionNode, type OperationDefinitionNode, type SelectionSetNode } from 'graphql';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { textProblem } from '../domain/text';

/** Who is calling: the tenant that scopes every ledger read and write, and what they may do. */
export interface Caller {
  tenantId: string;
  /** null: no token verification is configured, so nothing is gated (development, or a trusted network). */
  scopes: ReadonlySet<string> | null;
}

export const READ_SCOPE = 'invoices:read';
export const WRITE_SCOPE = 'invoices:write';

export interface JwtConfig {
  issuer: string;
  audience: string;
  key: { jwksUrl: string } | { publicKeyPem: string } | { secret: string };
  tenantClaim: string;
  /** The oldest token accepted, counted from its `iat` (JWT_MAX_AGE_SECONDS). */
  maxAgeSeconds: number;
  /** Allowed difference between our clock and the issuer's, for `exp`, `nbf` and `iat` (JWT_CLOCK_TOLERANCE_SECONDS). */
  clockToleranceSeconds: number;
}

/** A tenant id is a key in every ledger row: short, single-line text. */
const TENANT_RULE = { maxLength: 255 };

/** The tenant of every request when no token verification is configured. */
export const DEFAULT_TENANT = 'default';

const unauthenticated = (message: string) =>
  new GraphQLError(message, { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });

/** Algorithms a key may verify: never `none`, and never HMAC with a public key. */
function algorithmsFor(key: KeyObject): string[] {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return ['RS256', 'RS384', 'RS512'];
    case 'rsa-pss':
      return ['PS256', 'PS384', 'PS512'];
    case 'ec':
      return ['ES256', 'ES384', 'ES512'];
    case 'ed25519':
    case 'ed448':
      return ['EdDSA'];
    default:
      throw new Error(`unsupported public key type ${key.asymmetricKeyType}`);
  }
}

/**
 * Builds the function that turns a request's `Authorization` header into a Caller, once per request before any
 * resolver runs. Without JWT configuration every request is the default tenant with every scope. Costs a
 * signature check per request; a JWKS is fetched once and cached by jose.
 */
export function createAuthenticator(config: JwtConfig | null): (authorization: string | undefined) => Promise<Caller> {
  if (!config) return async () => ({ tenantId: DEFAULT_TENANT, scopes: null });

  let key: JWTVerifyGetKey | KeyObject | Uint8Array;
  let algorithms: string[];
  if ('jwksUrl' in config.key) {
    key = createRemoteJWKSet(new URL(config.key.jwksUrl));
    algorithms = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
  } else if ('publicKeyPem' in config.key) {
    const publicKey = createPublicKey(config.key.publicKeyPem);
    key = publicKey;
    algorithms = algorithmsFor(publicKey);
  } else {
    key = new TextEncoder().encode(config.key.secret);
    algorithms = ['HS256'];
  }

  return async (authorization) => {
    const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
    if (!token) throw unauthenticated('A bearer token is required (Authorization: Bearer <token>).');
    let payload: Record<string, unknown>;
    try {
      // A token must expire, and must not be older than the configured age even if its expiry is far away.
      ({ payload } = await jwtVerify(token, key as never, {
        issuer: config.issuer,
        audience: config.audience,
        algorithms,
        requiredClaims: ['exp', 'iat'],
        maxTokenAge: config.maxAgeSeconds,
        clockTolerance: config.clockToleranceSeconds,
      }));
    } catch (err) {
      // jose's codes say why (expired, bad signature, wrong audience) without revealing the token.
      const why = err instanceof joseErrors.JOSEError ? err.code : 'ERR_JWT_INVALID';
      throw unauthenticated(`The bearer token was refused (${why}).`);
    }
    const tenant = payload[config.tenantClaim];
    if (typeof tenant !== 'string' || tenant.length === 0) throw unauthenticated(`The bearer token has no "${config.tenantClaim}" claim.`);
    const problem = textProblem(tenant, TENANT_RULE);
    if (problem) throw unauthenticated(`The bearer token's "${config.tenantClaim}" claim ${problem}: a tenant id is at most ${TENANT_RULE.maxLength} characters of plain text.`);
    const scope = typeof payload.scope === 'string' ? payload.scope : '';
    return { tenantId: tenant, scopes: new Set(scope.split(/\s+/).filter(Boolean)) };
  };
}

/** The scopes of a tenant's provider connections: reading them (never their secrets), and making or ending them. */
export const CONNECTIONS_READ_SCOPE = 'connections:read';
export const CONNECTIONS_WRITE_SCOPE = 'connections:write';

/** Root fields gated by a scope of their own; every other query field needs invoices:read, mutation field invoices:write. */
const FIELD_SCOPES: Record<string, string> = {
  providerConnections: CONNECTIONS_READ_SCOPE,
  connectProvider: CONNECTIONS_WRITE_SCOPE,
  disconnectProvider: CONNECTIONS_WRITE_SCOPE,
};

/**
 * Called once per operation, before execution: each root field needs its scope (FIELD_SCOPES; queries invoices:read,
 * mutations invoices:write otherwise), and an operation needs all of its fields'. `rootFields`: the operation's root
 * field names, fragments followed; introspection alone needs the operation's default scope.
 */
export function requireScope(caller: Caller, operation: 'query' | 'mutation' | 'subscription', rootFields: readonly string[] = []): void {
  if (!caller.scopes) return;
  const fallback = operation === 'mutation' ? WRITE_SCOPE : READ_SCOPE;
  const needed = new Set(rootFields.filter((f) => !f.startsWith('__')).map((f) => FIELD_SCOPES[f] ?? fallback));
  if (needed.size === 0) needed.add(fallback);
  const missing = [...needed].filter((scope) => !caller.scopes!.has(scope));
  if (missing.length > 0) {
    throw new GraphQLError(`This operation needs the ${missing.map((m) => `"${m}"`).join(' and ')} scope${missing.length > 1 ? 's' : ''}.`, { extensions: { code: 'FORBIDDEN', http: { status: 403 } } });
  }
}

/** The root field names of an operation, through its inline fragments and fragment spreads. Pure. */
export function rootFieldsOf(operation: OperationDefinitionNode, document: DocumentNode): string[] {
  const fragments = new Map(document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((f) => [f.name.value, f]));
  const out = new Set<string>();
  const seen = new Set<string>();
  const walk = (set: SelectionSetNode) => {
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) out.add(sel.name.value);
      else if (sel.kind === Kind.INLINE_FRAGMENT) walk(sel.selectionSet);
      else if (!seen.has(sel.name.value)) {
        seen.add(sel.name.value);
        const f = fragments.get(sel.name.value);
        if (f) walk(f.selectionSet);
      }
    }
  };
  walk(operation.selectionSet);
  return [...out];
}
