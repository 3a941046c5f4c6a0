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
/**
 * Wakes a provider's drain when deliveries put off after failed reads are due: a job's data is `{ provider }`, sent
 * with `startAfter`. A queue of its own, so that a wake-up waiting for its hour never stands in for the immediate ones
 * of new deliveries (EVENTS_QUEUE keeps one queued job per provider); keyed by provider and the delay's power of two,
 * so a short retry is not swallowed by a long one already waiting.
 */
export const EVENTS_RETRY_QUEUE = 'provider-events-retry';
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
        if (events.length === 0) {
          // What was put off is woken when it is due (and by new deliveries, and each sync pass).
          const next = await deps.events.nextRetry(code);
          if (next) {
            const delayMs = Math.max(0, next.getTime() - Date.now());
            const bucket = Math.ceil(Math.log2(Math.max(delayMs, 500) / 500));
            await queue.send(EVENTS_RETRY_QUEUE, { provider: code }, { singletonKey: `${code}:${bucket}`, startAfterMs: delayMs + 50 });
          }
          return;
        }
        // Deliveries verified with a tenant's own secret were seen at that tenant's account: applied through it.
        const bySigner = new Map<string | null, { ids: string[]; changes: ProviderChange[] }>();
        for (const e of events) {
          const group = bySigner.get(e.tenantId) ?? bySigner.set(e.tenantId, { ids: [], changes: [] }).get(e.tenantId)!;
          group.ids.push(e.id);
          try {
            if (webhooks) group.changes.push(...webhooks.changesOf(JSON.parse(e.body)));
          } catch (err) {
            // Verified and recorded, yet unreadable: kept in the log for a person, never retried.
            logger.warn({ err, provider: code, event: e.event, eventId: e.id }, 'webhook delivery could not be read; kept, not applied');
          }
        }
        // Each signer's deliveries succeed or wait on their own: one tenant's failing account never holds up another's.
        for (const [tenantId, { ids, changes }] of bySigner) {
          const source = tenantId === null ? undefined : await deps.applier.seenBy(tenantId, code);
          if (source === 'waiting') {
            await deps.events.defer(ids, false);
            logger.info({ provider: code, tenantId, events: ids.length }, "webhook deliveries wait for their tenant's connection to be reauthorized");
            continue;
          }
          try {
            const result = await deps.applier.apply(changes, source);
            countSync(code, 'webhook', result);
            await deps.events.processed(ids);
            logger.debug({ provider: code, tenantId, changes: changes.length, ...result }, 'webhook deliveries applied');
          } catch (err) {
            if (!(err instanceof ChangesNotApplied)) throw err;
            countSync(code, 'webhook', { failed: err.failures.length, refreshed: err.stored });
            // Put off with their own backoff; the others go on.
            const parked = await deps.events.defer(ids, true);
            logger.warn({ err, provider: code, tenantId, events: ids.length, parked }, parked > 0 ? 'webhook deliveries failed too often: parked for a person' : 'webhook deliveries not applied: retried later');
          }
        }
      }
    },
  });
  await queue.define<{ provider: ProviderCode }>(EVENTS_RETRY_QUEUE, {
    policy: 'stately',
    retryLimit: 3,
    concurrency: 1,
    handler: async ([job]) => {
      const code = job!.data.provider;
      await queue.send(EVENTS_QUEUE, { provider: code }, { singletonKey: code });
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
