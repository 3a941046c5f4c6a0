import type { Logger } from 'pino';
import { PROVIDER_CODES, type ProviderCode } from '../domain/invoice';
import type { AccountEvent, WebhookHeaders } from '../domain/provider-change';
import type { EventLog } from '../ledger/event-log';
import type { ProviderWebhooks } from '../providers/provider';

/** What POST /webhooks/<provider> answers. */
export interface WebhookAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** A webhook body larger than this is refused (413): provider events are a few kilobytes. */
export const MAX_WEBHOOK_BYTES = 1024 * 1024;

export interface WebhookIntakeOptions {
  /** The shared secret per provider (SALLA_WEBHOOK_SECRET, ...); a provider without one has no webhook endpoint. */
  secrets: Partial<Record<ProviderCode, string>>;
  /**
   * Applies what a verified delivery says of an account's access (a store's tokens delivered, or taken away), before
   * it is answered; returns how many tenants it touched. Without it such events are acknowledged and dropped.
   */
  onAccountEvent?(provider: ProviderCode, event: AccountEvent): Promise<number>;
  /**
   * The secrets of the tenants connected to a provider account that signs with its own (a Zuora tenant named by
   * X-Zuora-Tenant-Id): a delivery naming an account is verified with these, and recorded for the tenant whose secret
   * it matches. Without it (no tenant connections), every delivery is verified with the deployment's secret.
   */
  accountSecrets?(provider: ProviderCode, accountId: string, fresh: boolean): Promise<ReadonlyArray<{ tenantId: string; secret: string }>>;
  /** Wakes the processing of the provider's recorded events; called after a new one is recorded, never for a redelivery. Must not throw. */
  wake(provider: ProviderCode): void;
  logger: Logger;
}

/**
 * POST /webhooks/<provider>: a delivery is verified before its body is parsed (401 and nothing recorded otherwise),
 * recorded once per delivery key (a redelivery changes nothing), and answered at once; the work (reading the
 * invoices again) runs as a job that drains the provider's recorded events. Knows no HTTP server: the server hands it the path's provider, body and headers.
 */
export class WebhookIntake {
  constructor(
    /** Each provider's documented webhooks, by code (PROVIDER_WEBHOOKS). */
    private readonly webhooks: Partial<Record<ProviderCode, ProviderWebhooks>>,
    private readonly log: EventLog,
    private readonly options: WebhookIntakeOptions,
  ) {}

  /** Whether `slug` (the path's last segment) names a provider whose webhooks are on. Pure. */
  accepts(slug: string): boolean {
    return this.providerOf(slug) !== null;
  }

  /**
   * Handles one verified-or-refused delivery. Cost: an HMAC over the body, then (when it verifies and names a change)
   * one ledger insert; the drain's wake-up is sent in the background.
   */
  async receive(slug: string, rawBody: Buffer, headers: WebhookHeaders): Promise<WebhookAnswer> {
    const code = this.providerOf(slug);
    if (!code) return { status: 404, body: { error: 'not_found', message: `no webhooks are configured for ${slug.slice(0, 40)}` } };
    const webhooks = this.webhooks[code]!;
    const signers = await this.signersOf(code, webhooks, rawBody, headers);
    if (signers.length === 0) {
      this.options.logger.warn({ provider: code, bytes: rawBody.length }, 'webhook delivery refused: its signature does not match the secret');
      return { status: 401, body: { error: 'unauthorized', message: 'the delivery is not signed with this endpoint\u2019s secret' } };
    }
    let body: unknown;
    let event: string;
    let account: AccountEvent | null = null;
    try {
      body = JSON.parse(rawBody.toString('utf8'));
      account = webhooks.accountEventOf?.(body) ?? null;
    } catch {
      return { status: 400, body: { error: 'bad_request', message: 'the delivery is not an event this endpoint can read' } };
    }
    // What an account event says is the deployment's app's to say (Salla's, signed with its one secret): never a tenant's.
    if (account && signers.some((t) => t !== null)) return { status: 400, body: { error: 'bad_request', message: 'account events are not accepted under a tenant\u2019s own secret' } };
    if (account) {
      // Applied before the answer: a failure answers 5xx, and the provider delivers again (its tokens are not lost).
      const tenants = this.options.onAccountEvent ? await this.options.onAccountEvent(code, account) : 0;
      this.options.logger.info({ provider: code, event: account.kind, accountId: account.accountId, tenants }, tenants > 0 ? 'account event applied' : 'account event for an account no tenant claimed: dropped');
      return { status: 200, body: { received: true, tenants } };
    }
    try {
      const changes = webhooks.changesOf(body);
      event = typeof (body as { event?: unknown }).event === 'string' ? ((body as { event: string }).event) : 'unknown';
      // Events about anything but invoices and orders are acknowledged and dropped: the provider must not retry them.
      if (changes.length === 0) return { status: 200, body: { received: true, ignored: true } };
    } catch {
      return { status: 400, body: { error: 'bad_request', message: 'the delivery is not an event this endpoint can read' } };
    }
    const key = webhooks.deliveryKey(rawBody, headers);
    // Once per tenant that signed it (tenants sharing one provider account, each with its own secret, are apart).
    const recorded = await Promise.all(
      signers.map((tenantId) => this.log.record(code, tenantId === null ? key : `tenant:${tenantId.length}:${tenantId}:${key}`, event.slice(0, 200), rawBody.toString('utf8'), tenantId)),
    );
    const fresh = recorded.some((r) => r.fresh);
    // Recorded is enough to answer: the wake-up is not waited for (a lost one is repaired by the next sync pass).
    if (fresh) this.options.wake(code);
    return { status: 200, body: { received: true, duplicate: !fresh } };
  }

  /**
   * Who signed the delivery: [null] for the deployment's secret; the tenants whose own secret it matches when it names
   * its account (X-Zuora-Tenant-Id), else [null] if the deployment's secret does (an operator's template with the
   * header too); [] when nobody's matches. Cost: one HMAC per candidate secret; the account's secrets come from the
   * caller's cache, read again once before a refusal (a secret changed on another replica moments ago: Zuora does not
   * retry a 401, so a stale cache must not refuse it).
   */
  private async signersOf(code: ProviderCode, webhooks: ProviderWebhooks, rawBody: Buffer, headers: WebhookHeaders): Promise<Array<string | null>> {
    const deployment = () => {
      const secret = this.options.secrets[code];
      return secret && webhooks.verify(rawBody, headers, secret) ? [null] : [];
    };
    const account = this.options.accountSecrets ? (webhooks.accountOf?.(headers) ?? null) : null;
    if (account === null) return deployment();
    if (account === '') return [];
    for (const fresh of [false, true]) {
      const candidates = await this.options.accountSecrets!(code, account, fresh);
      const signers = candidates.filter((c) => webhooks.verify(rawBody, headers, c.secret)).map((c) => c.tenantId);
      if (signers.length > 0) return signers;
    }
    return deployment();
  }

  private providerOf(slug: string): ProviderCode | null {
    const code = slug.toUpperCase() as ProviderCode;
    if (!(PROVIDER_CODES as readonly string[]).includes(code) || slug !== slug.toLowerCase()) return null;
    const webhooks = this.webhooks[code];
    if (!webhooks) return null;
    // Open with the deployment's secret, or with tenants' own where deliveries name their account.
    return this.options.secrets[code] || (webhooks.accountOf && this.options.accountSecrets) ? code : null;
  }
}
