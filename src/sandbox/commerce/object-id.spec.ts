import { OBJECT_ID, ObjectIdGenerator, objectIdTime } from './object-id';

describe('ObjectIdGenerator', () => {
  it("reproduces the seed's invoice and line ids from their second, process value and counter", () => {
    const ids = new ObjectIdGenerator({ processUnique: '2fa9114d9a', counter: 0xf87d29 });
    const at = new Date('2025-12-08T20:43:20.608Z');
    expect([ids.next(at), ids.next(at), ids.next(at)]).toEqual(['693738682fa9114d9af87d29', '693738682fa9114d9af87d2a', '693738682fa9114d9af87d2b']);
  });

  it('makes 24 lower-case hex digits carrying the creation second, all distinct within a second', () => {
    const ids = new ObjectIdGenerator();
    const at = new Date('2026-03-06T18:22:51.999Z');
    const made = Array.from({ length: 1000 }, () => ids.next(at));
    for (const id of made) {
      expect(id).toMatch(OBJECT_ID);
      expect(id).toBe(id.toLowerCase());
      expect(objectIdTime(id).toISOString()).toBe('2026-03-06T18:22:51.000Z');
    }
    expect(new Set(made).size).toBe(1000);
  });

  it('wraps the 3-byte counter instead of growing a 25th digit', () => {
    const ids = new ObjectIdGenerator({ processUnique: '0000000000', counter: 0xffffff });
    const at = new Date(0);
    expect([ids.next(at), ids.next(at)]).toEqual(['000000000000000000ffffff', '000000000000000000000000']);
  });

  it('refuses a seed that would not make an ObjectId', () => {
    expect(() => new ObjectIdGenerator({ processUnique: 'xyz', counter: 0 })).toThrow(/processUnique/);
    expect(() => new ObjectIdGenerator({ processUnique: '0000000000', counter: 0x1000000 })).toThrow(/counter/);
  });
});
