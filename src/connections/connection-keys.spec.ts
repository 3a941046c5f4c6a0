import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { ConnectionKeys, parseConnectionsKey, UnreadableCredentials } from './connection-keys';

describe('ConnectionKeys', () => {
  const a = randomBytes(32);
  const b = randomBytes(32);

  it('opens what it sealed, with the same binding only', () => {
    const keys = new ConnectionKeys(a);
    const sealed = keys.seal('{"accessToken":"secret"}', 't1\u0000SALLA\u0000id1');
    expect(sealed).not.toContain('secret');
    expect(keys.open(sealed, 't1\u0000SALLA\u0000id1')).toBe('{"accessToken":"secret"}');
    // Moved to another tenant's row, it does not open.
    expect(() => keys.open(sealed, 't2\u0000SALLA\u0000id1')).toThrow(UnreadableCredentials);
  });

  it('seals the same text differently every time (a fresh IV)', () => {
    const keys = new ConnectionKeys(a);
    expect(keys.seal('x', 'b')).not.toBe(keys.seal('x', 'b'));
  });

  it('refuses a value altered in any part', () => {
    const keys = new ConnectionKeys(a);
    const sealed = keys.seal('credentials', 'b');
    const parts = sealed.split('.');
    for (let i = 2; i < parts.length; i++) {
      const altered = [...parts];
      const p = altered[i]!;
      altered[i] = (p[0] === 'A' ? 'B' : 'A') + p.slice(1);
      expect(() => keys.open(altered.join('.'), 'b')).toThrow(UnreadableCredentials);
    }
  });

  it('rotates: the previous key still opens, the current one seals, and old values are stale', () => {
    const before = new ConnectionKeys(a);
    const old = before.seal('creds', 'b');
    const rotating = new ConnectionKeys(b, a);
    expect(rotating.open(old, 'b')).toBe('creds');
    expect(rotating.stale(old)).toBe(true);
    const fresh = rotating.seal('creds', 'b');
    expect(rotating.stale(fresh)).toBe(false);
    // A replica with only the old key cannot open what the new one sealed: it says so.
    expect(() => before.open(fresh, 'b')).toThrow(/does not hold/);
  });

  it('round-trips any text, hostile values included', () => {
    const keys = new ConnectionKeys(a);
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.constantFrom('\u0000', '\uD800', 'x'.repeat(100_000))), (text) => {
        expect(keys.open(keys.seal(text, 'b'), 'b')).toBe(Buffer.from(text, 'utf8').toString('utf8'));
      }),
      { numRuns: 100 },
    );
  });

  it('reads CONNECTIONS_KEY as 32 bytes of base64 or base64url, and says why not', () => {
    expect(parseConnectionsKey(a.toString('base64'))).toEqual(a);
    expect(parseConnectionsKey(a.toString('base64url'))).toEqual(a);
    expect(parseConnectionsKey(randomBytes(16).toString('base64'))).toMatch(/32 bytes/);
    expect(parseConnectionsKey('not base64!')).toMatch(/base64/);
    expect(() => new ConnectionKeys(randomBytes(16))).toThrow(/32 bytes/);
  });
});
