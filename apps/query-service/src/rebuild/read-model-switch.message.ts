import type { ConsumeMessage } from 'amqplib';

/**
 * The AMQP `type` of the switch marker: published by a rebuild into the projection's own
 * queue, so the one active consumer meets it in line with the events, after everything it
 * already applied to the old generation and before anything it will apply to the new one.
 */
export const READ_MODEL_SWITCH_TYPE = 'ReadModelSwitch';

export interface ReadModelSwitchMarker {
  generation: number;
  attempt: number;
}

export function encodeSwitchMarker(marker: ReadModelSwitchMarker): Buffer {
  return Buffer.from(JSON.stringify({ kind: 'read-model-switch', ...marker }));
}

export function isSwitchMarker(message: ConsumeMessage): boolean {
  return message.properties.type === READ_MODEL_SWITCH_TYPE;
}

/** Null for a message that claims to be a marker but is not a valid one. */
export function parseSwitchMarker(message: ConsumeMessage): ReadModelSwitchMarker | null {
  try {
    const body = JSON.parse(message.content.toString('utf8')) as Record<string, unknown>;
    const { kind, generation, attempt } = body;
    if (kind !== 'read-model-switch') return null;
    if (!Number.isSafeInteger(generation) || (generation as number) < 1) return null;
    if (!Number.isSafeInteger(attempt) || (attempt as number) < 1) return null;
    return { generation: generation as number, attempt: attempt as number };
  } catch {
    return null;
  }
}
