import { PerOrderRuns } from './per-order.runs';

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('PerOrderRuns', () => {
  it('runs one order one run at a time; what arrives meanwhile forms the next run', async () => {
    const runs: string[][] = [];
    let running = 0;
    const perOrder = new PerOrderRuns<string, string>(async (items) => {
      running += 1;
      expect(running).toBe(1);
      runs.push(items);
      await tick(5);
      running -= 1;
      return items.map((item) => `done ${item}`);
    });
    const results = Promise.all(
      ['a', 'b', 'c', 'd'].map((item) => perOrder.submit('order-1', item)),
    );
    expect(await results).toEqual(['done a', 'done b', 'done c', 'done d']);
    expect(runs).toEqual([['a'], ['b', 'c', 'd']]);
    expect(perOrder.pendingOrders).toBe(0);
  });

  it('lets different orders proceed side by side', async () => {
    const log: string[] = [];
    const perOrder = new PerOrderRuns<number, void>(async ([ms]) => {
      await tick(ms as number);
      log.push(String(ms));
      return [undefined];
    });
    void perOrder.submit('slow', 30);
    void perOrder.submit('fast', 1);
    await perOrder.drain();
    expect(log).toEqual(['1', '30']);
  });

  it('fails every item of a failed run, and keeps going with the next one', async () => {
    const perOrder = new PerOrderRuns<string, string>(async (items) => {
      await tick(1);
      if (items.includes('bad')) throw new Error('boom');
      return items;
    });
    const outcomes = await Promise.allSettled(
      ['first', 'bad', 'with bad', 'later'].map((item, i) =>
        i < 3
          ? perOrder.submit('order-1', item)
          : tick(5).then(() => perOrder.submit('order-1', item)),
      ),
    );
    expect(outcomes.map((outcome) => outcome.status)).toEqual([
      'fulfilled',
      'rejected',
      'rejected',
      'fulfilled',
    ]);
    expect(perOrder.pendingOrders).toBe(0);
  });

  it('drains runs started while draining', async () => {
    const log: string[] = [];
    const perOrder = new PerOrderRuns<string, void>(async ([item]) => {
      await tick(5);
      if (item === 'first') void perOrder.submit('order-2', 'late');
      log.push(item as string);
      return [undefined];
    });
    void perOrder.submit('order-1', 'first');
    await perOrder.drain();
    expect(log).toEqual(['first', 'late']);
  });
});
