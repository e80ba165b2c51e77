/**
 * The archiver: every node writes the messages of the log to the cluster's PostgreSQL history
 * ({@link PgHistory}), in batches, idempotently.
 *
 * Every node archives every message it applies — those it reads from the log's past at start
 * included — rather than one elected node: nothing has to be elected or handed over when a node
 * dies, and writing a message that another node wrote already costs one `ON CONFLICT DO NOTHING`.
 * What PostgreSQL has not taken yet waits in memory, in log order, and is tried again with a
 * growing delay; chat never waits for it. The log is the backlog: a node restarted after
 * PostgreSQL came back reads the log from its start and writes whatever is missing.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { ChatHub } from "../chat/hub.ts";
import { STORED_TAGMSG_TAGS } from "../chat/hub.ts";
import { maskOf, type Member } from "../chat/member.ts";
import { isChannelName } from "../chat/names.ts";
import type { MessageEvent } from "./cluster_event.ts";
import type { Archived, ArchivedMessage } from "./pg_history.ts";

const log = getLogger(["shmooze", "cluster", "history"]);

/** Where an archiver writes: {@link PgHistory}, or anything that writes the same way. */
export interface ArchiveStore {
  /** Writes a batch of messages and deletions, idempotently; rejects when nothing was written. */
  write(items: readonly Archived[]): Promise<void>;
  /** Drops what is past the retention. */
  prune(): Promise<unknown>;
}

/** Options for a {@link HistoryArchiver}. */
export interface HistoryArchiverOptions {
  /** The most messages in one write. @default {1000} */
  batch?: number;
  /**
   * The most memory the messages waiting for PostgreSQL may take, in bytes (estimated: their
   * strings as JavaScript holds them, and a fixed cost each); past that the newest are dropped (a
   * node started later archives them from the log). @default {67108864} (64 MiB)
   */
  maxPendingBytes?: number;
  /** The first delay before a failed write is tried again, ms; it doubles. @default {100} */
  retryMs?: number;
  /** The longest delay between tries, ms. @default {2000} */
  maxRetryMs?: number;
  /** How often old months are dropped (after a write that succeeded), ms. @default {3600000} */
  pruneMs?: number;
}

/** What an archiver has done, for metrics. */
export interface ArchiverStats {
  /** Messages written (or found written already) since start. */
  archived: number;
  /** Messages waiting to be written. */
  pending: number;
  /** Messages dropped because too many were waiting. */
  dropped: number;
  /** Writes that failed since start. */
  failures: number;
}

/**
 * The message a log entry stores, as every node's hub would store it when applying it: the
 * sender's nick, mask and account, the channel as named there or the recipient's nick and
 * account. Undefined when the hub would refuse it (no such target, cannot speak there), or
 * keeps no such message (a TAGMSG that is no reaction).
 *
 * @param hub The node's hub, in the state just before the entry is applied.
 * @param sender Who sent it.
 * @param event The message's event.
 * @param seq Its log sequence.
 * @returns What to archive, or undefined.
 *
 * @example A message to #lobby from a member of it
 * ```ts
 * import assert from "node:assert/strict";
 * import { ChatHub } from "../chat/hub.ts";
 * import { archivedMessage } from "./history_archiver.ts";
 *
 * const hub = new ChatHub();
 * const ann = {
 *   nick: "ann", user: "a", host: "h", realname: "Ann", transport: "tcp", account: "Ann",
 *   channels: new Set<string>(), echo: false, deliver() {}, disconnect() {},
 * };
 * hub.add(ann);
 * hub.join(ann, "#Lobby");
 * const event = {
 *   v: 1, id: "a-1", node: "a", conn: "1", kind: "message", command: "privmsg",
 *   target: "#LOBBY", text: "hi", time: 5,
 * } as const;
 * assert.deepEqual(archivedMessage(hub, ann, event, 9), {
 *   seq: 9, msgid: "a-1", time: 5, sender: "ann", senderMask: "ann!a@h", senderAccount: "Ann",
 *   target: "#lobby", targetAccount: undefined, command: "PRIVMSG", text: "hi", clientTags: undefined,
 * });
 * assert.equal(archivedMessage(hub, ann, { ...event, target: "#elsewhere" }, 10), undefined);
 * ```
 */
export function archivedMessage(
  hub: ChatHub,
  sender: Member,
  event: MessageEvent,
  seq: number,
): ArchivedMessage | undefined {
  const tags = event.tags;
  if (
    event.command === "tagmsg" && !STORED_TAGMSG_TAGS.some((name) => tags?.[name] !== undefined)
  ) return undefined;
  let target: string;
  let targetAccount: string | undefined;
  if (isChannelName(event.target)) {
    const channel = hub.channel(event.target);
    if (channel === undefined || channel.speakRefusal(sender) !== undefined) return undefined;
    target = channel.name;
  } else {
    const recipient = hub.find(event.target);
    if (recipient === undefined) return undefined;
    target = recipient.nick;
    targetAccount = recipient.account;
  }
  return {
    seq,
    msgid: event.id,
    time: event.time,
    sender: sender.nick,
    senderMask: maskOf(sender),
    senderAccount: sender.account,
    target,
    targetAccount,
    command: event.command.toUpperCase() as ArchivedMessage["command"],
    text: event.text,
    clientTags: tags === undefined ? undefined : { ...tags },
  };
}

/**
 * Writes messages to the history store in batches, in the order given, retrying what failed.
 *
 * @example Messages added while the store refuses are written once it takes them
 * ```ts
 * import assert from "node:assert/strict";
 * import { HistoryArchiver } from "./history_archiver.ts";
 * import type { Archived, ArchivedMessage } from "./pg_history.ts";
 *
 * const written: string[] = [];
 * let tries = 0;
 * const store = {
 *   write(batch: readonly ArchivedMessage[]) {
 *     if (tries++ < 2) return Promise.reject(new Error("PostgreSQL is away"));
 *     written.push(...batch.map((m) => m.msgid));
 *     return Promise.resolve();
 *   },
 *   prune: () => Promise.resolve(),
 * };
 * const archiver = new HistoryArchiver(store, { retryMs: 1, maxRetryMs: 5 });
 * const message = (msgid: string) => ({
 *   seq: 1, msgid, time: 1, sender: "ann", senderMask: "ann!a@h", target: "#lobby",
 *   command: "PRIVMSG", text: "hi",
 * } as const);
 * archiver.add(message("m1"));
 * archiver.add(message("m2"));
 * await archiver.idle();
 * assert.deepEqual(written, ["m1", "m2"]);
 * assert.deepEqual(archiver.stats(), { archived: 2, pending: 0, dropped: 0, failures: 2 });
 * await archiver.close();
 * ```
 */
export class HistoryArchiver {
  readonly #store: ArchiveStore;
  readonly #batch: number;
  readonly #maxPendingBytes: number;
  #pendingBytes = 0;
  readonly #retryMs: number;
  readonly #maxRetryMs: number;
  #queue: Archived[] = [];
  #running = false;
  #closed = false;
  #archived = 0;
  #dropped = 0;
  #failures = 0;
  /** Whether the last write failed: an outage is logged when it starts and when it ends. */
  #failing = false;
  #idle: { promise: Promise<void>; resolve: () => void } | undefined;
  /** Wakes a retry delay early, at close. */
  #wake: (() => void) | undefined;
  readonly #pruneMs: number;
  /** When old months were last dropped (0: not yet; done after the first write). */
  #prunedAt = 0;

  /**
   * Makes an archiver; after its first write, and every `pruneMs` after, it drops old months.
   *
   * @param store Where to write.
   * @param options Batch size, backlog bound and retry timing.
   */
  constructor(store: ArchiveStore, options: HistoryArchiverOptions = {}) {
    this.#store = store;
    this.#batch = options.batch ?? 1000;
    this.#maxPendingBytes = options.maxPendingBytes ?? 64 * 1024 * 1024;
    this.#retryMs = options.retryMs ?? 100;
    this.#maxRetryMs = options.maxRetryMs ?? 2000;
    this.#pruneMs = options.pruneMs ?? 60 * 60 * 1000;
  }

  /**
   * Queues a message, or the deletion of one, for writing; never waits.
   *
   * @param message The message or deletion, in log order after those added before.
   */
  add(message: Archived): void {
    if (this.#closed) return;
    const bytes = sizeOf(message);
    if (this.#pendingBytes + bytes > this.#maxPendingBytes) {
      if (this.#dropped++ === 0) {
        log.error(
          "{count} messages are waiting for PostgreSQL: newer ones are not archived until this node restarts and reads them from the log again",
          { count: this.#queue.length },
        );
      }
      return;
    }
    this.#queue.push(message);
    this.#pendingBytes += bytes;
    if (!this.#running) void this.#drain();
  }

  /**
   * What it has done so far.
   *
   * @returns Counts of archived, waiting and dropped messages, and failed writes.
   */
  stats(): ArchiverStats {
    return {
      archived: this.#archived,
      pending: this.#queue.length,
      dropped: this.#dropped,
      failures: this.#failures,
    };
  }

  /**
   * Whether everything it was given is stored: nothing waiting, nothing being written, and
   * nothing dropped for want of room. A snapshot of the cluster may be written only then: a
   * node started from it is not given the entries before it again.
   *
   * @returns True when caught up.
   */
  caughtUp(): boolean {
    return this.#queue.length === 0 && !this.#running && this.#dropped === 0;
  }

  /**
   * Resolves when nothing is waiting to be written — or, given `withinMs`, after that long at
   * most, whether or not it has.
   *
   * @param withinMs The longest to wait. @default {Infinity}
   * @returns Resolves then.
   */
  async idle(withinMs = Infinity): Promise<void> {
    if (this.#queue.length === 0 && !this.#running) return;
    this.#idle ??= Promise.withResolvers<void>();
    if (withinMs === Infinity) return await this.#idle.promise;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#idle.promise,
      new Promise<void>((resolve) => timer = setTimeout(resolve, withinMs)),
    ]);
    clearTimeout(timer);
  }

  /**
   * Stops: waits up to `graceMs` for what is waiting to be written, then gives it up (the log
   * still holds it for the next node that starts).
   *
   * @param graceMs How long to wait. @default {2000}
   * @returns Resolves when stopped.
   */
  async close(graceMs = 2000): Promise<void> {
    await this.idle(graceMs);
    this.#closed = true;
    this.#wake?.();
    if (this.#queue.length > 0) {
      log.warn("{count} messages were not archived before this node stopped", {
        count: this.#queue.length,
      });
    }
  }

  async #drain(): Promise<void> {
    this.#running = true;
    // Let the messages of this turn of the event loop join the first batch.
    await Promise.resolve();
    let delay = this.#retryMs;
    while (this.#queue.length > 0 && !this.#closed) {
      const batch = this.#queue.slice(0, this.#batch);
      try {
        await this.#store.write(batch);
      } catch (error) {
        this.#failures++;
        if (!this.#failing) {
          log.warn(
            "History could not be archived (it waits in memory and is tried again): {error}",
            { error },
          );
        }
        this.#failing = true;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delay);
          this.#wake = () => (clearTimeout(timer), resolve());
        });
        this.#wake = undefined;
        delay = Math.min(delay * 2, this.#maxRetryMs);
        continue;
      }
      if (this.#failing) log.info("History is archived again");
      this.#failing = false;
      delay = this.#retryMs;
      this.#queue.splice(0, batch.length);
      for (const message of batch) this.#pendingBytes -= sizeOf(message);
      this.#archived += batch.length;
      if (Date.now() - this.#prunedAt >= this.#pruneMs) {
        this.#prunedAt = Date.now();
        await this.#store.prune().catch((error) =>
          log.warn("Old history could not be dropped: {error}", { error })
        );
      }
    }
    this.#running = false;
    if (this.#queue.length === 0 || this.#closed) {
      this.#idle?.resolve();
      this.#idle = undefined;
    }
  }
}

/** What a waiting message takes in memory, roughly: two bytes a character, and 200 for the rest. */
function sizeOf(message: Archived): number {
  if ("redacts" in message) {
    const { msgid, source, reason } = message.redaction;
    return 200 + 2 * (message.redacts.length + msgid.length + source.length + reason.length);
  }
  let characters = message.msgid.length + message.sender.length + message.senderMask.length +
    message.target.length + message.text.length;
  for (const [name, value] of Object.entries(message.clientTags ?? {})) {
    characters += name.length + value.length;
  }
  return 200 + 2 * characters;
}
