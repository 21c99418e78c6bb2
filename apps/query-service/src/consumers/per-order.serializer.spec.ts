import { PerOrderSerializer } from './per-order.serializer';

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('PerOrderSerializer', () => {
  it('runs the tasks of one order one at a time, in the order given', async () => {
    const serializer = new PerOrderSerializer();
    const log: string[] = [];
    let running = 0;
    for (const [name, ms] of [
      ['a', 15],
      ['b', 1],
      ['c', 5],
    ] as const) {
      void serializer.runInOrder('order-1', async () => {
        running += 1;
        expect(running).toBe(1);
        await tick(ms);
        log.push(name);
        running -= 1;
      });
    }
    await serializer.drain();
    expect(log).toEqual(['a', 'b', 'c']);
  });

  it('lets different orders proceed side by side', async () => {
    const serializer = new PerOrderSerializer();
    const log: string[] = [];
    void serializer.runInOrder('slow', async () => {
      await tick(30);
      log.push('slow');
    });
    void serializer.runInOrder('fast', async () => {
      await tick(1);
      log.push('fast');
    });
    await serializer.drain();
    expect(log).toEqual(['fast', 'slow']);
  });

  it('keeps going after a failed task and forgets finished orders', async () => {
    const serializer = new PerOrderSerializer();
    const log: string[] = [];
    void serializer.runInOrder('order-1', () => Promise.reject(new Error('boom')));
    void serializer.runInOrder('order-1', () => {
      log.push('after failure');
      return Promise.resolve();
    });
    await serializer.drain();
    expect(log).toEqual(['after failure']);
    expect(serializer.pendingOrders).toBe(0);
  });

  it('drains tasks queued while draining', async () => {
    const serializer = new PerOrderSerializer();
    const log: string[] = [];
    void serializer.runInOrder('order-1', async () => {
      await tick(5);
      void serializer.runInOrder('order-2', async () => {
        await tick(5);
        log.push('late');
      });
    });
    await serializer.drain();
    expect(log).toEqual(['late']);
  });
});
