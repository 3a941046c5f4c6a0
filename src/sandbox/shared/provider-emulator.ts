import type { EmulatorServer } from './emulator-server';
import { registerSandboxRoutes, type SandboxEvent, type SandboxInvoiceState, type SandboxLedgerControl } from './sandbox-control';

/**
 * What every provider's sandbox emulator is: an EmulatorServer with the provider's routes and state. `npm start`
 * starts one per unconfigured provider; tests count its calls and inject faults through `server`. Every emulator
 * also takes the sandbox's ledger controls (payments, credits, voids), as methods and as `/_sandbox` routes.
 */
export abstract class ProviderEmulator implements SandboxLedgerControl {
  abstract readonly server: EmulatorServer;
  private sandboxRoutes = false;

  /** What a client uses as the provider's base URL (the `<PROVIDER>_BASE_URL` it stands in for). */
  abstract get baseUrl(): string;

  /**
   * Points the emulator's webhooks (where its provider documents them: Salla, Zuora) at a receiver, signed with
   * `secret`; null stops them. `npm start` calls it once the subgraph listens. Absent: the provider sends none.
   */
  configureWebhook?(config: { url: string; secret: string } | null): void;

  /** Back to the seed: no documents created, an empty call log, no staged faults. */
  abstract reset(): void;

  /** Records a payment on an invoice as the provider would (tests, and POST /_sandbox/.../payments). No I/O. */
  abstract recordPayment(providerInvoiceId: string, amount: string, date?: string): SandboxInvoiceState;

  /** Records a credit (credit note/memo applied) on an invoice as the provider would. No I/O. */
  abstract recordCredit(providerInvoiceId: string, amount: string, date?: string): SandboxInvoiceState;

  /** Voids/cancels an invoice, or does the provider's documented equivalent. No I/O. */
  abstract voidInvoice(providerInvoiceId: string): SandboxInvoiceState;

  /**
   * Called at the end of every ledger control with what changed: where an emulator sends the provider's webhooks
   * for the event (Salla's does). Must not throw or wait: the control has already happened. A no-op by default.
   */
  protected onSandboxEvent(_event: SandboxEvent): void {
    // no webhooks by default
  }

  /** For the controls: reports the event and hands back the state. */
  protected sandboxEvent(event: SandboxEvent): SandboxInvoiceState {
    this.onSandboxEvent(event);
    return event.state;
  }

  /** Listens on a loopback port (0: any free one); resolves to the origin. The `/_sandbox` routes come with it. */
  start(port = 0, host = '127.0.0.1'): Promise<string> {
    if (!this.sandboxRoutes) {
      registerSandboxRoutes(this.server, this);
      this.sandboxRoutes = true;
    }
    return this.server.start(port, host);
  }

  stop(): Promise<void> {
    return this.server.stop();
  }
}
