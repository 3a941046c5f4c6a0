import { randomInt } from 'node:crypto';
import { canonicalSalesforceId, caseSuffix } from '../../providers/salesforce/salesforce.rules';

/**
 * Salesforce record ids as the emulator makes them: a 3-character key prefix (0a3 FulfillmentOrder, 1Os
 * OrderSummary, 3tt Invoice, …), a 2-character pod, a reserved '0', a 9-character base-62 serial, and the
 * 3-character suffix that makes the 18-character form case-insensitive.
 */

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** The sandbox org's pod characters. */
const POD = 'Dn';

function base62(n: number, width: number): string {
  let out = '';
  for (let v = n; v > 0; v = Math.floor(v / 62)) out = BASE62[v % 62] + out;
  return out.padStart(width, '0');
}

/** A deterministic 18-character id: the seed's ids, and tests that need many records. */
export function salesforceId(keyPrefix: string, serial: number): string {
  const id15 = `${keyPrefix}${POD}0${base62(serial, 9)}`;
  return id15 + caseSuffix(id15);
}

/** A fresh id with a random serial, so that a restarted sandbox does not reuse the ids a ledger remembers. */
export function randomSalesforceId(keyPrefix: string): string {
  return salesforceId(keyPrefix, randomInt(62 ** 5, 2 ** 47));
}

/** The 18-character form of an id as Salesforce reads one (the data source's own rule: one algorithm). */
export const toId18 = canonicalSalesforceId;
