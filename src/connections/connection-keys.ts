import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/** Why a sealed value could not be opened: no key of this process sealed it, or it was altered or moved. */
export class UnreadableCredentials extends Error {
  override readonly name = 'UnreadableCredentials';
}

const VERSION = 'v1';

/** A 32-byte AES key and its id: the first 8 bytes of its SHA-256, hex (stored beside each value, never the key). */
interface Key {
  id: string;
  bytes: Buffer;
}

function keyOf(bytes: Buffer): Key {
  return { id: createHash('sha256').update(bytes).digest('hex').slice(0, 16), bytes };
}

/**
 * Seals tenants' provider credentials with AES-256-GCM under CONNECTIONS_KEY (a fresh 96-bit IV each time, NIST SP
 * 800-38D), bound to their row by the additional data (tenant, provider, connection id): a value copied into another
 * tenant's row does not open. `previous` (CONNECTIONS_KEY_PREVIOUS) still opens what it sealed, so the key can be
 * rotated without downtime: every replica first learns the new key, then seals with it, and `stale` values are sealed
 * again under the new one. Pure CPU: microseconds per value.
 */
export class ConnectionKeys {
  private readonly current: Key;
  private readonly keys: Map<string, Key>;

  constructor(current: Buffer, previous?: Buffer) {
    for (const k of [current, previous]) if (k && k.length !== 32) throw new Error('a connections key is 32 bytes');
    this.current = keyOf(current);
    this.keys = new Map([this.current, ...(previous ? [keyOf(previous)] : [])].map((k) => [k.id, k]));
  }

  /** The id of the key values are sealed with now; rows under another id are re-sealed (`stale`). */
  get currentId(): string {
    return this.current.id;
  }

  /** `v1.<key id>.<iv>.<ciphertext>.<tag>` (base64url), bound to `binding`. */
  seal(plaintext: string, binding: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.current.bytes, iv);
    cipher.setAAD(Buffer.from(binding, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, this.current.id, iv.toString('base64url'), body.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
  }

  /** The plaintext; throws UnreadableCredentials when no key here sealed it or it was altered or rebound. */
  open(sealed: string, binding: string): string {
    const [version, id, iv, body, tag] = sealed.split('.');
    const key = id ? this.keys.get(id) : undefined;
    if (version !== VERSION || !key || !iv || body === undefined || !tag) throw new UnreadableCredentials(`credentials sealed under key ${id ?? '?'}, which this process does not hold (CONNECTIONS_KEY, CONNECTIONS_KEY_PREVIOUS)`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key.bytes, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(binding, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new UnreadableCredentials('stored credentials failed their integrity check (altered, or moved from another row)');
    }
  }

  /** The ids of the older keys this process still opens with (CONNECTIONS_KEY_PREVIOUS): what a rotation seals again. */
  get previousIds(): string[] {
    return [...this.keys.keys()].filter((id) => id !== this.current.id);
  }

  /** Whether a sealed value was sealed under a key other than the current one (to seal again). */
  stale(sealed: string): boolean {
    return sealed.split('.')[1] !== this.current.id;
  }
}

/** Reads a CONNECTIONS_KEY value: 32 bytes in base64 (or base64url); null with the reason otherwise. */
export function parseConnectionsKey(text: string): Buffer | string {
  const trimmed = text.trim();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)) return 'must be base64';
  const bytes = Buffer.from(trimmed.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  return bytes.length === 32 ? bytes : `must be 32 bytes in base64 (got ${bytes.length}); make one with: openssl rand -base64 32`;
}
