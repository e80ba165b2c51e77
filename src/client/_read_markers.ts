/**
 * Read markers (IRCv3 `draft/read-marker`) as the terminal client uses them: the account's
 * marker per conversation, shared by its devices; the unread messages of a conversation
 * fetched from history (`draft/chathistory`) when a marker arrives after a join or a login;
 * and the marker moved by `/markread` or a deliberate quit.
 *
 * @module
 */
import { foldCase } from "../chat/casemap.ts";
import { clean, clock, isChannel } from "./_text.ts";

/** What read markers need of a connection (an `IrcClient` has it all). */
export interface MarkerConnection {
  /** The account logged in to, if any. */
  readonly account: string | undefined;
  /** The capabilities enabled. */
  readonly capabilities: ReadonlySet<string>;
  /** The server's ISUPPORT tokens (CHATHISTORY is the most messages it returns at once). */
  readonly isupport: ReadonlyMap<string, string>;
  /** Sends one message. */
  send(command: string, ...params: string[]): Promise<void>;
}

/** Why the client waits for a MARKREAD from the server. */
type Expected =
  | { kind: "join" }
  | { kind: "answer" }
  | { kind: "quiet" }
  | { kind: "conversation"; latest: string };

/** What a MARKREAD from the server means to the user. */
export type MarkerNews =
  /** The marker of a conversation just joined or found; its unread messages are fetched. */
  | { kind: "found"; target: string; marker: string | undefined; fetching: boolean }
  /** The answer to our own `/markread`. */
  | { kind: "own"; target: string; marker: string | undefined }
  /** Another device of the account moved it. */
  | { kind: "elsewhere"; target: string; marker: string | undefined };

/** A history request for a conversation's unread messages, not yet answered. */
export interface UnreadRequest {
  /** The marker the unread messages follow; undefined when the conversation has none. */
  since: string | undefined;
  /** The most messages asked for. */
  limit: number;
}

/** The most unread messages asked for per conversation, under the server's CHATHISTORY. */
const UNREAD_LIMIT = 100;
/** How many private conversations a login looks at for unread messages. */
const CONVERSATIONS = 20;

/** `timestamp=T` as T, `*` (no marker) as undefined. */
function markerOf(param: string | undefined): string | undefined {
  return param?.startsWith("timestamp=") ? param.slice("timestamp=".length) : undefined;
}

/**
 * One connection's view of its account's read markers.
 *
 * @example A marker after a join asks for what follows it
 * ```ts
 * import assert from "node:assert/strict";
 * import { type MarkerConnection, ReadMarkers } from "./_read_markers.ts";
 *
 * const sent: string[][] = [];
 * const connection: MarkerConnection = {
 *   account: "ann",
 *   capabilities: new Set(["batch", "draft/chathistory", "draft/read-marker"]),
 *   isupport: new Map([["CHATHISTORY", "50"]]),
 *   send: (...line: string[]) => (sent.push(line), Promise.resolve()),
 * };
 * const markers = new ReadMarkers(connection);
 * markers.joined("#lobby");
 * const since = "2026-01-01T10:00:00.000Z";
 * const news = markers.receive(["#lobby", `timestamp=${since}`]);
 * assert.deepEqual(news, { kind: "found", target: "#lobby", marker: since, fetching: true });
 * assert.deepEqual(sent, [["CHATHISTORY", "AFTER", "#lobby", `timestamp=${since}`, "50"]]);
 * assert.deepEqual(markers.claim("#LOBBY"), { since, limit: 50 });
 * assert.equal(markers.claim("#lobby"), undefined);
 * const later = "2026-01-01T11:00:00.000Z";
 * assert.equal(markers.receive(["#lobby", `timestamp=${later}`])?.kind, "elsewhere");
 * assert.equal(markers.receive(["#lobby", `timestamp=${later}`]), undefined);
 * ```
 */
export class ReadMarkers {
  readonly #client: MarkerConnection;
  #markers = new Map<string, string | undefined>();
  #expected = new Map<string, Expected>();
  #unread = new Map<string, UnreadRequest>();

  /**
   * Starts with no marker known.
   *
   * @param client The connection (an `IrcClient`): its capabilities, account, limits, and a
   *   way to send.
   */
  constructor(client: MarkerConnection) {
    this.#client = client;
  }

  /** Whether the server keeps read markers for this connection (an account is needed). */
  get available(): boolean {
    return this.#client.capabilities.has("draft/read-marker");
  }

  /** Whether unread messages can be fetched: markers, history, and batches to tell them. */
  get #fetchable(): boolean {
    const caps = this.#client.capabilities;
    return this.available && caps.has("draft/chathistory") && caps.has("batch") &&
      this.#client.account !== undefined;
  }

  /**
   * The marker of a conversation, as last heard.
   *
   * @param target The channel or nick.
   * @returns The time read up to, or undefined when unknown or never set.
   */
  marker(target: string): string | undefined {
    return this.#markers.get(foldCase(target));
  }

  /**
   * Notes that we joined a channel: the server sends its marker next.
   *
   * @param channel The channel.
   */
  joined(channel: string): void {
    this.#expected.set(foldCase(channel), { kind: "join" });
  }

  /**
   * Asks the server for the private conversations with recent messages (CHATHISTORY
   * TARGETS), so those with unread messages can be shown after a login.
   *
   * @returns When sent (at once when the server cannot answer).
   */
  async discover(): Promise<void> {
    if (!this.#fetchable) return;
    const now = new Date().toISOString();
    const epoch = new Date(0).toISOString();
    // From now back to the epoch: the newest conversations when there are more.
    await this.#client.send(
      "CHATHISTORY",
      "TARGETS",
      `timestamp=${now}`,
      `timestamp=${epoch}`,
      String(CONVERSATIONS),
    );
  }

  /**
   * Takes one line of a TARGETS answer: a private conversation with messages up to `latest`
   * gets its marker asked for, to see whether any are unread.
   *
   * @param params The parameters of `CHATHISTORY TARGETS <target> <latest>`.
   */
  target(params: string[]): void {
    const [sub, target, latest] = params;
    if (sub !== "TARGETS" || !target || !latest || isChannel(target)) return;
    this.#expected.set(foldCase(target), { kind: "conversation", latest });
    this.#send("MARKREAD", target);
  }

  /**
   * Moves our marker of a conversation to a message's time, or, with no time, asks for it.
   *
   * @param target The channel or nick.
   * @param time The time of the newest message read, as the server gave it.
   */
  mark(target: string, time: string | undefined): void {
    this.#expected.set(foldCase(target), { kind: "answer" });
    if (time === undefined) this.#send("MARKREAD", target);
    else this.#send("MARKREAD", target, `timestamp=${time}`);
  }

  /**
   * Marks every conversation read up to the newest message shown in it, where that is past
   * its marker: what a deliberate quit does, without a word. A channel that never had a
   * marker and showed no message is marked read up to our arrival in it, so what comes
   * after counts as unread next time.
   *
   * @param newest The newest message shown per conversation.
   * @param arrivals When we joined each channel we are in (the JOIN's time).
   */
  markAll(
    newest: Iterable<{ conversation: string; time: string }>,
    arrivals: Iterable<{ conversation: string; time: string }>,
  ): void {
    if (!this.available || this.#client.account === undefined) return;
    const marked = new Set<string>();
    const quietly = (conversation: string, time: string) => {
      marked.add(foldCase(conversation));
      this.#expected.set(foldCase(conversation), { kind: "quiet" });
      this.#send("MARKREAD", conversation, `timestamp=${time}`);
    };
    for (const { conversation, time } of newest) {
      const marker = this.marker(conversation);
      if (marker === undefined || time > marker) quietly(conversation, time);
    }
    for (const { conversation, time } of arrivals) {
      const key = foldCase(conversation);
      if (!marked.has(key) && this.#markers.has(key) && this.marker(conversation) === undefined) {
        quietly(conversation, time);
      }
    }
  }

  /**
   * Takes a MARKREAD from the server and says what it means; for a conversation just joined
   * or found with messages past its marker, asks history for them.
   *
   * @param params The parameters of `MARKREAD <target> <timestamp=…|*>`.
   * @returns What to tell the user, or undefined for a line that says nothing.
   */
  receive(params: string[]): MarkerNews | undefined {
    const [target, param] = params;
    if (!target) return undefined;
    const key = foldCase(target);
    const marker = markerOf(param);
    const known = this.#markers.get(key);
    this.#markers.set(key, marker);
    const expected = this.#expected.get(key);
    this.#expected.delete(key);
    if (expected?.kind === "quiet") return undefined;
    if (expected?.kind === "answer") return { kind: "own", target, marker };
    if (expected === undefined) {
      // A repeat of what we know moved nothing.
      return marker === known ? undefined : { kind: "elsewhere", target, marker };
    }
    let fetching = this.#fetchable;
    if (expected.kind === "conversation") {
      fetching &&= marker === undefined || expected.latest > marker;
    } else {
      // A channel never marked read has no "unread": its history is not the account's backlog.
      fetching &&= marker !== undefined;
    }
    if (fetching) this.#fetch(target, marker);
    return { kind: "found", target, marker, fetching };
  }

  /**
   * Whether a chathistory batch for this conversation answers our request for its unread
   * messages (then the request is done).
   *
   * @param target The batch's target.
   * @returns The request, or undefined for another batch.
   */
  claim(target: string): UnreadRequest | undefined {
    const key = foldCase(target);
    const request = this.#unread.get(key);
    this.#unread.delete(key);
    return request;
  }

  /**
   * Forgets a request the server refused (a FAIL CHATHISTORY naming the conversation).
   *
   * @param params The FAIL's parameters.
   */
  refused(params: string[]): void {
    for (const param of params.slice(2, -1)) this.#unread.delete(foldCase(param));
  }

  #fetch(target: string, since: string | undefined): void {
    const offered = Number(this.#client.isupport.get("CHATHISTORY"));
    const limit = offered > 0 ? Math.min(offered, UNREAD_LIMIT) : UNREAD_LIMIT;
    this.#unread.set(foldCase(target), { since, limit });
    if (since === undefined) this.#send("CHATHISTORY", "LATEST", target, "*", String(limit));
    else this.#send("CHATHISTORY", "AFTER", target, `timestamp=${since}`, String(limit));
  }

  /** Sends from the reading side; a failure there is the lost connection, reported there. */
  #send(command: string, ...params: string[]): void {
    this.#client.send(command, ...params).catch(() => {});
  }
}

/**
 * The line that tells the user what a read marker from the server means, if any: the
 * marker of a channel joined (when its unread messages are not fetched: with them on their
 * way, the line that counts them says it all), the answer to `/markread`, or another device
 * moving it. A private conversation found with nothing unread is not worth a line.
 *
 * @param news What the marker means.
 * @returns The line, or undefined for none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { markerLine } from "./_read_markers.ts";
 *
 * const marker = new Date().toISOString();
 * assert.match(
 *   markerLine({ kind: "elsewhere", target: "#lobby", marker })!,
 *   /^#lobby read up to \d\d:\d\d:\d\d on another device$/,
 * );
 * assert.equal(
 *   markerLine({ kind: "own", target: "bob", marker: undefined }),
 *   "bob has no read marker yet",
 * );
 * assert.equal(markerLine({ kind: "found", target: "#lobby", marker, fetching: true }), undefined);
 * ```
 */
export function markerLine(news: MarkerNews): string | undefined {
  const target = clean(news.target);
  const upTo = news.marker === undefined
    ? undefined
    : `${target} read up to ${clock(new Date(news.marker))}`;
  switch (news.kind) {
    case "found":
      return !news.fetching && isChannel(news.target) ? upTo : undefined;
    case "own":
      return upTo ?? `${target} has no read marker yet`;
    case "elsewhere":
      return upTo && `${upTo} on another device`;
  }
}

/**
 * The line above a conversation's unread messages, which counts those from others.
 *
 * @param target The channel or nick.
 * @param request What was asked for: since which marker, and how many at most.
 * @param count How many of the messages came from others.
 * @param received How many messages came (the request's limit when there may be more).
 * @returns The line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { unreadLine } from "./_read_markers.ts";
 *
 * const request = { since: undefined, limit: 100 };
 * assert.equal(unreadLine("bob", request, 1, 1), "1 unread from bob:");
 * assert.equal(unreadLine("#lobby", request, 0, 2), "nothing unread in #lobby");
 * assert.equal(
 *   unreadLine("#lobby", request, 100, 100),
 *   "at least 100 unread in #lobby (the first 100; /history #lobby shows the latest):",
 * );
 * ```
 */
export function unreadLine(
  target: string,
  request: UnreadRequest,
  count: number,
  received: number,
): string {
  const where = isChannel(target) ? `in ${clean(target)}` : `from ${clean(target)}`;
  const since = request.since === undefined ? "" : ` since ${clock(new Date(request.since))}`;
  if (count === 0) return `nothing unread ${where}${since}`;
  if (received < request.limit) return `${count} unread ${where}${since}:`;
  return `at least ${count} unread ${where}${since} (the first ${request.limit}; /history ${
    clean(target)
  } shows the latest):`;
}
