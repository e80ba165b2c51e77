/**
 * A node's side of the cluster's shared history: the PostgreSQL store CHATHISTORY reads, and
 * the archiver that feeds it from the log this node applies.
 *
 * @module
 */
import type { ChatHub } from "../chat/hub.ts";
import type {
  HistoryOwner,
  HistoryRecord,
  HistorySelector,
  PrivateConversation,
  QueryOptions,
  Redaction,
} from "../chat/history.ts";
import type { Member } from "../chat/member.ts";
import type { MessageEvent } from "./cluster_event.ts";
import {
  archivedMessage,
  type ArchiverStats,
  HistoryArchiver,
  type HistoryArchiverOptions,
} from "./history_archiver.ts";
import { PgHistory, type PgHistoryOptions } from "./pg_history.ts";

/**
 * The cluster's history as one node uses it.
 *
 * @example Open it on a URL (nothing connects until it is used), and close it
 * ```ts
 * import assert from "node:assert/strict";
 * import { ClusterHistory } from "./cluster_history.ts";
 *
 * const history = ClusterHistory.open("postgres://nobody@127.0.0.1:1/none");
 * assert.equal(history.stats().pending, 0);
 * await history.close();
 * ```
 */
export class ClusterHistory {
  /** The PostgreSQL store. */
  readonly store: PgHistory;
  /** What writes to it. */
  readonly archiver: HistoryArchiver;

  private constructor(store: PgHistory, archiver: HistoryArchiver) {
    this.store = store;
    this.archiver = archiver;
  }

  /**
   * Prepares the store at `url` and an archiver for it.
   *
   * @param url `postgres://…`.
   * @param options Retention and query timeout of the store, batching and retries of the archiver.
   * @returns The history.
   * @throws Error on a URL that is not `postgres://`.
   */
  static open(
    url: string,
    options: PgHistoryOptions & HistoryArchiverOptions = {},
  ): ClusterHistory {
    const store = PgHistory.open(url, options);
    return new ClusterHistory(store, new HistoryArchiver(store, options));
  }

  /**
   * The listener a node's `ReplicatedHub` calls with each message entry (`onMessage`): what
   * the entry stores, as `hub` is just before applying it, goes to the archiver.
   *
   * @param hub The node's hub.
   * @returns The listener.
   */
  feed(hub: ChatHub): (seq: number, event: MessageEvent, sender: Member) => void {
    return (seq, event, sender) => {
      const message = archivedMessage(hub, sender, event, seq);
      if (message !== undefined) this.archiver.add(message);
    };
  }

  /**
   * The listener a node's `ReplicatedHub` calls with each deletion it applied (`onRedact`): the
   * archiver erases the message from PostgreSQL, after whatever it queued before.
   *
   * @returns The listener.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { ClusterHistory } from "./cluster_history.ts";
   *
   * const history = ClusterHistory.open("postgres://nobody@127.0.0.1:1/none");
   * assert.equal(typeof history.feedRedactions(), "function");
   * await history.close(0);
   * ```
   */
  feedRedactions(): (seq: number, msgid: string, time: number, redaction: Redaction) => void {
    return (seq, redacts, time, redaction) => this.archiver.add({ seq, redacts, time, redaction });
  }

  /**
   * Reads one conversation from PostgreSQL (see {@link PgHistory.query}).
   *
   * @param conversation A channel, or one account's side of a private conversation.
   * @param selector Which messages.
   * @param limit The most messages.
   * @param options Whether reactions are included.
   * @returns The messages, oldest first.
   */
  query(
    conversation: string | PrivateConversation,
    selector: HistorySelector,
    limit: number,
    options?: QueryOptions,
  ): Promise<HistoryRecord[]> {
    return this.store.query(conversation, selector, limit, options);
  }

  /**
   * Lists conversations active in a window (see {@link PgHistory.targets}).
   *
   * @param owner The account whose private conversations count.
   * @param channels The channels that count.
   * @param from One end of the window, ms.
   * @param to The other end.
   * @param limit The most conversations.
   * @returns Each and the time of its latest message, oldest first.
   */
  targets(
    owner: HistoryOwner | undefined,
    channels: string[],
    from: number,
    to: number,
    limit: number,
  ): Promise<{ target: string; latest: number }[]> {
    return this.store.targets(owner, channels, from, to, limit);
  }

  /**
   * The archiver's counts.
   *
   * @returns Archived, waiting, dropped messages and failed writes.
   */
  stats(): ArchiverStats {
    return this.archiver.stats();
  }

  /**
   * Writes what waits (for at most `graceMs`) and closes the connections.
   *
   * @param graceMs How long to wait for PostgreSQL to take what waits. @default {2000}
   * @returns Resolves when closed.
   */
  async close(graceMs = 2000): Promise<void> {
    await this.archiver.close(graceMs);
    await this.store.close();
  }
}
