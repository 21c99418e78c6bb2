/*
 * `npm run contracts:write`: regenerates docs/asyncapi.json and adds new event versions to
 * the published-events lock. A changed entry for an existing version is refused: that
 * change needs a new schemaVersion (docs/event-evolution.md).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { buildAsyncApiDocument, publishedEventContracts } from '../src/documents/asyncapi-document';

const root = join(__dirname, '..', '..', '..');
const lockPath = join(root, 'libs/contracts/published-events.lock.json');
const lock = JSON.parse(readFileSync(lockPath, 'utf8')) as Record<string, unknown>;
const current = publishedEventContracts();
for (const [key, contract] of Object.entries(current)) {
  if (key in lock && !isDeepStrictEqual(lock[key], contract)) {
    console.error(`${key} changed after it was published; give it a new schemaVersion instead.`);
    process.exit(1);
  }
  lock[key] = contract;
}
writeFileSync(lockPath, `${JSON.stringify(lock, null, 2)}\n`);
writeFileSync(
  join(root, 'docs/asyncapi.json'),
  `${JSON.stringify(buildAsyncApiDocument(), null, 2)}\n`,
);
console.log('wrote docs/asyncapi.json and libs/contracts/published-events.lock.json');
