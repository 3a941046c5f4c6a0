import type { Logger } from 'pino';
import type { ProviderCode } from '../domain/invoice';
import type { ProviderChange } from '../domain/provider-change';
import type { JobQueue } from '../jobs/job-queue';
import type { EventLog } from '../ledger/event-log';
import type { ProviderRegistry } from '../providers/registry';
import type { ChangeApplier } from './change-applier';
import type { SyncPass } from './sync-pass';

/** The queue of recorded webhook deliveries to process; a job's data is `{ eventId }`. */
export const EVENTS_QUEUE = 'provider-events';
/** The queue of sync passes, one chain per provider (singletonKey = provider code); a job's data is `{ provider }`. */
export const SYNC_QUEUE = 'sync-pass';

/** A delivery not processed this long after it arrived had its job lost; the next sync pass queues it again. */
const EVENT_GRACE_MS = 60_000;

export interface SyncJobsOptions {
  /** SYNC_INTERVAL_MS; 0: no polling (webhooks are still processed). */
  intervalMs: number;
  logger: Logger;
  /** Deliveries processed together (their changes are applied as one batch per provider); default 25. */
  eventBatch?: number;
}

/**
 * Defines the sync's queues on this replica and starts its share of the work: processing webhook deliveries, and a
 * pass per provider every `intervalMs`. The passes are a chain per provider in a `stately` queue (at most one queued
 * and one running across all replicas): each pass queues the next to start `intervalMs` later, and every replica
 * offers a first one at start, which the queue refuses while one is queued. Called once at start.
 */
export async function startSyncJobs(
  queue: JobQueue,
  deps: { events: EventLog; applier: ChangeApplier; pass: SyncPass; providers: ProviderRegistry },
  options: SyncJobsOptions,
): Promise<void> {
  const { logger } = options;
  await queue.define<{ eventId: string }>(EVENTS_QUEUE, {
    batchSize: options.eventBatch ?? 25,
    concurrency: 2,
    retryLimit: 8,
    handler: async (jobs) => {
      const events = await deps.events.byIds(jobs.map((j) => j.data.eventId));
      const changes: ProviderChange[] = [];
      for (const e of events) {
        if (e.processedAt) continue;
        const code = e.provider as ProviderCode;
        const webhooks = deps.providers.has(code) ? deps.providers.get(code).webhooks : undefined;
        try {
          if (webhooks) changes.push(...webhooks.changesOf(JSON.parse(e.body)));
        } catch (err) {
          // Verified and recorded, yet unreadable: kept in the log for a person, never retried.
          logger.warn({ err, provider: code, event: e.event, eventId: e.id }, 'webhook delivery could not be read; kept, not applied');
        }
      }
      const result = await deps.applier.apply(changes);
      await deps.events.processed(events.map((e) => e.id));
      logger.debug({ events: events.length, ...result }, 'webhook deliveries applied');
    },
  });
  if (options.intervalMs <= 0) return;
  await queue.define<{ provider: ProviderCode }>(SYNC_QUEUE, {
    policy: 'stately',
    // One pass per provider at once on a replica: a slow provider must not hold the others' passes back.
    concurrency: Math.max(1, deps.providers.codes().length),
    // A pass is not retried by the queue: the next one in the chain is its retry. A replica that dies mid-pass
    // stops its heartbeat, and the queue gives the job to another replica, which continues the chain.
    retryLimit: 3,
    handler: async ([job]) => {
      const code = job!.data.provider;
      if (!deps.providers.has(code)) return;
      try {
        const result = await deps.pass.run(code);
        logger.info(result, 'sync pass done');
        for (const id of await deps.events.unprocessed(code, EVENT_GRACE_MS)) await queue.send(EVENTS_QUEUE, { eventId: id });
      } catch (err) {
        logger.warn({ err, provider: code }, 'sync pass failed; the next pass tries again');
      }
      await queue.send(SYNC_QUEUE, { provider: code }, { singletonKey: code, startAfterMs: options.intervalMs });
    },
  });
  for (const code of deps.providers.codes()) await queue.send(SYNC_QUEUE, { provider: code }, { singletonKey: code, startAfterMs: options.intervalMs });
}
