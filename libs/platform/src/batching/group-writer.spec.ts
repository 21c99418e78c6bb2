import { GroupWriter } from './group-writer';

interface Item {
  key: string;
  group: number;
  bad?: boolean;
}

/** A store that answers each write when told to, and records the batches it was given. */
class HeldStore {
  readonly batches: string[][] = [];
  private readonly held: (() => void)[] = [];

  write = async (items: Item[]): Promise<string[]> => {
    this.batches.push(items.map((item) => item.key));
    await new Promise<void>((resolve) => this.held.push(resolve));
    if (items.some((item) => item.bad)) throw new Error(`refused ${items.length}`);
    return items.map((item) => `wrote ${item.key}`);
  };

  /** Answers every write in flight, and the ones they start, until none is left. */
  async answerAll(): Promise<void> {
    for (let rounds = 0; rounds < 100; rounds++) {
      await new Promise((resolve) => setImmediate(resolve));
      const answering = this.held.splice(0);
      if (answering.length === 0) return;
      answering.forEach((answer) => answer());
    }
  }
}

describe('GroupWriter', () => {
  it('writes at once while a write is free, and what arrives meanwhile together', async () => {
    const store = new HeldStore();
    const writer = new GroupWriter<Item, string>({
      writeTogether: store.write,
      concurrency: 1,
      maxBatch: 3,
    });
    const results = Promise.all(
      ['a', 'b', 'c', 'd', 'e', 'f'].map((key) => writer.write({ key, group: 0 })),
    );
    await store.answerAll();
    expect(await results).toEqual(['a', 'b', 'c', 'd', 'e', 'f'].map((key) => `wrote ${key}`));
    expect(store.batches).toEqual([['a'], ['b', 'c', 'd'], ['e', 'f']]);
  });

  it('keeps one item per key and one group per batch, oldest first', async () => {
    const store = new HeldStore();
    const writer = new GroupWriter<Item, string>({
      writeTogether: store.write,
      concurrency: 1,
      maxBatch: 10,
      groupOf: (item) => item.group,
      keyOf: (item) => item.key[0] as string,
    });
    const items: Item[] = [
      { key: 'first', group: 1 },
      { key: 'a1', group: 1 },
      { key: 'a2', group: 1 },
      { key: 'b1', group: 2 },
      { key: 'c1', group: 1 },
    ];
    const results = Promise.all(items.map((item) => writer.write(item)));
    await store.answerAll();
    await results;
    expect(store.batches).toEqual([['first'], ['a1', 'c1'], ['a2'], ['b1']]);
  });

  it('writes a failed batch again item by item, so only the item at fault fails', async () => {
    const store = new HeldStore();
    const writer = new GroupWriter<Item, string>({
      writeTogether: store.write,
      concurrency: 1,
      maxBatch: 10,
    });
    const outcomes = Promise.allSettled(
      [{ key: 'x' }, { key: 'y' }, { key: 'bad', bad: true }, { key: 'z' }].map((item) =>
        writer.write({ group: 0, ...item }),
      ),
    );
    await store.answerAll();
    expect((await outcomes).map((outcome) => outcome.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
    ]);
    expect(store.batches).toEqual([['x'], ['y', 'bad', 'z'], ['y'], ['bad'], ['z']]);
  });

  it('fails every item of a batch at once when the error would fail each of them', async () => {
    const store = new HeldStore();
    const writer = new GroupWriter<Item, string>({
      writeTogether: store.write,
      concurrency: 1,
      maxBatch: 10,
      failsEveryItem: () => true,
    });
    const outcomes = Promise.allSettled(
      [{ key: 'x' }, { key: 'y', bad: true }, { key: 'z' }].map((item) =>
        writer.write({ group: 0, ...item }),
      ),
    );
    await store.answerAll();
    expect((await outcomes).map((outcome) => outcome.status)).toEqual([
      'fulfilled',
      'rejected',
      'rejected',
    ]);
    expect(store.batches).toEqual([['x'], ['y', 'z']]);
  });
});
