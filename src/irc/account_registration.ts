/**
 * IRCv3 `draft/account-registration`: `REGISTER <account> {<email> | *} <password>` makes the
 * client's current nick an account and logs the client in. The account name must be the
 * nick (`*` means the nick); the e-mail address is not used (nothing is verified by mail).
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { RegisterFailure, RegisterResult } from "../chat/accounts.ts";
import { maskOf } from "../chat/member.ts";
import { foldCase } from "../chat/casemap.ts";
import type { IrcMessage } from "./message.ts";
import { Numeric } from "./numerics.ts";
import { addressKey } from "../net/address_key.ts";
import { isLoopback } from "../net/loopback.ts";
import type { IrcSession } from "./session.ts";

const log = getLogger(["shmooze", "irc", "accounts"]);
const FAIL_CODES: Record<RegisterFailure, string> = {
  "bad-account-name": "BAD_ACCOUNT_NAME",
  "account-exists": "ACCOUNT_EXISTS",
  "weak-password": "WEAK_PASSWORD",
  "temporarily-unavailable": "TEMPORARILY_UNAVAILABLE",
};

/**
 * Handles `REGISTER` from a registered client.
 *
 * @param session The client.
 * @param message The command.
 * @returns Resolves when the reply is queued.
 *
 * @example Register the current nick over loopback
 * ```ts
 * import assert from "node:assert/strict";
 * import { AccountStore } from "../chat/accounts.ts";
 * import { ChatHub } from "../chat/hub.ts";
 * import { DEFAULT_LIMITS } from "./limits.ts";
 * import { parseMessage } from "./message.ts";
 * import { IrcSession } from "./session.ts";
 * import { registerAccount } from "./account_registration.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * const accounts = AccountStore.open(dir, { hashCost: { memoryKiB: 64, iterations: 1 } });
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
 * const hub = new ChatHub();
 * const session = new IrcSession(connection, {
 *   hub,
 *   flusher: hub.flusher,
 *   limits: DEFAULT_LIMITS,
 *   serverName: "irc.test",
 *   version: "0.1.0",
 *   createdAt: Date.now(),
 *   motd: [],
 *   accounts,
 *   counters: { sendQDrops: 0 },
 * }, () => {});
 * session.nick = "ann";
 * await registerAccount(session, parseMessage("REGISTER * * a-long-password")!);
 * assert.equal(session.account, "ann");
 * assert.equal(accounts.find("ANN")?.name, "ann");
 * await session.queue.drained();
 * assert.ok(output.startsWith(":irc.test REGISTER SUCCESS ann :Account created\r\n"));
 * accounts.close();
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export async function registerAccount(session: IrcSession, message: IrcMessage): Promise<void> {
  const [requested, _email, password] = message.params;
  if (password === undefined) return session.needMoreParams("REGISTER");
  const accounts = session.context.accounts;
  const name = requested === "*" ? session.nick : requested;
  if (accounts === undefined) {
    return session.fail(
      "REGISTER",
      "TEMPORARILY_UNAVAILABLE",
      name,
      "This server keeps no accounts (it runs without a data directory)",
    );
  }
  if (session.account !== undefined) {
    return session.fail(
      "REGISTER",
      "ALREADY_AUTHENTICATED",
      session.account,
      `You are already logged in as ${session.account}`,
    );
  }
  if (foldCase(name) !== foldCase(session.nick)) {
    return session.fail(
      "REGISTER",
      "ACCOUNT_NAME_MUST_BE_NICK",
      name,
      "The account name must be your current nick",
    );
  }
  if (!session.secure && !isLoopback(session.address)) {
    return session.fail(
      "REGISTER",
      "TLS_REQUIRED",
      name,
      "Registering here would send your password in clear text; connect with TLS",
    );
  }
  let result: RegisterResult;
  try {
    const cluster = session.context.cluster;
    result = cluster === undefined
      ? await accounts.register(name, password, addressKey(session.address))
      : await registerThroughLog(session, name, password);
  } catch (error) {
    log.error("Registering {name} failed: {error}", { name, error });
    return session.fail("REGISTER", "TEMPORARILY_UNAVAILABLE", name, "The account store failed");
  }
  if (session.closed) return;
  if (!result.ok) return session.fail("REGISTER", FAIL_CODES[result.reason], name, result.message);
  // A new account: no other user can be logged in to it. (In a cluster, a registered user was
  // logged in on every node as the registration was applied.)
  if (session.context.cluster === undefined || !session.registered) {
    session.logIn(result.account.name);
  }
  session.send({
    command: "REGISTER",
    params: ["SUCCESS", result.account.name, "Account created"],
  });
  session.reply(
    Numeric.RPL_LOGGEDIN,
    maskOf(session),
    result.account.name,
    `You are now logged in as ${result.account.name}`,
  );
  if (session.registered) session.context.moderation?.enforce(session.member);
}

/**
 * Registers through a cluster's log: this node checks and hashes, every node stores the hash
 * as it applies the event (the first registration of a name in the log wins, everywhere).
 */
async function registerThroughLog(
  session: IrcSession,
  name: string,
  password: string,
): Promise<RegisterResult> {
  const accounts = session.context.accounts!;
  const address = addressKey(session.address);
  const prepared = await accounts.prepareRegistration(name, password, address);
  if (!prepared.ok) return prepared;
  const stored = await session.context.cluster!.registerAccount(
    session.registered ? session : undefined,
    name,
    prepared.hash,
    prepared.createdAt,
  );
  if (stored === "unavailable") {
    return {
      ok: false,
      reason: "temporarily-unavailable",
      message: "The account could not be registered now; try again later",
    };
  }
  if (!stored) {
    return {
      ok: false,
      reason: "account-exists",
      message: `Account "${name}" is already registered`,
    };
  }
  accounts.rememberAddress(name, address);
  return { ok: true, account: { name, createdAt: prepared.createdAt } };
}
