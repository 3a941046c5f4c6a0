import pino from 'pino';
import { SallaEmulator } from '../../src/sandbox/salla/salla.emulator';
import { SALLA_SANDBOX_TOKEN } from '../../src/sandbox/salla/salla.seed';
import { loadConfig } from '../../src/server/config';
import { startProviders } from '../../src/server/providers';

/**
 * Reconciliation may only ask providers reached at a configured base URL: a sandbox emulator started fresh by this
 * process would "verify" the absence of whatever an earlier run did there, and release (or, for Zuora, redo) it.
 */
describe('which providers reconciliation may ask', () => {
  const salla = new SallaEmulator();
  beforeAll(() => salla.start(0));
  afterAll(() => salla.stop());

  it('only those with a base URL; the sandboxed ones serve requests but are left out of reconciliation', async () => {
    const providers = await startProviders(loadConfig({ SALLA_BASE_URL: salla.baseUrl, SALLA_ACCESS_TOKEN: SALLA_SANDBOX_TOKEN }), pino({ level: 'silent' }));
    try {
      expect(providers.registry.codes().sort()).toEqual(['COMMERCE', 'EXSITED', 'SALESFORCE', 'SALLA', 'ZUORA']);
      expect(providers.reconcilable.codes()).toEqual(['SALLA']);
    } finally {
      await providers.stop();
    }
  });
});
