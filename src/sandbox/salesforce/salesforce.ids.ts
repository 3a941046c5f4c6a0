import { randomInt } from 'node:crypto';

/**
 * Salesforce record ids as the emulator makes them: a 3-character key prefix (0a3 FulfillmentOrder, 1Os
 * OrderSummary, 3tt Invoice, …), a 2-character pod, a reserved '0', a 9-character base-62 serial, and the
 * 3-character suffix that makes the 18-character form case-insensitive.
 */

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const SUFFIX_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';
/** The sandbox org's pod characters. */
const POD = 'Dn';

function suffixOf(id15: string): string {
  let suffix = '';
  for (let chunk = 0; chunk < 3; chunk++) {
    let bits = 0;
    for (let i = 0; i < 5; i++) {
      const c = id15[chunk * 5 + i]!;
      if (c >= 'A' && c <= 'Z') bits |= 1 << i;
    }
    suffix += SUFFIX_ALPHABET[bits];
  }
  return suffix;
}

function base62(n: number, width: number): string {
  let out = '';
  for (let v = n; v > 0; v = Math.floor(v / 62)) out = BASE62[v % 62] + out;
  return out.padStart(width, '0');
}

/** A deterministic 18-character id: the seed's ids, and tests that need many records. */
export function salesforceId(keyPrefix: string, serial: number): string {
  const id15 = `${keyPrefix}${POD}0${base62(serial, 9)}`;
  return id15 + suffixOf(id15);
}

/** A fresh id with a random serial, so that a restarted sandbox does not reuse the ids a ledger remembers. */
export function randomSalesforceId(keyPrefix: string): string {
  return salesforceId(keyPrefix, randomInt(62 ** 5, 2 ** 47));
}

/**
 * The 18-character form of an id as Salesforce reads one: a 15-character id is case-sensitive; an 18-character id
 * is case-insensitive (its suffix restores the case) and is refused when the suffix does not match. Null: not an id.
 */
export function toId18(text: string): string | null {
  if (!/^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/.test(text)) return null;
  if (text.length === 15) return text + suffixOf(text);
  const suffix = text.slice(15).toUpperCase();
  let id15 = '';
  for (let chunk = 0; chunk < 3; chunk++) {
    const bits = SUFFIX_ALPHABET.indexOf(suffix[chunk]!);
    if (bits < 0) return null;
    for (let i = 0; i < 5; i++) {
      const c = text[chunk * 5 + i]!;
      id15 += bits & (1 << i) ? c.toUpperCase() : c.toLowerCase();
    }
  }
  return suffixOf(id15) === suffix ? id15 + suffix : null;
}
