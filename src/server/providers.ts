import type { Logger } from 'pino';
import { ProviderRegistry } from '../providers/registry';
import { SallaProvider } from '../providers/salla/salla.provider';
import { SallaEmulator } from '../sandbox/salla/salla.emulator';
import { SALLA_SANDBOX_TOKEN } from '../sandbox/salla/salla.seed';
import type { Config } from './config';

export interface StartedProviders {
  registry: ProviderRegistry;
  /** Base URLs of the sandbox emulators started for unconfigured providers, by provider code. */
  sandboxes: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * Builds the provider registry from configuration. A provider with a base URL is reached there and only there;
 * one without gets its sandbox emulator, a real HTTP server on a loopback port. Called once at start.
 */
export async function startProviders(config: Config, logger: Logger): Promise<StartedProviders> {
  const stops: Array<() => Promise<void>> = [];
  const sandboxes: Record<string, string> = {};

  let salla: SallaProvider;
  if (config.salla === 'sandbox') {
    const emulator = new SallaEmulator();
    await emulator.start(0);
    stops.push(() => emulator.stop());
    sandboxes.SALLA = emulator.baseUrl;
    salla = new SallaProvider({ baseUrl: emulator.baseUrl, accessToken: SALLA_SANDBOX_TOKEN, timeoutMs: config.providerTimeoutMs });
    logger.info({ provider: 'SALLA', baseUrl: emulator.baseUrl }, 'Salla sandbox emulator started (SALLA_BASE_URL is not set)');
  } else {
    salla = new SallaProvider({ baseUrl: config.salla.baseUrl, accessToken: config.salla.accessToken, timeoutMs: config.providerTimeoutMs });
    logger.info({ provider: 'SALLA', baseUrl: config.salla.baseUrl }, 'Salla configured');
  }

  const registry = new ProviderRegistry([salla]);
  return {
    registry,
    sandboxes,
    stop: async () => {
      await registry.close();
      await Promise.all(stops.map((s) => s()));
    },
  };
}
