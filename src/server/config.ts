import { z } from 'zod';
import type { ClientCredentials } from '../providers/shared/token-source';
import { parseConnectionsKey } from '../connections/connection-keys';
import { SALLA_TOKEN_URL, type SallaOAuth } from '../providers/salla/salla.provider';
import { DEFAULT_SALESFORCE_LOGIN_URL, type SalesforceCredentials } from '../providers/salesforce/salesforce.auth';
import type { ProviderCode } from '../domain/invoice';
import type { JwtConfig } from './auth';
import { DEFAULT_REQUEST_LIMITS, type RequestLimits } from './request-guard';
import { HTTP_TIMEOUTS, type HttpTimeouts } from './http-timeouts';

/** A CONNECTIONS_KEY value must be 32 bytes of base64. */
function keyCheck(value: string, ctx: z.RefinementCtx, name: string): void {
  const parsed = parseConnectionsKey(value);
  if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: `${name} ${parsed}` });
}

const url = (name: string) =>
  z
    .string()
    .trim()
    .refine((v) => {
      try {
        const u = new URL(v);
        return u.protocol === 'http:' || u.protocol === 'https:';
      } catch {
        return false;
      }
    }, `${name} must be an http(s) URL`);

const optional = <T extends z.ZodTypeAny>(schema: T) => z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

/** Providers by the names SANDBOX_PROVIDERS takes. */
const SANDBOXABLE = ['salesforce', 'salla', 'zuora', 'exsited', 'commerce'] as const;

const env = z.object({
  PORT: optional(z.coerce.number().int().min(0).max(65535)).default(4001),
  HOST: optional(z.string()).default('0.0.0.0'),
  NODE_ENV: optional(z.string()),
  LOG_LEVEL: optional(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])).default('info'),
  LOG_FORMAT: optional(z.enum(['pretty', 'json'], { message: 'LOG_FORMAT must be pretty or json' })),
  SHUTDOWN_TIMEOUT_MS: optional(z.coerce.number().int().min(0).max(600_000)).default(25_000),
  SHUTDOWN_DELAY_MS: optional(z.coerce.number().int().min(0).max(60_000)).default(0),
  CONNECTIONS_KEY: optional(z.string().superRefine((v, ctx) => keyCheck(v, ctx, 'CONNECTIONS_KEY'))),
  CONNECTIONS_KEY_PREVIOUS: optional(z.string().superRefine((v, ctx) => keyCheck(v, ctx, 'CONNECTIONS_KEY_PREVIOUS'))),
  METRICS_TOKEN: optional(z.string().min(16, 'METRICS_TOKEN must be at least 16 characters')),
  DATABASE_URL: optional(
    z
      .string()
      .trim()
      .refine((v) => /^postgres(ql)?:\/\//.test(v), 'DATABASE_URL must be a postgres:// or postgresql:// URL'),
  ),
  DATABASE_SCHEMA: optional(z.string().regex(/^[a-z_][a-z0-9_]*$/, 'DATABASE_SCHEMA must be a lower-case SQL identifier')),
  PGLITE_DATA_DIR: optional(z.string()).default('.data/pglite'),
  SALLA_BASE_URL: optional(url('SALLA_BASE_URL')),
  SALLA_ACCESS_TOKEN: optional(z.string().trim().min(1)),
  SALLA_CLIENT_ID: optional(z.string().trim().min(1)),
  SALLA_CLIENT_SECRET: optional(z.string().trim().min(1)),
  SALLA_REFRESH_TOKEN: optional(z.string().trim().min(1)),
  SALLA_TOKEN_URL: optional(url('SALLA_TOKEN_URL')).default(SALLA_TOKEN_URL),
  SALESFORCE_INSTANCE_URL: optional(url('SALESFORCE_INSTANCE_URL')),
  SALESFORCE_ACCESS_TOKEN: optional(z.string().trim().min(1)),
  SALESFORCE_CLIENT_ID: optional(z.string().trim().min(1)),
  SALESFORCE_CLIENT_SECRET: optional(z.string().trim().min(1)),
  SALESFORCE_USERNAME: optional(z.string().trim().min(1)),
  // A PEM in one line of an env file has its newlines written as \n.
  SALESFORCE_PRIVATE_KEY: optional(
    z
      .string()
      .transform((v) => v.replace(/\\n/g, '\n').trim())
      // The JWT is signed with jose's importPKCS8: a PKCS#1 key ("BEGIN RSA PRIVATE KEY") needs `openssl pkcs8 -topk8 -nocrypt` first.
      .refine((v) => v.includes('-----BEGIN PRIVATE KEY-----'), 'SALESFORCE_PRIVATE_KEY must be a PKCS#8 PEM private key (-----BEGIN PRIVATE KEY-----)'),
  ),
  SALESFORCE_LOGIN_URL: optional(url('SALESFORCE_LOGIN_URL')),
  SALESFORCE_API_VERSION: optional(
    z
      .string()
      .trim()
      .regex(/^v?\d{2,3}\.0$/, 'SALESFORCE_API_VERSION must look like 62.0')
      // The create-invoice action exists from v48.0.
      .refine((v) => Number(v.replace(/^v/, '')) >= 48, 'SALESFORCE_API_VERSION must be 48.0 or later'),
  ).default('62.0'),
  ZUORA_BASE_URL: optional(url('ZUORA_BASE_URL')),
  ZUORA_CLIENT_ID: optional(z.string().trim().min(1)),
  ZUORA_CLIENT_SECRET: optional(z.string().trim().min(1)),
  ZUORA_ACCESS_TOKEN: optional(z.string().trim().min(1)),
  EXSITED_BASE_URL: optional(url('EXSITED_BASE_URL')),
  EXSITED_CLIENT_ID: optional(z.string().trim().min(1)),
  EXSITED_CLIENT_SECRET: optional(z.string().trim().min(1)),
  EXSITED_ACCESS_TOKEN: optional(z.string().trim().min(1)),
  /** Sent as `redirect_uri` on token requests, as Exsited's SDKs send the app's registered redirect URI. */
  EXSITED_REDIRECT_URI: optional(url('EXSITED_REDIRECT_URI')),
  COMMERCE_BASE_URL: optional(url('COMMERCE_BASE_URL')),
  COMMERCE_ACCESS_TOKEN: optional(z.string().trim().min(1)),
  COMMERCE_CURRENCY: optional(z.string().trim().regex(/^[A-Za-z]{3}$/, 'COMMERCE_CURRENCY must be an ISO 4217 code such as USD')),
  JWT_ISSUER: optional(z.string().trim().min(1)),
  JWT_AUDIENCE: optional(z.string().trim().min(1)),
  JWT_JWKS_URL: optional(url('JWT_JWKS_URL')),
  JWT_PUBLIC_KEY: optional(z.string().refine((v) => v.includes('-----BEGIN PUBLIC KEY-----'), 'JWT_PUBLIC_KEY must be a PEM public key')),
  JWT_SECRET: optional(z.string().min(32, 'JWT_SECRET must be at least 32 characters')),
  JWT_TENANT_CLAIM: optional(z.string().trim().min(1)).default('tenant_id'),
  JWT_MAX_AGE_SECONDS: optional(z.coerce.number().int().min(60).max(30 * 86_400)).default(86_400),
  JWT_CLOCK_TOLERANCE_SECONDS: optional(z.coerce.number().int().min(0).max(300)).default(30),
  ROUTER_SECRET: optional(z.string().min(16, 'ROUTER_SECRET must be at least 16 characters')),
  APOLLO_KEY: optional(z.string().trim().min(1)),
  APOLLO_GRAPH_REF: optional(z.string().trim().regex(/^[^@\s]+@[^@\s]+$/, 'APOLLO_GRAPH_REF must look like graph-id@variant')),
  PROVIDER_TIMEOUT_MS: optional(z.coerce.number().int().min(100).max(120_000)).default(10_000),
  ATTEMPT_LEASE_MS: optional(z.coerce.number().int().min(200).max(3_600_000)).default(60_000),
  RECONCILE_INTERVAL_MS: optional(z.coerce.number().int().min(0).max(86_400_000)).default(60_000),
  INVOICE_FRESHNESS_MS: optional(z.coerce.number().int().min(0).max(30 * 86_400_000)).default(60_000),
  SALLA_WEBHOOK_SECRET: optional(z.string().min(16, 'SALLA_WEBHOOK_SECRET must be at least 16 characters')),
  ZUORA_WEBHOOK_SECRET: optional(z.string().min(16, 'ZUORA_WEBHOOK_SECRET must be at least 16 characters')),
  EXSITED_WEBHOOK_SECRET: optional(z.string().min(16, 'EXSITED_WEBHOOK_SECRET must be at least 16 characters')),
  JOB_HEARTBEAT_SECONDS: optional(z.coerce.number().int().min(10).max(600)).default(30),
  SYNC_INTERVAL_MS: optional(z.coerce.number().int().refine((v) => v === 0 || (v >= 1_000 && v <= 86_400_000), 'SYNC_INTERVAL_MS must be 0 (never) or between 1000 and 86400000')).default(300_000),
  SANDBOX_PROVIDERS: optional(
    z
      .string()
      .trim()
      .toLowerCase()
      .refine((v) => v === 'all' || v === 'none' || v.split(',').every((p) => (SANDBOXABLE as readonly string[]).includes(p.trim())), `SANDBOX_PROVIDERS must be all, none, or a comma-separated list of ${SANDBOXABLE.join(', ')}`),
  ),
  HTTP_REQUEST_TIMEOUT_MS: optional(z.coerce.number().int().min(500).max(600_000)).default(HTTP_TIMEOUTS.requestTimeout),
  HTTP_HEADERS_TIMEOUT_MS: optional(z.coerce.number().int().min(500).max(600_000)).default(HTTP_TIMEOUTS.headersTimeout),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: optional(z.coerce.number().int().min(1_000).max(600_000)).default(HTTP_TIMEOUTS.keepAliveTimeout),
  REQUEST_MAX_COST: optional(z.coerce.number().int().min(1_000).max(100_000_000)).default(DEFAULT_REQUEST_LIMITS.maxCost),
  REQUEST_MAX_REPRESENTATIONS: optional(z.coerce.number().int().min(1).max(100_000)).default(DEFAULT_REQUEST_LIMITS.maxRepresentations),
});


export interface Config {
  port: number;
  host: string;
  production: boolean;
  /** NODE_ENV=development, set explicitly: stack traces in error responses. */
  development: boolean;
  /**
   * Unconfigured providers that get their sandbox emulator: all of them outside production, none in production unless
   * SANDBOX_PROVIDERS names them. The others are not connected: their creates answer PROVIDER_NOT_CONNECTED.
   */
  sandboxes: ReadonlySet<ProviderCode>;
  /** Work one request may cause (REQUEST_MAX_COST, REQUEST_MAX_REPRESENTATIONS). */
  limits: RequestLimits;
  /** How long a client may take to send a request and its headers, and how long an idle connection is kept (HTTP_*_TIMEOUT_MS). */
  http: HttpTimeouts;
  logLevel: string;
  /** LOG_FORMAT: pretty lines or JSON; undefined: pretty when stdout is a terminal. */
  logFormat?: 'pretty' | 'json';
  /** How long a SIGTERM waits for in-flight requests and jobs before the process exits (SHUTDOWN_TIMEOUT_MS). */
  shutdownTimeoutMs: number;
  /**
   * How long a SIGTERM keeps serving with `/ready` at 503 before it stops listening (SHUTDOWN_DELAY_MS, default 0):
   * the time a load balancer takes to stop sending new requests, where no preStop hook waits for it.
   */
  shutdownDelayMs: number;
  /** When set, `GET /metrics` needs `Authorization: Bearer <it>` (METRICS_TOKEN). */
  metricsToken: string | null;
  store: { databaseUrl?: string; schema?: string; dataDir: string };
  providerTimeoutMs: number;
  /**
   * How long a running attempt keeps its key before another caller or the reconciler may assume its process died;
   * and how often the reconciler looks for such attempts after the pass at start (0: only at start).
   */
  attempts: { leaseMs: number; reconcileIntervalMs: number };
  /** How old an invoice's status and kpis may be before a read refreshes them in the background (INVOICE_FRESHNESS_MS). */
  freshnessMs: number;
  /** The secrets webhook deliveries are verified with (<PROVIDER>_WEBHOOK_SECRET); a provider without one has no endpoint. */
  webhookSecrets: Partial<Record<ProviderCode, string>>;
  /** How often each provider is polled (SYNC_INTERVAL_MS); 0: never. */
  syncIntervalMs: number;
  /** How long a job's replica may be silent before another replica takes its job over (JOB_HEARTBEAT_SECONDS). */
  jobHeartbeatSeconds: number;
  /** GraphOS: federated tracing (ftv1, what the router reports usage from) is on only when both are set. */
  graphos: { key: string; graphRef: string } | null;
  /** When set, only callers presenting it in `router-authorization` (the gateway) are served. */
  routerSecret: string | null;
  /** When set, the forwarded bearer token is verified; its tenant claim scopes the ledger, its scopes gate operations. */
  jwt: JwtConfig | null;
  /** A provider whose base URL is configured is reached there and only there; otherwise its sandbox emulator is. */
  /**
   * Tenants' own provider connections (connectProvider), sealed under `key` (CONNECTIONS_KEY); `previous` still opens
   * what it sealed, while rotating. null: a single-tenant deployment, whose configured providers act for every caller.
   */
  connections: { key: Buffer; previous?: Buffer } | null;
  /** The Salla app's OAuth client (SALLA_CLIENT_ID, SALLA_CLIENT_SECRET): renews every connected store's tokens. */
  sallaApp: { clientId: string; clientSecret: string; tokenUrl: string } | null;
  /**
   * Salla with OAuth (`oauth`: renewed and rotated, see SallaOAuth), or a fixed token (`accessToken`), or, with
   * connections, the app alone (`appOnly`: no store of the deployment's own, each tenant connects its store).
   */
  salla: { baseUrl: string; accessToken: string } | { baseUrl: string; oauth: Required<SallaOAuth> } | { baseUrl: string; appOnly: true } | 'sandbox';
  /** Credentials: client credentials, JWT bearer (key and username), or a fixed session id (SALESFORCE_ACCESS_TOKEN). */
  salesforce: { instanceUrl: string; credentials: SalesforceCredentials; loginUrl: string; apiVersion: string } | { sandbox: true; apiVersion: string };
  zuora: { baseUrl: string; credentials: ClientCredentials } | 'sandbox';
  exsited: { baseUrl: string; credentials: ClientCredentials; redirectUri?: string } | 'sandbox';
  /** The Commerce API's amounts carry no currency: COMMERCE_CURRENCY says which one they are in. */
  commerce: { baseUrl: string; accessToken: string; currency: string } | { sandbox: true; currency: string };
}


export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Reads and checks the environment once at start; a malformed value stops the start with the variable's name. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const parsed = env.safeParse(source);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `- ${String(i.path[0] ?? '')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const problems: string[] = [];
  const require = (when: string | undefined, name: string, value: unknown) => {
    if (when && !value) problems.push(`- ${name}: required when ${when} is set`);
  };
  const sallaOAuth = [e.SALLA_CLIENT_ID, e.SALLA_CLIENT_SECRET, e.SALLA_REFRESH_TOKEN];
  // With connections, the app's client alone is a whole Salla configuration: each store's tokens come per tenant.
  const sallaAppOnly = Boolean(e.CONNECTIONS_KEY && e.SALLA_BASE_URL && e.SALLA_CLIENT_ID && e.SALLA_CLIENT_SECRET && !e.SALLA_REFRESH_TOKEN && !e.SALLA_ACCESS_TOKEN);
  if (e.CONNECTIONS_KEY_PREVIOUS && !e.CONNECTIONS_KEY) problems.push('- CONNECTIONS_KEY_PREVIOUS: needs CONNECTIONS_KEY (the key values are sealed with now)');
  if (sallaAppOnly) {
    // no default store
  } else if (e.SALLA_BASE_URL && sallaOAuth.some(Boolean)) {
    // One of them set asks for OAuth: all three are needed, whatever SALLA_ACCESS_TOKEN says.
    for (const [name, value] of [['SALLA_CLIENT_ID', e.SALLA_CLIENT_ID], ['SALLA_CLIENT_SECRET', e.SALLA_CLIENT_SECRET], ['SALLA_REFRESH_TOKEN', e.SALLA_REFRESH_TOKEN]] as const) {
      if (!value) problems.push(`- ${name}: SALLA_CLIENT_ID, SALLA_CLIENT_SECRET and SALLA_REFRESH_TOKEN go together (Salla OAuth)`);
    }
  } else if (e.SALLA_BASE_URL && !e.SALLA_ACCESS_TOKEN) {
    problems.push('- SALLA_ACCESS_TOKEN: SALLA_CLIENT_ID, SALLA_CLIENT_SECRET and SALLA_REFRESH_TOKEN (or SALLA_ACCESS_TOKEN) are required when SALLA_BASE_URL is set');
  }
  require(e.APOLLO_KEY && 'APOLLO_KEY', 'APOLLO_GRAPH_REF', e.APOLLO_GRAPH_REF);
  require(e.APOLLO_GRAPH_REF && 'APOLLO_GRAPH_REF', 'APOLLO_KEY', e.APOLLO_KEY);
  // JWT bearer when a private key is given, else client credentials, else the fixed session id.
  const salesforceCredentials = ((): SalesforceCredentials | null => {
    if (!e.SALESFORCE_INSTANCE_URL) return null;
    const id = e.SALESFORCE_CLIENT_ID;
    if (e.SALESFORCE_PRIVATE_KEY) {
      require('SALESFORCE_PRIVATE_KEY', 'SALESFORCE_CLIENT_ID', id);
      require('SALESFORCE_PRIVATE_KEY', 'SALESFORCE_USERNAME', e.SALESFORCE_USERNAME);
      return id && e.SALESFORCE_USERNAME ? { clientId: id, username: e.SALESFORCE_USERNAME, privateKey: e.SALESFORCE_PRIVATE_KEY } : null;
    }
    if (id && e.SALESFORCE_CLIENT_SECRET) return { clientId: id, clientSecret: e.SALESFORCE_CLIENT_SECRET };
    if (e.SALESFORCE_ACCESS_TOKEN) return { accessToken: e.SALESFORCE_ACCESS_TOKEN };
    problems.push(
      '- SALESFORCE_CLIENT_ID: SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET (client credentials), or SALESFORCE_CLIENT_ID, SALESFORCE_USERNAME and SALESFORCE_PRIVATE_KEY (JWT bearer), or SALESFORCE_ACCESS_TOKEN are required when SALESFORCE_INSTANCE_URL is set',
    );
    return null;
  })();
  require(e.COMMERCE_BASE_URL && 'COMMERCE_BASE_URL', 'COMMERCE_ACCESS_TOKEN', e.COMMERCE_ACCESS_TOKEN);
  require(e.COMMERCE_BASE_URL && 'COMMERCE_BASE_URL', 'COMMERCE_CURRENCY', e.COMMERCE_CURRENCY);
  const credentials = (prefix: 'ZUORA' | 'EXSITED'): ClientCredentials | null => {
    const id = e[`${prefix}_CLIENT_ID`];
    const secret = e[`${prefix}_CLIENT_SECRET`];
    const token = e[`${prefix}_ACCESS_TOKEN`];
    if (!e[`${prefix}_BASE_URL`]) return null;
    if (id && secret) return { clientId: id, clientSecret: secret };
    if (token) return { accessToken: token };
    problems.push(`- ${prefix}_CLIENT_ID: ${prefix}_CLIENT_ID and ${prefix}_CLIENT_SECRET (or ${prefix}_ACCESS_TOKEN) are required when ${prefix}_BASE_URL is set`);
    return null;
  };
  const jwtKeys = [e.JWT_JWKS_URL, e.JWT_PUBLIC_KEY, e.JWT_SECRET].filter(Boolean).length;
  const jwtAny = e.JWT_ISSUER || e.JWT_AUDIENCE || jwtKeys > 0;
  if (jwtAny) {
    require('JWT verification', 'JWT_ISSUER', e.JWT_ISSUER);
    require('JWT verification', 'JWT_AUDIENCE', e.JWT_AUDIENCE);
    if (jwtKeys !== 1) problems.push('- JWT_JWKS_URL: give exactly one of JWT_JWKS_URL, JWT_PUBLIC_KEY, JWT_SECRET');
  }
  // The owner renews its lease every third of it while a call runs; a lease shorter than one request would leave a
  // stalled renewal (a busy ledger) no margin before a retry could take the attempt over.
  if (e.ATTEMPT_LEASE_MS <= e.PROVIDER_TIMEOUT_MS) problems.push('- ATTEMPT_LEASE_MS: must be longer than PROVIDER_TIMEOUT_MS');
  const zuora = credentials('ZUORA');
  const exsited = credentials('EXSITED');
  const production = e.NODE_ENV === 'production';
  const baseUrls: Record<ProviderCode, string | undefined> = {
    SALESFORCE: e.SALESFORCE_INSTANCE_URL,
    SALLA: e.SALLA_BASE_URL,
    ZUORA: e.ZUORA_BASE_URL,
    EXSITED: e.EXSITED_BASE_URL,
    COMMERCE: e.COMMERCE_BASE_URL,
  };
  const asked = e.SANDBOX_PROVIDERS ?? (production ? 'none' : 'all');
  const named = asked === 'all' ? SANDBOXABLE.map((p) => p.toUpperCase()) : asked === 'none' ? [] : asked.split(',').map((p) => p.trim().toUpperCase());
  const sandboxes = new Set<ProviderCode>();
  for (const code of named as ProviderCode[]) {
    // "all" means every provider without a base URL; naming one that has a base URL is a contradiction.
    if (!baseUrls[code]) sandboxes.add(code);
    else if (asked !== 'all') problems.push(`- SANDBOX_PROVIDERS: ${code.toLowerCase()} has a base URL configured; it is reached there, not in a sandbox`);
  }
  if (problems.length > 0) throw new ConfigError(`Invalid configuration:\n${problems.join('\n')}`);
  const apiVersion = e.SALESFORCE_API_VERSION.replace(/^v/, '');
  return {
    port: e.PORT,
    host: e.HOST,
    production,
    development: e.NODE_ENV === 'development',
    sandboxes,
    limits: { maxCost: e.REQUEST_MAX_COST, maxRepresentations: e.REQUEST_MAX_REPRESENTATIONS },
    http: {
      requestTimeout: e.HTTP_REQUEST_TIMEOUT_MS,
      headersTimeout: Math.min(e.HTTP_HEADERS_TIMEOUT_MS, e.HTTP_REQUEST_TIMEOUT_MS),
      keepAliveTimeout: e.HTTP_KEEP_ALIVE_TIMEOUT_MS,
      // Node enforces the first two only as often as it checks: a quarter of the shortest, at most a second.
      connectionsCheckingInterval: Math.min(HTTP_TIMEOUTS.connectionsCheckingInterval, Math.floor(Math.min(e.HTTP_HEADERS_TIMEOUT_MS, e.HTTP_REQUEST_TIMEOUT_MS) / 4)),
    },
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    shutdownDelayMs: e.SHUTDOWN_DELAY_MS,
    metricsToken: e.METRICS_TOKEN ?? null,
    store: { databaseUrl: e.DATABASE_URL, schema: e.DATABASE_SCHEMA, dataDir: e.PGLITE_DATA_DIR },
    providerTimeoutMs: e.PROVIDER_TIMEOUT_MS,
    attempts: { leaseMs: e.ATTEMPT_LEASE_MS, reconcileIntervalMs: e.RECONCILE_INTERVAL_MS },
    freshnessMs: e.INVOICE_FRESHNESS_MS,
    webhookSecrets: {
      ...(e.SALLA_WEBHOOK_SECRET ? { SALLA: e.SALLA_WEBHOOK_SECRET } : {}),
      ...(e.ZUORA_WEBHOOK_SECRET ? { ZUORA: e.ZUORA_WEBHOOK_SECRET } : {}),
      ...(e.EXSITED_WEBHOOK_SECRET ? { EXSITED: e.EXSITED_WEBHOOK_SECRET } : {}),
    },
    syncIntervalMs: e.SYNC_INTERVAL_MS,
    jobHeartbeatSeconds: e.JOB_HEARTBEAT_SECONDS,
    routerSecret: e.ROUTER_SECRET ?? null,
    jwt: jwtAny
      ? {
          issuer: e.JWT_ISSUER!,
          audience: e.JWT_AUDIENCE!,
          tenantClaim: e.JWT_TENANT_CLAIM,
          maxAgeSeconds: e.JWT_MAX_AGE_SECONDS,
          clockToleranceSeconds: e.JWT_CLOCK_TOLERANCE_SECONDS,
          key: e.JWT_JWKS_URL ? { jwksUrl: e.JWT_JWKS_URL } : e.JWT_PUBLIC_KEY ? { publicKeyPem: e.JWT_PUBLIC_KEY } : { secret: e.JWT_SECRET! },
        }
      : null,
    graphos: e.APOLLO_KEY && e.APOLLO_GRAPH_REF ? { key: e.APOLLO_KEY, graphRef: e.APOLLO_GRAPH_REF } : null,
    connections: e.CONNECTIONS_KEY
      ? { key: parseConnectionsKey(e.CONNECTIONS_KEY) as Buffer, ...(e.CONNECTIONS_KEY_PREVIOUS ? { previous: parseConnectionsKey(e.CONNECTIONS_KEY_PREVIOUS) as Buffer } : {}) }
      : null,
    sallaApp: e.SALLA_CLIENT_ID && e.SALLA_CLIENT_SECRET ? { clientId: e.SALLA_CLIENT_ID, clientSecret: e.SALLA_CLIENT_SECRET, tokenUrl: e.SALLA_TOKEN_URL } : null,
    salla: !e.SALLA_BASE_URL
      ? 'sandbox'
      : sallaAppOnly
        ? { baseUrl: e.SALLA_BASE_URL, appOnly: true }
        : e.SALLA_REFRESH_TOKEN
        ? { baseUrl: e.SALLA_BASE_URL, oauth: { clientId: e.SALLA_CLIENT_ID!, clientSecret: e.SALLA_CLIENT_SECRET!, refreshToken: e.SALLA_REFRESH_TOKEN, tokenUrl: e.SALLA_TOKEN_URL } }
        : { baseUrl: e.SALLA_BASE_URL, accessToken: e.SALLA_ACCESS_TOKEN! },
    salesforce: e.SALESFORCE_INSTANCE_URL
      ? { instanceUrl: e.SALESFORCE_INSTANCE_URL, credentials: salesforceCredentials!, loginUrl: e.SALESFORCE_LOGIN_URL ?? DEFAULT_SALESFORCE_LOGIN_URL, apiVersion }
      : { sandbox: true, apiVersion },
    zuora: zuora ? { baseUrl: e.ZUORA_BASE_URL!, credentials: zuora } : 'sandbox',
    exsited: exsited ? { baseUrl: e.EXSITED_BASE_URL!, credentials: exsited, ...(e.EXSITED_REDIRECT_URI ? { redirectUri: e.EXSITED_REDIRECT_URI } : {}) } : 'sandbox',
    commerce: e.COMMERCE_BASE_URL
      ? { baseUrl: e.COMMERCE_BASE_URL, accessToken: e.COMMERCE_ACCESS_TOKEN!, currency: e.COMMERCE_CURRENCY!.toUpperCase() }
      : { sandbox: true, currency: (e.COMMERCE_CURRENCY ?? 'USD').toUpperCase() },
  };
}

/** `npm start` and `npm run reconcile`: the checked configuration, or the message on stderr and exit code 1. */
export function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
}
