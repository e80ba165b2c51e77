/**
 * IRCv3 `sasl` with two mechanisms: `AUTHENTICATE PLAIN` or `AUTHENTICATE IRCV3BEARER`,
 * `AUTHENTICATE +`, then the base64 (in 400-byte chunks) of `authzid NUL account NUL
 * password` (PLAIN) or `authzid NUL shmooze NUL token` (IRCV3BEARER, the draft bearer
 * mechanism, with a session token from `TOKEN GENERATE`), answered 900 + 903 or 904. Both send
 * a secret itself, so both are refused on a link that is neither TLS nor loopback: there
 * anyone on the path could read it.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { LoginResult } from "../chat/accounts.ts";
import { foldCase } from "../chat/casemap.ts";
import { maskOf } from "../chat/member.ts";
import { Numeric } from "./numerics.ts";
import type { IrcSession } from "./session.ts";
import { addressKey } from "../net/address_key.ts";
import { isLoopback } from "../net/loopback.ts";

const log = getLogger(["shmooze", "irc", "sasl"]);
/** The mechanisms offered, as `sasl=` and 908 list them. */
const MECHANISMS = ["PLAIN", "IRCV3BEARER"] as const;
type Mechanism = typeof MECHANISMS[number];
/**
 * The token type IRCV3BEARER takes: shmooze's own session tokens (see `session_tokens.ts`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BEARER_TOKEN_TYPE } from "./sasl.ts";
 *
 * assert.equal(BEARER_TOKEN_TYPE, "shmooze");
 * ```
 */
export const BEARER_TOKEN_TYPE = "shmooze";
/**
 * The `sasl` capability's value: the mechanisms, as `CAP LS 302` shows them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SASL_MECHANISMS } from "./sasl.ts";
 *
 * assert.equal(SASL_MECHANISMS, "PLAIN,IRCV3BEARER");
 * ```
 */
export const SASL_MECHANISMS: string = MECHANISMS.join(",");
/** A full AUTHENTICATE chunk: more follow. */
const CHUNK = 400;
/** Longest decoded PLAIN payload: two 32-byte names, a 256-character password, margin. */
const MAX_PAYLOAD_BASE64 = 2048;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * One client's SASL conversation. The session creates it on the first AUTHENTICATE and
 * holds registration back while an exchange is {@link SaslExchange.pending}.
 *
 * @example Log in with PLAIN over loopback
 * ```ts
 * import assert from "node:assert/strict";
 * import { AccountStore } from "../chat/accounts.ts";
 * import { ChatHub } from "../chat/hub.ts";
 * import { DEFAULT_LIMITS } from "./limits.ts";
 * import { IrcSession } from "./session.ts";
 * import { SaslExchange } from "./sasl.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * const accounts = AccountStore.open(dir, { hashCost: { memoryKiB: 64, iterations: 1 } });
 * await accounts.register("ann", "a long password", "127.0.0.1");
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
 * const done = Promise.withResolvers<void>();
 * const sasl = new SaslExchange(session, done.resolve);
 * sasl.handle(["PLAIN"]);
 * assert.ok(sasl.pending);
 * sasl.handle([btoa("\0ann\0a long password")]);
 * await done.promise;
 * assert.ok(!sasl.pending);
 * assert.equal(session.account, "ann");
 * await session.queue.drained();
 * const lines = output.split("\r\n");
 * assert.equal(lines[0], ":irc.test AUTHENTICATE +");
 * assert.equal(lines.at(-2), ":irc.test 903 * :SASL authentication successful");
 * accounts.close();
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export class SaslExchange {
  #session: IrcSession;
  #onDone: () => void;
  #mechanism: Mechanism | undefined;
  #payload = "";
  #checking = false;

  /**
   * Makes a conversation with no exchange started.
   *
   * @param session The client.
   * @param onDone Called when an exchange ends (success, failure or abort).
   */
  constructor(session: IrcSession, onDone: () => void) {
    this.#session = session;
    this.#onDone = onDone;
  }

  /** Whether an exchange has started and not ended. */
  get pending(): boolean {
    return this.#mechanism !== undefined;
  }

  /**
   * Handles one `AUTHENTICATE` line.
   *
   * @param params Its parameters.
   * @returns When the line completed the payload: resolves once the password is checked and
   *   answered, so the session handles the client's next command after that answer.
   */
  handle(params: string[]): Promise<void> | void {
    const session = this.#session;
    const arg = params[0];
    if (arg === undefined || arg === "") return session.needMoreParams("AUTHENTICATE");
    if (session.account !== undefined) {
      return session.reply(Numeric.ERR_SASLALREADY, "You have already authenticated using SASL");
    }
    if (arg === "*") {
      if (this.pending) this.#end();
      return session.reply(Numeric.ERR_SASLABORTED, "SASL authentication aborted");
    }
    if (this.#checking) return;
    if (!this.pending) return this.#start(arg);
    if (arg !== "+") this.#payload += arg;
    if (this.#payload.length > MAX_PAYLOAD_BASE64) {
      this.#end();
      return session.reply(Numeric.ERR_SASLTOOLONG, "SASL message too long");
    }
    if (arg.length < CHUNK) return this.#check();
  }

  /**
   * Abandons an open exchange (the client ended capability negotiation in the middle of it):
   * 906, as for `AUTHENTICATE *`, and the exchange is over.
   */
  abort(): void {
    if (!this.pending) return;
    this.#session.reply(Numeric.ERR_SASLABORTED, "SASL authentication aborted");
    this.#end();
  }

  #start(asked: string): void {
    const session = this.#session;
    const mechanism = MECHANISMS.find((name) => name === asked.toUpperCase());
    if (mechanism === undefined) {
      session.reply(Numeric.RPL_SASLMECHS, SASL_MECHANISMS, "are available SASL mechanisms");
      return session.reply(Numeric.ERR_SASLFAIL, "SASL authentication failed");
    }
    if (session.context.accounts === undefined) {
      return session.reply(
        Numeric.ERR_SASLFAIL,
        "SASL authentication failed: this server keeps no accounts (it runs without a data directory)",
      );
    }
    if (!session.secure && !isLoopback(session.address)) {
      const secret = mechanism === "PLAIN" ? "password" : "session token";
      return session.reply(
        Numeric.ERR_SASLFAIL,
        `SASL authentication failed: ${mechanism} would send your ${secret} in clear text; connect with TLS`,
      );
    }
    this.#mechanism = mechanism;
    this.#payload = "";
    session.send({ command: "AUTHENTICATE", params: ["+"] });
  }

  async #check(): Promise<void> {
    const session = this.#session;
    const fields = decodeFields(this.#payload);
    if (fields === undefined) {
      this.#end();
      return session.reply(
        Numeric.ERR_SASLFAIL,
        `SASL authentication failed: malformed ${this.#mechanism}`,
      );
    }
    if (this.#mechanism === "IRCV3BEARER") return await this.#checkToken(fields);
    const accounts = session.context.accounts!;
    const [authzid, name, password] = fields;
    this.#checking = true;
    let result: LoginResult;
    try {
      result = await accounts.login(name, password, addressKey(session.address));
    } catch (error) {
      log.error("Checking the password of {name} failed: {error}", { name, error });
      result = { ok: false, reason: "invalid", retryAfterMs: 0 };
    } finally {
      this.#checking = false;
    }
    if (session.closed) return;
    if (result.ok && (authzid === "" || foldCase(authzid) === foldCase(name))) {
      await this.#loggedIn(result.account.name);
    } else if (!result.ok && result.reason !== "invalid") {
      const seconds = Math.max(1, Math.ceil(result.retryAfterMs / 1000));
      const why = result.reason === "throttled"
        ? "too many attempts are waiting for this account or from your address"
        : "the server is checking too many passwords";
      session.reply(
        Numeric.ERR_SASLFAIL,
        `SASL authentication failed: ${why}; try again in ${seconds} s`,
      );
    } else {
      session.reply(
        Numeric.ERR_SASLFAIL,
        "SASL authentication failed: invalid account or password",
      );
    }
    this.#end();
  }

  /** IRCV3BEARER: `authzid NUL token-type NUL token`, checked against the stored tokens. */
  async #checkToken([authzid, type, token]: [string, string, string]): Promise<void> {
    const session = this.#session;
    let account: string | undefined;
    try {
      account = type === BEARER_TOKEN_TYPE
        ? session.context.accounts!.sessionTokens.verify(token)
        : undefined;
    } catch (error) {
      log.error("Checking a session token failed: {error}", { error });
    }
    if (account !== undefined && (authzid === "" || foldCase(authzid) === foldCase(account))) {
      session.token = token;
      await this.#loggedIn(account);
    } else {
      session.reply(
        Numeric.ERR_SASLFAIL,
        type === BEARER_TOKEN_TYPE
          ? "SASL authentication failed: invalid or expired session token"
          : `SASL authentication failed: the only token type is ${BEARER_TOKEN_TYPE}`,
      );
    }
    this.#end();
  }

  /** Logs the client in (900, 903), or says why not (904: its user is present elsewhere). */
  async #loggedIn(account: string): Promise<void> {
    const session = this.#session;
    const done = await session.logIn(account);
    if (session.closed) return;
    if (done === "unavailable") {
      return session.reply(
        Numeric.ERR_SASLFAIL,
        "SASL authentication failed: the login could not be recorded; try again later",
      );
    }
    if (!done) {
      return session.reply(
        Numeric.ERR_SASLFAIL,
        `SASL authentication failed: ${account} is connected already; to share its nick, log in before registration ends (CAP END)`,
      );
    }
    session.reply(
      Numeric.RPL_LOGGEDIN,
      maskOf({ nick: session.nick || "*", user: session.user || "*", host: session.host }),
      account,
      `You are now logged in as ${account}`,
    );
    session.reply(Numeric.RPL_SASLSUCCESS, "SASL authentication successful");
    // Logged in after registration: a ban on the account applies now.
    if (session.registered) session.context.moderation?.enforce(session.member);
    log.info("{nick} logged in as {account}", { nick: session.nick, account });
  }

  #end(): void {
    this.#mechanism = undefined;
    this.#payload = "";
    this.#onDone();
  }
}

/**
 * Three NUL-separated fields from base64 (`authzid NUL authcid NUL password`, or `authzid NUL
 * token-type NUL token`), or undefined when malformed.
 */
function decodeFields(payload: string): [string, string, string] | undefined {
  if (!BASE64.test(payload)) return undefined;
  let text: string;
  try {
    const bytes = Uint8Array.from(atob(payload), (c) => c.charCodeAt(0));
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
  const fields = text.split("\0");
  if (fields.length !== 3 || fields[1] === "") return undefined;
  return fields as [string, string, string];
}
