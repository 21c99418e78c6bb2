/**
 * The consistency token a command answers with. A read that presents it waits until the
 * read side reflects at least that write: the order at `version` or later, and the global
 * feed at `position` or later. Opaque to clients: base64url of a small JSON document.
 */
export interface ConsistencyToken {
  orderId: string;
  version: number;
  position: string;
}

export function encodeConsistencyToken(token: ConsistencyToken): string {
  return Buffer.from(JSON.stringify([1, token.orderId, token.version, token.position])).toString(
    'base64url',
  );
}

/** Returns null for anything that is not a token this service issued. */
export function decodeConsistencyToken(text: string): ConsistencyToken | null {
  if (text.length > 200 || !/^[A-Za-z0-9_-]+$/.test(text)) return null;
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (!Array.isArray(value) || value.length !== 4 || value[0] !== 1) return null;
    const [, orderId, version, position] = value as unknown[];
    if (typeof orderId !== 'string' || !/^[0-9a-f-]{36}$/.test(orderId)) return null;
    if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) return null;
    if (typeof position !== 'string' || !/^[0-9]{1,20}$/.test(position)) return null;
    return { orderId, version, position };
  } catch {
    return null;
  }
}
