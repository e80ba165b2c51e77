/**
 * IRCv3 `draft/webpush`: `WEBPUSH REGISTER <endpoint> <keys>` subscribes the client's account
 * to push notifications at a push endpoint, `WEBPUSH UNREGISTER <endpoint>` unsubscribes. Both
 * are echoed on success; errors are standard replies (`FAIL WEBPUSH <code> <subcommand>
 * <endpoint> :<description>`): `INVALID_PARAMS` (bad syntax, endpoint or keys),
 * `MAX_REGISTRATIONS`, `INTERNAL_ERROR`, and `ACCOUNT_REQUIRED` for a client not logged in:
 * a subscription belongs to an account. The server's VAPID key is the `VAPID` ISUPPORT token.
 *
 * @module
 */
import type { IrcMessage } from "../message.ts";
import { parseMessage } from "../message.ts";
import type { IrcSession } from "../session.ts";
import type { EncodedKeys } from "../push_notifications.ts";
import type { Handler } from "./handler.ts";

/**
 * Handles `WEBPUSH`.
 *
 * @param session The client.
 * @param message The command.
 * @returns Resolves once answered (registering resolves the endpoint's host first).
 *
 * @example A client that is not logged in is refused
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Connection } from "../../chat/connection.ts";
 * import { ChatHub } from "../../chat/hub.ts";
 * import { DEFAULT_LIMITS } from "../limits.ts";
 * import { parseMessage } from "../message.ts";
 * import { IrcSession } from "../session.ts";
 * import { webpush } from "./webpush.ts";
 *
 * let output = "";
 * const connection: Connection = {
 *   transport: "memory",
 *   remoteAddress: "127.0.0.1",
 *   async *lines() {},
 *   write(chunks) {
 *     for (const chunk of chunks) output += new TextDecoder().decode(chunk);
 *     return Promise.resolve();
 *   },
 *   close() {},
 * };
 * const hub = new ChatHub();
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
 * session.nick = "ann";
 * await webpush(session, parseMessage("WEBPUSH UNREGISTER https://push.example/1")!);
 * await session.queue.drained();
 * assert.equal(
 *   output,
 *   ":irc.test FAIL WEBPUSH ACCOUNT_REQUIRED UNREGISTER https://push.example/1 :Log in to an account first: push subscriptions belong to accounts\r\n",
 * );
 * ```
 */
export async function webpush(session: IrcSession, message: IrcMessage): Promise<void> {
  const [rawSub, endpoint, keys, ...extra] = message.params;
  const sub = (rawSub ?? "").toUpperCase();
  const fail = (code: string, description: string) =>
    session.fail("WEBPUSH", code, sub || "*", endpoint ?? "*", description);
  if (sub !== "REGISTER" && sub !== "UNREGISTER") {
    return fail("INVALID_PARAMS", "Unknown subcommand: use REGISTER or UNREGISTER");
  }
  const wanted = sub === "REGISTER" ? 2 : 1;
  const given = message.params.length - 1;
  if (given !== wanted || extra.length > 0) {
    return fail(
      "INVALID_PARAMS",
      sub === "REGISTER"
        ? "Usage: WEBPUSH REGISTER <endpoint> <keys>"
        : "Usage: WEBPUSH UNREGISTER <endpoint>",
    );
  }
  const account = session.account;
  if (account === undefined) {
    return fail(
      "ACCOUNT_REQUIRED",
      "Log in to an account first: push subscriptions belong to accounts",
    );
  }
  const push = session.context.push;
  if (push === undefined) {
    return fail(
      "INTERNAL_ERROR",
      "This server sends no push notifications (it runs without a data directory)",
    );
  }
  if (sub === "UNREGISTER") {
    const refusal = push.unregister(account, endpoint);
    if (refusal !== undefined) return fail(refusal.code, refusal.description);
    return session.send({ command: "WEBPUSH", params: ["UNREGISTER", endpoint] });
  }
  const parsed = parseKeys(keys);
  if (typeof parsed === "string") return fail("INVALID_PARAMS", parsed);
  const capabilities = ["server-time", "message-tags", "account-tag"].filter((name) =>
    session.hasCap(name)
  );
  const refusal = await push.register(account, endpoint, parsed, capabilities);
  if (session.closed) return;
  if (refusal !== undefined) return fail(refusal.code, refusal.description);
  session.send({ command: "WEBPUSH", params: ["REGISTER", endpoint] });
}

/** The keys of `REGISTER`, written as message tags (`p256dh=…;auth=…`), or what is wrong. */
function parseKeys(text: string): EncodedKeys | string {
  const tags = text.startsWith("@") ? undefined : parseMessage(`@${text} WEBPUSH`)?.tags;
  const p256dh = tags?.p256dh;
  const auth = tags?.auth;
  if (!p256dh || !auth) {
    return "The keys must be written as message tags with p256dh and auth (p256dh=<key>;auth=<key>)";
  }
  return { p256dh, auth };
}

/** The commands of this file. */
export const WEBPUSH_COMMANDS: Record<string, Handler> = { WEBPUSH: webpush };
