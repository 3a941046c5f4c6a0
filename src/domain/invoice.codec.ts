import { Decimal, type Money } from './money';
import type { InvoiceHeader } from './invoice';

/** JSON form of an InvoiceHeader, as the ledger stores it: amounts as decimal strings, never numbers. */
export type InvoiceHeaderJson = Omit<InvoiceHeader, 'subtotal' | 'taxTotal' | 'total'> & {
  subtotal: MoneyJson | null;
  taxTotal: MoneyJson | null;
  total: MoneyJson;
};
export interface MoneyJson {
  amount: string;
  currencyCode: string;
}

const moneyToJson = (m: Money): MoneyJson => ({ amount: m.amount.toFixed(), currencyCode: m.currencyCode });
const moneyFromJson = (m: MoneyJson): Money => ({ amount: new Decimal(m.amount), currencyCode: m.currencyCode });

export function headerToJson(h: InvoiceHeader): InvoiceHeaderJson {
  return {
    ...h,
    subtotal: h.subtotal && moneyToJson(h.subtotal),
    taxTotal: h.taxTotal && moneyToJson(h.taxTotal),
    total: moneyToJson(h.total),
  };
}

export function headerFromJson(j: InvoiceHeaderJson): InvoiceHeader {
  return {
    ...j,
    subtotal: j.subtotal && moneyFromJson(j.subtotal),
    taxTotal: j.taxTotal && moneyFromJson(j.taxTotal),
    total: moneyFromJson(j.total),
  };
}
