import type { EventEnvelope } from '@orders/contracts';

/** Every event the command service's feed shows now, in position order. */
export async function readWholeFeed(commandUrl: string): Promise<EventEnvelope[]> {
  const events: EventEnvelope[] = [];
  let after = '0';
  for (;;) {
    const response = await fetch(`${commandUrl}/events?after=${after}&limit=1000`);
    if (!response.ok) throw new Error(`GET /events: ${response.status}`);
    const page = (await response.json()) as { events: EventEnvelope[]; lastPosition: string };
    events.push(...page.events);
    if (page.events.length < 1000) return events;
    after = page.lastPosition;
  }
}
