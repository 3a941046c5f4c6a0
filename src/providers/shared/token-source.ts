import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/** OAuth client credentials, or a token an operator obtained another way (never refreshed). */
export type ClientCredentials = { clientId: string; clientSecret: string } | { accessToken: string };

/** A bearer token and how long it lives. */
export interface IssuedToken {
  accessToken: string;
  /** Seconds until expiry, as the token endpoint said (`expires_in`). */
  expiresIn: number;
}

/**
 * Where the replicas of this service keep the token of each provider account they share (the ledger's database).
 * Values are sealed by the TokenSource: the store never holds a usable token.
 */
export interface SharedTokenStore {
  /** The value stored under `name`, if any. Called before a refresh; one read. */
  read(name: string): Promise<{ sealed: string; expiresAt: Date } | null>;
  /** Stores a value under `name`, replacing any. Called after a token was issued; one write. */
  write(name: string, sealed: string, expiresAt: Date): Promise<void>;
  /** Runs `fn` while no other replica runs it for `name`, so that replicas refresh one at a time. */
  exclusive<T>(name: string, fn: () => Promise<T>): Promise<T>;
}

export interface SharedTokens {
  store: SharedTokenStore;
  /** The account's name in the store: provider, base URL and client id. */
  name: string;
  /** The client secret: what seals the stored token, so only holders of the credentials can use it. */
  secret: string;
}

/** How a provider's token is shared through `store`, if there is one: named by provider, base URL and client id. */
export function sharedAs(store: SharedTokenStore | undefined, provider: string, baseUrl: string, credentials: { clientId: string; clientSecret: string }): SharedTokens | undefined {
  return store ? { store, name: `${provider} ${baseUrl} ${credentials.clientId}`, secret: credentials.clientSecret } : undefined;
}

export interface TokenSourceOptions {
  /** Asks the provider's token endpoint for a new token (OAuth client credentials). */
  issue: () => Promise<IssuedToken>;
  /**
   * Share the token with other replicas. Without it each process keeps its own, and where a new token ends the
   * previous one (Exsited) replicas would end each other's tokens in turn.
   */
  shared?: SharedTokens;
  /** Refresh this long before expiry, so no request leaves with a token about to lapse. Default 60 s. */
  refreshAheadMs?: number;
  now?: () => number;
}

/**
 * One OAuth token per provider account, shared by every caller in the process and, given a store, by every replica.
 * Exsited ends the previous token when a new one is issued for the same credentials (and Zuora's tokens are worth
 * sharing too), so tokens are never fetched per request: concurrent callers wait on one refresh, a token is refreshed
 * ahead of expiry, and a 401 invalidates it once for everybody. With a store, a refresh first looks for a token another
 * replica stored meanwhile and takes it instead of asking for a new one (which would end that replica's).
 */
export class TokenSource {
  private current: { token: string; expiresAt: number } | null = null;
  private refreshing: Promise<string> | null = null;
  private readonly refreshAheadMs: number;
  private readonly now: () => number;
  private readonly key: Buffer | null;
  /** Tokens issued since start; tests and logs use it to prove refreshes collapse. */
  issued = 0;
  /** Tokens taken from the store, issued by another replica. */
  adopted = 0;

  constructor(private readonly options: TokenSourceOptions) {
    this.refreshAheadMs = options.refreshAheadMs ?? 60_000;
    this.now = options.now ?? Date.now;
    const shared = options.shared;
    this.key = shared ? Buffer.from(hkdfSync('sha256', shared.secret, 'invoicing-subgraph shared token', shared.name, 32)) : null;
  }

  /** A static token (ZUORA_ACCESS_TOKEN and the like): never refreshed; a 401 is final. */
  static fixed(token: string): TokenSource {
    const source = new TokenSource({ issue: async () => ({ accessToken: token, expiresIn: Number.MAX_SAFE_INTEGER / 1000 }) });
    return source;
  }

  /** The token to send now. Costs a token request (and, shared, a lock and a read) only when it is about to expire. */
  async get(): Promise<string> {
    if (this.current && this.usable(this.current.expiresAt)) return this.current.token;
    return this.refresh(null);
  }

  /**
   * Called when the provider answered 401 to `token`. Only the first caller holding that token forces a
   * refresh; the others get the token that refresh produces.
   */
  async rejected(token: string): Promise<string> {
    if (this.current?.token !== token) return this.get();
    this.current = null;
    return this.refresh(token);
  }

  private usable(expiresAt: number): boolean {
    return this.now() < expiresAt - this.refreshAheadMs;
  }

  private refresh(rejected: string | null): Promise<string> {
    this.refreshing ??= (this.options.shared ? this.refreshShared(this.options.shared, rejected) : this.issue())
      .then((t) => {
        this.current = t;
        return t.token;
      })
      .finally(() => {
        this.refreshing = null;
      });
    return this.refreshing;
  }

  private async issue(): Promise<{ token: string; expiresAt: number }> {
    const t = await this.options.issue();
    this.issued++;
    return { token: t.accessToken, expiresAt: this.now() + t.expiresIn * 1000 };
  }

  /**
   * One replica at a time: take the stored token if another replica stored a usable one (not the one just
   * rejected), else issue one and store it. If the store cannot be reached, this process issues on its own, as it
   * would without a store; a token request's own failure is the caller's.
   */
  private async refreshShared(shared: SharedTokens, rejected: string | null): Promise<{ token: string; expiresAt: number }> {
    const issuing = { failed: false, err: undefined as unknown };
    try {
      return await shared.store.exclusive(shared.name, async () => {
        const stored = await shared.store.read(shared.name);
        const token = stored ? this.unseal(stored.sealed) : null;
        if (stored && token && token !== rejected && this.usable(stored.expiresAt.getTime())) {
          this.adopted++;
          return { token, expiresAt: stored.expiresAt.getTime() };
        }
        const issued = await this.issue().catch((err: unknown) => {
          Object.assign(issuing, { failed: true, err });
          throw err;
        });
        // A failed write costs the other replicas one 401 and a look here; the token is good either way.
        await shared.store.write(shared.name, this.seal(issued.token), new Date(issued.expiresAt)).catch(() => undefined);
        return issued;
      });
    } catch {
      if (issuing.failed) throw issuing.err;
      return this.issue();
    }
  }

  /** AES-256-GCM under a key derived from the client secret and the account's name. */
  private seal(token: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key!, iv);
    const body = Buffer.concat([cipher.update(token, 'utf8'), cipher.final()]);
    return ['v1', iv.toString('base64url'), body.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
  }

  /** The token in a stored value, or null if it was sealed with other credentials (or is not ours at all). */
  private unseal(sealed: string): string | null {
    const [version, iv, body, tag] = sealed.split('.');
    if (version !== 'v1' || !iv || !body || !tag) return null;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key!, Buffer.from(iv, 'base64url'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      return null;
    }
  }
}

/**
 * Sends a request with the current token and, on a 401, once more with a fresh one. `send` returns the HTTP
 * status so this stays independent of any provider's body shapes.
 */
export async function withTokenRetry<R extends { status: number }>(tokens: TokenSource, send: (token: string) => Promise<R>): Promise<R> {
  const token = await tokens.get();
  const first = await send(token);
  if (first.status !== 401) return first;
  const fresh = await tokens.rejected(token);
  if (fresh === token) return first;
  return send(fresh);
}
