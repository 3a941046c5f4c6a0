import type { InvoiceDetails, InvoiceHeader, ProviderCode, ProviderInvoiceRef } from '../domain/invoice';
import type { AccountEvent, ProviderChange, WebhookHeaders } from '../domain/provider-change';
import type { UserError } from '../domain/errors';
import type { ProviderHealth } from './shared/resilience';

/** What a provider knows about the attempt it is serving. */
export interface CreateContext {
  /**
   * Stable across every retry of one attempt and unique across tenants (it is the attempt's id): sent to providers
   * that accept an idempotency key, and the seed of client-chosen ids.
   */
  idempotencyKey: string;
  /**
   * When the attempt was first recorded: a provider whose idempotency key expires (Zuora keeps it 24 h) must not
   * resend after that, since the provider would take the resend for a new request. Absent: the attempt begins now.
   */
  attemptStartedAt?: Date;
  /**
   * Which take of the attempt this is (1 for the first; each retry or repair that takes the attempt over adds one),
   * so that a provider that replays a key's first answer, failures included (Zuora), can send a new key per take.
   * Absent: 1.
   */
  tryNumber?: number;
}

/**
 * One billing provider, implemented once per provider under `src/providers/<name>` and chosen through the
 * registry. Implementations map the provider's wire format into the domain model and know nothing of GraphQL
 * or of the ledger. Every failure they report is a ProviderError built by the provider's one error-mapping function.
 */
export interface InvoiceProvider<TInput = unknown> {
  readonly code: ProviderCode;

  /** Called before anything is recorded or sent; pure, no I/O. Field paths are relative to the input branch. */
  validate(input: TInput): UserError[];

  /**
   * The order reference the input names, recorded with the attempt before the call: the order id where the input
   * carries it (Salla, Exsited, Commerce), else the closest reference it has (the Salesforce fulfillment order id,
   * the first Zuora order line item id). Invoices take their real `orderId` from the provider's answer.
   */
  orderIdOf(input: TInput): string;

  /** Called once per new attempt. Costs the provider's create call plus at most one read per created invoice. */
  create(input: TInput, ctx: CreateContext): Promise<InvoiceDetails[]>;

  /**
   * Called when an earlier attempt with this input may have reached the provider (a crash, a timeout, a 5xx):
   * returns what that attempt created, or [] when the provider verifiably has nothing for it. Reads only.
   */
  findCreated(input: TInput, ctx: CreateContext): Promise<InvoiceDetails[]>;

  /**
   * How long after an attempt began `findCreated` can still tell what it did (Zuora: while it keeps the
   * Idempotency-Key). Past it, an open attempt is left for a person; undefined: no limit.
   */
  readonly lookupWindowMs?: number;

  /**
   * Called by the per-request lazy-field loader with every distinct invoice of this provider in the batch.
   * Returns one entry per ref, in order, an Error in the slot of an invoice it could not read.
   * Cost: one call per invoice with bounded concurrency, or one per batch where the provider can batch.
   */
  loadDetails(refs: readonly ProviderInvoiceRef[]): Promise<Array<InvoiceDetails | Error>>;

  /**
   * Whether the ledger may serve the invoice's lines and taxes without a provider call: by the provider's rules they
   * can no longer change (a posted invoice is fixed, a Zuora Draft is not), or change only by a rare amendment that
   * the age-based refresh picks up (Exsited). Pure; called on every provider read. Status and payment figures may
   * change on a final invoice too; they are refreshed by age, not by this.
   */
  contentFinal(header: InvoiceHeader): boolean;

  /** The provider's documented webhooks (POST /webhooks/<provider>), where it has any. */
  readonly webhooks?: ProviderWebhooks;

  /**
   * Every invoice the provider has for each order, ours and those made elsewhere (the sync's discovery of EXTERNAL
   * invoices), where its API can list them: one entry per order id, in order, an Error for an order it could not list.
   */
  invoicesOfOrders?(orderIds: readonly string[]): Promise<Array<InvoiceDetails[] | Error>>;

  /**
   * Invoices a webhook or change feed named that the ledger does not know, each read with the order it belongs to, so
   * that one made outside the subgraph is recorded as EXTERNAL (ChangeApplier, for the distinct unknown ids of a batch
   * only; where the provider cannot list an order's invoices: Zuora's callouts, Salesforce's change feed). One entry
   * per id, in order: null for a document that belongs to no order (nothing to record), an Error for one it could not
   * read. Cost: the provider's reads of each invoice and of each distinct order it names (Zuora: three per document,
   * two per distinct order line item; Salesforce: five queries per 200 ids).
   */
  readUnknown?(providerInvoiceIds: readonly string[]): Promise<Array<InvoiceDetails | null | Error>>;

  /**
   * The provider's invoices changed since `since` (any of them, ours or not), where one query can say so (Salesforce:
   * SOQL on SystemModstamp), with the high-water mark to ask from next time: the sync's polling reads again the known
   * invoices among them, and the unknown ones through readUnknown where the provider has it. Cost: one query per page of the provider's changed invoices.
   */
  changedSince?(since: Date): Promise<{ providerInvoiceIds: string[]; until: Date }>;

  /**
   * The account the credentials reach. Called by connectProvider before credentials are stored; costs one or two
   * provider calls; throws the provider's ProviderError (via its one error-mapping function) when they are refused.
   */
  identify?(): Promise<ProviderAccount>;

  /** Its circuit breaker and rate-limit gate as they stand, read by `GET /metrics`; no I/O. */
  health?(): ProviderHealth;

  /** Releases connections; called once at shutdown. */
  close?(): Promise<void>;
}

/** Who a provider account is, as the provider names it. */
export interface ProviderAccount {
  accountId: string;
  accountName: string | null;
}

/** How a provider's webhook deliveries are checked and read; pure, no I/O. */
export interface ProviderWebhooks {
  /**
   * Whether the delivery was sent by the provider: its signature (or token) checked against `secret` over the raw
   * body, in constant time. Called before the body is parsed.
   */
  verify(rawBody: Buffer, headers: WebhookHeaders, secret: string): boolean;
  /**
   * The delivery's identity, the same for a redelivery of it: the provider's own delivery id where it sends one, else
   * a digest of the body. Called after verify.
   */
  deliveryKey(rawBody: Buffer, headers: WebhookHeaders): string;
  /** What a verified delivery says may have changed; [] for events about anything else. Throws on a body it cannot read. */
  changesOf(body: unknown): ProviderChange[];
  /**
   * What a verified delivery says of an account's access (its tokens delivered, or taken away), or null for any other
   * event, where the provider has such events. Throws on such an event it cannot read.
   */
  accountEventOf?(body: unknown): AccountEvent | null;
  /**
   * The provider account a delivery says it comes from, where each account signs with a secret of its own (a Zuora
   * tenant's callout templates): chooses whose secret verifies it, before anything is parsed. null: the delivery names
   * none (the deployment's secret verifies it); '' for a value that can name no account (refused). Pure.
   */
  accountOf?(headers: WebhookHeaders): string | null;
}
