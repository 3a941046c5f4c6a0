/** OAuth client credentials, or a token an operator obtained another way (never refreshed). */
export type ClientCredentials = { clientId: string; clientSecret: string } | { accessToken: string };

/** A bearer token and how long it lives. */
export interface IssuedToken {
  accessToken: string;
  /** Seconds until expiry, as the token endpoint said (`expires_in`). */
  expiresIn: number;
}

export interface TokenSourceOptions {
  /** Asks the provider's token endpoint for a new token (OAuth client credentials). */
  issue: () => Promise<IssuedToken>;
  /** Refresh this long before expiry, so no request leaves with a token about to lapse. Default 60 s. */
  refreshAheadMs?: number;
  now?: () => number;
}

/**
 * One OAuth token per process and provider account. Zuora and Exsited end the previous token when a new one is
 * issued for the same credentials, so tokens must be shared, not fetched per request: concurrent callers wait on
 * one refresh, a token is refreshed ahead of expiry, and a 401 invalidates it once for everybody.
 */
export class TokenSource {
  private current: { token: string; expiresAt: number } | null = null;
  private refreshing: Promise<string> | null = null;
  private readonly refreshAheadMs: number;
  private readonly now: () => number;
  /** Tokens issued since start; tests and logs use it to prove refreshes collapse. */
  issued = 0;

  constructor(private readonly options: TokenSourceOptions) {
    this.refreshAheadMs = options.refreshAheadMs ?? 60_000;
    this.now = options.now ?? Date.now;
  }

  /** A static token (ZUORA_ACCESS_TOKEN and the like): never refreshed; a 401 is final. */
  static fixed(token: string): TokenSource {
    const source = new TokenSource({ issue: async () => ({ accessToken: token, expiresIn: Number.MAX_SAFE_INTEGER / 1000 }) });
    return source;
  }

  /** The token to send now. Costs a token request only when there is none or it is about to expire. */
  async get(): Promise<string> {
    if (this.current && this.now() < this.current.expiresAt - this.refreshAheadMs) return this.current.token;
    return this.refresh();
  }

  /**
   * Called when the provider answered 401 to `token`. Only the first caller holding that token forces a
   * refresh; the others get the token that refresh produces.
   */
  async rejected(token: string): Promise<string> {
    if (this.current?.token === token) this.current = null;
    return this.get();
  }

  private refresh(): Promise<string> {
    this.refreshing ??= this.options
      .issue()
      .then((t) => {
        this.issued++;
        this.current = { token: t.accessToken, expiresAt: this.now() + t.expiresIn * 1000 };
        return t.accessToken;
      })
      .finally(() => {
        this.refreshing = null;
      });
    return this.refreshing;
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
