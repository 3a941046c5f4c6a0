import type { Logger } from 'pino';
import type { ProviderCode } from '../domain/invoice';
import type { InvoiceProvider, ProviderWebhooks } from '../providers/provider';
import type { ConnectionBuilder } from '../connections/tenant-providers';
import { sallaWebhooks } from '../providers/salla/salla.webhooks';
import { zuoraWebhooks } from '../providers/zuora/zuora.webhooks';
import type { SharedTokenStore } from '../providers/shared/token-source';
import { ProviderRegistry } from '../providers/registry';
import { CommerceProvider } from '../providers/commerce/commerce.provider';
import { ExsitedProvider } from '../providers/exsited/exsited.provider';
import { SalesforceProvider } from '../providers/salesforce/salesforce.provider';
import { SallaProvider } from '../providers/salla/salla.provider';
import { ZuoraProvider } from '../providers/zuora/zuora.provider';
import { CommerceEmulator } from '../sandbox/commerce/commerce.emulator';
import { COMMERCE_SANDBOX_TOKEN } from '../sandbox/commerce/commerce.seed';
import { ExsitedEmulator } from '../sandbox/exsited/exsited.emulator';
import { EXSITED_SANDBOX_CLIENT_ID, EXSITED_SANDBOX_CLIENT_SECRET } from '../sandbox/exsited/exsited.seed';
import { SalesforceEmulator } from '../sandbox/salesforce/salesforce.emulator';
import { SALESFORCE_SANDBOX_TOKEN } from '../sandbox/salesforce/salesforce.seed';
import { SallaEmulator } from '../sandbox/salla/salla.emulator';
import { SALLA_SANDBOX_CLIENT_ID, SALLA_SANDBOX_CLIENT_SECRET, SALLA_SANDBOX_TOKEN } from '../sandbox/salla/salla.seed';
import { ZuoraEmulator } from '../sandbox/zuora/zuora.emulator';
import { ZUORA_SANDBOX_CLIENT_ID, ZUORA_SANDBOX_CLIENT_SECRET } from '../sandbox/zuora/zuora.seed';
import type { ProviderEmulator } from '../sandbox/shared/provider-emulator';
import type { Config } from './config';

export type Emulator = ProviderEmulator;

export interface StartedProviders {
  registry: ProviderRegistry;
  /** The sandbox emulators started for unconfigured providers, by provider code. */
  emulators: Partial<Record<ProviderCode, Emulator>>;
  /** Their base URLs, for logs and the landing message. */
  sandboxes: Partial<Record<ProviderCode, string>>;
  /** Where a tenant's connection goes when its input names no base URL: the configured base URL, or the sandbox's. */
  baseUrls: Partial<Record<ProviderCode, string>>;
  /** Builds the provider of a tenant's connection (TenantProviders), with this deployment's timeouts and token store. */
  buildConnection: ConnectionBuilder;
  /**
   * The providers reached at a configured base URL: the only ones reconciliation may ask, since "absent" from a
   * fresh sandbox emulator proves nothing about an earlier run.
   */
  reconcilable: ProviderRegistry;
  stop(): Promise<void>;
}

interface Setup {
  provider: InvoiceProvider;
  emulator?: Emulator;
}

/** Starts an emulator and builds the provider against it. */
async function sandboxed<E extends Emulator>(emulator: E, build: (e: E) => InvoiceProvider): Promise<Setup> {
  await emulator.start(0);
  return { provider: build(emulator), emulator };
}

/**
 * One entry per provider: the real API where its base URL is configured, its sandbox emulator otherwise.
 * Adding a provider adds one entry here.
 */
const SETUPS: Record<string, (config: Config, shared: ProviderSharing, logger: Logger) => Promise<Setup | null>> = {
  SALESFORCE: async ({ salesforce, providerTimeoutMs: timeoutMs }, { sharedTokens }) =>
    'sandbox' in salesforce
      ? sandboxed(
          // The sandbox serves every API version up to the configured one.
          new SalesforceEmulator({ maxApiVersion: Math.max(66, Number(salesforce.apiVersion)) }),
          (e) => new SalesforceProvider({ instanceUrl: e.baseUrl, accessToken: SALESFORCE_SANDBOX_TOKEN, apiVersion: salesforce.apiVersion, timeoutMs }),
        )
      : { provider: new SalesforceProvider({ ...salesforce, timeoutMs, sharedTokens }) },
  SALLA: async ({ salla, providerTimeoutMs: timeoutMs }, { sharedTokens }, logger) =>
    salla === 'sandbox'
      ? sandboxed(new SallaEmulator(), (e) => new SallaProvider({ baseUrl: e.baseUrl, accessToken: SALLA_SANDBOX_TOKEN, timeoutMs }))
      : 'appOnly' in salla
        ? null
        : { provider: new SallaProvider({ ...salla, timeoutMs, sharedTokens, logger }) },
  ZUORA: async ({ zuora, providerTimeoutMs: timeoutMs }, { sharedTokens }) =>
    zuora === 'sandbox'
      ? sandboxed(
          new ZuoraEmulator(),
          (e) => new ZuoraProvider({ baseUrl: e.baseUrl, credentials: { clientId: ZUORA_SANDBOX_CLIENT_ID, clientSecret: ZUORA_SANDBOX_CLIENT_SECRET }, timeoutMs }),
        )
      : { provider: new ZuoraProvider({ ...zuora, timeoutMs, sharedTokens }) },
  EXSITED: async ({ exsited, providerTimeoutMs: timeoutMs }, { sharedTokens }) =>
    exsited === 'sandbox'
      ? sandboxed(
          new ExsitedEmulator(),
          (e) => new ExsitedProvider({ baseUrl: e.baseUrl, credentials: { clientId: EXSITED_SANDBOX_CLIENT_ID, clientSecret: EXSITED_SANDBOX_CLIENT_SECRET }, timeoutMs }),
        )
      : { provider: new ExsitedProvider({ ...exsited, timeoutMs, sharedTokens }) },
  COMMERCE: async ({ commerce, providerTimeoutMs: timeoutMs }) =>
    'sandbox' in commerce
      ? sandboxed(new CommerceEmulator(), (e) => new CommerceProvider({ baseUrl: e.baseUrl, accessToken: COMMERCE_SANDBOX_TOKEN, currency: commerce.currency, timeoutMs }))
      : { provider: new CommerceProvider({ ...commerce, timeoutMs }) },
};

/** What the providers of this process share with the other replicas. */
export interface ProviderSharing {
  /**
   * The OAuth tokens of configured providers (the ledger's database), and Salla's rotating session, which must
   * outlive the process. A sandbox emulator belongs to one process, so its tokens are not shared.
   */
  sharedTokens?: SharedTokenStore;
}

/** True when the provider has no base URL configured (it would need its sandbox). */
function unconfigured(code: ProviderCode, config: Config): boolean {
  const c = { SALESFORCE: config.salesforce, SALLA: config.salla, ZUORA: config.zuora, EXSITED: config.exsited, COMMERCE: config.commerce }[code];
  return c === 'sandbox' || (typeof c === 'object' && 'sandbox' in c);
}

/**
 * Builds the provider registry from configuration, starting the sandboxes it needs. Called once at start. A provider
 * with neither a base URL nor a sandbox (production, unless SANDBOX_PROVIDERS names it) is left out: not connected.
 */
export async function startProviders(config: Config, logger: Logger, shared: ProviderSharing = {}): Promise<StartedProviders> {
  const wanted = Object.entries(SETUPS).filter(([code]) => !unconfigured(code as ProviderCode, config) || config.sandboxes.has(code as ProviderCode));
  const missing = Object.keys(SETUPS).filter((code) => !wanted.some(([c]) => c === code));
  if (missing.length > 0) {
    logger.warn({ providers: missing }, 'providers not connected (no base URL, and no sandbox asked for in SANDBOX_PROVIDERS): their creates answer PROVIDER_NOT_CONNECTED');
  }
  const setups = (await Promise.all(wanted.map(([, setup]) => setup(config, shared, logger)))).filter((s): s is Setup => s !== null);
  const emulators: StartedProviders['emulators'] = {};
  const sandboxes: StartedProviders['sandboxes'] = {};
  for (const { provider, emulator } of setups) {
    if (emulator) {
      emulators[provider.code] = emulator;
      sandboxes[provider.code] = emulator.baseUrl;
      logger.info({ provider: provider.code, baseUrl: emulator.baseUrl }, 'sandbox emulator started (no base URL configured)');
    } else {
      logger.info({ provider: provider.code }, 'provider configured');
    }
  }
  const registry = new ProviderRegistry(setups.map((s) => s.provider));
  const baseUrls: Partial<Record<ProviderCode, string>> = { ...configuredBaseUrls(config), ...sandboxes };
  const sallaApp = config.sallaApp ?? (emulators.SALLA ? { clientId: SALLA_SANDBOX_CLIENT_ID, clientSecret: SALLA_SANDBOX_CLIENT_SECRET, tokenUrl: (emulators.SALLA as SallaEmulator).tokenUrl } : null);
  return {
    registry,
    emulators,
    sandboxes,
    baseUrls,
    buildConnection: connectionBuilder(config, shared, logger, sallaApp),
    reconcilable: new ProviderRegistry(setups.filter((s) => !s.emulator).map((s) => s.provider)),
    stop: async () => {
      await registry.close();
      await Promise.all(Object.values(emulators).map((e) => e.stop()));
    },
  };
}

/** The base URLs configured for each provider (the deployment's own accounts). */
function configuredBaseUrls(config: Config): Partial<Record<ProviderCode, string>> {
  const out: Partial<Record<ProviderCode, string>> = {};
  if (typeof config.salla === 'object') out.SALLA = config.salla.baseUrl;
  if ('instanceUrl' in config.salesforce) out.SALESFORCE = config.salesforce.instanceUrl;
  if (typeof config.zuora === 'object') out.ZUORA = config.zuora.baseUrl;
  if (typeof config.exsited === 'object') out.EXSITED = config.exsited.baseUrl;
  if ('baseUrl' in config.commerce) out.COMMERCE = config.commerce.baseUrl;
  return out;
}

/**
 * How a tenant's connection becomes a provider: the same classes as the deployment's own accounts, with the tenant's
 * credentials, its tokens kept in the shared store under the connection's id (so replicas renew each connection one at
 * a time, and a Salla store's single-use refresh token is spent once). Salla's refresh grants need the app's client
 * (SALLA_CLIENT_ID, SALLA_CLIENT_SECRET; the sandbox's own app where Salla is sandboxed).
 */
function connectionBuilder(config: Config, shared: ProviderSharing, logger: Logger, sallaApp: { clientId: string; clientSecret: string; tokenUrl: string } | null): ConnectionBuilder {
  const timeoutMs = config.providerTimeoutMs;
  const { sharedTokens } = shared;
  return (c, connectionId) => {
    switch (c.provider) {
      case 'SALLA':
        return new SallaProvider({
          baseUrl: c.baseUrl,
          connectionId,
          timeoutMs,
          logger,
          sharedTokens,
          ...(c.refreshToken && sallaApp ? { oauth: { ...sallaApp, refreshToken: c.refreshToken } } : { accessToken: c.accessToken }),
        });
      case 'ZUORA':
        return new ZuoraProvider({ baseUrl: c.baseUrl, credentials: { clientId: c.clientId, clientSecret: c.clientSecret }, connectionId, timeoutMs, sharedTokens });
      case 'SALESFORCE':
        return new SalesforceProvider({
          instanceUrl: c.instanceUrl,
          credentials: { clientId: c.clientId, clientSecret: c.clientSecret },
          apiVersion: config.salesforce.apiVersion,
          connectionId,
          timeoutMs,
          sharedTokens,
        });
      case 'EXSITED':
        return new ExsitedProvider({ baseUrl: c.baseUrl, credentials: { clientId: c.clientId, clientSecret: c.clientSecret }, ...(c.redirectUri ? { redirectUri: c.redirectUri } : {}), connectionId, timeoutMs, sharedTokens });
      case 'COMMERCE':
        return new CommerceProvider({ baseUrl: c.baseUrl, accessToken: c.accessToken, currency: c.currency, timeoutMs });
    }
  };
}

/** Every provider's documented webhooks, by code: known without an account (Salla's app-only deployments have none). */
export const PROVIDER_WEBHOOKS: Partial<Record<ProviderCode, ProviderWebhooks>> = { SALLA: sallaWebhooks, ZUORA: zuoraWebhooks };
