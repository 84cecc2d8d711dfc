/**
 * An in-memory `Collection<T>` for provider tests that need a document-store collection (e.g.
 * Runway's external tasks) without a database. It logs every write so tests can check what
 * was stored and when. Test-only code.
 */
import type { Collection, ListOptions } from '../../stores/ports';

export class MemoryCollection<T extends { id: string }> implements Collection<T> {
  readonly records = new Map<string, T>();
  /** Every put, in order, as stored. */
  readonly writes: T[] = [];

  constructor(initial: T[] = []) {
    for (const record of initial) this.records.set(record.id, structuredClone(record));
  }

  async get(id: string): Promise<T | null> {
    const record = this.records.get(id);
    return record ? structuredClone(record) : null;
  }

  async list(options: ListOptions<T> = {}): Promise<T[]> {
    let items = [...this.records.values()].filter((record) =>
      Object.entries(options.where ?? {}).every(([key, value]) => record[key as keyof T] === value),
    );
    if (options.orderByDesc) {
      const key = options.orderByDesc;
      items = items.sort((a, b) => String(b[key]).localeCompare(String(a[key])));
    }
    return structuredClone(items.slice(0, options.limit ?? items.length));
  }

  async put(record: T): Promise<void> {
    this.records.set(record.id, structuredClone(record));
    this.writes.push(structuredClone(record));
  }

  async delete(id: string): Promise<boolean> {
    return this.records.delete(id);
  }
}
