import {
  isOrderEventType,
  orderEventSchemas,
  orderPlacedV1,
  type OrderEventType,
} from '@orders/contracts';

type Upcaster = (data: unknown) => unknown;

/**
 * How to lift stored event data of an older schema version by one version. Stored rows are
 * never rewritten; every read passes through here, so the rest of the code sees current
 * schemas only. Add a step for each new schema version (docs/event-evolution.md).
 */
const upcasters: { [T in OrderEventType]?: Record<number, Upcaster> } = {
  OrderPlaced: {
    1: (data) => {
      const v1 = orderPlacedV1.parse(data);
      return {
        ...v1,
        itemCount: v1.items.reduce((sum, line) => sum + line.quantity, 0),
        total: v1.items.reduce((sum, line) => sum + line.lineTotal, 0),
      };
    },
  },
};

export function upcastEvent(
  type: string,
  schemaVersion: number,
  data: unknown,
): { schemaVersion: number; data: unknown } {
  if (!isOrderEventType(type)) throw new Error(`stored event of unknown type ${type}`);
  const current = orderEventSchemas[type].schemaVersion;
  let version = schemaVersion;
  let upcast = data;
  while (version < current) {
    const step = upcasters[type]?.[version];
    if (!step) throw new Error(`no upcaster for ${type} schema version ${version}`);
    upcast = step(upcast);
    version += 1;
  }
  return { schemaVersion: version, data: upcast };
}
