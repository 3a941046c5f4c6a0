import type { SharedTokenStore, StoredToken } from '../../src/providers/shared/token-source';

/** A store like the database's: one value per name, its life counted by the store's clock, refreshes one at a time. */
export function memoryStore(now: () => number) {
  const values = new Map<string, { sealed: string; expiresAt: number }>();
  let queue: Promise<unknown> = Promise.resolve();
  const read = (name: string): StoredToken | null => {
    const v = values.get(name);
    return v ? { sealed: v.sealed, expiresInMs: v.expiresAt - now() } : null;
  };
  const store = {
    values,
    down: false,
    /** Set to make `exclusive` fail as a lock wait that timed out would. */
    lockTimesOut: false,
    /** Set to make `exclusive` fail after its work, as a failed COMMIT would. */
    releaseFails: false,
    locked: 0,
    read: async (name: string) => {
      if (store.down) throw new Error('database unreachable');
      return read(name);
    },
    write: async (name: string, sealed: string, ms: number) => {
      if (store.down) throw new Error('database unreachable');
      values.set(name, { sealed, expiresAt: now() + ms });
    },
    exclusive: <T>(name: string, _waitMs: number, fn: (held: { read(): Promise<StoredToken | null>; write(sealed: string, ms: number): Promise<void> }) => Promise<T>): Promise<T> => {
      if (store.down) return Promise.reject(new Error('database unreachable'));
      if (store.lockTimesOut) return Promise.reject(new Error('timed out waiting for the lock'));
      const run = queue.then(async () => {
        store.locked++;
        const out = await fn({ read: async () => read(name), write: async (sealed, ms) => void values.set(name, { sealed, expiresAt: now() + ms }) });
        if (store.releaseFails) throw new Error('connection lost at COMMIT');
        return out;
      });
      queue = run.catch(() => undefined);
      return run;
    },
  };
  return store satisfies SharedTokenStore;
}
