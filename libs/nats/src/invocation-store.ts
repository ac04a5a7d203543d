import type { KV } from '@nats-io/kv';
import { removeKey } from './bucket-keys.js';
import { BucketReader, bucketUsage, walkBucket, type BucketUsage, type WalkEnd, type WalkRange } from './bucket-walk.js';
import { isWrongRevision } from './errors.js';
import type { InvocationRecord } from '@taskmesh/protocol';
import { invocationKey } from './kv-keys.js';
import type { StoredPublisher } from './stored-publisher.js';

/** A stored record and the revision to update it against. */
export interface StoredInvocation {
  record: InvocationRecord;
  revision: number;
}

/** A stored record as met in write order: its revision is its stream sequence, `writtenAt` the server's write time (ms). */
export interface WrittenInvocation extends StoredInvocation {
  writtenAt: number;
}

/** Reads the invocations bucket forward, each read starting where the last one stopped. */
export interface InvocationReader {
  read(range: Omit<WalkRange, 'fromSeq'>, visit: (stored: WrittenInvocation) => boolean | void | Promise<boolean | void>): Promise<WalkEnd>;
  close(): Promise<void>;
}

/** The invocation records (the invocations bucket): create-once, revision-checked updates, so replicas are safe. */
export interface InvocationStore {
  /** Stores a new record; false when the id exists already (lasting dedup, beyond JetStream's Nats-Msg-Id window). */
  create(record: InvocationRecord): Promise<boolean>;
  get(id: string): Promise<StoredInvocation | undefined>;
  /** Replaces the record if it is still at `revision`; false when someone else wrote it first (re-read, re-apply). */
  update(record: InvocationRecord, revision: number): Promise<boolean>;
  /**
   * Writes the record if it is still at `revision` (0: only if there is none) and resolves its new revision, or
   * undefined when someone else wrote it first (or, for 0, created it).
   */
  write(record: InvocationRecord, revision: number): Promise<number | undefined>;
  /**
   * Read-modify-write with revision checks, retried on conflicts: `change` returns the new record, or undefined
   * to leave it. Resolves the record as written (or as found), undefined when there is none.
   */
  modify(id: string, change: (record: InvocationRecord) => InvocationRecord | undefined): Promise<InvocationRecord | undefined>;
  /**
   * Deletes the record (its message, no marker); a missing one is fine. With `revision`, only the record still at
   * that revision: false when it was rewritten (or re-created) since, or is gone.
   */
  delete(id: string, revision?: number): Promise<boolean>;
  /**
   * Visits the records of a part of the bucket's stream in write order (least recently written first); `visit`
   * returning false stops before that record. Costs what the range holds, not what the bucket holds (see walkBucket).
   */
  walk(range: WalkRange, visit: (stored: WrittenInvocation) => boolean | void | Promise<boolean | void>): Promise<WalkEnd>;
  /** A reader that moves forward through the bucket, read after read, on one consumer (see BucketReader). */
  reader(fromSeq?: number): InvocationReader;
  /** The bucket stream's sequence range, record count and bytes. */
  usage(): Promise<BucketUsage>;
}

/** Lost races in a row before `modify` gives up (each one means another writer made progress). */
const MAX_MODIFY_CONFLICTS = 10;

/** InvocationStore on the JetStream KV bucket declared by the topology. */
export class KvInvocationStore implements InvocationStore {
  private readonly encoder = new TextEncoder();
  private readonly decoder = new TextDecoder();

  /** With a `publisher`, `write` publishes on the shared acknowledgement inbox instead of a request per write. */
  constructor(private readonly kv: KV, private readonly publisher?: StoredPublisher) {}

  async create(record: InvocationRecord): Promise<boolean> {
    try {
      await this.kv.create(invocationKey(record.id), this.encode(record));
      return true;
    } catch (err) {
      if (isWrongRevision(err)) return false;
      throw err;
    }
  }

  async get(id: string): Promise<StoredInvocation | undefined> {
    const entry = await this.kv.get(invocationKey(id));
    if (!entry || entry.operation !== 'PUT' || entry.value.length === 0) return undefined;
    return { record: JSON.parse(this.decoder.decode(entry.value)) as InvocationRecord, revision: entry.revision };
  }

  async update(record: InvocationRecord, revision: number): Promise<boolean> {
    try {
      await this.kv.update(invocationKey(record.id), this.encode(record), revision);
      return true;
    } catch (err) {
      if (isWrongRevision(err)) return false;
      throw err;
    }
  }

  async write(record: InvocationRecord, revision: number): Promise<number | undefined> {
    try {
      const key = invocationKey(record.id);
      if (this.publisher) {
        // What kv.create / kv.update publish. (A create over a delete marker is not needed: records are removed
        // with their message, never with a marker.)
        const subject = (this.kv as unknown as { subjectForKey(k: string, edit: boolean): string }).subjectForKey(key, true);
        return (await this.publisher.publish(subject, this.encode(record), { expectLastSubjectSeq: revision })).seq;
      }
      return await (revision === 0 ? this.kv.create(key, this.encode(record)) : this.kv.update(key, this.encode(record), revision));
    } catch (err) {
      if (isWrongRevision(err)) return undefined;
      throw err;
    }
  }

  async modify(id: string, change: (record: InvocationRecord) => InvocationRecord | undefined): Promise<InvocationRecord | undefined> {
    for (let conflict = 0; conflict < MAX_MODIFY_CONFLICTS; conflict++) {
      const stored = await this.get(id);
      if (!stored) return undefined;
      const next = change(stored.record);
      if (next === undefined) return stored.record;
      if (await this.update(next, stored.revision)) return next;
    }
    throw new Error(`invocation ${id}: ${MAX_MODIFY_CONFLICTS} revision conflicts in a row`);
  }

  async delete(id: string, revision?: number): Promise<boolean> {
    return removeKey(this.kv, invocationKey(id), revision);
  }

  reader(fromSeq = 1): InvocationReader {
    const reader = new BucketReader(this.kv, fromSeq);
    return {
      read: (range, visit) => reader.read(range, (entry) => {
        const record = this.parse(entry.value);
        return record === undefined ? undefined : visit({ record, revision: entry.revision, writtenAt: entry.writtenAt });
      }),
      close: () => reader.close(),
    };
  }

  usage(): Promise<BucketUsage> {
    return bucketUsage(this.kv);
  }

  walk(range: WalkRange, visit: (stored: WrittenInvocation) => boolean | void | Promise<boolean | void>): Promise<WalkEnd> {
    return walkBucket(this.kv, range, (entry) => {
      let record: InvocationRecord;
      try {
        record = JSON.parse(this.decoder.decode(entry.value)) as InvocationRecord;
      } catch {
        return; // Not written by taskmesh: not a record.
      }
      return visit({ record, revision: entry.revision, writtenAt: entry.writtenAt });
    });
  }

  /** A stored value as a record; undefined if it was not written by taskmesh. */
  private parse(value: Uint8Array): InvocationRecord | undefined {
    try {
      return JSON.parse(this.decoder.decode(value)) as InvocationRecord;
    } catch {
      return undefined;
    }
  }

  private encode(record: InvocationRecord): Uint8Array {
    return this.encoder.encode(JSON.stringify(record));
  }
}
