import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Parser } from '@asyncapi/parser';
import { buildAsyncApiDocument, publishedEventContracts } from './asyncapi-document';

const root = join(__dirname, '..', '..', '..', '..');
const readJson = (path: string) => JSON.parse(readFileSync(join(root, path), 'utf8')) as unknown;

describe('message contracts', () => {
  it('docs/asyncapi.json is the document the code builds (npm run contracts:write)', () => {
    expect(readJson('docs/asyncapi.json')).toEqual(
      JSON.parse(JSON.stringify(buildAsyncApiDocument())),
    );
  });

  it('is a valid AsyncAPI document', async () => {
    const { diagnostics } = await new Parser().parse(JSON.stringify(buildAsyncApiDocument()));
    // Severity 0 is an error; warnings and hints do not make a document invalid.
    expect(diagnostics.filter((d) => d.severity.valueOf() === 0)).toEqual([]);
  });

  it('changes no published event version and no routing key without a new schemaVersion', () => {
    const lock = readJson('libs/contracts/published-events.lock.json') as Record<
      string,
      { routingKey: string; envelope: unknown }
    >;
    const current = publishedEventContracts();
    for (const [key, contract] of Object.entries(current)) {
      // A version missing from the lock is new: npm run contracts:write records it.
      expect({ key, locked: key in lock }).toEqual({ key, locked: true });
      expect({ key, contract: JSON.parse(JSON.stringify(contract)) }).toEqual({
        key,
        contract: lock[key],
      });
    }
    for (const [key, locked] of Object.entries(lock)) {
      const type = key.split('@')[0]!;
      const now = Object.entries(current).find(([k]) => k.startsWith(`${type}@`));
      expect({ type, stillPublished: now !== undefined }).toEqual({ type, stillPublished: true });
      expect({ type, routingKey: now![1].routingKey }).toEqual({
        type,
        routingKey: locked.routingKey,
      });
    }
  });
});
