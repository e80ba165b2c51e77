/**
 * Message search, as soju's `soju.im/search` extension defines it (soju's
 * `doc/ext/search.md`, a work-in-progress specification that soju, goguma and gamja use):
 * `SEARCH <attributes>`, the attributes written as message tags are
 * (`text=deploy\sfailed;in=#ops;limit=20`), answered with the matching PRIVMSG and NOTICE
 * lines, each with its original msgid, time and client-only tags, in a `soju.im/search`
 * batch — oldest first. Attributes: `text` (words that must all appear, see
 * `search_text.ts`), `in` (a channel, or the nick of a private conversation), `from` (the
 * sender's nick), `after` and `before` (server-time timestamps, inclusive) and `limit`.
 *
 * What a client finds is what its user may read (see `HistoryStore.search`): channel messages
 * sent while it was in the channel (its account's stored stretches, or its own connection's
 * for a guest), and the private messages of its account — never those of a nick.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { SearchTextError } from "../../chat/search_text.ts";
import { RateLimiter } from "../../chat/rate_limiter.ts";
import type { SearchQuery } from "../../chat/history.ts";
import { closeBatch, historyOwner, openBatch, parseAnchor } from "../chathistory.ts";
import { eventTags } from "../encode.ts";
import type { IrcMessage } from "../message.ts";
import type { IrcSession } from "../session.ts";
import type { Handler } from "./handler.ts";

const log = getLogger(["shmooze", "irc", "search"]);

/**
 * The capability that advertises SEARCH, and the type of its batch.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SEARCH_CAP } from "./search.ts";
 *
 * assert.equal(SEARCH_CAP, "soju.im/search");
 * ```
 */
export const SEARCH_CAP = "soju.im/search";

/**
 * The most messages one SEARCH returns, and what it returns without `limit`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseSearchAttributes, SEARCH_LIMIT } from "./search.ts";
 *
 * assert.deepEqual(parseSearchAttributes("text=x;limit=5000"), {
 *   query: { text: "x" },
 *   limit: SEARCH_LIMIT,
 * });
 * ```
 */
export const SEARCH_LIMIT = 100;
/** The window of a client's SEARCH budget (`IrcLimits.searchBudget`). */
const SEARCH_WINDOW_MS = 10_000;
const ATTRIBUTES = new Set(["text", "in", "from", "after", "before", "limit"]);
const budgets = new WeakMap<IrcSession, RateLimiter>();

/** A refused attribute: which one and why, for `FAIL SEARCH INVALID_PARAMS <name> :<why>`. */
export interface InvalidAttribute {
  /** The attribute (or `*` for the whole parameter). */
  name: string;
  /** Why, for the user. */
  reason: string;
}

/**
 * Parses SEARCH's attributes: `name=value` pairs separated by `;`, values escaped as message
 * tag values are (`\s` a space, `\:` a semicolon, `\\` a backslash).
 *
 * @param text The attributes.
 * @returns The query and the limit asked for, or the first attribute that is wrong.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseSearchAttributes } from "./search.ts";
 *
 * assert.deepEqual(parseSearchAttributes("text=deploy\\sfailed;in=#ops;limit=5"), {
 *   query: { text: "deploy failed", in: "#ops" },
 *   limit: 5,
 * });
 * assert.deepEqual(parseSearchAttributes("text=x;colour=red"), {
 *   name: "colour",
 *   reason: "Unknown attribute",
 * });
 * ```
 */
export function parseSearchAttributes(
  text: string,
): { query: SearchQuery; limit: number } | InvalidAttribute {
  const query: SearchQuery = {};
  let limit = SEARCH_LIMIT;
  const seen = new Set<string>();
  for (const pair of text.split(";")) {
    if (pair === "") continue;
    const equals = pair.indexOf("=");
    const name = equals < 0 ? pair : pair.slice(0, equals);
    const value = equals < 0 ? "" : unescapeValue(pair.slice(equals + 1));
    if (!ATTRIBUTES.has(name)) return { name, reason: "Unknown attribute" };
    if (seen.has(name)) return { name, reason: "Attribute given twice" };
    seen.add(name);
    if (value === "") return { name, reason: "Attribute has no value" };
    switch (name) {
      case "text":
        query.text = value;
        break;
      case "in":
      case "from":
        if (/[\s,\0]/.test(value)) return { name, reason: "Not a channel or nick" };
        query[name] = value;
        break;
      case "after":
      case "before": {
        const anchor = parseAnchor(`timestamp=${value}`);
        if (anchor === undefined || !("time" in anchor)) {
          return { name, reason: "Not a timestamp like 2026-01-31T12:00:00.000Z" };
        }
        query[name] = anchor.time;
        break;
      }
      case "limit":
        if (!/^\d{1,9}$/.test(value) || Number(value) < 1) {
          return { name, reason: "Not a whole number of at least 1" };
        }
        limit = Math.min(Number(value), SEARCH_LIMIT);
        break;
    }
  }
  return { query, limit };
}

/** Undoes message-tag value escaping (IRCv3 message-tags). */
function unescapeValue(value: string): string {
  return value.replace(
    /\\(.?)/g,
    (_, next: string) =>
      next === ":" ? ";" : next === "s" ? " " : next === "r" ? "\r" : next === "n" ? "\n" : next,
  );
}

/**
 * Handles one SEARCH command: the matching messages the user may read, oldest first, in a
 * `soju.im/search` batch (without `batch`, the lines alone, or a NOTE when there are none).
 * When the search ran out of time, a `WARN SEARCH INCOMPLETE` follows what it found.
 *
 * @param session The client.
 * @param message The command.
 *
 * @example A member finds what was said in its channel; a bad attribute gets a FAIL
 * ```ts
 * import assert from "node:assert/strict";
 * import { HistoryStore } from "../../chat/history.ts";
 * import { ChatHub } from "../../chat/hub.ts";
 * import { DEFAULT_LIMITS } from "../limits.ts";
 * import { IrcSession } from "../session.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * const hub = new ChatHub({ history: HistoryStore.open(dir) });
 * let output = "";
 * const said = [
 *   "NICK ann",
 *   "USER ann 0 * :Ann",
 *   "JOIN #lobby",
 *   "PRIVMSG #lobby :the build is green",
 *   "SEARCH text=build",
 *   "SEARCH text=build;colour=red",
 * ];
 * const connection = {
 *   transport: "memory",
 *   remoteAddress: "127.0.0.1",
 *   async *lines() {
 *     for (const line of said) {
 *       yield new TextEncoder().encode(line);
 *       hub.flusher.flush(); // commits the message, as the server's timer does
 *     }
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
 * const lines = output.split("\r\n");
 * assert.ok(lines.includes(":ann!ann@127.0.0.1 PRIVMSG #lobby :the build is green"));
 * assert.ok(lines.includes(":irc.test FAIL SEARCH INVALID_PARAMS colour :Unknown attribute"));
 * hub.history!.close();
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export function search(session: IrcSession, message: IrcMessage): void {
  if (message.params.length === 0) return session.needMoreParams("SEARCH");
  const { searchBudget } = session.context.limits;
  let budget = budgets.get(session);
  if (budget === undefined) {
    budget = new RateLimiter({ limit: searchBudget, windowMs: SEARCH_WINDOW_MS });
    budgets.set(session, budget);
  }
  if (!budget.take("")) {
    const seconds = Math.ceil(budget.retryAfter("") / 1000);
    return session.fail(
      "SEARCH",
      "RATE_LIMITED",
      `Too many searches (${searchBudget} in ${
        SEARCH_WINDOW_MS / 1000
      } s); try again in ${seconds} s`,
    );
  }
  // A client that did not escape its spaces sent the attributes as several parameters.
  const parsed = parseSearchAttributes(message.params.join(" "));
  if ("reason" in parsed) {
    return session.fail("SEARCH", "INVALID_PARAMS", parsed.name, parsed.reason);
  }
  const { hub } = session.context;
  const history = hub.history;
  if (history === undefined) {
    return session.fail("SEARCH", "INTERNAL_ERROR", "This server keeps no history to search");
  }
  const member = session.member;
  const reader = {
    owner: historyOwner(session),
    presence: hub.memberships?.presenceOf(member),
    channels: [...member.channels].map((key) => hub.channels.get(key)?.name ?? key),
  };
  let found;
  try {
    found = history.search(reader, parsed.query, parsed.limit, {
      timeBudgetMs: session.context.limits.searchTimeMs,
    });
  } catch (error) {
    if (error instanceof SearchTextError) {
      return session.fail("SEARCH", "INVALID_PARAMS", "text", error.message);
    }
    log.error("SEARCH from {nick} failed: {error}", { nick: session.nick, error });
    return session.fail("SEARCH", "INTERNAL_ERROR", "The search could not be run");
  }
  const { records, complete } = found;
  if (records.length === 0 && !session.hasCap("batch")) {
    session.send({ command: "NOTE", params: ["SEARCH", "NO_MESSAGES", "No messages match"] });
  } else {
    const variant = session.variant;
    const batch = openBatch(session, SEARCH_CAP);
    for (const record of records) {
      session.send({
        tags: eventTags(record, variant, batch),
        source: record.senderMask,
        command: record.command,
        params: [record.target, record.text],
        trailing: true,
      });
    }
    closeBatch(session, batch);
  }
  if (!complete) {
    session.send({
      command: "WARN",
      params: [
        "SEARCH",
        "INCOMPLETE",
        `The search stopped after ${session.context.limits.searchTimeMs} ms; narrow it with in=, from=, after= or before=`,
      ],
    });
  }
}

/**
 * The commands of this file, for the session's table.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { search, SEARCH_COMMANDS } from "./search.ts";
 *
 * assert.equal(SEARCH_COMMANDS.SEARCH, search);
 * ```
 */
export const SEARCH_COMMANDS: Record<string, Handler> = { SEARCH: search };
