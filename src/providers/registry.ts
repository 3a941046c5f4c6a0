import type { ProviderCode } from '../domain/invoice';
import type { InvoiceProvider } from './provider';

/** The configured providers, by code. Built once at start; fails loudly on a code that is not configured. */
export class ProviderRegistry {
  private readonly byCode = new Map<ProviderCode, InvoiceProvider>();

  constructor(providers: InvoiceProvider[]) {
    for (const p of providers) {
      if (this.byCode.has(p.code)) throw new Error(`provider ${p.code} registered twice`);
      this.byCode.set(p.code, p);
    }
  }

  get<TInput = unknown>(code: ProviderCode): InvoiceProvider<TInput> {
    const provider = this.byCode.get(code);
    if (!provider) throw new Error(`no provider configured for ${code}`);
    return provider as InvoiceProvider<TInput>;
  }

  has(code: ProviderCode): boolean {
    return this.byCode.has(code);
  }

  codes(): ProviderCode[] {
    return [...this.byCode.keys()];
  }

  async close(): Promise<void> {
    await Promise.all([...this.byCode.values()].map((p) => p.close?.()));
  }
}
