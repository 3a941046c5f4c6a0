import { GroupCommit } from './group-commit';

/** A write function whose batches land only when the test says so, recording what each batch held. */
function gated() {
  const batches: string[][] = [];
  const gates: Array<() => void> = [];
  const many = async (items: readonly string[]) => {
    batches.push([...items]);
    await new Promise<void>((resolve) => gates.push(resolve));
    return items.map((i) => i.toUpperCase());
  };
  const one = (item: string) => many([item]).then(([out]) => out!);
  return { batches, many, one, land: () => gates.shift()!() };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('GroupCommit', () => {
  it('writes the items that arrive together as one batch, answering each in order', async () => {
    const g = gated();
    const gc = new GroupCommit(g.one, g.many);
    const out = Promise.all(['a', 'b', 'c'].map((i) => gc.write(i)));
    await turn();
    expect(g.batches).toEqual([['a', 'b', 'c']]);
    g.land();
    expect(await out).toEqual(['A', 'B', 'C']);
    expect(gc.stats).toEqual({ batches: 1, items: 3, fallbacks: 0 });
  });

  it('holds the writes that arrive while a batch is in flight, and sends them together when it lands', async () => {
    const g = gated();
    const gc = new GroupCommit(g.one, g.many);
    const first = gc.write('a');
    await turn();
    const later = Promise.all(['b', 'c'].map((i) => gc.write(i)));
    await turn();
    await turn();
    expect(g.batches).toEqual([['a']]);
    g.land();
    expect(await first).toBe('A');
    await turn();
    expect(g.batches).toEqual([['a'], ['b', 'c']]);
    g.land();
    expect(await later).toEqual(['B', 'C']);
  });

  it('does not let a stuck batch hold up later writes for longer than maxWaitMs', async () => {
    const g = gated();
    const gc = new GroupCommit(g.one, g.many, undefined, { maxWaitMs: 20 });
    void gc.write('stuck');
    await turn();
    const later = Promise.all(['b', 'c'].map((i) => gc.write(i)));
    await new Promise((r) => setTimeout(r, 10));
    expect(g.batches).toEqual([['stuck']]);
    await new Promise((r) => setTimeout(r, 25));
    expect(g.batches).toEqual([['stuck'], ['b', 'c']]);
    g.land();
    g.land();
    expect(await later).toEqual(['B', 'C']);
  });

  it('writes an item alone at once when nothing is in flight', async () => {
    const many = jest.fn(async (items: readonly string[]) => items.map((i) => i.toUpperCase()));
    const one = jest.fn(async (item: string) => item.toUpperCase());
    const gc = new GroupCommit(one, many);
    expect(await gc.write('a')).toBe('A');
    expect(await gc.write('b')).toBe('B');
    expect(one).toHaveBeenCalledTimes(2);
    expect(many).not.toHaveBeenCalled();
  });

  it('when a batch fails, writes each item on its own, so that only the bad one fails', async () => {
    const many = jest.fn(async (): Promise<string[]> => {
      throw new Error('the batch broke');
    });
    const one = jest.fn(async (item: string) => {
      if (item === 'bad') throw new Error('bad item');
      return item.toUpperCase();
    });
    const gc = new GroupCommit(one, many);
    const out = await Promise.allSettled(['a', 'bad', 'c'].map((i) => gc.write(i)));
    expect(many).toHaveBeenCalledTimes(1);
    expect(gc.stats.fallbacks).toBe(1);
    expect(out).toEqual([
      { status: 'fulfilled', value: 'A' },
      { status: 'rejected', reason: new Error('bad item') },
      { status: 'fulfilled', value: 'C' },
    ]);
  });

  it('caps a batch at maxBatchSize', async () => {
    const many = jest.fn(async (items: readonly number[]) => items.map((i) => i * 2));
    const gc = new GroupCommit(async (i: number) => i * 2, many, undefined, { maxBatchSize: 4 });
    expect(await Promise.all([1, 2, 3, 4, 5, 6].map((i) => gc.write(i)))).toEqual([2, 4, 6, 8, 10, 12]);
    expect(many.mock.calls.map(([items]) => items.length)).toEqual([4, 2]);
  });
});
