import { maybeCacheControlFromInfo } from '@apollo/cache-control-types';
import type { GraphQLResolveInfo } from 'graphql';
import type { Context } from '../server/context';

/** How long a router may cache what never changes once recorded (ids, provider, kind, the order, final lines). */
export const IMMUTABLE_MAX_AGE_SECONDS = 86_400;

/**
 * Says that the field is current only for the freshness window (INVOICE_FRESHNESS_MS), for a router's entity cache;
 * the Invoice type's own hint covers the fields that never change. Private: invoices are one tenant's. Free.
 */
export function freshFor(info: GraphQLResolveInfo, ctx: Context): void {
  maybeCacheControlFromInfo(info)?.setCacheHint({ maxAge: Math.floor(ctx.refresher.freshnessMs / 1000), scope: 'PRIVATE' });
}
