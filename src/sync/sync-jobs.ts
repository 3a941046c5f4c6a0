import type { Logger } from 'pino';
import type { ProviderCode } from '../domain/invoice';
import type { ProviderChange } from '../domain/provider-change';
import type { JobQueue } from '../jobs/job-queue';
import type { EventLog } from '../ledger/event-log';
import type { ProviderWebhooks } from '../providers/provider';
import { ChangesNotApplied, type ChangeApplier } from './change-applier';
import { syncResults } from '../telemetry/metrics';
import type { SyncPass } from './sync-pass';

/**
 * The queue that drains a provider's recorded webhook deliveries; a job's data is `{ provider }`. `stately` with the
 * provider as singletonKey: at most one drain queued and one running per provider across replicas, so a burst of
 * deliveries wakes a few drains, and each drain reads an order once however many of its events it applies.
 */
export const EVENTS_QUEUE = 'provider-events';
/** The queue of sync passes, one chain per provider (singletonKey = provider code; JobQueue.defineChain). */
export const SYNC_QUEUE = 'sync-pass';

/** A delivery not processed this long after it arrived lost its wake-up; the next sync pass wakes a drain. */
const EVENT_GRACE_MS = 60_000;
/** Events a drain applies together (their changes are deduplicated: one read per order). */
const DRAIN_BATCH = 500;

/**
 * Wakes the provider's drain job after deliveries were recorded: one `send` at a time per provider from this
 * replica, and one more after it if deliveries arrived meanwhile, so a burst costs a few job inserts, not one each.
 * Never throws: a lost wake-up is repaired by the sync pass (EventLog.stalled).
 */
export class DrainWaker {
  private readonly sending = new Map<ProviderCode, Promise<void>>();
  private readonly again = new Set<ProviderCode>();

  constructor(
    private readonly queue: JobQueue,
    private readonly logger: Logger,
  ) {}

  /** Called after a delivery is recorded; costs at most one job insert in flight per provider. */
  wake(provider: ProviderCode): void {
    if (this.sending.has(provider)) {
      this.again.add(provider);
      return;
    }
    const run = this.queue
      .send(EVENTS_QUEUE, { provider }, { singletonKey: provider })
      .then(() => undefined)
      .catch((err: Error) => this.logger.warn({ err, provider }, 'could not queue the webhook drain; the sync pass will'))
      .finally(() => {
        this.sending.delete(provider);
        if (this.again.delete(provider)) this.wake(provider);
      });
    this.sending.set(provider, run);
  }

  /** Resolves when no wake-up is in flight; for shutdown and tests. */
  async idle(): Promise<void> {
    while (this.sending.size > 0) await Promise.all([...this.sending.values()]);
  }
}

export interface SyncJobsOptions {
  /** SYNC_INTERVAL_MS; 0: no polling (webhooks are still processed). */
  intervalMs: number;
  logger: Logger;
}

/**
 * Defines the sync's queues on this replica and starts its share of the work: draining webhook deliveries, and a
 * pass per provider every `intervalMs` (a JobQueue.defineChain per provider, once across replicas). Called once at start.
 */
export async function startSyncJobs(
  queue: JobQueue,
  deps: { events: EventLog; applier: ChangeApplier; pass: SyncPass; codes: readonly ProviderCode[]; webhooks: Partial<Record<ProviderCode, ProviderWebhooks>> },
  options: SyncJobsOptions,
): Promise<void> {
  const { logger } = options;
  await queue.define<{ provider: ProviderCode }>(EVENTS_QUEUE, {
    policy: 'stately',
    retryLimit: 8,
    // Providers drain side by side.
    concurrency: Math.max(1, deps.codes.length),
    handler: async ([job]) => {
      const code = job!.data.provider;
      if (!deps.codes.includes(code)) return;
      const webhooks = deps.webhooks[code];
      for (;;) {
        const events = await deps.events.pending(code, DRAIN_BATCH);
        if (events.length === 0) return;
        // Deliveries verified with a tenant's own secret were seen at that tenant's account: applied through it.
        const bySigner = new Map<string | null, ProviderChange[]>();
        for (const e of events) {
          const changes = bySigner.get(e.tenantId) ?? bySigner.set(e.tenantId, []).get(e.tenantId)!;
          try {
            if (webhooks) changes.push(...webhooks.changesOf(JSON.parse(e.body)));
          } catch (err) {
            // Verified and recorded, yet unreadable: kept in the log for a person, never retried.
            logger.warn({ err, provider: code, event: e.event, eventId: e.id }, 'webhook delivery could not be read; kept, not applied');
          }
        }
        for (const [tenantId, changes] of bySigner) {
          const source = tenantId === null ? undefined : await deps.applier.seenBy(tenantId, code);
          // A failed read throws: the job is retried with backoff, and the events stay unprocessed until then.
          const result = await deps.applier.apply(changes, source).catch((err: unknown) => {
            if (err instanceof ChangesNotApplied) countSync(code, 'webhook', { failed: err.failures.length, refreshed: err.stored });
            throw err;
          });
          countSync(code, 'webhook', result);
          logger.debug({ provider: code, tenantId, changes: changes.length, ...result }, 'webhook deliveries applied');
        }
        await deps.events.processed(events.map((e) => e.id));
      }
    },
  });
  if (options.intervalMs <= 0) return;
  await queue.defineChain(SYNC_QUEUE, [...deps.codes], options.intervalMs, async (key) => {
    const code = key as ProviderCode;
    const result = await deps.pass.run(code);
    countSync(code, 'poll', result);
    logger.info(result, 'sync pass done');
    if (await deps.events.stalled(code, EVENT_GRACE_MS)) await queue.send(EVENTS_QUEUE, { provider: code }, { singletonKey: code });
  });
}

/** Adds what a drain or a pass did to `invoicing_sync_invoices_total`. */
function countSync(provider: ProviderCode, source: 'webhook' | 'poll', counts: Partial<Record<'refreshed' | 'found' | 'ambiguous' | 'failed', number>>): void {
  for (const result of ['refreshed', 'found', 'ambiguous', 'failed'] as const) {
    const n = counts[result] ?? 0;
    if (n > 0) syncResults.inc({ provider, source, result }, n);
  }
}
