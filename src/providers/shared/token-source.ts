import { TokenSeal } from './token-seal';

/** OAuth client credentials, or a token an operator obtained another way (never refreshed). */
export type ClientCredentials = { clientId: string; clientSecret: string } | { accessToken: string };

type Token = { token: string; expiresAt: number };

/** A bearer token and how long it lives. */
export interface IssuedToken {
  accessToken: string;
  /** Seconds until expiry, as the token endpoint said (`expires_in`). */
  expiresIn: number;
}

/** A stored token and how long it has left, by the store's clock (so replicas' clocks need not agree). */
export interface StoredToken {
  sealed: string;
  expiresInMs: number;
}

/**
 * Where the replicas of this service keep the token of each provider account they share (the ledger's database).
 * Values are sealed by the TokenSource: the store never holds a usable token.
 */
export interface SharedTokenStore {
  /**
   * Runs `fn` while no other replica runs it for `name` (replicas refresh one at a time), reading and writing through
   * the lock's own connection. Fails if the lock is not had within `waitMs`. Called only to refresh.
   */
  exclusive<T>(name: string, waitMs: number, fn: (held: { read(): Promise<StoredToken | null>; write(sealed: string, expiresInMs: number): Promise<void> }) => Promise<T>): Promise<T>;
  /** The stored value, without the lock: for when the lock cannot be had. One read. */
  read(name: string): Promise<StoredToken | null>;
  /** Stores a value without the lock: for a token issued when the lock could not be had. One write. */
  write(name: string, sealed: string, expiresInMs: number): Promise<void>;
}

export interface SharedTokens {
  store: SharedTokenStore;
  /** The account's name in the store: provider, base URL and client id. */
  name: string;
  /** The client secret: what seals the stored token, so only holders of the credentials can use it. */
  secret: string;
  /** How long a refresh waits for another replica's (default 10 s) before it reads the store and goes on alone. */
  lockWaitMs?: number;
}

/**
 * How a provider's token is shared through `store`, if there is one: named by provider, base URL and client id, and by
 * the tenant's connection where it is one (two Salla stores share the app's client id, never a session).
 */
export function sharedAs(store: SharedTokenStore | undefined, provider: string, baseUrl: string, credentials: { clientId: string; clientSecret: string }, connectionId?: string): SharedTokens | undefined {
  const name = `${provider} ${baseUrl.replace(/\/+$/, '')} ${credentials.clientId}${connectionId ? ` connection:${connectionId}` : ''}`;
  return store ? { store, name, secret: credentials.clientSecret } : undefined;
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
  private current: Token | null = null;
  private refreshing: Promise<string> | null = null;
  private readonly refreshAheadMs: number;
  private readonly now: () => number;
  private sealing: TokenSeal | null = null;
  /** Tokens issued since start; tests and logs use it to prove refreshes collapse. */
  issued = 0;
  /** Tokens taken from the store, issued by another replica. */
  adopted = 0;

  constructor(private readonly options: TokenSourceOptions) {
    this.refreshAheadMs = options.refreshAheadMs ?? 60_000;
    this.now = options.now ?? Date.now;
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

  private async issue(): Promise<Token> {
    const t = await this.options.issue();
    this.issued++;
    return { token: t.accessToken, expiresAt: this.now() + t.expiresIn * 1000 };
  }

  /**
   * One replica at a time: take the stored token if another replica stored a usable one (not the one just
   * rejected), else issue one and store it. Without the lock (the store is unreachable, or another replica's refresh
   * takes too long), take a usable stored token or issue on our own and store it, as a process alone would. A token
   * request's own failure is the caller's, and is never followed by a second request.
   */
  private async refreshShared(shared: SharedTokens, rejected: string | null): Promise<Token> {
    const outcome: { token?: Token; issueFailed?: boolean; err?: unknown } = {};
    const issueAndStore = async (write: (sealed: string, expiresInMs: number) => Promise<void>) => {
      try {
        outcome.token = await this.issue();
      } catch (err) {
        Object.assign(outcome, { issueFailed: true, err });
        throw err;
      }
      // The newest token is the only live one (a new Exsited token ends the rest), so it must be the stored one. If
      // the write fails, the other replicas find theirs ended, read an older one here, and one of them issues again.
      await write(this.seal(outcome.token.token), outcome.token.expiresAt - this.now()).catch(() => undefined);
      return outcome.token;
    };
    try {
      return await shared.store.exclusive(shared.name, shared.lockWaitMs ?? 10_000, async (held) => {
        outcome.token = this.adoptable(await held.read(), rejected) ?? undefined;
        return outcome.token ?? issueAndStore((sealed, ms) => held.write(sealed, ms));
      });
    } catch (err) {
      if (outcome.issueFailed) throw outcome.err;
      // The work was done and only releasing the lock failed.
      if (outcome.token) return outcome.token;
      const stored = await shared.store.read(shared.name).catch(() => null);
      return this.adoptable(stored, rejected) ?? issueAndStore((sealed, ms) => shared.store.write(shared.name, sealed, ms));
    }
  }

  /** The stored token, if it opens with our credentials, is not the one just rejected, and has life left. */
  private adoptable(stored: StoredToken | null, rejected: string | null): Token | null {
    const token = stored ? this.unseal(stored.sealed) : null;
    if (!stored || !token || token === rejected) return null;
    const expiresAt = this.now() + stored.expiresInMs;
    if (!this.usable(expiresAt)) return null;
    this.adopted++;
    return { token, expiresAt };
  }

  /** AES-256-GCM under a key derived from the client secret (see TokenSeal); the name is bound. */
  private seal(token: string): string {
    return this.sealer().seal(token);
  }

  /** The token in a stored value, or null if it was sealed with other credentials or for another name. */
  private unseal(sealed: string): string | null {
    return this.sealer().open(sealed);
  }

  private sealer(): TokenSeal {
    this.sealing ??= new TokenSeal(this.options.shared!.secret, this.options.shared!.name);
    return this.sealing;
  }
}

/** What withTokenRetry needs of a token source: TokenSource, or a rotating one (RotatingTokenSource). */
export interface BearerTokens {
  get(): Promise<string>;
  rejected(token: string): Promise<string>;
}

/**
 * Sends a request with the current token and, on a 401, once more with a fresh one. `send` returns the HTTP
 * status so this stays independent of any provider's body shapes.
 */
export async function withTokenRetry<R extends { status: number }>(
  tokens: BearerTokens,
  send: (token: string) => Promise<R>,
  /** Whether the answer says the token itself was refused (default: any 401), so that a fresh one may help. */
  refused: (res: R) => boolean = (res) => res.status === 401,
): Promise<R> {
  const token = await tokens.get();
  const first = await send(token);
  if (!refused(first)) return first;
  const fresh = await tokens.rejected(token);
  if (fresh === token) return first;
  return send(fresh);
}
