import { createHash } from 'node:crypto';
import type { BearerTokens, SharedTokens, StoredToken } from './token-source';
import { TokenSeal } from './token-seal';

/** What one use of a refresh token gave: a new access token, how long it lives, and the refresh token to use next. */
export interface RotatedSession {
  accessToken: string;
  /** The next refresh token; absent when the server keeps the one just used (RFC 6749 §6 allows either). */
  refreshToken?: string | null;
  expiresInMs: number;
}

/**
 * Thrown by `refresh` when the token endpoint refuses the refresh token itself (OAuth `invalid_grant`: used before,
 * revoked, expired). Nothing but a new authorisation by the merchant can follow it.
 */
export class RefreshTokenRefused extends Error {
  override readonly name = 'RefreshTokenRefused';
}

/** The session ended for good: every call is refused until the app is authorised again and a new refresh token given. */
export class SessionEnded extends Error {
  override readonly name = 'SessionEnded';
}

/**
 * No usable access token, and renewing one is not safe now: the shared store (and its lock) cannot be had, and a
 * refresh without the lock could spend a refresh token that another replica spends too. Nothing was sent; retry.
 */
export class SessionUnavailable extends Error {
  override readonly name = 'SessionUnavailable';
}

export interface RotatingTokenSourceOptions {
  /** The refresh token the operator configured: where the chain starts, used only until a rotated one is stored. */
  refreshToken: string;
  /**
   * Spends a refresh token at the token endpoint (grant_type=refresh_token). Called only while holding the store's
   * lock, at most once per renewal. Throws RefreshTokenRefused on `invalid_grant`; any other error is the caller's.
   */
  refresh: (refreshToken: string) => Promise<RotatedSession>;
  /** Where the session lives: the ledger's database, shared by replicas and kept across restarts. */
  shared: SharedTokens;
  /** Renew this long before expiry at most; at least a quarter of the token's life is left when it renews. Default 24 h. */
  refreshAheadMs?: number;
  /** After the session ended, how often the store is read (no token request) for one a restarted replica began. Default 30 s. */
  endedRecheckMs?: number;
  /** A pino logger will do. */
  logger?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
  /** Named in logs and messages. */
  provider?: string;
  now?: () => number;
}

/**
 * What the store holds for the account, sealed: the live pair, or the word that the chain ended. `origins` are
 * fingerprints of the configured refresh tokens this record descends from (or ended with): the configured one is
 * taken only when it is none of them, i.e. when the operator gave a new one after a re-authorisation; a replica
 * still running with an older configured token then follows the stored chain instead of spending its spent token.
 * `seq` grows with every rotation, so a pair this process could not store beats the older stored one.
 */
interface SessionRecord {
  v: 1;
  state: 'active' | 'ended';
  seq: number;
  origins: string[];
  access?: string;
  refresh?: string;
  lifeMs?: number;
  reason?: string;
}

interface Known {
  record: SessionRecord;
  /** By this process's clock. */
  expiresAt: number;
}

interface Token {
  access: string;
  expiresAt: number;
  lifeMs: number;
}

/** What one renewal under the lock came to; nothing thrown out of the lock but the store's own failures. */
type Renewal = { token: Token } | { ended: string } | { failed: unknown };

const MAX_ORIGINS = 20;
/** How long an "ended" row is kept: until a new refresh token replaces it. */
const ENDED_ROW_MS = 10 * 365 * 86_400_000;

const fingerprint = (token: string): string => createHash('sha256').update(token).digest('base64url');

/**
 * An OAuth session whose refresh tokens are single-use (Salla's): using one twice revokes the whole chain. So a
 * refresh token is spent only under the store's lock (one replica at a time, `pg_advisory_xact_lock` on PostgreSQL),
 * after reading the store (another replica may have renewed already: its pair is taken, nothing is spent), and the new
 * pair is written under that lock before the new access token is used. Without the lock nothing is spent: a token
 * still alive is used, else the call fails retryable (SessionUnavailable). A refused refresh token ends the session in
 * the store for every replica (SessionEnded, logged once); no refresh follows until a new refresh token is configured.
 * Concurrent callers of one process wait on one renewal. Costs, per renewal: a lock, a read, a token request, a write.
 */
export class RotatingTokenSource implements BearerTokens {
  private current: Token | null = null;
  private renewing: Promise<string> | null = null;
  /** A rotated pair this process could not store; it supersedes the stored one (whose refresh token is spent). */
  private unsaved: Known | null = null;
  private ended: string | null = null;
  private endedCheckedAt = 0;
  /** Refresh tokens the endpoint refused: never sent again, whatever the store says. */
  private readonly refused = new Set<string>();
  private readonly seal: TokenSeal;
  private readonly now: () => number;
  private readonly origin: string;
  /** Token requests sent since start, and pairs taken from the store: tests and logs prove single use with them. */
  renewed = 0;
  adopted = 0;

  constructor(private readonly options: RotatingTokenSourceOptions) {
    this.seal = new TokenSeal(options.shared.secret, options.shared.name);
    this.now = options.now ?? Date.now;
    this.origin = fingerprint(options.refreshToken);
  }

  /** The access token to send now; renews (or takes another replica's renewal) once it is due. */
  async get(): Promise<string> {
    if (this.ended !== null) return this.whileEnded();
    if (this.current && this.now() < this.renewAt(this.current)) return this.current.access;
    return this.renew(null);
  }

  /** The provider answered 401 to `token`: the first caller holding it renews; the others get that renewal's token. */
  async rejected(token: string): Promise<string> {
    if (this.current?.access !== token) return this.get();
    if (this.ended !== null) return this.whileEnded();
    this.current = null;
    return this.renew(token);
  }

  private renewAt(t: Token): number {
    return t.expiresAt - Math.min(this.options.refreshAheadMs ?? 86_400_000, t.lifeMs / 4);
  }

  private renew(rejected: string | null): Promise<string> {
    this.renewing ??= this.renewShared(rejected)
      .then((t) => {
        this.current = t;
        return t.access;
      })
      .finally(() => {
        this.renewing = null;
      });
    return this.renewing;
  }

  private async renewShared(rejected: string | null): Promise<Token> {
    const { store, name } = this.options.shared;
    /** Set once a refresh token was spent: from then on the pair must be kept, whatever the store does. */
    const spent: { rotated: Known | null } = { rotated: null };
    let outcome: Renewal;
    try {
      outcome = await store.exclusive(name, this.options.shared.lockWaitMs ?? 10_000, async (held) => {
        const latest = this.latest(await held.read());
        const plan = this.plan(latest, rejected);
        if (!('from' in plan)) return plan;
        let session: RotatedSession;
        try {
          session = await this.options.refresh(plan.from.refresh!);
          this.renewed++;
        } catch (err) {
          if (!(err instanceof RefreshTokenRefused)) return { failed: err };
          this.refused.add(fingerprint(plan.from.refresh!));
          const ended: SessionRecord = { v: 1, state: 'ended', seq: plan.from.seq + 1, origins: plan.from.origins, reason: err.message };
          await held.write(this.seal.seal(JSON.stringify(ended)), ENDED_ROW_MS).catch(() => undefined);
          return { ended: err.message };
        }
        const record: SessionRecord = {
          v: 1,
          state: 'active',
          seq: plan.from.seq + 1,
          origins: plan.from.origins,
          access: session.accessToken,
          refresh: session.refreshToken || plan.from.refresh,
          lifeMs: session.expiresInMs,
        };
        spent.rotated = { record, expiresAt: this.now() + session.expiresInMs };
        // Before the new access token is used: a write under the lock, committed when this function returns.
        await held.write(this.seal.seal(JSON.stringify(record)), session.expiresInMs);
        return { token: this.tokenOf(spent.rotated) };
      });
    } catch (err) {
      if (spent.rotated) return this.keepUnsaved(spent.rotated, err);
      return this.withoutLock(rejected, err);
    }
    this.unsaved = null;
    if ('failed' in outcome) throw outcome.failed;
    if ('ended' in outcome) throw this.end(outcome.ended);
    if (spent.rotated) this.options.logger?.info({ provider: this.options.provider, expiresInS: Math.round((outcome.token.expiresAt - this.now()) / 1000), renewed: this.renewed }, 'session renewed');
    return outcome.token;
  }

  /**
   * What to do with the latest record under the lock: take its pair (another replica renewed, or ours is still
   * good), know that the chain ended, or spend a refresh token (the record's, or the configured one when new).
   */
  private plan(latest: Known | null, rejected: string | null): { token: Token } | { ended: string } | { from: SessionRecord } {
    const record = latest?.record;
    if (!record || !record.origins.includes(this.origin)) {
      // Nothing stored, or sealed with other credentials, or a new refresh token configured: the chain starts here.
      const origins = [...(record?.origins ?? []), this.origin].slice(-MAX_ORIGINS);
      return this.spendable({ v: 1, state: 'active', seq: record?.seq ?? 0, origins, refresh: this.options.refreshToken });
    }
    if (record.state === 'ended') return { ended: record.reason ?? 'the refresh token was refused' };
    if (record.access && record.access !== rejected && latest.expiresAt > this.now()) {
      const token = this.tokenOf(latest);
      if (this.now() < this.renewAt(token)) {
        this.adopted++;
        return { token };
      }
    }
    return this.spendable(record);
  }

  private spendable(from: SessionRecord): { ended: string } | { from: SessionRecord } {
    return from.refresh && !this.refused.has(fingerprint(from.refresh)) ? { from } : { ended: 'the refresh token was refused' };
  }

  /** The stored record, unless a pair this process could not store is newer. */
  private latest(stored: StoredToken | null): Known | null {
    const text = stored ? this.seal.open(stored.sealed) : null;
    let record: SessionRecord | null = null;
    try {
      record = text ? (JSON.parse(text) as SessionRecord) : null;
    } catch {
      record = null;
    }
    const known = record?.v === 1 && stored ? { record, expiresAt: this.now() + stored.expiresInMs } : null;
    if (this.unsaved && (!known || this.unsaved.record.seq > known.record.seq)) return this.unsaved;
    return known;
  }

  private tokenOf(k: Known): Token {
    return { access: k.record.access!, expiresAt: k.expiresAt, lifeMs: k.record.lifeMs ?? k.expiresAt - this.now() };
  }

  /**
   * A refresh token was spent but its successor could not be stored under the lock (or the COMMIT failed): store it
   * without the lock, and use it either way (the spent one is gone). Unstored, it is kept here and wins over the
   * store's older pair at the next renewal; meanwhile another replica could only spend the spent token: said loudly.
   */
  private async keepUnsaved(rotated: Known, err: unknown): Promise<Token> {
    const { store, name } = this.options.shared;
    try {
      await store.write(name, this.seal.seal(JSON.stringify(rotated.record)), rotated.expiresAt - this.now());
      this.unsaved = null;
    } catch (writeErr) {
      this.unsaved = rotated;
      this.options.logger?.error({ provider: this.options.provider, err: writeErr, cause: err }, 'renewed session could not be stored: another replica renewing now would spend a used refresh token');
    }
    return this.tokenOf(rotated);
  }

  /** The lock could not be had: a live token is used (ours, or one stored meanwhile); nothing is ever spent here. */
  private async withoutLock(rejected: string | null, err: unknown): Promise<Token> {
    if (this.current && this.current.access !== rejected && this.now() < this.current.expiresAt) return this.current;
    const { store, name } = this.options.shared;
    const latest = this.latest(await store.read(name).catch(() => null));
    const record = latest?.record;
    if (latest && record?.state === 'active' && record.origins.includes(this.origin) && record.access && record.access !== rejected && latest.expiresAt > this.now()) {
      this.adopted++;
      return this.tokenOf(latest);
    }
    throw new SessionUnavailable(`the ${this.options.provider ?? 'provider'} session needs renewing and the token store's lock could not be had (${err instanceof Error ? err.message : String(err)})`);
  }

  private end(reason: string): SessionEnded {
    if (this.ended === null) {
      this.options.logger?.error(
        { provider: this.options.provider, reason },
        'session ended: the refresh token was refused; no further refresh is tried until the app is authorised again and its new refresh token configured',
      );
    }
    this.ended = reason;
    this.endedCheckedAt = this.now();
    this.current = null;
    return new SessionEnded(reason);
  }

  /** Refused at once; now and then the store is read for a chain that a replica restarted with a new refresh token began. */
  private async whileEnded(): Promise<string> {
    if (this.now() - this.endedCheckedAt >= (this.options.endedRecheckMs ?? 30_000)) {
      this.endedCheckedAt = this.now();
      const { store, name } = this.options.shared;
      const latest = this.latest(await store.read(name).catch(() => null));
      const record = latest?.record;
      if (latest && record?.state === 'active' && record.access && record.refresh && !this.refused.has(fingerprint(record.refresh)) && latest.expiresAt > this.now()) {
        this.options.logger?.info({ provider: this.options.provider }, 'session restored: another replica began a new chain');
        this.ended = null;
        this.adopted++;
        this.current = this.tokenOf(latest);
        return this.current.access;
      }
    }
    throw new SessionEnded(this.ended!);
  }
}
