import type { Database } from '../src/ledger/database';

/**
 * Fills a ledger with `count` invoices, half of them `tenantId`'s and the rest spread over 96 other tenants, (and their attempts) in PostgreSQL itself, with generate_series: a million
 * rows take about a minute, instead of hours through the API. Spread like an admin's ledger: five providers, their
 * currencies, every status (40 % issued, 35 % paid, 10 % partly paid, 5 % draft without dates, 10 % void), a tenth
 *  credit notes, issue dates over three years, due 30 days later, totals up to 10,000.00, stored lines and kpis, read now.
 * Idempotent: a ledger already holding `count` invoices is left as it is. Returns whether it seeded.
 */
export async function seedLedger(db: Database, count: number, tenantId: string): Promise<boolean> {
  if (!/^[\w-]{1,64}$/.test(tenantId)) throw new Error(`seedLedger: a plain tenant id, not ${tenantId}`);
  const [{ n }] = await db.query<{ n: string }>('SELECT count(*)::text AS n FROM invoices');
  if (Number(n) === count) {
    // A ledger seeded before rows carried synced_at: read "now", as below.
    const [{ updated }] = await db.query<{ updated: string }>('WITH u AS (UPDATE invoices SET synced_at = now() WHERE synced_at IS NULL RETURNING 1) SELECT count(*)::text AS updated FROM u');
    // The update's dead rows clear the visibility map: without a vacuum, counts and list pages read the heap again.
    if (Number(updated) > 0) await db.query('VACUUM ANALYZE invoices');
    return false;
  }
  await db.query('TRUNCATE invoices, invoice_attempts');
  // One row per i; h1..h4 are independent pseudo-random draws from i (Knuth's multiplicative hash).
  const rows = `
    SELECT i,
           CASE WHEN i % 2 = 0 THEN '${tenantId}' ELSE 'tenant-' || (i % 96) END AS tenant_id,
           (ARRAY['SALESFORCE','SALLA','ZUORA','EXSITED','COMMERCE'])[1 + ((i / 2) % 5)] AS provider,
           (ARRAY['USD','SAR','EUR','AUD','USD'])[1 + ((i / 2) % 5)] AS currency,
           (i * 2654435761::bigint) % 100 AS h1,
           (i * 40503::bigint) % 10 AS h2,
           (i * 2246822519::bigint) % 1080 AS h3,
           (i * 3266489917::bigint) % 1000000 AS h4
      FROM generate_series(1, ${Math.trunc(count)}) AS i`;
  const shaped = `
    SELECT i, tenant_id, provider, currency,
           md5('attempt-' || i)::uuid AS attempt_id, md5('invoice-' || i)::uuid AS id,
           'seed-' || i AS provider_invoice_id, 'order-' || (i / 2) AS order_id,
           CASE WHEN h1 < 40 THEN 'ISSUED' WHEN h1 < 75 THEN 'PAID' WHEN h1 < 85 THEN 'PARTIALLY_PAID' WHEN h1 < 90 THEN 'DRAFT' ELSE 'VOID' END AS status,
           CASE WHEN h2 = 0 THEN 'CREDIT_NOTE' ELSE 'INVOICE' END AS kind,
           CASE WHEN h1 BETWEEN 85 AND 89 THEN NULL ELSE DATE '2024-01-01' + h3::int END AS issue_date,
           (h4 / 100.0)::numeric(12, 2) AS total
      FROM (${rows}) r`;
  await db.query(`
    INSERT INTO invoice_attempts (id, tenant_id, idempotency_key, provider, order_id, input_fingerprint, input, state, provider_invoice_ids, completed_at)
    SELECT attempt_id, tenant_id, 'seed-' || i, provider, order_id, 'seed', '{}'::jsonb, 'succeeded', ARRAY[provider_invoice_id], now()
      FROM (${shaped}) s`);
  await db.query(`
    INSERT INTO invoices (id, tenant_id, provider, provider_invoice_id, order_id, attempt_id, origin, status, kind, currency_code,
                          issue_date, due_date, total, snapshot, content, kpis, synced_at, created_at)
    SELECT id, tenant_id, provider, provider_invoice_id, order_id, attempt_id, 'CREATED_HERE', status, kind, currency,
           issue_date, issue_date + 30, total,
           jsonb_build_object('provider', provider, 'providerInvoiceId', provider_invoice_id, 'orderId', order_id,
             'number', 'INV-' || i, 'kind', kind, 'status', status, 'issueDate', issue_date, 'dueDate', issue_date + 30,
             'currencyCode', currency, 'subtotal', jsonb_build_object('amount', (total / 1.15)::numeric(12, 2)::text, 'currencyCode', currency),
             'taxTotal', jsonb_build_object('amount', (total - (total / 1.15)::numeric(12, 2))::text, 'currencyCode', currency),
             'total', jsonb_build_object('amount', total::text, 'currencyCode', currency), 'documentUrl', NULL),
           CASE WHEN status = 'DRAFT' THEN NULL ELSE jsonb_build_object(
             'lines', jsonb_build_array(jsonb_build_object('description', 'Item', 'sku', 'SKU-1', 'quantity', '1',
               'unitPrice', jsonb_build_object('amount', total::text, 'currencyCode', currency), 'subtotal', NULL, 'taxTotal', NULL,
               'total', jsonb_build_object('amount', total::text, 'currencyCode', currency), 'taxes', '[]'::jsonb)),
             'taxes', '[]'::jsonb) END,
           jsonb_build_object('outstanding', NULL, 'paid', NULL, 'overdue', NULL, 'lastPaymentDate', NULL, 'creditApplied', NULL),
           now(), now() - make_interval(secs => ${Math.trunc(count)} - i)
      FROM (${shaped}) s
     ORDER BY i`);
  // Fresh statistics for the planner, and a visibility map so that counts can be index-only scans.
  await db.query('VACUUM ANALYZE invoices');
  await db.query('VACUUM ANALYZE invoice_attempts');
  return true;
}
