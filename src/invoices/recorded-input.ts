import type { ProviderCode } from '../domain/invoice';
import { Decimal } from '../domain/money';
import type { SallaCreateInput } from '../providers/salla/salla.input';
import type { ZuoraCreateInput } from '../providers/zuora/zuora.input';

type Json = Record<string, unknown>;

const SALLA_AMOUNTS = ['subTotal', 'total', 'shippingCost', 'cashOnDeliveryCost', 'taxPercent', 'taxValue'] as const;

const decimalOrNull = (v: unknown): Decimal | null => (v === null || v === undefined ? null : new Decimal(String(v)));

/**
 * The provider input an attempt's recorded JSON (the command's `recordedInput`) stands for, good for `findCreated`
 * only, never for `create`: amounts come back as exact decimals, but a Salla FILE's PDF was recorded as its hash,
 * so the restored input carries no file, only that hash (Salla's lookup matches on what Salla shows: the order, the
 * type and the invoice number).
 * Called by the reconciler for each attempt it settles; pure. Throws on JSON that is not the provider's shape.
 */
export function lookupInputOf(provider: ProviderCode | string, recorded: unknown): unknown {
  if (typeof recorded !== 'object' || recorded === null || Array.isArray(recorded)) throw new Error(`recorded input of a ${provider} attempt is not an object`);
  const r = recorded as Json;
  switch (provider) {
    case 'SALLA': {
      const input = { ...r, pdf: null, pdfSha256: typeof r.pdf === 'string' ? r.pdf : null } as Json;
      for (const field of SALLA_AMOUNTS) input[field] = decimalOrNull(r[field]);
      return input as unknown as SallaCreateInput;
    }
    case 'ZUORA': {
      if (!Array.isArray(r.fulfillments)) throw new Error('recorded input of a ZUORA attempt has no fulfillments');
      const fulfillments = (r.fulfillments as Json[]).map((f) => ({ ...f, quantity: new Decimal(String(f.quantity)) }));
      return { ...r, fulfillments } as unknown as ZuoraCreateInput;
    }
    // Salesforce, Exsited and the Commerce API take strings only: recorded as given.
    default:
      return { ...r };
  }
}
