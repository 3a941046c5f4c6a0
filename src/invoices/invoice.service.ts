import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { ProviderError, underField, userError, type UserError } from '../domain/errors';
import { fingerprint } from '../domain/fingerprint';
import { recordOf, type Invoice, type InvoiceDetails, type ProviderCode } from '../domain/invoice';
import type { Attempt, Ledger } from '../ledger/ledger';
import type { CreateContext, InvoiceProvider } from '../providers/provider';
import { tenantProvidersOf, type TenantProviders } from '../connections/tenant-providers';
import type { ProviderRegistry } from '../providers/registry';

/** One createInvoice request, already mapped from GraphQL into the provider's domain input. */
export interface CreateInvoiceCommand<TInput = unknown> {
  tenantId: string;
  provider: ProviderCode;
  /** The input branch's name (`salla`), the first element of every error's field path. */
  branch: string;
  input: TInput;
  /** The input in JSON form (files replaced by their hash): fingerprinted and recorded with the attempt. */
  recordedInput: unknown;
  idempotencyKey?: string | null;
}

export interface CreateInvoiceResult {
  invoices: Invoice[];
  userErrors: UserError[];
  /** What the provider returned when this call created the invoices, by invoice id: primes the lazy fields. */
  details: Map<string, InvoiceDetails>;
}

export interface InvoiceServiceOptions {
  /** How long an attempt may stay pending before another caller may assume its process died. */
  leaseMs?: number;
  /** The longest an owner renews its lease while one provider call runs (default 10 minutes). */
  maxHoldMs?: number;
  /** How long a retry waits for a concurrent attempt with its key before answering IN_PROGRESS. */
  waitMs?: number;
  pollMs?: number;
  logger?: Logger;
}

const result = (invoices: Invoice[], userErrors: UserError[] = [], details = new Map<string, InvoiceDetails>()): CreateInvoiceResult => ({
  invoices,
  userErrors,
  details,
});

/**
 * The rules of creating an invoice: validate, record the attempt, call the provider at most once per attempt,
 * record the outcome. Idempotent per (tenant, idempotency key) across retries, concurrent calls and replicas.
 */
export class InvoiceService {
  private readonly leaseMs: number;
  private readonly maxHoldMs: number;
  private readonly waitMs: number;
  private readonly pollMs: number;
  /** Calls with one key in this process share one run; other replicas coordinate through the ledger. */
  private readonly inFlight = new Map<string, Promise<CreateInvoiceResult>>();
  private readonly providers: TenantProviders;

  constructor(
    private readonly ledger: Ledger,
    providers: TenantProviders | ProviderRegistry,
    private readonly options: InvoiceServiceOptions = {},
  ) {
    this.providers = tenantProvidersOf(providers);
    this.leaseMs = options.leaseMs ?? 60_000;
    this.maxHoldMs = options.maxHoldMs ?? 10 * 60_000;
    this.waitMs = options.waitMs ?? 30_000;
    this.pollMs = options.pollMs ?? 50;
  }

  /** Called by the createInvoice mutation. Costs nothing upstream on bad input or a replay; else one provider create. */
  async create(cmd: CreateInvoiceCommand): Promise<CreateInvoiceResult> {
    const resolved = await this.providers.of(cmd.tenantId, cmd.provider);
    if ('refusal' in resolved) return result([], [{ ...resolved.refusal, field: [cmd.branch] }]);
    const { provider, account } = resolved;
    const invalid = provider.validate(cmd.input);
    if (invalid.length > 0) return result([], underField([cmd.branch], invalid));

    const key = cmd.idempotencyKey ?? randomUUID();
    const flightKey = `${cmd.tenantId}\u0000${key}`;
    for (let running = this.inFlight.get(flightKey); running; running = this.inFlight.get(flightKey)) {
      await running.catch(() => undefined);
    }
    const run = this.run(cmd, key, provider, account).finally(() => this.inFlight.delete(flightKey));
    this.inFlight.set(flightKey, run);
    return run;
  }

  private async run(cmd: CreateInvoiceCommand, key: string, provider: InvoiceProvider, account: string | null): Promise<CreateInvoiceResult> {
    const fp = fingerprint({ provider: cmd.provider, input: cmd.recordedInput });
    const { attempt, fresh } = await this.ledger.claim({
      tenantId: cmd.tenantId,
      idempotencyKey: key,
      provider: cmd.provider,
      orderId: provider.orderIdOf(cmd.input),
      inputFingerprint: fp,
      input: cmd.recordedInput,
      leaseMs: this.leaseMs,
      account,
    });
    if (fresh) return this.execute(attempt, cmd, provider, false);
    if (attempt.inputFingerprint !== fp) {
      return result([], [userError('IDEMPOTENCY_CONFLICT', 'This idempotency key was already used with a different input; use a new key for a new invoice.', ['idempotencyKey'])]);
    }
    // A recorded outcome is replayed whatever account the tenant has now; an open one is only ever settled where it was sent.
    const settled = attempt.state === 'succeeded' || (attempt.state === 'failed' && attempt.disposition !== 'retryable');
    if (!settled && !sameAccount(attempt.account, account)) return result([], [otherAccount(cmd)]);
    return this.resume(attempt, cmd, provider);
  }

  /** A key seen before: replay its outcome, wait for it, or take it over when it can safely be tried again. */
  private async resume(seen: Attempt, cmd: CreateInvoiceCommand, provider: InvoiceProvider): Promise<CreateInvoiceResult> {
    const deadline = Date.now() + this.waitMs;
    let attempt: Attempt | null = seen;
    while (attempt) {
      switch (attempt.state) {
        case 'succeeded':
          return result(await this.ledger.invoicesOfAttempt(attempt.id));
        case 'failed':
          if (attempt.disposition !== 'retryable') return result([], attempt.userErrors ?? []);
          break;
        case 'unknown':
          break;
        case 'pending':
          if (attempt.leaseExpiresAt && attempt.leaseExpiresAt.getTime() > Date.now()) {
            if (Date.now() >= deadline) {
              return result([], [userError('IN_PROGRESS', 'A request with this idempotency key is still running; retry with the same key shortly.', ['idempotencyKey'])]);
            }
            await sleep(this.pollMs);
            attempt = await this.ledger.getAttempt(attempt.id);
            continue;
          }
      }
      // failed-retryable, unknown, or pending with a dead owner: exactly one caller takes it over, unless the
      // provider can no longer say what the attempt did.
      const tooOld = attempt.state !== 'failed' ? this.pastLookupWindow(attempt, provider) : null;
      if (tooOld) return result([], underField([cmd.branch], [tooOld]));
      const taken = await this.ledger.retake(attempt.id, [attempt.state], this.leaseMs);
      // A failed attempt taken over again (tries > 1) may have been released by a sweep while an owner it thought
      // dead was still sending: look before creating. A first failure (nothing sent) needs no look.
      if (taken) return this.execute(taken, cmd, provider, attempt.state !== 'failed' || attempt.tries > 1);
      attempt = await this.ledger.getAttempt(attempt.id);
    }
    throw new Error(`attempt ${seen.id} disappeared`);
  }

  /**
   * Calls the provider for an attempt this caller owns. When an earlier try may have reached the provider,
   * it first asks the provider what that try created, and creates only on a verified absence.
   */
  private async execute(attempt: Attempt, cmd: CreateInvoiceCommand, provider: InvoiceProvider, mayExist: boolean): Promise<CreateInvoiceResult> {
    return this.holding(attempt, () => this.executeHeld(attempt, cmd, provider, mayExist));
  }

  private async executeHeld(attempt: Attempt, cmd: CreateInvoiceCommand, provider: InvoiceProvider, mayExist: boolean): Promise<CreateInvoiceResult> {
    const heldSince = Date.now();
    let details: InvoiceDetails[] = [];
    if (mayExist) {
      const looked = await this.lookUp(attempt, cmd, provider);
      if ('unverified' in looked) return looked.unverified;
      details = looked.found;
    }
    // Only the holder may create. Right after the claim nobody can have taken over (the lease has not run out), so
    // the check costs a write only when the lookup took a good part of a lease.
    if (details.length === 0 && Date.now() - heldSince > this.leaseMs / 3 && !(await this.ledger.extendLease(attempt, this.leaseMs))) {
      return this.outcomeOf(attempt, [userError('IN_PROGRESS', 'Another request took this attempt over; retry with the same key shortly.', ['idempotencyKey'])]);
    }
    try {
      if (details.length === 0) details = await provider.create(cmd.input, this.contextOf(attempt));
    } catch (err) {
      return this.failed(attempt, cmd, err);
    }
    if (details.length === 0) {
      // The provider acted (a Zuora fulfillment, say) but issued no document: final, so a retry cannot act again.
      const errors = [userError('PROVIDER_REFUSED', 'The provider accepted the request but issued no invoice (nothing was due for billing).', [cmd.branch])];
      if (!(await this.ledger.fail(attempt, 'failed', 'final', errors))) return this.outcomeOf(attempt, errors);
      return result([], errors);
    }
    return this.record(attempt, cmd, provider, details);
  }

  /**
   * Settles an attempt the caller has taken over (`ledger.retake`) without ever creating: what the provider holds
   * for it is recorded (repaired); a verified absence leaves it failed-retryable, so a retry with its key creates;
   * a provider that cannot be asked leaves it unknown. Called by the reconciler; costs the provider's lookup.
   */
  async settle(attempt: Attempt, cmd: CreateInvoiceCommand, provider: InvoiceProvider): Promise<'repaired' | 'released' | 'unknown' | 'taken'> {
    return this.holding(attempt, () => this.settleHeld(attempt, cmd, provider));
  }

  private async settleHeld(attempt: Attempt, cmd: CreateInvoiceCommand, provider: InvoiceProvider): Promise<'repaired' | 'released' | 'unknown' | 'taken'> {
    const looked = await this.lookUp(attempt, cmd, provider);
    if ('unverified' in looked) return 'unknown';
    if (looked.found.length > 0) {
      await this.record(attempt, cmd, provider, looked.found);
      return 'repaired';
    }
    const interrupted = userError('PROVIDER_UNAVAILABLE', 'The request was interrupted before the provider created anything; retry with the same idempotency key.', [cmd.branch]);
    // Fenced: had anyone else taken the attempt over meanwhile, their outcome stands.
    return (await this.ledger.fail(attempt, 'failed', 'retryable', [interrupted])) ? 'released' : 'taken';
  }

  /** How long an attempt taken over stays this caller's; the reconciler retakes with it too. */
  get attemptLeaseMs(): number {
    return this.leaseMs;
  }

  /**
   * Why an open attempt can no longer be looked up at its provider (it began before the provider's lookup window),
   * or null. Such an attempt is not taken over: only a person can settle it, at the provider.
   */
  pastLookupWindow(attempt: Attempt, provider: InvoiceProvider): UserError | null {
    const window = provider.lookupWindowMs;
    if (window === undefined || Date.now() - attempt.createdAt.getTime() <= window) return null;
    return userError(
      'NEEDS_MANUAL_SETTLEMENT',
      `This attempt began ${attempt.createdAt.toISOString()}, too long ago for ${attempt.provider} to tell whether it created an invoice; it is left for a person to settle at the provider, and nothing was sent.`,
    );
  }

  /**
   * Runs `work` while renewing the attempt's lease every third of it, so that the lease runs out only when this
   * process dies: no replica or sweep takes over an attempt whose provider call is merely slow. Costs one ledger
   * write per third of a lease, and none for a call that ends sooner.
   */
  private async holding<T>(attempt: Attempt, work: () => Promise<T>): Promise<T> {
    const until = Date.now() + this.maxHoldMs;
    const timer = setInterval(() => {
      // A call stuck past any provider deadline is a bug: stop renewing, so that repair can take the attempt over.
      if (Date.now() > until) {
        clearInterval(timer);
        this.options.logger?.error({ attemptId: attempt.id, maxHoldMs: this.maxHoldMs }, 'provider call outlived its longest hold; its lease is left to run out');
        return;
      }
      this.ledger.extendLease(attempt, this.leaseMs).catch((err: unknown) => this.options.logger?.warn({ err, attemptId: attempt.id }, 'could not renew an attempt lease'));
    }, Math.max(50, Math.floor(this.leaseMs / 3)));
    timer.unref();
    try {
      return await work();
    } finally {
      clearInterval(timer);
    }
  }

  /**
   * The answer for a caller whose closing write lost its fence (someone else settled or took over the attempt):
   * the attempt's outcome as it now stands, or, while it is still open, this caller's errors as "retry with the key".
   */
  private async outcomeOf(attempt: Attempt, errors: UserError[]): Promise<CreateInvoiceResult> {
    const now = await this.ledger.getAttempt(attempt.id);
    if (now?.state === 'succeeded') return result(await this.ledger.invoicesOfAttempt(attempt.id));
    if (now?.state === 'failed' && now.disposition !== 'retryable') return result([], now.userErrors ?? []);
    return result([], errors.map(asUnsettled));
  }

  // The attempt's id: stable across retries of this attempt, unique across tenants sharing a provider account.
  private contextOf(attempt: Attempt): CreateContext {
    return { idempotencyKey: attempt.id, attemptStartedAt: attempt.createdAt, tryNumber: attempt.tries };
  }

  /**
   * What an earlier try of this attempt created at the provider, or, when the provider could not be asked, the
   * answer to give (the attempt is then recorded unknown, to be checked again by the next retry or sweep).
   */
  private async lookUp(attempt: Attempt, cmd: CreateInvoiceCommand, provider: InvoiceProvider): Promise<{ found: InvoiceDetails[] } | { unverified: CreateInvoiceResult }> {
    try {
      const found = await provider.findCreated(cmd.input, this.contextOf(attempt));
      // Invoices another attempt already recorded are not this attempt's, however well they match.
      const taken = await this.ledger.recordedByOthers(attempt, found.map((d) => d.header.providerInvoiceId));
      const own = found.filter((d) => !taken.has(d.header.providerInvoiceId));
      if (own.length > 0) this.options.logger?.info({ attemptId: attempt.id, found: own.length }, 'repaired attempt from provider');
      return { found: own };
    } catch (err) {
      return { unverified: await this.failed(attempt, cmd, err, 'unknown') };
    }
  }

  /** Records what the provider created as the attempt's invoices, with their details to prime the lazy fields. */
  private async record(attempt: Attempt, cmd: CreateInvoiceCommand, provider: InvoiceProvider, details: InvoiceDetails[]): Promise<CreateInvoiceResult> {
    const invoices = await this.ledger.succeed(attempt.id, cmd.tenantId, details.map((d) => recordOf(d, provider.contentFinal(d.header))));
    const byProviderId = new Map(details.map((d) => [d.header.providerInvoiceId, d]));
    return result(invoices, [], new Map(invoices.map((i) => [i.id, byProviderId.get(i.providerInvoiceId)!])));
  }

  /** Records a failed provider call on the attempt and turns it into the caller's userErrors. */
  private async failed(attempt: Attempt, cmd: CreateInvoiceCommand, err: unknown, force?: 'unknown'): Promise<CreateInvoiceResult> {
    if (err instanceof ProviderError) {
      const unknown = force === 'unknown' || err.disposition === 'indeterminate';
      // An open outcome must read as "retry with the same key", whatever the failed call was: a refusal code here
      // would make the caller give up on an invoice the provider may hold.
      const errors = underField([cmd.branch], unknown ? err.userErrors.map(asUnsettled) : err.userErrors);
      const held = await this.ledger.fail(attempt, unknown ? 'unknown' : 'failed', unknown ? 'indeterminate' : err.disposition, errors);
      this.options.logger?.warn({ attemptId: attempt.id, provider: cmd.provider, disposition: err.disposition, cause: err.cause_ }, 'provider refused or failed');
      return held ? result([], errors) : this.outcomeOf(attempt, errors);
    }
    // A bug after the call (an unreadable success, say): the invoice may exist, so the attempt stays open to repair.
    await this.ledger.fail(attempt, 'unknown', 'indeterminate', [userError('PROVIDER_UNAVAILABLE', "The provider's answer could not be read.")]).catch(() => undefined);
    throw err;
  }
}

const RETRY_CODES = new Set(['PROVIDER_UNAVAILABLE', 'RATE_LIMITED', 'IN_PROGRESS']);

/** The caller's view of a failure that left the attempt open: retryable, with the provider's own words kept. */
function asUnsettled(e: UserError): UserError {
  if (RETRY_CODES.has(e.code) || e.code === 'NEEDS_MANUAL_SETTLEMENT') return e;
  return {
    ...e,
    code: 'PROVIDER_UNAVAILABLE',
    message: `Could not confirm whether the provider created the invoice (${e.message}); retry with the same idempotency key: it is checked at the provider first, never created twice.`,
    providerCode: e.providerCode ?? e.code,
  };
}

/**
 * Whether an attempt recorded as sent to `recorded` may be settled through `current`: the same account, or either
 * unknown (attempts from before accounts were recorded; a provider that names none). Pure.
 */
export function sameAccount(recorded: string | null, current: string | null): boolean {
  return recorded === null || current === null || recorded === current;
}

/** An open attempt sent to another account than the tenant's current connection reaches. */
function otherAccount(cmd: CreateInvoiceCommand): UserError {
  return userError(
    'PROVIDER_NOT_CONNECTED',
    `This idempotency key's attempt was sent to another ${cmd.provider} account than the one this tenant is connected to now: connect that account again to settle it, or use a new key for a new invoice.`,
    [cmd.branch],
  );
}
