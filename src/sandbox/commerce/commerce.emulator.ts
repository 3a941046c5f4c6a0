import Decimal from 'decimal.js';
import { EmulatorServer, type EmulatorRequest, type EmulatorResponse } from '../shared/emulator-server';
import {
  COMMERCE_SANDBOX_ADMIN,
  COMMERCE_SANDBOX_ENTITY_ID,
  COMMERCE_SANDBOX_ORDERS,
  COMMERCE_SANDBOX_TOKEN,
  type CommerceAdminSeed,
  type CommerceOrderSeed,
} from './commerce.seed';
import { OBJECT_ID, ObjectIdGenerator, type ObjectIdSeed } from './object-id';
import { ProviderEmulator } from '../shared/provider-emulator';
import { refuseOverOutstanding, sandboxAmount, sandboxDate, SandboxError, type SandboxInvoiceState } from '../shared/sandbox-control';

/**
 * An HTTP emulator of the Commerce API's invoice endpoints: POST /invoices as seed 001 documents it, and the two
 * reads PROVIDERS.md assumes (GET /invoices/{id}, GET /invoices?orderId=). Auth by the `accessToken` header, the
 * documented `{ success: false, message }` failures, ids made the way MongoDB makes them. State lives in memory.
 */

/** The seed names no base path; one under the origin proves that clients join paths to their configured base. */
const API = '/api/v1';

const MESSAGE = {
  orderIdRequired: 'Validation error: orderId is required',
  unauthorized: 'Invalid or missing access token',
  orderNotFound: 'Order not found',
  createFailed: 'An error occurred while creating the invoice',
  // Not in the seed, which is silent on a second invoice for an order: we refuse it as a serious API would.
  alreadyInvoiced: 'Invoice already exists for this order',
  // The read endpoints are assumed, and so are their failures' wording.
  invoiceNotFound: 'Invoice not found',
  readFailed: 'An error occurred while fetching the invoice',
} as const;

export interface CommerceEmulatorOptions {
  /** Default: COMMERCE_SANDBOX_ORDERS. */
  orders?: readonly CommerceOrderSeed[];
  /** The clock of `createdAt` and of the ids' timestamps; pin it to reproduce the seed's sample. */
  now?: () => Date;
  /** Pins the ids' process value and counter (random by default, as in MongoDB drivers); `reset()` restarts them. */
  objectIds?: ObjectIdSeed;
  /** The largest `limit` the list honours (default 100): lower it to make a test page. */
  maxPageSize?: number;
  /** Models a list whose order filter has another name at the real API: `orderId` is then ignored. */
  ignoreOrderFilter?: boolean;
}

interface Principal {
  entityId: string;
  admin: CommerceAdminSeed;
}

interface StoredInvoice {
  id: string;
  order: string;
  entityId: string;
  lineItems: Array<{ lineItemId: string; quantity: number; id: string }>;
  total: Decimal;
  createdBy: CommerceAdminSeed;
  createdAt: string;
  updatedAt: string;
  /** Null until a sandbox control records something: the invoice is then answered as the seed shows it. */
  ledger: CommerceLedger | null;
}

/**
 * Assumption (the Commerce API documents no payment, credit or status of an invoice, seed 001): once the sandbox
 * records one, the invoice answer gains `status` ('issued', 'partially_paid', 'paid', 'void'), `paid`, `credited`,
 * `balance` (JSON numbers, as `total`) and `lastPaymentDate` (YYYY-MM-DD or null).
 */
interface CommerceLedger {
  voided: boolean;
  paid: Decimal;
  credited: Decimal;
  lastPaymentDate: string | null;
}

/** An invoice the emulator holds, for tests and tools; the total is an exact decimal string. */
export interface CommerceInvoiceRecord {
  id: string;
  orderId: string;
  entityId: string;
  lineItems: Array<{ lineItemId: string; quantity: number; id: string }>;
  total: string;
  createdAt: string;
}

/** Σ quantity × unit price, exactly. Throws for a line whose product was deleted, as the API's pricing would. */
export function commerceOrderTotal(order: CommerceOrderSeed): Decimal {
  return order.items.reduce((sum, item) => {
    if (item.unitPrice === null) throw new Error(`order ${order.id}: the product of line ${item.id} no longer exists`);
    return sum.plus(new Decimal(item.unitPrice).times(item.quantity));
  }, new Decimal(0));
}

export class CommerceEmulator extends ProviderEmulator {
  override readonly server: EmulatorServer;
  /** The orders served (and restored by `reset()`). */
  readonly orders: readonly CommerceOrderSeed[];
  private readonly now: () => Date;
  private readonly objectIdSeed?: ObjectIdSeed;
  private readonly principals = new Map<string, Principal>([[COMMERCE_SANDBOX_TOKEN, { entityId: COMMERCE_SANDBOX_ENTITY_ID, admin: COMMERCE_SANDBOX_ADMIN }]]);
  private ordersById = new Map<string, CommerceOrderSeed>();
  private stored: StoredInvoice[] = [];
  private ids!: ObjectIdGenerator;

  private readonly maxPageSize: number;
  private readonly ignoreOrderFilter: boolean;

  constructor(options: CommerceEmulatorOptions = {}) {
    super();
    this.orders = options.orders ?? COMMERCE_SANDBOX_ORDERS;
    this.now = options.now ?? (() => new Date());
    this.objectIdSeed = options.objectIds;
    this.maxPageSize = options.maxPageSize ?? 100;
    this.ignoreOrderFilter = options.ignoreOrderFilter ?? false;
    this.server = new EmulatorServer({
      // Express's default answer for a route it does not have: text, not the API's envelope.
      notFound: (req) => ({ status: 404, body: `Cannot ${req.method} ${req.path}` }),
      // A malformed body reads as no body; the handler then reports the missing orderId.
      badJson: () => undefined,
      internalError: (req) => failure(500, req.method === 'POST' ? MESSAGE.createFailed : MESSAGE.readFailed),
    });
    this.server.use((req, next) => this.authenticate(req, next));
    this.server.post(`${API}/invoices`, (req) => this.create(req));
    this.server.get(`${API}/invoices`, (req) => this.list(req));
    this.server.get(`${API}/invoices/:invoiceId`, (req) => this.readOne(req));
    this.restoreSeed();
  }



  /** What a client uses as the API's base URL (COMMERCE_BASE_URL). */
  override get baseUrl(): string {
    return `${this.server.url}${API}`;
  }

  /** Back to the seed: no invoices, the id counter restarted, an empty call log, no staged faults. */
  override reset(): void {
    this.restoreSeed();
    this.server.resetCalls();
    this.server.clearFaults();
  }

  /** The invoices created so far, oldest first. */
  invoices(): CommerceInvoiceRecord[] {
    return this.stored.map((inv) => ({
      id: inv.id,
      orderId: inv.order,
      entityId: inv.entityId,
      lineItems: inv.lineItems.map((l) => ({ ...l })),
      total: inv.total.toFixed(),
      createdAt: inv.createdAt,
    }));
  }

  /** Assumption: a payment on the invoice (see CommerceLedger); it answers with the new fields from then on. */
  override recordPayment(providerInvoiceId: string, amount: string, date?: string): SandboxInvoiceState {
    const inv = this.open(providerInvoiceId);
    const value = sandboxAmount(amount);
    refuseOverOutstanding('payment', value, balanceOf(inv), inv.id);
    const on = sandboxDate(date, this.now);
    const ledger = ledgerOf(inv);
    ledger.paid = ledger.paid.plus(value);
    if (!ledger.lastPaymentDate || on > ledger.lastPaymentDate) ledger.lastPaymentDate = on;
    inv.updatedAt = this.now().toISOString();
    return this.sandboxEvent({ kind: 'payment', providerInvoiceId: inv.id, amount: value.toFixed(2), date: on, state: stateOf(inv) });
  }

  /** Assumption: a credit on the invoice (see CommerceLedger). */
  override recordCredit(providerInvoiceId: string, amount: string, date?: string): SandboxInvoiceState {
    const inv = this.open(providerInvoiceId);
    const value = sandboxAmount(amount);
    refuseOverOutstanding('credit', value, balanceOf(inv), inv.id);
    const on = sandboxDate(date, this.now);
    const ledger = ledgerOf(inv);
    ledger.credited = ledger.credited.plus(value);
    inv.updatedAt = this.now().toISOString();
    return this.sandboxEvent({ kind: 'credit', providerInvoiceId: inv.id, amount: value.toFixed(2), date: on, state: stateOf(inv) });
  }

  /** Assumption: a void of an invoice with nothing paid or credited on it (see CommerceLedger). */
  override voidInvoice(providerInvoiceId: string): SandboxInvoiceState {
    const inv = this.open(providerInvoiceId);
    const ledger = ledgerOf(inv);
    if (ledger.paid.gt(0) || ledger.credited.gt(0)) throw new SandboxError('invalid', `invoice ${inv.id} has payments or credits recorded`);
    ledger.voided = true;
    inv.updatedAt = this.now().toISOString();
    return this.sandboxEvent({ kind: 'void', providerInvoiceId: inv.id, state: stateOf(inv) });
  }

  private open(providerInvoiceId: string): StoredInvoice {
    const inv = this.stored.find((i) => i.id === providerInvoiceId.toLowerCase());
    if (!inv) throw new SandboxError('notFound', `no invoice ${providerInvoiceId}`);
    if (inv.ledger?.voided) throw new SandboxError('invalid', `invoice ${inv.id} is void`);
    return inv;
  }

  private restoreSeed(): void {
    this.ordersById = new Map(this.orders.map((o) => [o.id.toLowerCase(), o]));
    this.stored = [];
    this.ids = new ObjectIdGenerator(this.objectIdSeed);
  }

  /** Every API path needs a known `accessToken`. */
  private authenticate(req: EmulatorRequest, next: () => Promise<EmulatorResponse>): EmulatorResponse | Promise<EmulatorResponse> {
    if (req.path !== API && !req.path.startsWith(`${API}/`)) return next();
    // The seed calls it a bearer token yet sends it bare: both spellings are accepted.
    const token = req.header('accesstoken')?.trim().replace(/^Bearer\s+/i, '');
    const principal = token ? this.principals.get(token) : undefined;
    if (!principal) return failure(401, MESSAGE.unauthorized);
    req.locals.principal = principal;
    return next();
  }

  // POST /invoices ------------------------------------------------------------------------------------------------

  private create(req: EmulatorRequest): EmulatorResponse {
    const principal = principalOf(req);
    const raw = isRecord(req.body) ? req.body.orderId : undefined;
    if (typeof raw !== 'string' || raw.trim() === '') return failure(400, MESSAGE.orderIdRequired);
    // MongoDB reads an ObjectId's hex in either case; anything else finds no order.
    const order = OBJECT_ID.test(raw) ? this.ordersById.get(raw.toLowerCase()) : undefined;
    if (!order) return failure(404, MESSAGE.orderNotFound);
    if (this.stored.some((inv) => inv.order === order.id && inv.entityId === principal.entityId)) return failure(409, MESSAGE.alreadyInvoiced);
    return { status: 201, body: { success: true, data: render(this.issue(order, principal)) } };
  }

  private issue(order: CommerceOrderSeed, principal: Principal): StoredInvoice {
    // Priced first: an order that cannot be priced fails (the 500) before anything is stored.
    const total = commerceOrderTotal(order);
    const at = this.now();
    // The invoice's id comes before its lines', as in the seed's sample.
    const id = this.ids.next(at);
    const stamp = at.toISOString();
    const invoice: StoredInvoice = {
      id,
      order: order.id,
      entityId: principal.entityId,
      lineItems: order.items.map((item) => ({ lineItemId: item.id, quantity: item.quantity, id: this.ids.next(at) })),
      total,
      createdBy: principal.admin,
      createdAt: stamp,
      updatedAt: stamp,
      ledger: null,
    };
    this.stored.push(invoice);
    return invoice;
  }

  // GET /invoices/:invoiceId and GET /invoices?orderId= -----------------------------------------------------------

  private readOne(req: EmulatorRequest): EmulatorResponse {
    const principal = principalOf(req);
    const id = (req.params.invoiceId ?? '').toLowerCase();
    // Another account's invoice is as unknown as a missing one.
    const invoice = this.stored.find((inv) => inv.id === id && inv.entityId === principal.entityId);
    if (!invoice) return failure(404, MESSAGE.invoiceNotFound);
    return { status: 200, body: { success: true, data: render(invoice) } };
  }

  /**
   * GET /invoices?orderId=&page=&limit= [assumed: seed 001 documents only the create]: newest first, `page` from 1,
   * `limit` default 20 (at most maxPageSize), with `pagination: { page, limit, total, totalPages }`.
   */
  private list(req: EmulatorRequest): EmulatorResponse {
    const principal = principalOf(req);
    const filter = this.ignoreOrderFilter ? undefined : firstValue(req.query.orderId)?.trim().toLowerCase();
    const all = this.stored.filter((inv) => inv.entityId === principal.entityId && (filter === undefined || inv.order === filter)).reverse();
    const limit = Math.min(this.maxPageSize, Math.max(1, Number(firstValue(req.query.limit) ?? 20) || 20));
    const page = Math.max(1, Math.floor(Number(firstValue(req.query.page) ?? 1)) || 1);
    const data = all.slice((page - 1) * limit, page * limit).map(render);
    return { status: 200, body: { success: true, data, pagination: { page, limit, total: all.length, totalPages: Math.max(1, Math.ceil(all.length / limit)) } } };
  }
}

/** Creates a Commerce emulator and starts it; scripts use this. */
export async function startCommerceEmulator(options: CommerceEmulatorOptions & { port?: number; host?: string } = {}): Promise<CommerceEmulator> {
  const { port, host, ...rest } = options;
  const emulator = new CommerceEmulator(rest);
  await emulator.start(port, host);
  return emulator;
}

// ---------------------------------------------------------------------------------------------------------------
// Rendering and helpers

/** The seed's sample, member for member and in its order (Mongoose puts the `id` virtual last). */
function render(inv: StoredInvoice): Record<string, unknown> {
  return {
    order: inv.order,
    entityId: inv.entityId,
    lineItems: inv.lineItems.map((l) => ({ lineItemId: l.lineItemId, quantity: l.quantity, id: l.id })),
    // The API writes the total as a JSON number.
    total: inv.total.toNumber(),
    createdBy: { id: inv.createdBy.id, name: inv.createdBy.name, type: inv.createdBy.type },
    metaFields: [],
    createdAt: inv.createdAt,
    updatedAt: inv.updatedAt,
    ...(inv.ledger ? ledgerFields(inv, inv.ledger) : {}),
    id: inv.id,
  };
}

/** The fields the sandbox adds to an invoice it recorded something on (Assumption: see CommerceLedger). */
function ledgerFields(inv: StoredInvoice, ledger: CommerceLedger): Record<string, unknown> {
  const balance = balanceOf(inv);
  const status = ledger.voided ? 'void' : balance.isZero() ? 'paid' : balance.lt(inv.total) ? 'partially_paid' : 'issued';
  return { status, paid: ledger.paid.toNumber(), credited: ledger.credited.toNumber(), balance: balance.toNumber(), lastPaymentDate: ledger.lastPaymentDate };
}

const ledgerOf = (inv: StoredInvoice): CommerceLedger => (inv.ledger ??= { voided: false, paid: new Decimal(0), credited: new Decimal(0), lastPaymentDate: null });

function balanceOf(inv: StoredInvoice): Decimal {
  if (!inv.ledger) return inv.total;
  return inv.ledger.voided ? new Decimal(0) : inv.total.minus(inv.ledger.paid).minus(inv.ledger.credited);
}

function stateOf(inv: StoredInvoice): SandboxInvoiceState {
  const ledger = ledgerOf(inv);
  return {
    providerInvoiceId: inv.id,
    status: String(ledgerFields(inv, ledger).status),
    total: inv.total.toFixed(2),
    paid: ledger.paid.toFixed(2),
    credited: ledger.credited.toFixed(2),
    outstanding: balanceOf(inv).toFixed(2),
    lastPaymentDate: ledger.lastPaymentDate,
    voided: ledger.voided,
  };
}

function failure(status: number, message: string): EmulatorResponse {
  return { status, body: { success: false, message } };
}

function principalOf(req: EmulatorRequest): Principal {
  const principal = req.locals.principal as Principal | undefined;
  if (!principal) throw new Error('API route reached without authentication');
  return principal;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const firstValue = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

if (require.main === module) {
  const port = Number(process.env.COMMERCE_EMULATOR_PORT ?? 0);
  startCommerceEmulator({ port }).then(
    (emulator) => {
      process.stdout.write(`Commerce emulator: ${emulator.baseUrl}\naccessToken: ${COMMERCE_SANDBOX_TOKEN}\n`);
      const stop = () => void emulator.stop().then(() => process.exit(0));
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    },
    (err: unknown) => {
      process.stderr.write(`Commerce emulator failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
