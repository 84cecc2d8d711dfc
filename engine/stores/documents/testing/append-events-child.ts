/**
 * A second process for the cross-process event test: opens the same lab.db, says `ready`,
 * waits for a line on stdin (so both processes start together), then appends events to one
 * run: `count` of its own and `count` shared keys that the other process also sends.
 *
 * Usage: node --import tsx append-events-child.ts <dataDir> <runId> <prefix> <count>
 */
import { createInterface } from 'node:readline';
import { SqliteDocumentStore } from '../sqlite';

const [dataDir, runId, prefix, countText] = process.argv.slice(2);
const count = Number(countText);
const store = new SqliteDocumentStore(dataDir);
process.stdout.write('ready\n');
const lines = createInterface({ input: process.stdin });
await new Promise<void>((resolve) => lines.once('line', () => resolve()));
lines.close();

const seqs: number[] = [];
for (let i = 0; i < count; i += 1) {
  for (const key of [`${prefix}-${i}`, `shared-${i}`]) {
    const stored = await store.events.append({
      key,
      runId,
      type: 'node.progress',
      nodeId: prefix,
      progress: i / count,
      at: new Date(0).toISOString(),
    });
    if (stored) seqs.push(stored.seq);
  }
}
await store.close();
process.stdout.write(`${JSON.stringify({ seqs })}\n`);
