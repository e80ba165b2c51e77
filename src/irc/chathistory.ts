/**
 * IRCv3 `draft/chathistory`: the CHATHISTORY command (LATEST, BEFORE, AFTER, AROUND,
 * BETWEEN, TARGETS), answered from the history store inside a `chathistory` batch. A message
 * comes back with the client-only tags it was sent with (`+draft/reply`), and a stored
 * reaction as the TAGMSG it was, both to clients with `message-tags`: a TAGMSG changes no state
 * a client keeps (the line `draft/event-playback` exists for, which shmooze does not offer: it
 * stores no JOIN, MODE or TOPIC to play back), and without tags it is nothing.
 *
 * Only members of a channel may read its history. Private history belongs to accounts, never
 * to nicks: a client logged in to an account reads the private messages that account sent or
 * received while logged in, whatever nick it uses now; a client without an account reads
 * none. So whoever takes a free nick later, and registers it, reads nothing said to its
 * previous holder.
 *
 * @module
 */
import type {
  HistoryAnchor,
  HistoryOwner,
  HistoryRecord,
  HistorySelector,
  PrivateConversation,
  QueryOptions,
} from "../chat/history.ts";
import { getLogger } from "@logtape/logtape";
import { RateLimiter } from "../chat/rate_limiter.ts";
import { eventTags, VARIANT_REDACTION, VARIANT_TAGS } from "./encode.ts";
import type { IrcMessage } from "./message.ts";
import type { IrcSession } from "./session.ts";

const log = getLogger(["shmooze", "irc", "history"]);
const SUBCOMMANDS = new Set(["LATEST", "BEFORE", "AFTER", "AROUND", "BETWEEN", "TARGETS"]);
const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
let batchCounter = 0;
/** Each query reads the database, so a client gets a budget beside its flood allowance. */
const BUDGET_WINDOW_MS = 10_000;
const budgets = new WeakMap<IrcSession, RateLimiter>();

/**
 * Where CHATHISTORY reads: the hub's `HistoryStore` (SQLite, answering at once), or a
 * cluster's shared history (PostgreSQL, answering later). While a query waits, the client's
 * next command waits too (the session handles one at a time), so replies stay in order.
 */
export interface HistoryReader {
  /**
   * Reads one conversation (see `HistoryStore.query`).
   *
   * @param conversation A channel name, or one account's side of a private conversation.
   * @param selector Which messages.
   * @param limit The most messages.
   * @param options Whether reactions and deleted messages are included.
   * @returns The messages, oldest first.
   */
  query(
    conversation: string | PrivateConversation,
    selector: HistorySelector,
    limit: number,
    options?: QueryOptions,
  ): HistoryRecord[] | Promise<HistoryRecord[]>;
  /**
   * Lists the conversations active in a window (see `HistoryStore.targets`).
   *
   * @param owner The account whose private conversations count.
   * @param channels The channels that count.
   * @param from One end of the window, ms since the epoch.
   * @param to The other end.
   * @param limit The most conversations.
   * @returns Each conversation and the time of its latest message, oldest first.
   */
  targets(
    owner: HistoryOwner | undefined,
    channels: string[],
    from: number,
    to: number,
    limit: number,
  ): TargetList | Promise<TargetList>;
}

type TargetList = { target: string; latest: number }[];

/** The history CHATHISTORY reads: the cluster's when there is one, else the hub's. */
function readerOf(session: IrcSession): HistoryReader | undefined {
  return session.context.historyReader ?? session.context.hub.history;
}

/**
 * Parses a `timestamp=…` or `msgid=…` message reference.
 *
 * @param text The parameter.
 * @returns The anchor, or undefined when malformed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseAnchor } from "./chathistory.ts";
 *
 * assert.deepEqual(parseAnchor("timestamp=2026-01-01T00:00:00.000Z"), { time: 1767225600000 });
 * assert.deepEqual(parseAnchor("msgid=abc"), { msgid: "abc" });
 * assert.equal(parseAnchor("timestamp=yesterday"), undefined);
 * assert.equal(parseAnchor("msgid="), undefined);
 * ```
 */
export function parseAnchor(text: string): HistoryAnchor | undefined {
  if (text.startsWith("msgid=") && text.length > 6) return { msgid: text.slice(6) };
  if (text.startsWith("timestamp=")) {
    const value = text.slice(10);
    const time = TIMESTAMP.test(value) ? Date.parse(value) : NaN;
    if (Number.isFinite(time)) return { time };
  }
  return undefined;
}

/**
 * Handles one CHATHISTORY command.
 *
 * @param session The client.
 * @param message The command.
 *
 * @example A member of #lobby reads what was said there, and nothing of a channel it is not in
 * ```ts
 * import assert from "node:assert/strict";
 * import { HistoryStore } from "../chat/history.ts";
 * import { ChatHub } from "../chat/hub.ts";
 * import { DEFAULT_LIMITS } from "./limits.ts";
 * import { IrcSession } from "./session.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * const hub = new ChatHub({ history: HistoryStore.open(dir) });
 * let output = "";
 * const said = [
 *   "NICK ann",
 *   "USER ann 0 * :Ann",
 *   "JOIN #lobby",
 *   "PRIVMSG #lobby :hello",
 *   "CHATHISTORY LATEST #lobby * 10",
 *   "CHATHISTORY LATEST #elsewhere * 10",
 * ];
 * const connection = {
 *   transport: "memory",
 *   remoteAddress: "127.0.0.1",
 *   async *lines() {
 *     for (const line of said) yield new TextEncoder().encode(line);
 *   },
 *   write(chunks: Uint8Array[]) {
 *     for (const chunk of chunks) output += new TextDecoder().decode(chunk);
 *     return Promise.resolve();
 *   },
 *   close() {},
 * };
 * const session = new IrcSession(connection, {
 *   hub,
 *   flusher: hub.flusher,
 *   limits: DEFAULT_LIMITS,
 *   serverName: "irc.test",
 *   version: "0.1.0",
 *   createdAt: Date.now(),
 *   motd: [],
 *   counters: { sendQDrops: 0 },
 * }, () => {});
 * await session.run(); // handles every line (CHATHISTORY through chatHistory), then closes
 * const lines = output.split("\r\n");
 * // ann has no echo-message: the only PRIVMSG it got is the one from history.
 * assert.deepEqual(lines.filter((line) => line.split(" ")[1] === "PRIVMSG"), [
 *   ":ann!ann@127.0.0.1 PRIVMSG #lobby :hello",
 * ]);
 * assert.ok(lines.includes(
 *   ":irc.test FAIL CHATHISTORY INVALID_TARGET LATEST #elsewhere :Messages could not be retrieved",
 * ));
 * hub.history!.close();
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export async function chatHistory(session: IrcSession, message: IrcMessage): Promise<void> {
  const [rawSub, ...args] = message.params;
  const sub = (rawSub ?? "").toUpperCase();
  if (rawSub === undefined) return session.needMoreParams("CHATHISTORY");
  const { historyBudget } = session.context.limits;
  let budget = budgets.get(session);
  if (budget === undefined) {
    budget = new RateLimiter({ limit: historyBudget, windowMs: BUDGET_WINDOW_MS });
    budgets.set(session, budget);
  }
  if (!budget.take("")) {
    const seconds = Math.ceil(budget.retryAfter("") / 1000);
    return session.fail(
      "CHATHISTORY",
      "MESSAGE_ERROR",
      sub,
      args[0] ?? "*",
      `Too many history requests (${historyBudget} in ${
        BUDGET_WINDOW_MS / 1000
      } s); try again in ${seconds} s`,
    );
  }
  if (!SUBCOMMANDS.has(sub)) {
    return session.fail("CHATHISTORY", "UNKNOWN_COMMAND", rawSub, "Unknown command");
  }
  const needed = sub === "BETWEEN" ? 4 : 3;
  if (args.length < needed) {
    return session.fail("CHATHISTORY", "NEED_MORE_PARAMS", sub, "Missing parameters");
  }
  const limitText = args[needed - 1];
  const asked = /^\d+$/.test(limitText) ? Number(limitText) : 0;
  if (asked < 1) {
    return session.fail("CHATHISTORY", "INVALID_PARAMS", sub, limitText, "Invalid limit");
  }
  const limit = Math.min(asked, session.context.limits.historyLimit);
  if (sub === "TARGETS") return await targets(session, args[0], args[1], limit);

  const target = args[0];
  const selector = parseSelector(sub, args.slice(1, needed - 1));
  if (selector === undefined) {
    return session.fail("CHATHISTORY", "INVALID_PARAMS", sub, "Invalid message reference");
  }
  const invalidTarget = () =>
    session.fail("CHATHISTORY", "INVALID_TARGET", sub, target, "Messages could not be retrieved");
  const { hub } = session.context;
  let conversation: string | PrivateConversation;
  let replyTarget = target;
  if (target.startsWith("#")) {
    const channel = hub.channel(target);
    if (channel === undefined || !channel.members.has(session.member)) return invalidTarget();
    conversation = channel.name;
    replyTarget = channel.name;
  } else if (target === "*" || target === "" || target.includes(",")) {
    return invalidTarget();
  } else {
    const owner = historyOwner(session);
    if (owner === undefined) {
      return session.fail(
        "CHATHISTORY",
        "ACCOUNT_REQUIRED",
        sub,
        target,
        "Private message history belongs to accounts; log in to read yours",
      );
    }
    conversation = { ...owner, partner: target };
  }
  const history = readerOf(session);
  let records: HistoryRecord[];
  try {
    if (history === undefined) throw new Error("this server keeps no history");
    records = await history.query(conversation, selector, limit, queryOptions(session));
  } catch (error) {
    if (history !== hub.history) log.warn("CHATHISTORY failed: {error}", { error });
    return session.fail(
      "CHATHISTORY",
      "MESSAGE_ERROR",
      sub,
      target,
      "Messages could not be retrieved",
    );
  }
  if (records.length === 0 && !session.hasCap("batch")) {
    return noMessages(session, sub, replyTarget);
  }
  sendHistory(session, replyTarget, records);
}

/**
 * What a client's history queries return: reactions (TAGMSG) with `message-tags`, deleted
 * messages with `draft/message-redaction` (each followed by its REDACT, see `sendHistory`).
 */
function queryOptions(session: IrcSession): QueryOptions {
  return {
    tagmsg: (session.variant & VARIANT_TAGS) !== 0,
    redacted: (session.variant & VARIANT_REDACTION) !== 0,
  };
}

/**
 * Sends stored messages to a client as history: in a `chathistory` batch when it enabled
 * `batch`, each with its time, id and client-only tags as its capabilities allow. A TAGMSG is
 * sent only to a client with `message-tags` (without tags it is nothing). A deleted message
 * (only a client with `draft/message-redaction` is given one) comes as the spec's placeholder —
 * its sender, time and id, {@link DELETED_TEXT} for text, no client-only tags — followed by the
 * REDACT that deleted it, which the limit does not count.
 */
function sendHistory(session: IrcSession, target: string, records: HistoryRecord[]): void {
  const variant = session.variant;
  const batch = openBatch(session, "chathistory", target);
  for (const record of records) {
    const tagmsg = record.command === "TAGMSG";
    if (tagmsg && !(variant & VARIANT_TAGS)) continue;
    const { redaction } = record;
    session.send({
      tags: eventTags(record, variant, batch),
      source: record.senderMask,
      command: record.command,
      params: tagmsg ? [record.target] : [
        record.target,
        redaction === undefined ? record.text : DELETED_TEXT,
      ],
      trailing: !tagmsg,
    });
    if (redaction === undefined) continue;
    const { msgid, time, account, source, reason } = redaction;
    session.send({
      tags: eventTags({ msgid, time, account }, variant, batch),
      source,
      command: "REDACT",
      params: reason === "" ? [record.target, record.msgid] : [record.target, record.msgid, reason],
      trailing: reason !== "",
    });
  }
  closeBatch(session, batch);
}

/**
 * The text a deleted PRIVMSG or NOTICE has in history, for clients with
 * `draft/message-redaction`: the REDACT right after it says it was deleted.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DELETED_TEXT } from "./chathistory.ts";
 *
 * assert.equal(DELETED_TEXT, "[deleted]");
 * ```
 */
export const DELETED_TEXT = "[deleted]";

/** The most messages replayed per conversation to a device that cannot ask for history. */
const REPLAY_PER_TARGET = 100;
/** The most messages replayed in all: the replay is a reply, which the SendQ does not bound. */
const REPLAY_TOTAL = 1000;
/** The most private conversations replayed to such a device. */
const REPLAY_TARGETS = 100;

/**
 * Replays to a device what its always-on user was sent while no device was connected, when
 * the device cannot ask for it (no `draft/chathistory`): for each of the user's channels and
 * each private conversation since `since`, the last {@link REPLAY_PER_TARGET} messages (at
 * most {@link REPLAY_TOTAL} in all, the channels first), as
 * history (a `chathistory` batch for a client with `batch`; the `time` tag with
 * `server-time`). Done once, as the device attaches.
 *
 * @param session The device, registered.
 * @param since Since when the user had had no device, ms since the epoch.
 *
 * @example An always-on user's device without chathistory gets what was said in its absence
 * ```ts
 * import assert from "node:assert/strict";
 * import { HistoryStore } from "../chat/history.ts";
 * import { ChatHub } from "../chat/hub.ts";
 * import { DEFAULT_LIMITS } from "./limits.ts";
 * import { IrcSession } from "./session.ts";
 * import { replayMissed } from "./chathistory.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * const history = HistoryStore.open(dir);
 * const said = [{ msgid: "m1", time: 1000, text: "before" }, {
 *   msgid: "m2",
 *   time: 3000,
 *   text: "while away",
 * }];
 * for (const { msgid, time, text } of said) {
 *   const from = { sender: "bob", senderMask: "bob!bob@h", command: "PRIVMSG" } as const;
 *   history.append({ msgid, time, target: "#lobby", text, ...from });
 * }
 * const hub = new ChatHub({ history });
 * let output = "";
 * const connection = {
 *   transport: "memory",
 *   remoteAddress: "127.0.0.1",
 *   async *lines() {
 *     for (const line of ["NICK ann", "USER ann 0 * :Ann", "JOIN #lobby"]) {
 *       yield new TextEncoder().encode(line);
 *     }
 *     // Every line above is handled when the session asks for the next one.
 *     replayMissed(session, 2000);
 *   },
 *   write(chunks: Uint8Array[]) {
 *     for (const chunk of chunks) output += new TextDecoder().decode(chunk);
 *     return Promise.resolve();
 *   },
 *   close() {},
 * };
 * const session = new IrcSession(connection, {
 *   hub,
 *   flusher: hub.flusher,
 *   limits: DEFAULT_LIMITS,
 *   serverName: "irc.test",
 *   version: "0.1.0",
 *   createdAt: Date.now(),
 *   motd: [],
 *   counters: { sendQDrops: 0 },
 * }, () => {});
 * await session.run();
 * assert.deepEqual(output.split("\r\n").filter((line) => line.split(" ")[1] === "PRIVMSG"), [
 *   ":bob!bob@h PRIVMSG #lobby :while away",
 * ]);
 * history.close();
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export function replayMissed(session: IrcSession, since: number): void {
  const { hub } = session.context;
  const history = hub.history;
  if (history === undefined) return;
  // A message of the very millisecond the last device left may have come after it: include it.
  const after = { kind: "latest", after: { time: since - 1 } } as const;
  const options = queryOptions(session);
  let left = REPLAY_TOTAL;
  const replay = (conversation: string | PrivateConversation, target: string) => {
    if (left === 0) return;
    const records = history.query(conversation, after, Math.min(REPLAY_PER_TARGET, left), options);
    left -= records.length;
    if (records.length > 0) sendHistory(session, target, records);
  };
  try {
    for (const key of session.member.channels) {
      const channel = hub.channels.get(key);
      if (channel !== undefined) replay(channel.name, channel.name);
    }
    const owner = historyOwner(session);
    if (owner === undefined || left === 0) return;
    const partners = history.targets(owner, [], since - 1, Date.now() + 1, REPLAY_TARGETS);
    for (const { target } of partners) replay({ ...owner, partner: target }, target);
  } catch (error) {
    log.error("Replaying to {nick} what it missed failed: {error}", { nick: session.nick, error });
    session.fail("*", "MESSAGE_ERROR", "What was said while you were away could not be read");
  }
}

function parseSelector(sub: string, refs: string[]): HistorySelector | undefined {
  if (sub === "LATEST") {
    if (refs[0] === "*") return { kind: "latest" };
    const after = parseAnchor(refs[0]);
    return after && { kind: "latest", after };
  }
  const anchor = parseAnchor(refs[0]);
  if (anchor === undefined) return undefined;
  if (sub === "BETWEEN") {
    const end = parseAnchor(refs[1]);
    return end && { kind: "between", start: anchor, end };
  }
  return { kind: sub.toLowerCase() as "before" | "after" | "around", anchor };
}

async function targets(
  session: IrcSession,
  fromText: string,
  toText: string,
  limit: number,
): Promise<void> {
  const from = parseAnchor(fromText);
  const to = parseAnchor(toText);
  if (from === undefined || to === undefined || !("time" in from) || !("time" in to)) {
    return session.fail("CHATHISTORY", "INVALID_PARAMS", "TARGETS", "Invalid timestamp");
  }
  const { hub } = session.context;
  const channels = [...session.member.channels].map((key) => hub.channels.get(key)?.name ?? key);
  const history = readerOf(session);
  let found: { target: string; latest: number }[];
  try {
    if (history === undefined) throw new Error("this server keeps no history");
    found = await history.targets(historyOwner(session), channels, from.time, to.time, limit);
  } catch (error) {
    if (history !== hub.history) log.warn("CHATHISTORY TARGETS failed: {error}", { error });
    return session.fail(
      "CHATHISTORY",
      "MESSAGE_ERROR",
      "TARGETS",
      "*",
      "Messages could not be retrieved",
    );
  }
  if (found.length === 0 && !session.hasCap("batch")) return noMessages(session, "TARGETS", "*");
  const batch = openBatch(session, "draft/chathistory-targets");
  for (const { target, latest } of found) {
    session.send({
      tags: batch,
      command: "CHATHISTORY",
      params: ["TARGETS", target, new Date(latest).toISOString()],
    });
  }
  closeBatch(session, batch);
}

/**
 * The account whose private history the client reads (and whose messages it may delete), with
 * its creation time: what an earlier account of the same name owned (one deleted and
 * registered again) stays its own. None when the client is not logged in, or its account no
 * longer exists.
 *
 * @param session The client.
 * @returns Its account and the account's creation time, or undefined.
 *
 * @example A client without an account owns no history
 * ```ts
 * import assert from "node:assert/strict";
 * import { historyOwner } from "./chathistory.ts";
 * import type { IrcSession } from "./session.ts";
 *
 * const guest = { account: undefined, context: {} } as unknown as IrcSession;
 * assert.equal(historyOwner(guest), undefined);
 * ```
 */
export function historyOwner(session: IrcSession): HistoryOwner | undefined {
  if (session.account === undefined) return undefined;
  const account = session.context.accounts?.find(session.account);
  return account && { account: account.name, since: account.createdAt };
}

/**
 * Says that an answer is empty to a client without `batch`, which gets no empty batch and
 * would otherwise get no reply at all: `NOTE CHATHISTORY NO_MESSAGES <sub> <target> :…`.
 */
function noMessages(session: IrcSession, sub: string, target: string): void {
  session.send({
    command: "NOTE",
    params: ["CHATHISTORY", "NO_MESSAGES", sub, target, "No messages to send"],
  });
}

/**
 * Starts a batch when the client supports them.
 *
 * @param session The client.
 * @param type The batch type.
 * @param params The batch's parameters.
 * @returns The tag its lines carry, or undefined without `batch`.
 */
export function openBatch(
  session: IrcSession,
  type: string,
  ...params: string[]
): Record<string, string> | undefined {
  if (!session.hasCap("batch")) return undefined;
  const id = `h${(++batchCounter).toString(36)}`;
  session.send({ command: "BATCH", params: [`+${id}`, type, ...params] });
  return { batch: id };
}

/**
 * Ends a batch that {@link openBatch} started.
 *
 * @param session The client.
 * @param batch What `openBatch` returned.
 */
export function closeBatch(
  session: IrcSession,
  batch: Record<string, string> | undefined,
): void {
  if (batch) session.send({ command: "BATCH", params: [`-${batch.batch}`] });
}
