/**
 * IRCv3 `draft/chathistory`: the CHATHISTORY command (LATEST, BEFORE, AFTER, AROUND,
 * BETWEEN, TARGETS), answered from the history store inside a `chathistory` batch.
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
} from "../chat/history.ts";
import { RateLimiter } from "../chat/rate_limiter.ts";
import { eventTags } from "./encode.ts";
import type { IrcMessage } from "./message.ts";
import type { IrcSession } from "./session.ts";

const SUBCOMMANDS = new Set(["LATEST", "BEFORE", "AFTER", "AROUND", "BETWEEN", "TARGETS"]);
const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
let batchCounter = 0;
/** Each query reads the database, so a client gets a budget beside its flood allowance. */
const BUDGET_WINDOW_MS = 10_000;
const budgets = new WeakMap<IrcSession, RateLimiter>();

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
 * @example A member of #lobby reads what was said there
 * ```ts
 * import assert from "node:assert/strict";
 * import { HistoryStore } from "../chat/history.ts";
 * import { ChatHub } from "../chat/hub.ts";
 * import { DEFAULT_LIMITS } from "./limits.ts";
 * import { parseMessage } from "./message.ts";
 * import { IrcSession } from "./session.ts";
 * import { chatHistory } from "./chathistory.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * const hub = new ChatHub({ history: HistoryStore.open(dir) });
 * let output = "";
 * const connection = {
 *   transport: "memory",
 *   remoteAddress: "127.0.0.1",
 *   async *lines() {},
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
 * session.nick = session.user = "ann";
 * hub.add(session);
 * hub.join(session, "#lobby");
 * await hub.send(session, "privmsg", "#lobby", "hello");
 * await session.queue.drained();
 * output = "";
 * chatHistory(session, parseMessage("CHATHISTORY LATEST #lobby * 10")!);
 * chatHistory(session, parseMessage("CHATHISTORY LATEST #elsewhere * 10")!);
 * await session.queue.drained();
 * assert.deepEqual(output.split("\r\n"), [
 *   ":ann!ann@127.0.0.1 PRIVMSG #lobby :hello",
 *   ":irc.test FAIL CHATHISTORY INVALID_TARGET LATEST #elsewhere :Messages could not be retrieved",
 *   "",
 * ]);
 * hub.history!.close();
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export function chatHistory(session: IrcSession, message: IrcMessage): void {
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
  if (sub === "TARGETS") return targets(session, args[0], args[1], limit);

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
    if (channel === undefined || !channel.members.has(session)) return invalidTarget();
    conversation = channel.name;
    replyTarget = channel.name;
  } else if (target === "*" || target === "" || target.includes(",")) {
    return invalidTarget();
  } else {
    const owner = ownerOf(session);
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
  const history = hub.history;
  let records: HistoryRecord[];
  try {
    if (history === undefined) throw new Error("this server keeps no history");
    records = history.query(conversation, selector, limit);
  } catch {
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
  const batch = openBatch(session, "chathistory", replyTarget);
  for (const record of records) {
    session.send({
      tags: eventTags(record, session.variant, batch),
      source: record.senderMask,
      command: record.command,
      params: [record.target, record.text],
      trailing: true,
    });
  }
  closeBatch(session, batch);
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

function targets(session: IrcSession, fromText: string, toText: string, limit: number): void {
  const from = parseAnchor(fromText);
  const to = parseAnchor(toText);
  if (from === undefined || to === undefined || !("time" in from) || !("time" in to)) {
    return session.fail("CHATHISTORY", "INVALID_PARAMS", "TARGETS", "Invalid timestamp");
  }
  const { hub } = session.context;
  const channels = [...session.channels].map((key) => hub.channels.get(key)?.name ?? key);
  let found: { target: string; latest: number }[];
  try {
    if (hub.history === undefined) throw new Error("this server keeps no history");
    found = hub.history.targets(ownerOf(session), channels, from.time, to.time, limit);
  } catch {
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
 * The account whose private history the client reads, with its creation time: what an
 * earlier account of the same name owned (one deleted and registered again) stays its own.
 * None when the client is not logged in, or its account no longer exists.
 */
function ownerOf(session: IrcSession): HistoryOwner | undefined {
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

/** Starts a batch when the client supports them; returns the tag its lines carry. */
function openBatch(
  session: IrcSession,
  type: string,
  ...params: string[]
): Record<string, string> | undefined {
  if (!session.hasCap("batch")) return undefined;
  const id = `h${(++batchCounter).toString(36)}`;
  session.send({ command: "BATCH", params: [`+${id}`, type, ...params] });
  return { batch: id };
}

function closeBatch(session: IrcSession, batch: Record<string, string> | undefined): void {
  if (batch) session.send({ command: "BATCH", params: [`-${batch.batch}`] });
}
