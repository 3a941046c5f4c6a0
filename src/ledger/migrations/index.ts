/**
 * The ledger's schema, as versioned migrations applied in order by umzug (see migrate.ts). A migration that has
 * shipped is never edited: add the next one.
 */
export interface SqlMigration {
  name: string;
  up: string;
}

/** What the list indexes of 0005 carry besides their keys: the id to read a page by, and every filtered column. */
const LIST_COVER = 'id, provider, status, kind, origin, currency_code, issue_date, due_date, total, order_id';

export const MIGRATIONS: SqlMigration[] = [
  {
    name: '0001_attempts_and_invoices',
    up: `
      -- One row per createInvoice attempt, written before the provider is called.
      CREATE TABLE invoice_attempts (
        id                   uuid PRIMARY KEY,
        tenant_id            text NOT NULL,
        idempotency_key      text NOT NULL,
        provider             text NOT NULL,
        order_id             text NOT NULL,
        input_fingerprint    text NOT NULL,
        input                jsonb NOT NULL,
        -- pending: the provider call may be under way; unknown: it may have acted and we could not tell.
        state                text NOT NULL CHECK (state IN ('pending', 'succeeded', 'failed', 'unknown')),
        disposition          text CHECK (disposition IN ('final', 'retryable', 'indeterminate')),
        user_errors          jsonb,
        provider_invoice_ids text[] NOT NULL DEFAULT '{}',
        tries                integer NOT NULL DEFAULT 1,
        lease_expires_at     timestamptz,
        created_at           timestamptz NOT NULL DEFAULT now(),
        updated_at           timestamptz NOT NULL DEFAULT now(),
        completed_at         timestamptz,
        CONSTRAINT invoice_attempts_key UNIQUE (tenant_id, idempotency_key)
      );
      CREATE INDEX invoice_attempts_open ON invoice_attempts (lease_expires_at) WHERE state IN ('pending', 'unknown');

      -- Every invoice created through us, with the normalised header as the provider reported it.
      CREATE TABLE invoices (
        id                  uuid PRIMARY KEY,
        -- Creation order: several invoices of one attempt share a timestamp.
        seq                 bigserial NOT NULL,
        tenant_id           text NOT NULL,
        provider            text NOT NULL,
        provider_invoice_id text NOT NULL,
        order_id            text NOT NULL,
        attempt_id          uuid NOT NULL REFERENCES invoice_attempts (id),
        snapshot            jsonb NOT NULL,
        created_at          timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT invoices_provider_id UNIQUE (tenant_id, provider, provider_invoice_id)
      );
      CREATE INDEX invoices_by_order ON invoices (tenant_id, order_id, seq);
      CREATE INDEX invoices_by_attempt ON invoices (attempt_id);
    `,
  },
  {
    name: '0002_invoices_by_provider_id',
    // Crash repair asks whether any tenant already recorded a provider invoice (tenants may share an account).
    up: `CREATE INDEX invoices_by_provider_id ON invoices (provider, provider_invoice_id);`,
  },
  {
    name: '0003_one_record_per_provider_invoice',
    // Tenants share each provider's account, so a provider invoice is recorded once across all tenants: a crash
    // repair racing another tenant's create can then never record that tenant's invoice as its own.
    up: `
      DROP INDEX invoices_by_provider_id;
      CREATE UNIQUE INDEX invoices_provider_invoice_once ON invoices (provider, provider_invoice_id);
    `,
  },
  {
    name: '0004_shared_tokens',
    // Replicas share each provider account's OAuth token: where a new token ends the previous one (Exsited), tokens
    // fetched per replica would end each other's. Values are sealed with the account's client secret.
    up: `
      CREATE TABLE shared_tokens (
        name       text PRIMARY KEY,
        sealed     text NOT NULL,
        expires_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      );
    `,
  },
  {
    name: '0005_invoice_read_model',
    // Admin UIs list, filter and sort invoices (Query.invoices) and read their lines, taxes and payment figures
    // from the ledger: the header fields they filter on become columns (filled from the snapshot), lines and taxes
    // are kept once they can no longer change, payment figures as last read, with the time of that read.
    // Invoices found at a provider (origin EXTERNAL) have no attempt of ours.
    up: `
      ALTER TABLE invoices
        ADD COLUMN origin text NOT NULL DEFAULT 'CREATED_HERE' CHECK (origin IN ('CREATED_HERE', 'EXTERNAL')),
        ADD COLUMN status text,
        ADD COLUMN kind text,
        ADD COLUMN currency_code text,
        ADD COLUMN issue_date date,
        ADD COLUMN due_date date,
        ADD COLUMN total numeric,
        -- {lines, taxes} once final at the provider (InvoiceProvider.contentFinal); null: read from the provider.
        ADD COLUMN content jsonb,
        -- InvoiceKpis as last read; null: never read.
        ADD COLUMN kpis jsonb,
        -- When status and kpis were last read from the provider; null: not since creation.
        ADD COLUMN synced_at timestamptz,
        -- A replica refreshing the invoice holds it until then; a failed refresh backs off to then.
        ADD COLUMN refresh_held_until timestamptz,
        ALTER COLUMN attempt_id DROP NOT NULL,
        ADD CONSTRAINT invoices_created_here_have_attempts CHECK (origin = 'EXTERNAL' OR attempt_id IS NOT NULL);
      UPDATE invoices SET
        status = snapshot->>'status',
        kind = snapshot->>'kind',
        currency_code = snapshot->'total'->>'currencyCode',
        issue_date = (snapshot->>'issueDate')::date,
        due_date = (snapshot->>'dueDate')::date,
        total = (snapshot->'total'->>'amount')::numeric;
      ALTER TABLE invoices
        ALTER COLUMN status SET NOT NULL,
        ALTER COLUMN kind SET NOT NULL,
        ALTER COLUMN currency_code SET NOT NULL,
        ALTER COLUMN total SET NOT NULL;
      -- One index per ordering of Query.invoices, led by the tenant and ended by seq (the unique tie-break), so that a
      -- page is an ordered index range. They carry every filtered column (INCLUDE), so a page's filters are checked
      -- on the index alone (an index-only scan, no heap visit per skipped row) before its 50 rows are read by id:
      -- on a million invoices a filtered page took 185 ms with plain indexes and under 1 ms so. A missing issue
      -- date sorts as the oldest, a missing due date as the latest (drafts last when newest-first or soonest-due).
      CREATE INDEX invoices_list_issue_date ON invoices (tenant_id, (COALESCE(issue_date, '-infinity'::date)), seq) INCLUDE (${LIST_COVER});
      CREATE INDEX invoices_list_due_date ON invoices (tenant_id, (COALESCE(due_date, 'infinity'::date)), seq) INCLUDE (${LIST_COVER});
      CREATE INDEX invoices_list_created ON invoices (tenant_id, seq) INCLUDE (${LIST_COVER});
      CREATE INDEX invoices_list_total ON invoices (tenant_id, total, seq) INCLUDE (${LIST_COVER});
      -- The commonest admin filter (a provider's unpaid invoices) and its count, as an index-only scan.
      CREATE INDEX invoices_list_provider_status ON invoices (tenant_id, provider, status);
    `,
  },
  {
    name: '0006_invoices_by_status_due',
    // Query.invoices filters by status across providers (an admin's unpaid invoices) and by overdue (due before today
    // and ISSUED or PARTIALLY_PAID), where invoices_list_provider_status, led by the provider, cannot serve: their
    // totalCount is an index-only scan of this one, and a rare status a range of it rather than a walk of the tenant.
    up: `CREATE INDEX invoices_list_status_due ON invoices (tenant_id, status, due_date);`,
  },
  {
    name: '0007_provider_events_and_sync',
    // Webhook deliveries, recorded before they are answered: the unique delivery key makes a redelivery a no-op, and a
    // delivery whose job was lost is still here to process. The body is kept as received text (JSON's \u0000 escape is
    // valid text but not valid jsonb). Sync positions: where each provider's last pass got to, and when it ended.
    up: `
      CREATE TABLE provider_events (
        id            uuid PRIMARY KEY,
        provider      text NOT NULL,
        delivery_key  text NOT NULL,
        event         text NOT NULL,
        body          text NOT NULL,
        deliveries    integer NOT NULL DEFAULT 1,
        received_at   timestamptz NOT NULL DEFAULT now(),
        processed_at  timestamptz,
        CONSTRAINT provider_events_delivery UNIQUE (provider, delivery_key)
      );
      CREATE INDEX provider_events_unprocessed ON provider_events (provider, received_at) WHERE processed_at IS NULL;
      CREATE TABLE sync_positions (
        provider   text PRIMARY KEY,
        position   jsonb,
        passed_at  timestamptz,
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      -- The sync's discovery walks each provider's known orders; its refresh walks the invoices that can still change.
      CREATE INDEX invoices_by_provider_order ON invoices (provider, order_id);
    `,
  },
  {
    name: '0008_provider_connections',
    // Each tenant's own provider accounts (connectProvider). Credentials are sealed by the connections module (AES-256-GCM
    // under CONNECTIONS_KEY) and erased on disconnect; the row stays so the tenant sees DISCONNECTED. `id` is new on
    // every connect: what was learnt about an earlier connection (a refused token, its shared tokens) cannot touch the
    // next one. `account_id` is the provider's id of the account (a Salla store, a Zuora tenant, a Salesforce org):
    // Salla's app.store.authorize names a store, and finds its tenant by it.
    up: `
      CREATE TABLE provider_connections (
        tenant_id     text NOT NULL,
        provider      text NOT NULL,
        id            uuid NOT NULL UNIQUE,
        status        text NOT NULL,
        account_id    text,
        account_name  text,
        sealed        text,
        key_id        text,
        connected_at  timestamptz,
        expires_at    timestamptz,
        last_error    text,
        updated_at    timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, provider)
      );
      CREATE INDEX provider_connections_account ON provider_connections (provider, account_id) WHERE status <> 'DISCONNECTED';
      CREATE INDEX provider_connections_key ON provider_connections (key_id) WHERE sealed IS NOT NULL;
    `,
  },
  {
    name: '0009_provider_events_tenant',
    // A delivery verified with a tenant's own secret (a Zuora tenant's callouts, X-Zuora-Tenant-Id) was seen at that
    // tenant's account: what it names is read through that tenant's connection, and found invoices recorded for it
    // alone. NULL: verified with the deployment's secret, as before. A delivery whose reads failed waits until
    // `retry_at` (its own backoff, so one tenant's failing account never holds up the others' deliveries); `failures`
    // counts them, and a delivery that failed too often is parked ('infinity') for a person.
    up: `
      ALTER TABLE provider_events ADD COLUMN tenant_id text,
        ADD COLUMN failures integer NOT NULL DEFAULT 0,
        ADD COLUMN retry_at timestamptz;
    `,
  },
  {
    name: '0010_attempt_account',
    // The provider account an attempt was sent to (a tenant's connection's account, or the deployment's): an open
    // attempt is settled, retried or looked up only there. A tenant that reconnected to another account would otherwise
    // have its open attempt looked up (and, by an idempotency key replay, created again) in the wrong one. NULL: sent
    // before this was recorded; no check.
    up: `ALTER TABLE invoice_attempts ADD COLUMN account text;`,
  },
];
