import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';

/**
 * Seals what replicas keep in the shared token store (tokens, or a rotating session as JSON) so that the store never
 * holds a usable secret: AES-256-GCM under a key derived from the account's client secret (scrypt: slow to guess from
 * a stolen row), the store's name for the value bound as associated data, so a row copied under another name fails.
 */
export class TokenSeal {
  private key: Buffer | null = null;

  constructor(
    private readonly secret: string,
    private readonly name: string,
  ) {}

  seal(text: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.sealingKey(), iv);
    cipher.setAAD(Buffer.from(this.name));
    const body = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
    return ['v1', iv.toString('base64url'), body.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
  }

  /** The sealed text, or null if it was sealed with other credentials or for another name (or is no sealed value). */
  open(sealed: string): string | null {
    const [version, iv, body, tag] = sealed.split('.');
    if (version !== 'v1' || !iv || !body || !tag) return null;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.sealingKey(), Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(this.name));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      return null;
    }
  }

  /** Derived once, on first use (about 50 ms of scrypt). */
  private sealingKey(): Buffer {
    this.key ??= scryptSync(this.secret, `invoicing-subgraph shared token ${this.name}`, 32, { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
    return this.key;
  }
}
