const MANAGEMENT_URL = process.env.TEST_RABBITMQ_MANAGEMENT_URL ?? 'http://127.0.0.1:15672';
const USER = process.env.TEST_RABBITMQ_USER ?? 'guest';
const PASSWORD = process.env.TEST_RABBITMQ_PASSWORD ?? 'guest';
const AUTH = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;

export interface ConnectionInfo {
  name: string;
  /** Milliseconds since the epoch. */
  connected_at: number;
  client_properties?: { connection_name?: string };
}

/**
 * Has the broker force-close every connection of `vhost` whose client-given name starts with
 * `namePrefix` (of those, the ones `pick` picks), as a broker restart or network cut would.
 * Returns how many it closed.
 */
export async function dropConnections(
  vhost: string,
  namePrefix: string,
  pick: (connections: ConnectionInfo[]) => ConnectionInfo[] = (all) => all,
): Promise<number> {
  const listed = await fetch(
    `${MANAGEMENT_URL}/api/vhosts/${encodeURIComponent(vhost)}/connections`,
    {
      headers: { authorization: AUTH },
    },
  );
  if (!listed.ok) throw new Error(`listing connections of ${vhost}: ${listed.status}`);
  const connections = pick(
    ((await listed.json()) as ConnectionInfo[]).filter((connection) =>
      connection.client_properties?.connection_name?.startsWith(namePrefix),
    ),
  );
  for (const connection of connections) {
    const closed = await fetch(
      `${MANAGEMENT_URL}/api/connections/${encodeURIComponent(connection.name)}`,
      {
        method: 'DELETE',
        headers: { authorization: AUTH, 'x-reason': 'test: simulated connection loss' },
      },
    );
    if (!closed.ok && closed.status !== 404)
      throw new Error(`closing ${connection.name}: ${closed.status}`);
  }
  return connections.length;
}
