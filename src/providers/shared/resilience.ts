import {
  BrokenCircuitError,
  bulkhead,
  circuitBreaker,
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  handleWhen,
  retry,
  wrap,
  type CircuitBreakerPolicy,
  type IBackoff,
  type IBackoffFactory,
  type IPolicy,
  type IRetryBackoffContext,
} from 'cockatiel';
import { ProviderError, userError, type UserError } from '../../domain/errors';
import { providerCallDuration, providerRetries, rateLimitWaits } from '../../telemetry/metrics';
import { inSpan } from '../../telemetry/tracing';

/** How one provider's calls are protected. Every field has a default; providers override only what they document. */
export interface ResilienceOptions {
  /** The provider's name as users read it in messages, e.g. 'Salla'. */
  provider: string;
  /** The provider's code (`SALLA`), the label of its spans and metrics; default the name in capitals. */
  code?: string;
  /** Reads in flight at once (bulkhead); more wait in line. Default 8. */
  readConcurrency?: number;
  /** Retries of a failed read after the first try. Default 2. */
  readRetries?: number;
  /** Retries of a write its caller declares repeatable (an idempotency key, a client-chosen id). Default 1. */
  repeatableWriteRetries?: number;
  /** First backoff step; later ones grow exponentially with decorrelated jitter, up to `maxDelayMs`. Default 100. */
  initialDelayMs?: number;
  /** Default 2 000. */
  maxDelayMs?: number;
  /** A Retry-After up to this many seconds is waited out and the call retried; a longer one is the caller's. Default 2. */
  maxWaitSeconds?: number;
  /** Consecutive failed calls (outages, not refusals) that open the circuit. Default 5. */
  breakerThreshold?: number;
  /** How long an open circuit refuses calls before it lets one trial call through. Default 30 000. */
  halfOpenAfterMs?: number;
  /** The pause after a rate limit that names no delay (no Retry-After or reset header). Default 30. */
  rateLimitCooldownSeconds?: number;
  /** The clock of the rate-limit gate; default the system clock. (The breaker keeps cockatiel's own clock.) */
  now?: () => number;
}

/** What the metrics endpoint reads of a provider's protection. */
export interface ProviderHealth {
  circuit: 'closed' | 'open' | 'half-open' | 'isolated';
  rateLimitedForSeconds: number;
}

/** A Retry-After past this is taken as an hour: a bogus header must not silence a provider for days. */
const MAX_GATE_SECONDS = 3_600;
/** Added to a waited Retry-After so that a timer firing a hair early does not meet the gate still shut. */
const WAIT_SLACK_MS = 25;

/** `cause_` of the errors this module raises without sending anything. */
export const CIRCUIT_OPEN = 'circuit-open';
export const RATE_LIMIT_GATE = 'rate-limit-gate';

/** The Retry-After the error carries (the largest of its userErrors), in seconds; 0 when none. */
function waitOf(err: unknown): number {
  if (!(err instanceof ProviderError)) return 0;
  return Math.max(0, ...err.userErrors.map((e) => e.retryAfterSeconds ?? 0));
}

/** A failure that says the provider is unwell (5xx, transport, timeout, unreadable answer), as opposed to a refusal. */
export function isOutage(err: unknown): err is ProviderError {
  return err instanceof ProviderError && err.cause_ !== CIRCUIT_OPEN && err.userErrors.some((e) => e.code === 'PROVIDER_UNAVAILABLE');
}

function rateLimitOf(err: unknown): UserError | undefined {
  return err instanceof ProviderError ? err.userErrors.find((e) => e.code === 'RATE_LIMITED') : undefined;
}

/** The outcome label of a failed call: what the caller would be told. */
function outcomeOf(err: unknown): string {
  if (!(err instanceof ProviderError)) return 'error';
  if (err.cause_ === CIRCUIT_OPEN) return 'circuit_open';
  if (rateLimitOf(err)) return 'rate_limited';
  return isOutage(err) ? 'outage' : 'refused';
}

type RetryContext = IRetryBackoffContext<unknown>;

/** Jittered exponential backoff, but never shorter than the Retry-After of the failure being retried. */
function honouringRetryAfter(base: IBackoffFactory<unknown>): IBackoffFactory<RetryContext> {
  const step = (backoff: IBackoff<unknown>, ctx: RetryContext): IBackoff<RetryContext> => {
    const asked = 'error' in ctx.result ? waitOf(ctx.result.error) : 0;
    return {
      duration: Math.max(backoff.duration, asked > 0 ? asked * 1000 + WAIT_SLACK_MS : 0),
      next: (next) => step(backoff.next(next), next),
    };
  };
  return { next: (ctx) => step(base.next(ctx), ctx) };
}

/**
 * One provider instance's protection: a circuit breaker, a rate-limit gate, bounded and retried reads, and writes
 * retried only when the caller says a repeat cannot duplicate. State lives in the instance (one per data source),
 * so a fresh server, or a fresh data source in a test, starts closed and ungated.
 *
 * Layers, outermost first: breaker (counts a call once, after its retries) → bulkhead (reads) → retry → gate → the
 * call. Timeouts are not added here: the HTTP client bounds every request (headers and body), and the retry count
 * bounds how many requests one call makes.
 */
export class ProviderResilience {
  private readonly breaker: CircuitBreakerPolicy;
  private readonly readPolicy: IPolicy;
  private readonly repeatableWritePolicy: IPolicy;
  private readonly name: string;
  private readonly code: string;
  private readonly maxWait: number;
  private readonly cooldown: number;
  private readonly halfOpenAfterMs: number;
  private readonly now: () => number;
  private openedAt = 0;
  /** Until when (epoch ms) the provider asked us to send nothing, and the refusal that said so. */
  private blockedUntil = 0;
  private limitedBy: UserError | null = null;

  constructor(options: ResilienceOptions) {
    this.name = options.provider;
    this.code = options.code ?? options.provider.toUpperCase();
    this.maxWait = options.maxWaitSeconds ?? 2;
    this.cooldown = options.rateLimitCooldownSeconds ?? 30;
    this.halfOpenAfterMs = options.halfOpenAfterMs ?? 30_000;
    this.now = options.now ?? Date.now;

    // Only outages count; refusals reach the breaker as successes (see guarded), since they prove the provider answers.
    this.breaker = circuitBreaker(handleWhen(isOutage), { halfOpenAfter: this.halfOpenAfterMs, breaker: new ConsecutiveBreaker(options.breakerThreshold ?? 5) });
    this.breaker.onBreak(() => {
      this.openedAt = Date.now();
    });

    // cockatiel's ExponentialBackoff uses decorrelated jitter by default: concurrent retries do not fall into step.
    const backoff = honouringRetryAfter(new ExponentialBackoff({ initialDelay: options.initialDelayMs ?? 100, maxDelay: options.maxDelayMs ?? 2_000 }));
    const shortWait = (e: Error) => waitOf(e) <= this.maxWait;
    // Reads change nothing: any failure after which nothing happened at the provider may be tried again.
    const retryReads = retry(
      handleWhen((e) => e instanceof ProviderError && e.disposition === 'retryable' && shortWait(e)),
      { maxAttempts: options.readRetries ?? 2, backoff },
    );
    this.readPolicy = wrap(bulkhead(options.readConcurrency ?? 8, Infinity), retryReads);
    // A repeatable write may also be sent again when its outcome is unknown: the provider answers the repeat with what the first did.
    this.repeatableWritePolicy = retry(
      handleWhen((e) => e instanceof ProviderError && (e.disposition === 'indeterminate' || (e.disposition === 'retryable' && shortWait(e)))),
      { maxAttempts: options.repeatableWriteRetries ?? 1, backoff },
    );
  }

  /**
   * Runs one read (an HTTP exchange and the parsing of its answer) with bounded concurrency and retries with
   * jittered backoff. Costs one request per try, at most 1 + readRetries; none while the circuit is open or the
   * provider's rate limit is in force.
   */
  read<T>(exchange: () => Promise<T>): Promise<T> {
    return this.observed('read', (tried) => this.guarded(() => this.readPolicy.execute(() => this.gated(tried(exchange)))));
  }

  /**
   * Runs one write. Not retried unless `repeatable` (the provider deduplicates a repeat: an idempotency key, an id
   * we chose); then retried on an unknown outcome or a short Retry-After. Costs one request, or 1 + retries.
   */
  write<T>(exchange: () => Promise<T>, options: { repeatable?: boolean } = {}): Promise<T> {
    return this.observed('write', (tried) =>
      this.guarded(() => (options.repeatable ? this.repeatableWritePolicy.execute(() => this.gated(tried(exchange))) : this.gated(tried(exchange)))),
    );
  }

  /**
   * One call in a span (the provider, the circuit as the call found it, the retries it took) and timed by outcome;
   * `tried` wraps the exchange so that each try is counted.
   */
  private observed<T>(kind: 'read' | 'write', call: (tried: <R>(exchange: () => Promise<R>) => () => Promise<R>) => Promise<T>): Promise<T> {
    const started = performance.now();
    let tries = 0;
    const tried =
      <R>(exchange: () => Promise<R>) =>
      () => {
        tries++;
        return exchange();
      };
    return inSpan(`${this.name} ${kind}`, { 'invoicing.provider': this.code, 'invoicing.call.kind': kind, 'invoicing.circuit.state': this.circuit }, async (span) => {
      let outcome = 'ok';
      try {
        return await call(tried);
      } catch (err) {
        outcome = outcomeOf(err);
        throw err;
      } finally {
        const retries = Math.max(0, tries - 1);
        span.setAttribute('invoicing.retries', retries);
        span.setAttribute('invoicing.call.outcome', outcome);
        if (retries > 0) providerRetries.inc({ provider: this.code, kind }, retries);
        providerCallDuration.observe({ provider: this.code, kind, outcome }, (performance.now() - started) / 1000);
      }
    });
  }

  /** The circuit as the last call left it, for logs and tests. */
  get circuit(): 'closed' | 'open' | 'half-open' | 'isolated' {
    return (['closed', 'open', 'half-open', 'isolated'] as const)[this.breaker.state as CircuitState];
  }

  /** The circuit and the rate-limit gate, for the metrics endpoint; cheap, read at every scrape. */
  health(): ProviderHealth {
    return { circuit: this.circuit, rateLimitedForSeconds: this.rateLimitedFor() };
  }

  /** Seconds the rate-limit gate stays shut; 0 when calls may go. */
  rateLimitedFor(): number {
    return Math.max(0, Math.ceil((this.blockedUntil - this.now()) / 1000));
  }

  /** The breaker around a whole call: a refusal passes through it as a success, an open circuit fails fast. */
  private async guarded<T>(call: () => Promise<T>): Promise<T> {
    let outcome: { ok: T } | { refused: unknown };
    try {
      outcome = await this.breaker.execute(async () => {
        try {
          return { ok: await call() };
        } catch (err) {
          if (isOutage(err)) throw err;
          return { refused: err };
        }
      });
    } catch (err) {
      if (err instanceof BrokenCircuitError) throw this.circuitOpenError();
      throw err;
    }
    if ('refused' in outcome) throw outcome.refused;
    return outcome.ok;
  }

  /** One exchange behind the rate-limit gate; a rate limit it meets shuts the gate for the time the provider asked. */
  private async gated<T>(exchange: () => Promise<T>): Promise<T> {
    const wait = this.rateLimitedFor();
    if (wait > 0) {
      rateLimitWaits.inc({ provider: this.code, event: 'held' });
      throw this.gateError(wait);
    }
    try {
      return await exchange();
    } catch (err) {
      const limit = rateLimitOf(err);
      if (!limit || !(err instanceof ProviderError)) throw err;
      rateLimitWaits.inc({ provider: this.code, event: 'met' });
      const seconds = Math.min(MAX_GATE_SECONDS, limit.retryAfterSeconds ?? this.cooldown);
      this.blockedUntil = Math.max(this.blockedUntil, this.now() + seconds * 1000);
      this.limitedBy = limit;
      if (limit.retryAfterSeconds != null) throw err;
      // The provider named no delay: tell the caller the one we keep to.
      const filled = err.userErrors.map((e) => (e.code === 'RATE_LIMITED' ? { ...e, retryAfterSeconds: seconds } : e));
      throw new ProviderError(filled, err.disposition, err.cause_);
    }
  }

  private gateError(seconds: number): ProviderError {
    return new ProviderError(
      [
        userError('RATE_LIMITED', `${this.name} asked us to slow down; nothing is sent to it for another ${seconds} s.`, null, {
          providerCode: this.limitedBy?.providerCode ?? null,
          providerMessage: this.limitedBy?.providerMessage ?? null,
          retryAfterSeconds: seconds,
        }),
      ],
      'retryable',
      RATE_LIMIT_GATE,
    );
  }

  private circuitOpenError(): ProviderError {
    const seconds = Math.max(1, Math.ceil((this.openedAt + this.halfOpenAfterMs - Date.now()) / 1000));
    return new ProviderError(
      [userError('PROVIDER_UNAVAILABLE', `${this.name} failed repeatedly; calls to it are paused (nothing was sent). Retry in about ${seconds} s.`, null, { retryAfterSeconds: seconds })],
      'retryable',
      CIRCUIT_OPEN,
    );
  }
}
