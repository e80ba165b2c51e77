/**
 * A cluster's message history in PostgreSQL (`serve --cluster … --history postgres://…`): what
 * every node archives from the log, and what CHATHISTORY reads on any node.
 *
 * One table, `shmooze_history`, partitioned by month on the message's time (ms since the epoch,
 * `bigint`): one partition per month, made when a message of that month is first written (and
 * the current and next month ahead); retention drops whole partitions. A row is one reader's
 * copy of a message: a channel message has one, with `owner` empty and `conv` the folded
 * channel; a private message has one per account that owns it (its sender's and its
 * recipient's, when they were logged in), with `owner` the folded account and `conv` the other
 * party's folded nick — the rules of the SQLite store (`src/chat/history.ts`): private history
 * belongs to accounts, never to nicks, and an account reads nothing stored before it was created.
 *
 * Order is the log's: `seq`, the log sequence of the message's entry, the same on every node.
 * "The latest 100 of a conversation" is one backward range scan of the `(owner, conv, seq)`
 * index of each partition, merged (docs/cluster.md shows the plan). The primary key
 * `(owner, conv, msgid, time)` holds the partition key, as PostgreSQL requires of a partitioned
 * table's unique keys: writing a message a second time (another node, a retry, a restart that
 * reads the log again) is `ON CONFLICT DO NOTHING`.
 *
 * @module
 */
import postgres from "postgres";
import { foldCase } from "../chat/casemap.ts";
import type {
  HistoryAnchor,
  HistoryEntry,
  HistoryOwner,
  HistoryRecord,
  HistorySelector,
  PrivateConversation,
  QueryOptions,
  Redaction,
} from "../chat/history.ts";
import { isChannelName } from "../chat/names.ts";

/** A message to archive: a history entry and the log sequence of its entry. */
export interface ArchivedMessage extends HistoryEntry {
  /** The log sequence of the message's entry: its place in the cluster's order. */
  seq: number;
}

/**
 * A deletion to archive (IRCv3 `draft/message-redaction`): the message `redacts` keeps its place
 * with its text erased and the REDACT that deleted it, as the SQLite store keeps it — whichever
 * of the two is written first.
 */
export interface ArchivedRedaction {
  /** The log sequence of the deletion's entry. */
  seq: number;
  /** The msgid of the message deleted. */
  redacts: string;
  /** That message's time, ms since the epoch: the deletion is kept as long as it would be. */
  time: number;
  /** The REDACT that deleted it. */
  redaction: Redaction;
}

/** What an archiver writes: a message, or the deletion of one. */
export type Archived = ArchivedMessage | ArchivedRedaction;

/** Options for {@link PgHistory.open}. */
export interface PgHistoryOptions {
  /**
   * How long a message is kept, in ms: {@link PgHistory.prune} drops the months wholly older,
   * and older messages are not written. `0` keeps everything. @default {2592000000} (30 days)
   */
  retentionMs?: number;
  /** How long a query may take before it is given up, ms. @default {5000} */
  timeoutMs?: number;
}

const TABLE = "shmooze_history";
/**
 * The deletions, by the msgid deleted: a message row written after its deletion (a node that
 * archives late, or reads the log again) is erased in the same transaction, so a deletion
 * always wins.
 */
const REDACTED = "shmooze_redacted";
const DEFAULT_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;
/** A lock key of this table's own: schema and partition changes are made by one node at a time. */
const DDL_LOCK = 0x5348_4d5a;
const COLUMNS = [
  "seq",
  "time",
  "msgid",
  "sender",
  "sender_mask",
  "target",
  "command",
  "text",
  "tags",
  "redaction",
];

/** An exclusive bound of a range: a log sequence, or a time (ms). */
type Bound = { seq: number } | { time: number };
/** One reader's side of a conversation: `owner` "" for a channel. */
type Scope = { owner: string; conv: string; since: number; tagmsg: boolean; redacted: boolean };
type Row = Record<string, unknown>;

/** The month a time falls in, as `YYYYMM`, and its bounds in ms. */
function monthOf(time: number): { name: string; from: number; to: number } {
  const date = new Date(time);
  const year = date.getUTCFullYear();
  const month = date.getUTCMonth();
  return {
    name: `${year}${String(month + 1).padStart(2, "0")}`,
    from: Date.UTC(year, month, 1),
    to: Date.UTC(year, month + 1, 1),
  };
}

/**
 * The rows a message is stored as: one per reader (see the module's notes); none for a private
 * message between two parties without accounts, which nobody could read back.
 */
function rowsOf(message: ArchivedMessage): Row[] {
  const { senderAccount, targetAccount } = message;
  const readers: [owner: string, conv: string][] = [];
  if (isChannelName(message.target)) readers.push(["", foldCase(message.target)]);
  else {
    if (senderAccount !== undefined) {
      readers.push([foldCase(senderAccount), foldCase(message.target)]);
    }
    if (targetAccount !== undefined) {
      readers.push([foldCase(targetAccount), foldCase(message.sender)]);
    }
  }
  // A message to oneself has one reader twice.
  const unique = new Map(readers.map(([owner, conv]) => [`${owner} ${conv}`, { owner, conv }]));
  return [...unique.values()].map(({ owner, conv }) => ({
    owner,
    conv,
    seq: message.seq,
    time: message.time,
    msgid: message.msgid,
    sender: message.sender,
    sender_mask: message.senderMask,
    sender_account: senderAccount ?? null,
    target: message.target,
    command: message.command,
    text: message.text,
    tags: message.clientTags === undefined || Object.keys(message.clientTags).length === 0
      ? null
      : JSON.stringify(message.clientTags),
  }));
}

/**
 * A cluster's history in PostgreSQL. Nothing is asked of PostgreSQL until it is first used: a
 * node starts, and chats, while PostgreSQL is away.
 *
 * @example Archive a message twice and read it back once (needs a PostgreSQL server)
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { PgHistory } from "./pg_history.ts";
 *
 * const history = PgHistory.open("postgres://postgres@127.0.0.1:5432/postgres");
 * const message = {
 *   seq: 1, msgid: "m1", time: Date.now(), sender: "ann", senderMask: "ann!a@h",
 *   target: "#lobby", command: "PRIVMSG", text: "hello",
 * } as const;
 * await history.write([message]);
 * await history.write([message]);
 * const latest = await history.query("#lobby", { kind: "latest" }, 100);
 * assert.deepEqual(latest.map((m) => m.text), ["hello"]);
 * await history.close();
 * ```
 */
export class PgHistory {
  readonly #sql: postgres.Sql;
  readonly #retentionMs: number;
  readonly #timeoutMs: number;
  /** The schema, once made (cleared when making it failed, to try again). */
  #ready: Promise<void> | undefined;
  /** Months whose partition is known to exist. */
  readonly #months = new Set<string>();

  private constructor(sql: postgres.Sql, retentionMs: number, timeoutMs: number) {
    this.#sql = sql;
    this.#retentionMs = retentionMs;
    this.#timeoutMs = timeoutMs;
  }

  /**
   * Prepares a store on the PostgreSQL server at `url`, without connecting yet.
   *
   * @param url `postgres://user[:password]@host[:port]/database`.
   * @param options Retention and the query timeout.
   * @returns The store.
   * @throws Error on a URL that is not `postgres://` or `postgresql://`, or a bad retention.
   *
   * @example A URL of another kind is refused
   * ```ts
   * import assert from "node:assert/strict";
   * import { PgHistory } from "./pg_history.ts";
   *
   * assert.throws(() => PgHistory.open("mysql://db/chat"), /postgres:\/\//);
   * ```
   */
  static open(url: string, options: PgHistoryOptions = {}): PgHistory {
    if (!/^postgres(ql)?:\/\/\S+$/.test(url)) {
      throw new Error(`Cannot use "${url}" as history: it is not a postgres:// URL`);
    }
    const retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS;
    if (!Number.isFinite(retentionMs) || retentionMs < 0) {
      throw new Error(
        `Cannot open history: retentionMs must be 0 (keep forever) or a positive number of ms, got ${retentionMs}`,
      );
    }
    const timeoutMs = options.timeoutMs ?? 5000;
    const sql = postgres(url, {
      max: 4,
      connect_timeout: Math.ceil(timeoutMs / 1000),
      idle_timeout: 60,
      // Reconnect at once: postgres.js's own backoff grows to 20 s after an outage's failed
      // connects, which would keep CHATHISTORY failing and the archiver waiting long after
      // PostgreSQL is back. The archiver paces its own retries.
      backoff: () => 0.1,
      onnotice: () => {},
    });
    return new PgHistory(sql, retentionMs, timeoutMs);
  }

  /**
   * Writes messages and deletions in one transaction; a message already stored (same reader,
   * msgid and time) is left as it is, and one deleted — in this batch or any earlier — loses its
   * text and client-only tags and keeps its deletion (the first written). Messages older than the
   * retention are not written.
   *
   * @param items The messages and deletions, in any order.
   * @returns Resolves when PostgreSQL has committed them.
   * @throws Error when PostgreSQL cannot be reached or refuses the statement: then none is written.
   */
  async write(items: readonly Archived[]): Promise<void> {
    const cutoff = this.#retentionMs === 0 ? 0 : Date.now() - this.#retentionMs;
    const kept = items.filter((item) => item.time >= cutoff);
    const messages = kept.filter((item): item is ArchivedMessage => !("redacts" in item));
    const deleted = kept.filter((item): item is ArchivedRedaction => "redacts" in item);
    const rows = messages.flatMap(rowsOf);
    if (rows.length === 0 && deleted.length === 0) return;
    await this.#schema();
    for (const time of new Set(rows.map((row) => monthOf(row.time as number).from))) {
      await this.#partition(time);
    }
    const sql = this.#sql;
    const msgids = [...new Set(kept.map((item) => "redacts" in item ? item.redacts : item.msgid))];
    try {
      await this.#timed(
        sql.begin(async (tx) => {
          if (rows.length > 0) {
            await tx`INSERT INTO ${sql(TABLE)} ${sql(rows)} ON CONFLICT DO NOTHING`;
          }
          if (deleted.length > 0) {
            const tombstones = deleted.map((item) => ({
              msgid: item.redacts,
              time: item.time,
              redaction: JSON.stringify(item.redaction),
            }));
            await tx`INSERT INTO ${sql(REDACTED)} ${sql(tombstones)} ON CONFLICT DO NOTHING`;
          }
          await tx`UPDATE ${sql(TABLE)} h SET text = '', tags = NULL, redaction = r.redaction
                   FROM ${sql(REDACTED)} r
                   WHERE h.msgid = r.msgid AND h.redaction IS NULL AND h.msgid IN ${sql(msgids)}`;
        }),
        "write history",
      );
    } catch (error) {
      // Another node dropped a month this one thought was there (retention, at a clock's
      // edge): ask again next time, so the retry makes it rather than failing forever.
      if ((error as { code?: string }).code === "23514") this.#months.clear();
      throw error;
    }
  }

  /**
   * Reads one conversation, as `CHATHISTORY` does and as `HistoryStore.query` answers (the same
   * selectors, anchors and limits; a `msgid` anchor outside the conversation gives nothing).
   * A deleted message comes (with its {@link HistoryRecord.redaction}) only with `redacted`, as the SQLite store's does.
   *
   * @param conversation A channel name, or one account's side of a private conversation.
   * @param selector Which messages.
   * @param limit The most messages to return, at least 1.
   * @param options Whether reactions (TAGMSG) are included.
   * @returns The messages, oldest first.
   * @throws Error when PostgreSQL cannot be reached or does not answer in time.
   */
  async query(
    conversation: string | PrivateConversation,
    selector: HistorySelector,
    limit: number,
    options: QueryOptions = {},
  ): Promise<HistoryRecord[]> {
    if (!Number.isSafeInteger(limit) || limit < 1) {
      throw new Error(
        `Cannot query history: limit must be a whole number of at least 1, got ${limit}`,
      );
    }
    const scope = scopeOf(conversation, options.tagmsg === true, options.redacted === true);
    await this.#schema();
    switch (selector.kind) {
      case "latest": {
        const lower = selector.after && await this.#after(scope, selector.after);
        if (lower === null) return [];
        return await this.#range(scope, lower, undefined, limit, "DESC");
      }
      case "before": {
        const upper = await this.#before(scope, selector.anchor);
        return upper === null ? [] : await this.#range(scope, undefined, upper, limit, "DESC");
      }
      case "after": {
        const lower = await this.#after(scope, selector.anchor);
        return lower === null ? [] : await this.#range(scope, lower, undefined, limit, "ASC");
      }
      case "around":
        return await this.#around(scope, selector.anchor, limit);
      case "between":
        return await this.#between(scope, selector.start, selector.end, limit);
    }
  }

  /**
   * Lists the conversations whose latest message falls strictly between `from` and `to`, as
   * `CHATHISTORY TARGETS` does (and as `HistoryStore.targets` answers).
   *
   * @param owner The account whose private conversations to include; none for channels only.
   * @param channels The channels to include.
   * @param from One end of the window, ms since the epoch.
   * @param to The other end.
   * @param limit The most conversations to return, at least 1.
   * @returns `{ target, latest }` ordered by `latest`, oldest first.
   * @throws Error when PostgreSQL cannot be reached or does not answer in time.
   */
  async targets(
    owner: HistoryOwner | undefined,
    channels: string[],
    from: number,
    to: number,
    limit: number,
  ): Promise<{ target: string; latest: number }[]> {
    const [low, high] = from <= to ? [from, to] : [to, from];
    await this.#schema();
    const sql = this.#sql;
    const found = new Map<string, { target: string; latest: number }>();
    const inWindow = (time: number) => time > low && time < high;
    for (const channel of channels) {
      const conv = foldCase(channel);
      if (found.has(conv)) continue;
      const [row] = await this.#timed(
        sql`SELECT time FROM ${sql(TABLE)} WHERE owner = '' AND conv = ${conv}
            ORDER BY seq DESC LIMIT 1`,
        "list history targets",
      );
      if (row !== undefined && inWindow(Number(row.time))) {
        found.set(conv, { target: channel, latest: Number(row.time) });
      }
    }
    if (owner !== undefined) {
      const rows = await this.#timed(
        sql`SELECT DISTINCT ON (conv) conv, time, sender, target FROM ${sql(TABLE)}
            WHERE owner = ${foldCase(owner.account)} AND time >= ${owner.since ?? 0}
            ORDER BY conv, seq DESC`,
        "list history targets",
      );
      for (const row of rows) {
        const time = Number(row.time);
        if (!inWindow(time)) continue;
        // The partner as spelled in the message: its target if the account sent it.
        const target = foldCase(row.target) === row.conv ? row.target : row.sender;
        found.set(`~${row.conv}`, { target, latest: time });
      }
    }
    const sorted = [...found.values()].sort((x, y) => x.latest - y.latest);
    return from <= to ? sorted.slice(0, limit) : sorted.slice(-limit);
  }

  /**
   * Drops the monthly partitions that hold only messages older than the retention.
   *
   * @param now The time to count from. @default {Date.now()}
   * @returns The months dropped (`YYYYMM`).
   * @throws Error when PostgreSQL cannot be reached.
   */
  async prune(now: number = Date.now()): Promise<string[]> {
    if (this.#retentionMs === 0) return [];
    await this.#schema();
    const cutoff = now - this.#retentionMs;
    const sql = this.#sql;
    const partitions = await sql`
      SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = ${TABLE}::regclass`;
    const dropped: string[] = [];
    for (const { name } of partitions) {
      const match = /_(\d{4})(\d\d)$/.exec(name);
      if (match === null) continue;
      const end = Date.UTC(Number(match[1]), Number(match[2]), 1);
      if (end > cutoff) continue;
      await sql.begin(async (tx) => {
        await tx`SELECT pg_advisory_xact_lock(${DDL_LOCK})`;
        await tx`DROP TABLE IF EXISTS ${sql(name)}`;
      });
      this.#months.delete(`${match[1]}${match[2]}`);
      dropped.push(`${match[1]}${match[2]}`);
    }
    await sql`DELETE FROM ${sql(REDACTED)} WHERE time < ${cutoff}`;
    return dropped;
  }

  /**
   * Closes the connections, waiting at most a second for queries under way.
   *
   * @returns Resolves when closed.
   */
  async close(): Promise<void> {
    await this.#sql.end({ timeout: 1 });
  }

  /** Makes the table and its index, once; tried again on the next call after a failure. */
  #schema(): Promise<void> {
    this.#ready ??= this.#timed(
      this.#sql.begin(async (tx) => {
        await tx`SELECT pg_advisory_xact_lock(${DDL_LOCK})`;
        await tx.unsafe(`CREATE TABLE IF NOT EXISTS ${TABLE} (
          owner          text   NOT NULL,
          conv           text   NOT NULL,
          seq            bigint NOT NULL,
          time           bigint NOT NULL,
          msgid          text   NOT NULL,
          sender         text   NOT NULL,
          sender_mask    text   NOT NULL,
          sender_account text,
          target         text   NOT NULL,
          command        text   NOT NULL,
          text           text   NOT NULL,
          tags           text,
          PRIMARY KEY (owner, conv, msgid, time)
        ) PARTITION BY RANGE (time)`);
        // Deletions came after the table: a table made before them gains the column.
        await tx.unsafe(`ALTER TABLE ${TABLE} ADD COLUMN IF NOT EXISTS redaction text`);
        await tx.unsafe(
          `CREATE INDEX IF NOT EXISTS ${TABLE}_order ON ${TABLE} (owner, conv, seq)`,
        );
        // A deletion names only the msgid: this finds its rows (every reader's copy).
        await tx.unsafe(`CREATE INDEX IF NOT EXISTS ${TABLE}_msgid ON ${TABLE} (msgid)`);
        await tx.unsafe(`CREATE TABLE IF NOT EXISTS ${REDACTED} (
          msgid     text   PRIMARY KEY,
          time      bigint NOT NULL,
          redaction text   NOT NULL
        )`);
      }),
      "prepare the history table",
    ).then(async () => {
      const now = Date.now();
      await this.#partition(now);
      await this.#partition(monthOf(now).to);
    }).catch((error) => {
      this.#ready = undefined;
      throw error;
    });
    return this.#ready;
  }

  /** Makes the partition of the month `time` falls in, unless known to exist. */
  async #partition(time: number): Promise<void> {
    const { name, from, to } = monthOf(time);
    if (this.#months.has(name)) return;
    await this.#timed(
      this.#sql.begin(async (tx) => {
        await tx`SELECT pg_advisory_xact_lock(${DDL_LOCK})`;
        await tx.unsafe(
          `CREATE TABLE IF NOT EXISTS ${TABLE}_${name} PARTITION OF ${TABLE}
           FOR VALUES FROM (${from}) TO (${to})`,
        );
      }),
      `make the history partition ${name}`,
    );
    this.#months.add(name);
  }

  /** Runs a query that gives up after the timeout: a stalled PostgreSQL must not hold a client. */
  async #timed<T>(query: Promise<T>, action: string): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(new Error(`Cannot ${action}: PostgreSQL did not answer in ${this.#timeoutMs} ms`)),
        this.#timeoutMs,
      );
    });
    try {
      return await Promise.race([query, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The rows of `scope` strictly between the bounds, `limit` from the `order` end, oldest first. */
  async #range(
    scope: Scope,
    lower: Bound | undefined,
    upper: Bound | undefined,
    limit: number,
    order: "ASC" | "DESC",
  ): Promise<HistoryRecord[]> {
    const sql = this.#sql;
    const above = lower === undefined
      ? sql``
      : "seq" in lower
      ? sql`AND seq > ${lower.seq}`
      : sql`AND time > ${lower.time}`;
    const below = upper === undefined
      ? sql``
      : "seq" in upper
      ? sql`AND seq < ${upper.seq}`
      : sql`AND time < ${upper.time}`;
    const rows = await this.#timed(
      sql`SELECT ${sql(COLUMNS)} FROM ${sql(TABLE)}
          WHERE owner = ${scope.owner} AND conv = ${scope.conv} AND time >= ${scope.since}
          ${above} ${below} ${scope.tagmsg ? sql`` : sql`AND command <> 'TAGMSG'`}
          ${scope.redacted ? sql`` : sql`AND redaction IS NULL`}
          ORDER BY ${order === "ASC" ? sql`seq ASC` : sql`seq DESC`} LIMIT ${limit}`,
      "query history",
    );
    const records = rows.map(toRecord);
    return order === "DESC" ? records.reverse() : records;
  }

  /** The message `msgid` in `scope`: its sequence and time; null if it is not there. */
  async #find(scope: Scope, msgid: string): Promise<{ seq: number; time: number } | null> {
    const sql = this.#sql;
    const [row] = await this.#timed(
      sql`SELECT seq, time FROM ${sql(TABLE)} WHERE owner = ${scope.owner}
          AND conv = ${scope.conv} AND msgid = ${msgid} AND time >= ${scope.since} LIMIT 1`,
      "find a message",
    );
    return row === undefined ? null : { seq: Number(row.seq), time: Number(row.time) };
  }

  /** The exclusive lower bound of what comes after `anchor`; null for an unknown msgid. */
  async #after(scope: Scope, anchor: HistoryAnchor): Promise<Bound | null> {
    if ("time" in anchor) return { time: anchor.time };
    const found = await this.#find(scope, anchor.msgid);
    return found && { seq: found.seq };
  }

  /** The exclusive upper bound of what comes before `anchor`; null for an unknown msgid. */
  async #before(scope: Scope, anchor: HistoryAnchor): Promise<Bound | null> {
    return await this.#after(scope, anchor);
  }

  async #around(scope: Scope, anchor: HistoryAnchor, limit: number): Promise<HistoryRecord[]> {
    // A msgid anchor starts the later side; a time anchor falls between the messages before
    // it and those at or after it.
    const split = await this.#before(scope, anchor);
    if (split === null) return [];
    const from: Bound = "seq" in split ? { seq: split.seq - 1 } : { time: split.time - 1 };
    const earlier = await this.#range(scope, undefined, split, limit, "DESC");
    const later = await this.#range(scope, from, undefined, limit, "ASC");
    const takeEarlier = Math.min(
      earlier.length,
      Math.max(Math.floor(limit / 2), limit - later.length),
    );
    const takeLater = Math.min(later.length, limit - takeEarlier);
    return [...earlier.slice(earlier.length - takeEarlier), ...later.slice(0, takeLater)];
  }

  async #between(
    scope: Scope,
    start: HistoryAnchor,
    end: HistoryAnchor,
    limit: number,
  ): Promise<HistoryRecord[]> {
    const startFound = "msgid" in start ? await this.#find(scope, start.msgid) : undefined;
    const endFound = "msgid" in end ? await this.#find(scope, end.msgid) : undefined;
    if (startFound === null || endFound === null) return [];
    const startBound: Bound = startFound ? { seq: startFound.seq } : start as { time: number };
    const endBound: Bound = endFound ? { seq: endFound.seq } : end as { time: number };
    const forwards = startFound && endFound
      ? startFound.seq <= endFound.seq
      : (startFound?.time ?? (start as { time: number }).time) <=
        (endFound?.time ?? (end as { time: number }).time);
    return forwards
      ? await this.#range(scope, startBound, endBound, limit, "ASC")
      : await this.#range(scope, endBound, startBound, limit, "DESC");
  }
}

function scopeOf(
  conversation: string | PrivateConversation,
  tagmsg: boolean,
  redacted: boolean,
): Scope {
  if (typeof conversation === "string") {
    if (!isChannelName(conversation)) {
      throw new Error(
        `Cannot query history: "${conversation}" is not a channel name; pass { account, partner } for a private conversation`,
      );
    }
    return { owner: "", conv: foldCase(conversation), since: 0, tagmsg, redacted };
  }
  const { account, partner, since } = conversation;
  if (account === "" || partner === "" || isChannelName(partner)) {
    throw new Error(`Cannot query history: "${partner}" is not a nick of ${account}'s`);
  }
  return {
    owner: foldCase(account),
    conv: foldCase(partner),
    since: since ?? 0,
    tagmsg,
    redacted,
  };
}

/** A row as a record; `bigint` columns come as strings. */
function toRecord(row: Row): HistoryRecord {
  const record: HistoryRecord = {
    id: Number(row.seq),
    msgid: row.msgid as string,
    time: Number(row.time),
    sender: row.sender as string,
    senderMask: row.sender_mask as string,
    target: row.target as string,
    command: row.command as HistoryRecord["command"],
    text: row.text as string,
  };
  if (row.tags !== null) record.clientTags = JSON.parse(row.tags as string);
  if (typeof row.redaction === "string") record.redaction = JSON.parse(row.redaction);
  return record;
}
