import { Decimal, type Money } from './money';
import type { InvoiceContent, InvoiceHeader, InvoiceKpis, TaxLine } from './invoice';

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

/** JSON form of InvoiceContent and InvoiceKpis, as the ledger keeps them: every amount a decimal string. */
export interface TaxLineJson {
  name: string | null;
  code: string | null;
  ratePercent: string | null;
  amount: MoneyJson;
}
export interface InvoiceLineJson {
  description: string | null;
  sku: string | null;
  quantity: string;
  unitPrice: MoneyJson | null;
  subtotal: MoneyJson | null;
  taxTotal: MoneyJson | null;
  total: MoneyJson | null;
  taxes: TaxLineJson[];
}
export interface InvoiceContentJson {
  lines: InvoiceLineJson[];
  taxes: TaxLineJson[];
}
export type InvoiceKpisJson = Omit<InvoiceKpis, 'outstanding' | 'paid' | 'creditApplied'> & {
  outstanding: MoneyJson | null;
  paid: MoneyJson | null;
  creditApplied: MoneyJson | null;
};

const optMoneyToJson = (m: Money | null): MoneyJson | null => m && moneyToJson(m);
const optMoneyFromJson = (m: MoneyJson | null): Money | null => m && moneyFromJson(m);
const taxToJson = (t: TaxLine): TaxLineJson => ({ name: t.name, code: t.code, ratePercent: t.ratePercent?.toFixed() ?? null, amount: moneyToJson(t.amount) });
const taxFromJson = (t: TaxLineJson): TaxLine => ({
  name: t.name,
  code: t.code,
  ratePercent: t.ratePercent === null ? null : new Decimal(t.ratePercent),
  amount: moneyFromJson(t.amount),
});

export function contentToJson(c: InvoiceContent): InvoiceContentJson {
  return {
    lines: c.lines.map((l) => ({
      description: l.description,
      sku: l.sku,
      quantity: l.quantity.toFixed(),
      unitPrice: optMoneyToJson(l.unitPrice),
      subtotal: optMoneyToJson(l.subtotal),
      taxTotal: optMoneyToJson(l.taxTotal),
      total: optMoneyToJson(l.total),
      taxes: l.taxes.map(taxToJson),
    })),
    taxes: c.taxes.map(taxToJson),
  };
}

export function contentFromJson(j: InvoiceContentJson): InvoiceContent {
  return {
    lines: j.lines.map((l) => ({
      description: l.description,
      sku: l.sku,
      quantity: new Decimal(l.quantity),
      unitPrice: optMoneyFromJson(l.unitPrice),
      subtotal: optMoneyFromJson(l.subtotal),
      taxTotal: optMoneyFromJson(l.taxTotal),
      total: optMoneyFromJson(l.total),
      taxes: l.taxes.map(taxFromJson),
    })),
    taxes: j.taxes.map(taxFromJson),
  };
}

export function kpisToJson(k: InvoiceKpis): InvoiceKpisJson {
  return { ...k, outstanding: optMoneyToJson(k.outstanding), paid: optMoneyToJson(k.paid), creditApplied: optMoneyToJson(k.creditApplied) };
}

export function kpisFromJson(j: InvoiceKpisJson): InvoiceKpis {
  return { ...j, outstanding: optMoneyFromJson(j.outstanding), paid: optMoneyFromJson(j.paid), creditApplied: optMoneyFromJson(j.creditApplied) };
}
