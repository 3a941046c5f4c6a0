import { ProviderError } from '../../src/domain/errors';

/** The ProviderError a data source call rejects with; fails the test when it resolves or throws anything else. */
export async function providerFailure(p: Promise<unknown>): Promise<ProviderError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ProviderError) return err;
    throw err;
  }
  throw new Error('expected a ProviderError');
}
