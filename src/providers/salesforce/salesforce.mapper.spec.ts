import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Decimal } from '../../domain/money';
import { netApplied, statusOf, toDetails, type SalesforceApplications } from './salesforce.mapper';
import { applicationRecord, invoiceLineRecord, invoiceRecord, type ApplicationRecord, type InvoiceLineRecord, type InvoiceRecord } from './salesforce.wire';

const FIXTURES = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'salesforce');
const records = (name: string): unknown[] => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')).body.records;

const invoice: InvoiceRecord = invoiceRecord.parse(records('response.200.query.invoice.json')[0]);
const lines: InvoiceLineRecord[] = [
  ...records('response.200.query.invoice-lines.first-page.json'),
  ...records('response.200.query.invoice-lines.next-page.json'),
].map((r) => invoiceLineRecord.parse(r));

const ORDER = '1OsDn000000KCdwKAG';
const details = (inv: Partial<InvoiceRecord> = {}, ls: InvoiceLineRecord[] = lines, today = '2024-05-02', applications?: SalesforceApplications) =>
  toDetails({ ...invoice, ...inv }, ls, { orderId: ORDER, today, applications });
/** A PaymentLineInvoice or CreditMemoInvApplication row of the fixture's invoice. */
const applied = (Amount: number | string, AppliedDate = '2024-05-03T00:00:00.000+0000', Type = 'Applied'): ApplicationRecord =>
  applicationRecord.parse({ Id: '0bYDn0000000001AAA', InvoiceId: invoice.Id, Amount, Type, AppliedDate });
const money = (m: { amount: Decimal; currencyCode: string } | null) => (m ? `${m.amount.toFixed(2)} ${m.currencyCode}` : null);

describe('toDetails: an Invoice and its InvoiceLines (the query fixtures) as the domain sees them', () => {
  it('header: the OrderSummary as order, exact totals in the invoice currency, dates, number', () => {
    const { header } = details();
    expect(header).toMatchObject({
      provider: 'SALESFORCE',
      providerInvoiceId: invoice.Id,
      orderId: ORDER,
      number: 'INV-0000000001',
      kind: 'INVOICE',
      status: 'ISSUED',
      issueDate: '2024-05-01',
      dueDate: '2024-05-15',
      currencyCode: 'EUR',
      documentUrl: null,
    });
    expect([money(header.subtotal), money(header.taxTotal), money(header.total)]).toEqual(['279.88 EUR', '50.06 EUR', '329.94 EUR']);
  });

  it('lines: quantity, unit price, net, tax and total; each line names its tax', () => {
    const d = details();
    expect(d.lines.map((l) => [l.description, l.quantity.toFixed(), money(l.unitPrice), money(l.subtotal), money(l.taxTotal), money(l.total)])).toEqual([
      ['Wool Coat', '1', '249.00 EUR', '249.00 EUR', '47.31 EUR', '296.31 EUR'],
      ['Paperback Novel', '2', '12.99 EUR', '25.98 EUR', '1.82 EUR', '27.80 EUR'],
      ['Standard Shipping', '1', '4.90 EUR', '4.90 EUR', '0.93 EUR', '5.83 EUR'],
    ]);
    expect(d.lines[1]!.taxes).toEqual([{ name: 'Umsatzsteuer', code: 'DE-VAT-7', ratePercent: new Decimal(7), amount: { amount: new Decimal('1.82'), currencyCode: 'EUR' } }]);
    // Product2Id is no SKU, and the SKU is not read: null, never invented.
    expect(d.lines.every((l) => l.sku === null)).toBe(true);
  });

  it('taxes: summed per name, rate and code, exactly; they add up to TotalTaxAmount', () => {
    const d = details();
    expect(d.taxes.map((t) => [t.name, t.code, t.ratePercent?.toFixed(), money(t.amount)])).toEqual([
      ['Umsatzsteuer', 'DE-VAT-19', '19', '48.24 EUR'],
      ['Umsatzsteuer', 'DE-VAT-7', '7', '1.82 EUR'],
    ]);
    expect(d.taxes.reduce((s, t) => s.plus(t.amount.amount), new Decimal(0)).equals(d.header.taxTotal!.amount)).toBe(true);
  });

  it('KPIs come from the applications, not from Balance (which ignores payments): paid, credited, outstanding, last payment', () => {
    const { header, kpis } = details({ Balance: 329.94 }, lines, '2024-05-02', {
      payments: [applied(150, '2024-05-03T10:00:00.000+0000'), applied(50.5, '2024-05-09T00:00:00.000+0000'), applied(0.5, '2024-05-10T00:00:00.000+0000', 'Unapplied')],
      credits: [applied(29.44)],
    });
    expect([header.status, money(kpis.outstanding), money(kpis.paid), money(kpis.creditApplied), kpis.lastPaymentDate]).toEqual([
      'PARTIALLY_PAID',
      '100.50 EUR',
      '200.00 EUR',
      '29.44 EUR',
      '2024-05-09',
    ]);
  });

  it('no applications: nothing paid or credited, the whole total outstanding, no last payment date', () => {
    const { kpis } = details();
    expect([money(kpis.outstanding), money(kpis.paid), money(kpis.creditApplied), kpis.lastPaymentDate]).toEqual(['329.94 EUR', '0.00 EUR', '0.00 EUR', null]);
  });

  it('a voided invoice (its own credit memo applied) is VOID with nothing outstanding and not overdue', () => {
    const d = details({ Status: 'Voided' }, lines, '2024-06-01', { payments: [], credits: [applied('329.94')] });
    expect([d.header.status, money(d.kpis.outstanding), money(d.kpis.creditApplied), d.kpis.overdue]).toEqual(['VOID', '0.00 EUR', '329.94 EUR', false]);
  });

  it('overdue: past the due date with a balance; not on the due date, not when paid, not when canceled', () => {
    expect(details({}, lines, '2024-05-15').kpis.overdue).toBe(false);
    expect(details({}, lines, '2024-05-16').kpis.overdue).toBe(true);
    expect(details({}, lines, '2024-05-16', { payments: [applied('329.94')], credits: [] }).kpis.overdue).toBe(false);
    expect(details({ Status: 'Canceled' }, lines, '2024-05-16').kpis.overdue).toBe(false);
    expect(details({ DueDate: null }, lines, '2024-05-16').kpis.overdue).toBeNull();
  });

  it('amounts sent as strings read the same (a proxy that stringifies decimals)', () => {
    const d = details({ TotalAmountWithTax: '329.94', Balance: '329.94' }, lines, '2024-05-02', { payments: [applied('329.84')], credits: [] });
    expect(money(d.header.total)).toBe('329.94 EUR');
    expect([d.header.status, money(d.kpis.outstanding)]).toEqual(['PARTIALLY_PAID', '0.10 EUR']);
  });

  it("'Tax' lines are the invoice's taxes: not lines, and the charge lines' own tax fields are not counted twice", () => {
    const taxLine = invoiceLineRecord.parse({ Id: '5TVDn0000000001AAA', InvoiceId: invoice.Id, Type: 'Tax', Description: 'VAT', LineAmount: 50.06, TaxAmount: null, TaxRate: 19, TaxCode: 'DE-VAT', TaxName: 'Umsatzsteuer' });
    const d = details({}, [...lines, taxLine]);
    expect(d.lines).toHaveLength(3);
    expect(d.taxes.map((t) => [t.code, money(t.amount)])).toEqual([['DE-VAT', '50.06 EUR']]);
  });

  it('an adjustment line without quantity counts once; a line without TaxAmount has no known total', () => {
    const adjustment = invoiceLineRecord.parse({ Id: '5TVDn0000000002AAA', InvoiceId: invoice.Id, Type: 'Adjustment', Description: 'Spring promotion', Quantity: null, LineAmount: -10, TaxAmount: null });
    const [line] = details({}, [adjustment]).lines;
    expect([line!.quantity.toFixed(), money(line!.subtotal), line!.taxTotal, line!.total, line!.taxes]).toEqual(['1', '-10.00 EUR', null, null, []]);
  });

  it('an invoice whose lines name no tax still shows its header tax, as one unnamed line', () => {
    const d = details({}, []);
    expect(d.taxes.map((t) => [t.name, t.ratePercent, money(t.amount)])).toEqual([[null, null, '50.06 EUR']]);
  });

  it('the total is TotalAmountWithTax, or TotalAmount + TotalTaxAmount when Salesforce leaves it empty', () => {
    expect(money(details({ TotalAmountWithTax: null }).header.total)).toBe('329.94 EUR');
    expect(() => details({ TotalAmountWithTax: null, TotalTaxAmount: null })).toThrow(/no total/);
  });

  it('an invoice without CurrencyIsoCode (a single-currency org) cannot be read as money', () => {
    expect(() => details({ CurrencyIsoCode: null })).toThrow(/CurrencyIsoCode/);
  });
});

describe('statusOf: Invoice.Status, then what was settled (payments + credits applied) against the total', () => {
  const d = (v: string) => new Decimal(v);
  it.each<[string | null, string, string, string]>([
    ['Draft', '100', '0', 'DRAFT'],
    ['Pending', '100', '0', 'DRAFT'],
    ['Canceled', '100', '0', 'VOID'],
    ['Voided', '100', '100', 'VOID'],
    ['Void In Progress', '100', '0', 'VOID'],
    ['Posted', '100', '0', 'ISSUED'],
    ['Posted', '100', '60', 'PARTIALLY_PAID'],
    ['Posted', '100', '100', 'PAID'],
    ['Posted', '100', '100.01', 'PAID'],
    ['Posted', '0', '0', 'ISSUED'],
    ['SomethingNew', '100', '100', 'PAID'],
    [null, '100', '0', 'ISSUED'],
  ])('%s, total %s, settled %s → %s', (status, total, settled, expected) => {
    expect(statusOf(status, d(total), d(settled))).toBe(expected);
  });

  it('netApplied: Applied rows add, Unapplied rows take back (whatever the sign they are written with)', () => {
    expect(netApplied([applied(100), applied(-30, undefined, 'Unapplied'), applied('5.5')]).toFixed(2)).toBe('75.50');
    expect(netApplied([]).toFixed(2)).toBe('0.00');
  });
});
