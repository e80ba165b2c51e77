/**
 * The cluster's snapshot in a NATS key-value bucket (`SHMOOZE_<cluster>_snapshot`, one value
 * per key). A snapshot can outgrow one NATS message (1 MiB by default), so it is stored in
 * chunks under a key of its own (`chunk.<id>.<n>`), and `head` names the current one: its
 * sequence, time, id, chunk count and size. A writer stores its chunks first, then swaps `head`
 * by compare-and-set on the revision it read — so of nodes racing to write, one wins, and a
 * reader never sees half a snapshot — then purges the chunks of the one it replaced from the
 * bucket's stream (a key-value delete would leave a marker per chunk, for ever). A reader that
 * finds a chunk gone (replaced meanwhile) reads `head` again.
 *
 * @module
 */
import type { NatsConnection } from "@nats-io/transport-node";
import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import { type KV, type KvEntry, Kvm } from "@nats-io/kv";
import type { SnapshotStore, StoredSnapshot } from "./bus.ts";

/** What `head` holds. */
interface Head {
  /** The log it was taken from (its stream's creation time). */
  log: string;
  seq: number;
  time: number;
  id: string;
  chunks: number;
  size: number;
}

/** `head` as read: what it holds (none when absent) and its revision, for the swap. */
type HeadEntry = { head?: Head; revision: number };

const HEAD = "head";
/** Under the server's default 1 MiB payload, with room for headers. */
const MAX_CHUNK = 512 * 1024;
/** The largest snapshot a node reads: a bad head must not make it allocate without bound. */
const MAX_SIZE = 256 * 1024 * 1024;
/** How many times a reader starts again when a newer snapshot replaced the one it read. */
const READ_ATTEMPTS = 5;

/** A value, not a deletion's marker. */
function present(entry: KvEntry | null): entry is KvEntry {
  return entry?.operation === "PUT";
}

/** Checks `head`'s bytes: they come from the bus, like any entry. */
function decodeHead(bytes: Uint8Array): Head {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (error) {
    throw new TypeError(`The snapshot's head is not UTF-8 JSON: ${(error as Error).message}`);
  }
  const head = value as Partial<Head> | null;
  const count = (n: unknown) => typeof n === "number" && Number.isSafeInteger(n) && n >= 0;
  if (
    head === null || typeof head !== "object" || !count(head.seq) || !count(head.time) ||
    !count(head.chunks) || !count(head.size) || typeof head.id !== "string" ||
    !/^[a-z0-9]{1,32}$/.test(head.id) || typeof head.log !== "string" || head.log.length > 64
  ) {
    throw new TypeError("The snapshot's head is not {log, seq, time, id, chunks, size}");
  }
  if (head.size! > MAX_SIZE || head.chunks! > head.size! + 1) {
    throw new TypeError(`The snapshot's head says ${head.size} bytes, over ${MAX_SIZE}`);
  }
  return head as Head;
}

/** A cluster's snapshot in a NATS key-value bucket. */
export class KvSnapshotStore implements SnapshotStore {
  readonly #kv: KV;
  readonly #manager: JetStreamManager;
  readonly #bucket: string;
  readonly #chunk: number;
  readonly #log: string;

  private constructor(
    kv: KV,
    manager: JetStreamManager,
    options: { bucket: string; chunk: number; log: string },
  ) {
    this.#kv = kv;
    this.#manager = manager;
    this.#bucket = options.bucket;
    this.#chunk = options.chunk;
    this.#log = options.log;
  }

  /**
   * Opens (making it if needed) the bucket of a cluster.
   *
   * @param nc The node's NATS connection.
   * @param cluster The cluster's name.
   * @param log Which log its snapshots must be of (the stream's creation time): one of
   *   another is refused, and replaced by the next write.
   * @returns The store.
   */
  static async open(nc: NatsConnection, cluster: string, log: string): Promise<KvSnapshotStore> {
    const bucket = `SHMOOZE_${cluster}_snapshot`;
    const kv = await new Kvm(nc).create(bucket, { history: 1 });
    const payload = nc.info?.max_payload ?? 1024 * 1024;
    const chunk = Math.max(1024, Math.min(MAX_CHUNK, payload - 4096));
    return new KvSnapshotStore(kv, await jetstreamManager(nc), { bucket, chunk, log });
  }

  async #head(): Promise<HeadEntry> {
    const entry = await this.#kv.get(HEAD);
    if (entry?.operation !== "PUT") return { revision: entry?.revision ?? 0 };
    return { head: decodeHead(entry.value), revision: entry.revision };
  }

  async newest(): Promise<{ seq: number; time: number } | undefined> {
    try {
      const { head } = await this.#head();
      return head === undefined || head.log !== this.#log
        ? undefined
        : { seq: head.seq, time: head.time };
    } catch {
      return undefined;
    }
  }

  async load(): Promise<StoredSnapshot | undefined> {
    for (let attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
      const { head } = await this.#head();
      if (head === undefined) return undefined;
      if (head.log !== this.#log) {
        throw new TypeError(
          `It was taken from another log (made ${head.log}; this one was made ${this.#log})`,
        );
      }
      const bytes = new Uint8Array(head.size);
      let at = 0;
      let complete = true;
      for (let n = 0; n < head.chunks && complete; n++) {
        const entry = await this.#kv.get(`chunk.${head.id}.${n}`);
        if (!present(entry)) complete = false;
        else if (at + entry.value.length > head.size) {
          throw new TypeError(`The snapshot's chunks hold more than its ${head.size} bytes`);
        } else {
          bytes.set(entry.value, at);
          at += entry.value.length;
        }
      }
      if (!complete) continue;
      if (at !== head.size) {
        throw new TypeError(`The snapshot's chunks hold ${at} bytes, not ${head.size}`);
      }
      return { seq: head.seq, time: head.time, bytes };
    }
    throw new Error(`The snapshot was replaced ${READ_ATTEMPTS} times while it was read`);
  }

  async save(seq: number, bytes: Uint8Array): Promise<boolean> {
    let current: HeadEntry;
    try {
      current = await this.#head();
    } catch {
      // An unreadable head is replaced like an old one (its revision is what the swap needs).
      const entry = await this.#kv.get(HEAD);
      current = { revision: entry?.revision ?? 0 };
    }
    if (current.head?.log === this.#log && current.head.seq >= seq) return false;
    const id = crypto.getRandomValues(new Uint32Array(2)).reduce((s, n) => s + n.toString(36), "");
    const chunks = Math.ceil(bytes.length / this.#chunk);
    for (let n = 0; n < chunks; n++) {
      await this.#kv.put(
        `chunk.${id}.${n}`,
        bytes.subarray(n * this.#chunk, (n + 1) * this.#chunk),
      );
    }
    const head: Head = { log: this.#log, seq, time: Date.now(), id, chunks, size: bytes.length };
    const value = new TextEncoder().encode(JSON.stringify(head));
    try {
      if (current.revision === 0) await this.#kv.create(HEAD, value);
      else await this.#kv.update(HEAD, value, current.revision);
    } catch {
      // Another node swapped it first: its snapshot stands, these chunks are nobody's.
      await this.#purge(id);
      return false;
    }
    if (current.head !== undefined) await this.#purge(current.head.id);
    return true;
  }

  /** Removes a snapshot's chunks, markers and all (a failure only leaves them behind). */
  async #purge(id: string): Promise<void> {
    await this.#manager.streams.purge(`KV_${this.#bucket}`, {
      filter: `$KV.${this.#bucket}.chunk.${id}.>`,
    }).catch(() => {});
  }
}
