import type { EmulatorServer } from './emulator-server';

/**
 * What every provider's sandbox emulator is: an EmulatorServer with the provider's routes and state. `npm start`
 * starts one per unconfigured provider; tests count its calls and inject faults through `server`.
 */
export abstract class ProviderEmulator {
  abstract readonly server: EmulatorServer;

  /** What a client uses as the provider's base URL (the `<PROVIDER>_BASE_URL` it stands in for). */
  abstract get baseUrl(): string;

  /** Back to the seed: no documents created, an empty call log, no staged faults. */
  abstract reset(): void;

  /** Listens on a loopback port (0: any free one); resolves to the origin. */
  start(port = 0, host = '127.0.0.1'): Promise<string> {
    return this.server.start(port, host);
  }

  stop(): Promise<void> {
    return this.server.stop();
  }
}
