import { setTimeout as sleep } from 'node:timers/promises';
import { DataSource } from 'typeorm';
import { CommitSignal } from './commit-signal';

describe('CommitSignal', () => {
  // Never connected: with the relay leading in this process, a commit wakes it in process.
  const signal = new CommitSignal(new DataSource({ type: 'postgres' }));
  signal.setLocalRelayLeads(true);

  /** 'woken' if the wait ends within a second (a commit), 'slept' if it runs its 3 s. */
  const waitUpToASecond = () =>
    Promise.race([signal.wait(3_000).then(() => 'woken'), sleep(1_000).then(() => 'slept')]);

  afterEach(() => signal.wake());

  it('wakes a waiting relay at a commit', async () => {
    const waiting = waitUpToASecond();
    signal.committed();
    expect(await waiting).toBe('woken');
  });

  it('does not lose a commit that came while the relay was not waiting (it was reading)', async () => {
    signal.committed();
    expect(await waitUpToASecond()).toBe('woken');
    // Only once: the next wait is for the next commit.
    expect(await waitUpToASecond()).toBe('slept');
  });

  it('does not lose a commit that came after an earlier wait ran out', async () => {
    await signal.wait(10);
    // The relay is reading again when the commit comes.
    signal.committed();
    expect(await waitUpToASecond()).toBe('woken');
  });

  it('does not lose a commit that came after a wait that `until` ended', async () => {
    await signal.wait(10); // takes the wake-up afterEach left
    let settle: () => void = () => undefined;
    const waiting = signal.wait(3_000, new Promise<void>((resolve) => (settle = resolve)));
    settle();
    expect(await waiting).toBe(false);
    signal.committed();
    expect(await waitUpToASecond()).toBe('woken');
  });
});
