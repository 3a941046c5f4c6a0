import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Decimal } from '../../domain/money';
import { creditMemoDetails, documentKeyOf, invoiceDetails, orderIdOfLineItem, orderLineItemIdOf, providerInvoiceIdOf, statusOf } from './zuora.mapper';
import { zuoraCreditMemo, zuoraCreditMemoItem, zuoraInvoice, zuoraInvoiceItem, zuoraInvoiceItems, type ZuoraInvoice } from './zuora.wire';

const FIXTURES = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'zuora');
const body = (name: string): unknown => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')).body;
const docInvoice = () => zuoraInvoice.parse(body('example.get-invoice.json'));
const docItems = () => zuoraInvoiceItems.parse(body('example.get-invoice-items.json')).invoiceItems;

/** An invoice as the emulator and Zuora's billing of fulfillments produce it: NYC taxes, one item. */
const nycInvoice = (over: Partial<ZuoraInvoice> = {}) =>
  zuoraInvoice.parse({
    success: true,
    id: '8ad0887e8a0f4f2c018a10a1ffff0001',
    invoiceNumber: 'INV00000007',
    status: 'Posted',
    currency: 'USD',
    invoiceDate: '2024-05-01',
    dueDate: '2024-05-16',
    amount: 60.43,
    amountWithoutTax: 55.5,
    taxAmount: 4.93,
    balance: 60.43,
    creditMemoAmount: 0,
    ...over,
  });
const nycItem = zuoraInvoiceItem.parse({
  id: 'item-1',
  chargeName: 'Espresso Beans 1 lb',
  sku: 'BEANS-ESP-1LB',
  quantity: 3,
  unitPrice: 18.5,
  chargeAmount: 55.5,
  taxAmount: 4.93,
  orderLineItemId: '8ad0887e8a0f4f2c018a10a1d6e70301',
  taxationItems: {
    data: [
      { name: 'NY STATE TAX', taxCode: 'NY-NYC', taxRate: 0.04, taxRateType: 'Percentage', taxAmount: 2.22 },
      { name: 'NYC LOCAL TAX', taxCode: 'NY-NYC', taxRate: 0.045, taxRateType: 'Percentage', taxAmount: 2.5 },
      { name: 'MCTD SURCHARGE', taxCode: 'NY-NYC', taxRate: 0.00375, taxRateType: 'Percentage', taxAmount: 0.21 },
    ],
  },
});

describe("Zuora's invoice, normalised", () => {
  it("reads the documentation's invoice example: USD, exact amounts, tax derived when Zuora omits taxAmount", () => {
    const d = invoiceDetails(docInvoice(), docItems(), 'O-00000001', '2022-12-01');
    expect(d.header).toMatchObject({
      provider: 'ZUORA',
      providerInvoiceId: '4028818484f483d20184f5006b97003f',
      orderId: 'O-00000001',
      number: 'INV00000001',
      kind: 'INVOICE',
      status: 'ISSUED',
      issueDate: '2022-10-31',
      dueDate: '2022-11-30',
      currencyCode: 'USD',
      documentUrl: null,
    });
    expect([d.header.subtotal!.amount.toFixed(2), d.header.taxTotal!.amount.toFixed(2), d.header.total.amount.toFixed(2)]).toEqual(['700.00', '0.00', '700.00']);
    // The example reports paymentAmount 0 but no creditMemoAmount: paid is 0, what was credited is not known, rather than guessed as 0.
    expect(d.kpis).toEqual({ outstanding: { amount: expect.anything(), currencyCode: 'USD' }, paid: expect.anything(), overdue: true, lastPaymentDate: null, creditApplied: null });
    expect(d.kpis.paid!.amount.toFixed(2)).toBe('0.00');
    expect(d.kpis.outstanding!.amount.toFixed(2)).toBe('700.00');
  });

  it("reads the documentation's items: a discount line, and Zuora's item taxAmount over its taxation items", () => {
    const [fee, discount] = invoiceDetails(docInvoice(), docItems(), 'O-1', '2022-12-01').lines;
    expect([fee!.description, fee!.quantity.toFixed(), fee!.unitPrice!.amount.toFixed(2), fee!.subtotal!.amount.toFixed(2), fee!.total!.amount.toFixed(2)]).toEqual(['Annual Fee', '1', '21.10', '21.10', '21.10']);
    expect(fee!.taxTotal!.amount.toFixed(2)).toBe('0.00');
    expect(fee!.taxes).toEqual([expect.objectContaining({ name: 'taxName', code: 'TAXCODE-1' })]);
    expect(fee!.taxes[0]!.ratePercent!.toFixed()).toBe('10');
    expect(discount!.subtotal!.amount.toFixed(2)).toBe('-2.10');
  });

  it('keeps every tax of an item and adds them up per tax across the invoice, exactly', () => {
    const d = invoiceDetails(nycInvoice(), [nycItem, nycItem], 'O-00000201', '2024-05-01');
    const [line] = d.lines;
    expect(line!.taxes.map((t) => [t.name, t.ratePercent!.toFixed(), t.amount.amount.toFixed(2)])).toEqual([
      ['NY STATE TAX', '4', '2.22'],
      ['NYC LOCAL TAX', '4.5', '2.50'],
      ['MCTD SURCHARGE', '0.375', '0.21'],
    ]);
    expect(line!.subtotal!.amount.plus(line!.taxTotal!.amount).equals(line!.total!.amount)).toBe(true);
    expect(d.taxes.map((t) => [t.name, t.amount.amount.toFixed(2), t.amount.currencyCode])).toEqual([
      ['NY STATE TAX', '4.44', 'USD'],
      ['NYC LOCAL TAX', '5.00', 'USD'],
      ['MCTD SURCHARGE', '0.42', 'USD'],
    ]);
  });

  it('a flat-fee tax has no rate', () => {
    const item = zuoraInvoiceItem.parse({ ...nycItem, taxationItems: { data: [{ name: 'Recycling fee', taxRate: 1.5, taxRateType: 'FlatFee', taxAmount: 1.5 }] } });
    expect(invoiceDetails(nycInvoice(), [item], 'O', '2024-05-01').lines[0]!.taxes[0]!.ratePercent).toBeNull();
  });

  it.each<[string, Partial<ZuoraInvoice>, string, string | null, string | null]>([
    ['unpaid', {}, 'ISSUED', '0.00', '0.00'],
    ['partly paid', { balance: 20.43 }, 'PARTIALLY_PAID', '40.00', '0.00'],
    ['paid', { balance: 0 }, 'PAID', '60.43', '0.00'],
    ['settled by a credit memo', { balance: 0, creditMemoAmount: 60.43 }, 'PAID', '0.00', '60.43'],
    ['part paid, part credited', { balance: 10, creditMemoAmount: 0.43 }, 'PARTIALLY_PAID', '50.00', '0.43'],
  ])('status and KPIs: %s', (_, over, status, paid, credited) => {
    const d = invoiceDetails(nycInvoice(over), [nycItem], 'O', '2024-05-01');
    expect(d.header.status).toBe(status);
    expect(d.kpis.paid?.amount.toFixed(2) ?? null).toBe(paid);
    expect(d.kpis.creditApplied?.amount.toFixed(2) ?? null).toBe(credited);
    // paid + credit applied + outstanding is the total, exactly.
    expect(d.kpis.paid!.amount.plus(d.kpis.creditApplied!.amount).plus(d.kpis.outstanding!.amount).equals(d.header.total.amount)).toBe(true);
  });

  it('paymentAmount, where Zuora sends it, is what was paid (not inferred from the balance)', () => {
    const d = invoiceDetails(nycInvoice({ balance: 10, paymentAmount: 50, creditMemoAmount: 0.43 }), [nycItem], 'O', '2024-05-01');
    expect([d.header.status, d.kpis.paid!.amount.toFixed(2), d.kpis.creditApplied!.amount.toFixed(2), d.kpis.outstanding!.amount.toFixed(2)]).toEqual(['PARTIALLY_PAID', '50.00', '0.43', '10.00']);
  });

  it('a reversed invoice (settled by its reversal credit memo, still Posted) is VOID, not PAID, and not overdue', () => {
    const d = invoiceDetails(nycInvoice({ balance: 0, creditMemoAmount: 60.43, paymentAmount: 0, reversed: true }), [], 'O', '2024-12-31');
    expect([d.header.status, d.kpis.overdue, d.kpis.creditApplied!.amount.toFixed(2)]).toEqual(['VOID', false, '60.43']);
  });

  it('Draft is DRAFT and Canceled is VOID; neither is overdue', () => {
    expect(invoiceDetails(nycInvoice({ status: 'Draft' }), [], 'O', '2024-12-31').header.status).toBe('DRAFT');
    const canceled = invoiceDetails(nycInvoice({ status: 'Canceled', balance: 0 }), [], 'O', '2024-12-31');
    expect([canceled.header.status, canceled.kpis.overdue]).toEqual(['VOID', false]);
  });

  it('overdue: a posted invoice with a balance after its due date', () => {
    expect(invoiceDetails(nycInvoice(), [], 'O', '2024-05-16').kpis.overdue).toBe(false);
    expect(invoiceDetails(nycInvoice(), [], 'O', '2024-05-17').kpis.overdue).toBe(true);
    expect(invoiceDetails(nycInvoice({ balance: 0 }), [], 'O', '2024-05-17').kpis.overdue).toBe(false);
    expect(invoiceDetails(nycInvoice({ dueDate: null }), [], 'O', '2024-05-17').kpis.overdue).toBeNull();
  });

  it('refuses an invoice whose currency it cannot tell rather than guessing', () => {
    expect(() => invoiceDetails(nycInvoice({ currency: '¤' }), [], 'O', '2024-05-01')).toThrow(/currency/);
  });
});

describe("Zuora's credit memo, normalised", () => {
  const memo = (over: Record<string, unknown> = {}) =>
    zuoraCreditMemo.parse({ success: true, id: 'cm-1', number: 'CM00000001', status: 'Posted', currency: 'EUR', creditMemoDate: '2024-05-02', amount: 169.34, taxAmount: 27.04, appliedAmount: 0, refundAmount: 0, unappliedAmount: 169.34, ...over });
  const item = zuoraCreditMemoItem.parse({
    id: 'cmi-1',
    skuName: 'CNC Spindle Bearing',
    sku: 'BRG-SPINDLE-7014',
    quantity: 1,
    unitPrice: 142.3,
    amount: 142.3,
    amountWithoutTax: 142.3,
    taxMode: 'TaxExclusive',
    sourceItemType: 'OrderLineItem',
    sourceItemId: '8ad0887e8a0f4f2c018a10a1d6e70501',
    taxationItems: { data: [{ name: 'UMSATZSTEUER 19%', taxCode: 'DE-VAT-19', taxRate: 0.19, taxRateType: 'Percentage', taxAmount: 27.04 }] },
  });

  it('is a CREDIT_NOTE with its lines, taxes and the credit as KPIs', () => {
    const d = creditMemoDetails(memo(), [item], 'O-00000301');
    expect(d.header).toMatchObject({ providerInvoiceId: 'creditmemo:cm-1', orderId: 'O-00000301', number: 'CM00000001', kind: 'CREDIT_NOTE', status: 'ISSUED', issueDate: '2024-05-02', dueDate: null, currencyCode: 'EUR' });
    expect([d.header.subtotal!.amount.toFixed(2), d.header.taxTotal!.amount.toFixed(2), d.header.total.amount.toFixed(2)]).toEqual(['142.30', '27.04', '169.34']);
    const [line] = d.lines;
    expect([line!.description, line!.sku, line!.subtotal!.amount.toFixed(2), line!.taxTotal!.amount.toFixed(2), line!.total!.amount.toFixed(2)]).toEqual(['CNC Spindle Bearing', 'BRG-SPINDLE-7014', '142.30', '27.04', '169.34']);
    expect(d.taxes.map((t) => [t.name, t.ratePercent!.toFixed(), t.amount.amount.toFixed(2)])).toEqual([['UMSATZSTEUER 19%', '19', '27.04']]);
    expect(d.kpis.outstanding!.amount.toFixed(2)).toBe('169.34');
    expect(d.kpis.overdue).toBeNull();
  });

  it('applied in part, then in full', () => {
    const part = creditMemoDetails(memo({ appliedAmount: 100, unappliedAmount: 69.34 }), [item], 'O');
    expect([part.header.status, part.kpis.creditApplied!.amount.toFixed(2), part.kpis.outstanding!.amount.toFixed(2)]).toEqual(['PARTIALLY_PAID', '100.00', '69.34']);
    expect(creditMemoDetails(memo({ appliedAmount: 169.34, unappliedAmount: 0 }), [item], 'O').header.status).toBe('PAID');
  });

  it('a tax-inclusive item without amountWithoutTax: the net is the amount less its taxes', () => {
    const inclusive = zuoraCreditMemoItem.parse({ ...item, amount: 169.34, amountWithoutTax: null, taxMode: 'TaxInclusive' });
    const [line] = creditMemoDetails(memo(), [inclusive], 'O').lines;
    expect([line!.subtotal!.amount.toFixed(2), line!.total!.amount.toFixed(2)]).toEqual(['142.30', '169.34']);
  });
});

describe('keys', () => {
  it('a credit memo id is told apart from an invoice id and comes back unchanged', () => {
    expect(documentKeyOf(providerInvoiceIdOf({ kind: 'creditMemo', id: 'abc' }))).toEqual({ kind: 'creditMemo', id: 'abc' });
    expect(documentKeyOf(providerInvoiceIdOf({ kind: 'invoice', id: 'abc' }))).toEqual({ kind: 'invoice', id: 'abc' });
  });

  it("an order line item's order: its documented orderId, or null (an undocumented orderNumber is not read)", () => {
    expect(orderIdOfLineItem({ id: 'x', orderId: '8ad0', orderNumber: 'O-00000101' })).toBe('8ad0');
    expect(orderIdOfLineItem({ id: 'x' })).toBeNull();
  });

  it('the order line item of an invoice item or of a credit memo item', () => {
    expect(orderLineItemIdOf(nycItem)).toBe('8ad0887e8a0f4f2c018a10a1d6e70301');
    expect(orderLineItemIdOf(zuoraCreditMemoItem.parse({ id: 'i', quantity: 1, amount: 1, sourceItemType: 'OrderLineItem', sourceItemId: 'oli' }))).toBe('oli');
    expect(orderLineItemIdOf(zuoraCreditMemoItem.parse({ id: 'i', quantity: 1, amount: 1, sourceItemType: 'InvoiceDetail', sourceItemId: 'inv-item' }))).toBeNull();
  });
});

describe('statusOf: status, then the open amount against the total', () => {
  const d = (v: string) => new Decimal(v);
  it.each<[string, string, string | null, boolean, string]>([
    ['Draft', '100', '100', false, 'DRAFT'],
    ['Canceled', '100', '100', false, 'VOID'],
    ['CancelInProgress', '100', '100', false, 'VOID'],
    ['Posted', '100', '0', true, 'VOID'],
    ['Posted', '100', '100', false, 'ISSUED'],
    ['Posted', '100', '40', false, 'PARTIALLY_PAID'],
    ['Posted', '100', '0', false, 'PAID'],
    ['Posted', '100', null, false, 'ISSUED'],
    ['Posted', '0', '0', false, 'ISSUED'],
  ])('%s, total %s, open %s, reversed %s → %s', (status, total, open, reversed, expected) => {
    expect(statusOf(status, d(total), open === null ? null : d(open), reversed)).toBe(expected);
  });
});
