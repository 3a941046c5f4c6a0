import fc from 'fast-check';
import type { Invoice, InvoiceContent, InvoiceKpis, InvoiceLine, TaxLine } from '../domain/invoice';
import { contentToJson, headerToJson, kpisToJson } from '../domain/invoice.codec';
import { Decimal, formatAmount, formatAmountText, formatMoneyAmount, formatMoneyAmountText, money, type Money } from '../domain/money';
import { toInvoice } from '../ledger/invoice-row';
import { presentKpis, presentLine, presentTax, storedKpis, storedLines, storedTaxes } from './invoice.type';

/** Decimal texts of every spelling decimal.js reads: signs, leading and trailing zeros, bare points, exponents. */
const decimalText = fc
  .tuple(
    fc.constantFrom('', '-', '+'),
    fc.stringMatching(/^[0-9]{0,22}$/),
    fc.option(fc.stringMatching(/^[0-9]{0,14}$/), { nil: undefined }),
    fc.option(fc.integer({ min: -30, max: 30 }), { nil: undefined }),
  )
  .filter(([, whole, fraction]) => whole.length + (fraction ?? '').length > 0)
  .map(([sign, whole, fraction, exponent]) => `${sign}${whole}${fraction === undefined ? '' : `.${fraction}`}${exponent === undefined ? '' : `e${exponent}`}`);
const currency = fc.constantFrom('SAR', 'USD', 'KWD', 'BHD', 'JPY', 'KRW', 'EUR');

describe('amount text formatting without decimal.js', () => {
  it('gives what formatAmount and formatMoneyAmount give for the decoded amount, for any spelling', () => {
    fc.assert(
      fc.property(decimalText, currency, (text, code) => {
        const d = new Decimal(text);
        expect(formatAmountText(text)).toBe(formatAmount(d));
        expect(formatMoneyAmountText(text, code)).toBe(formatMoneyAmount({ amount: d, currencyCode: code }));
      }),
      { numRuns: 3000 },
    );
  });

  it('pads canonical amounts to the currency minor digits and keeps more digits', () => {
    expect(formatMoneyAmountText('5', 'SAR')).toBe('5.00');
    expect(formatMoneyAmountText('-0.5', 'USD')).toBe('-0.50');
    expect(formatMoneyAmountText('0', 'KWD')).toBe('0.000');
    expect(formatMoneyAmountText('0.125', 'USD')).toBe('0.125');
    expect(formatMoneyAmountText('12', 'JPY')).toBe('12');
    expect(formatMoneyAmountText('-0', 'USD')).toBe(formatMoneyAmount(money('-0', 'USD')));
    expect(formatMoneyAmountText('1.50', 'USD')).toBe('1.50');
    expect(formatMoneyAmountText('1e3', 'USD')).toBe('1000.00');
  });
});

const amount = decimalText.map((t) => new Decimal(t));
const moneyOf = fc.tuple(amount, currency).map(([a, c]): Money => ({ amount: a, currencyCode: c }));
const text = fc.option(fc.string({ maxLength: 12 }), { nil: null });
const tax = fc.record<TaxLine>({ name: text, code: text, ratePercent: fc.option(amount, { nil: null }), amount: moneyOf });
const line = fc.record<InvoiceLine>({
  description: text,
  sku: text,
  quantity: amount,
  unitPrice: fc.option(moneyOf, { nil: null }),
  subtotal: fc.option(moneyOf, { nil: null }),
  taxTotal: fc.option(moneyOf, { nil: null }),
  total: fc.option(moneyOf, { nil: null }),
  taxes: fc.array(tax, { maxLength: 3 }),
});
const content = fc.record<InvoiceContent>({ lines: fc.array(line, { maxLength: 4 }), taxes: fc.array(tax, { maxLength: 3 }) });
const kpis = fc.record<InvoiceKpis>({
  outstanding: fc.option(moneyOf, { nil: null }),
  paid: fc.option(moneyOf, { nil: null }),
  overdue: fc.option(fc.boolean(), { nil: null }),
  lastPaymentDate: fc.option(fc.constant('2026-01-31'), { nil: null }),
  creditApplied: fc.option(moneyOf, { nil: null }),
});

function ledgerInvoice(c: InvoiceContent | null, k: InvoiceKpis | null): Invoice {
  const header = {
    provider: 'SALLA' as const, providerInvoiceId: '1', orderId: '2', number: 'INV-1', kind: 'INVOICE' as const, status: 'ISSUED' as const, issueDate: '2026-01-01',
    dueDate: null, currencyCode: 'SAR', subtotal: null, taxTotal: null, total: money('1', 'SAR'), documentUrl: null,
  };
  return toInvoice({
    id: '00000000-0000-0000-0000-000000000001',
    tenant_id: 't',
    snapshot: headerToJson(header),
    created_at: new Date(0),
    origin: 'CREATED_HERE',
    synced_at: null,
    // As the ledger stores them: JSON text of the codec's form.
    content: c && JSON.stringify(contentToJson(c)),
    kpis: k && JSON.stringify(kpisToJson(k)),
  });
}

describe('stored lines, taxes and kpis presented from the ledger JSON', () => {
  it('are what presenting the decoded content and kpis gives', () => {
    fc.assert(
      fc.property(fc.option(content, { nil: null }), fc.option(kpis, { nil: null }), (c, k) => {
        const invoice = ledgerInvoice(c, k);
        expect(storedLines(invoice)).toStrictEqual(invoice.content && invoice.content.lines.map(presentLine));
        expect(storedTaxes(invoice)).toStrictEqual(invoice.content && invoice.content.taxes.map(presentTax));
        expect(storedKpis(invoice)).toStrictEqual(invoice.kpis && presentKpis(invoice.kpis));
      }),
      { numRuns: 500 },
    );
  });

  it('come from the decoded content of an invoice not read from the ledger', () => {
    fc.assert(
      fc.property(content, kpis, (c, k) => {
        const invoice = { content: c, kpis: k } as unknown as Invoice;
        expect(storedLines(invoice)).toStrictEqual(c.lines.map(presentLine));
        expect(storedTaxes(invoice)).toStrictEqual(c.taxes.map(presentTax));
        expect(storedKpis(invoice)).toStrictEqual(presentKpis(k));
      }),
      { numRuns: 100 },
    );
    expect(storedLines({ content: null, kpis: null } as unknown as Invoice)).toBeNull();
    expect(storedKpis({ content: null, kpis: null } as unknown as Invoice)).toBeNull();
  });
});
