/**
 * `TOKEN`: session tokens for clients that must not keep the password (the browser), a
 * shmooze extension advertised as the capability {@link SESSION_TOKEN_CAP}.
 *
 * - `TOKEN GENERATE`, once logged in: answered `TOKEN <token>`, a token the client keeps and
 *   logs in with later (SASL `IRCV3BEARER`, token type `shmooze`) instead of the password.
 * - `TOKEN REVOKE [token]`: revokes the given token, or the one this connection logged in
 *   with or made last (a client logging out); answered `TOKEN REVOKED`.
 *
 * A token is as good as the password while it lasts, so it travels only where the password may:
 * a client can log in (and so ask for one) only over TLS or loopback, and IRCV3BEARER is
 * refused elsewhere as PLAIN is. See `session_tokens.ts` for how tokens are kept and when they
 * expire.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { IrcMessage } from "../message.ts";
import type { IrcSession } from "../session.ts";
import type { Handler } from "./handler.ts";
import type { ReplicatedHub } from "../../cluster/replicated_hub.ts";
import { mintToken, tokenHash } from "../../chat/session_tokens.ts";

const log = getLogger(["shmooze", "irc", "accounts"]);

/**
 * The capability that says the server gives session tokens (`TOKEN`, SASL `IRCV3BEARER`). A
 * vendor capability is named under a domain its vendor controls; shmooze has none, so it uses
 * `shmooze.example`: `.example` is reserved (RFC 2606), so no one else can ever use the name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SESSION_TOKEN_CAP } from "./token.ts";
 *
 * assert.equal(SESSION_TOKEN_CAP, "shmooze.example/session-token");
 * ```
 */
export const SESSION_TOKEN_CAP = "shmooze.example/session-token";

function token(session: IrcSession, message: IrcMessage): Promise<void> | void {
  const [sub, given] = message.params;
  const accounts = session.context.accounts;
  switch (sub?.toUpperCase()) {
    case undefined:
      return session.fail("TOKEN", "NEED_MORE_PARAMS", "TOKEN takes GENERATE or REVOKE");
    case "GENERATE": {
      const account = session.account;
      if (account === undefined || accounts === undefined) {
        return session.fail(
          "TOKEN",
          "ACCOUNT_REQUIRED",
          "Log in to an account (SASL or REGISTER) before asking for a session token",
        );
      }
      const cluster = session.context.cluster;
      if (cluster !== undefined) return generateThroughLog(session, cluster, account);
      let made: string;
      try {
        made = accounts.sessionTokens.generate(account);
      } catch (error) {
        log.error("A session token for {account} could not be stored: {error}", {
          account,
          error,
        });
        return session.fail("TOKEN", "TEMPORARILY_UNAVAILABLE", "The token could not be stored");
      }
      session.token = made;
      return session.send({ command: "TOKEN", params: [made] });
    }
    case "REVOKE": {
      const revoked = given ?? session.token;
      if (revoked === undefined || accounts === undefined) {
        return session.fail("TOKEN", "NO_TOKEN", "This connection has no session token to revoke");
      }
      const cluster = session.context.cluster;
      if (cluster !== undefined) return revokeThroughLog(session, cluster, revoked);
      let found: boolean;
      try {
        found = accounts.sessionTokens.revoke(revoked);
      } catch (error) {
        log.error("A session token could not be revoked: {error}", { error });
        return session.fail("TOKEN", "TEMPORARILY_UNAVAILABLE", "The token could not be revoked");
      }
      if (revoked === session.token) session.token = undefined;
      if (!found) return session.fail("TOKEN", "INVALID_TOKEN", "No such session token");
      return session.send({ command: "TOKEN", params: ["REVOKED"] });
    }
    default:
      return session.fail("TOKEN", "UNKNOWN_COMMAND", sub, "TOKEN takes GENERATE or REVOKE");
  }
}

/** The TOKEN command. */
/** `TOKEN GENERATE` in a cluster: the token's hash goes through the log to every node's store. */
async function generateThroughLog(
  session: IrcSession,
  cluster: ReplicatedHub,
  account: string,
): Promise<void> {
  const { token, hash } = mintToken();
  if (await cluster.issueToken(account, hash) === "unavailable") {
    return session.fail("TOKEN", "TEMPORARILY_UNAVAILABLE", "The token could not be stored");
  }
  session.token = token;
  session.send({ command: "TOKEN", params: [token] });
}

/** `TOKEN REVOKE` in a cluster: revoked on every node. */
async function revokeThroughLog(
  session: IrcSession,
  cluster: ReplicatedHub,
  revoked: string,
): Promise<void> {
  const hash = tokenHash(revoked);
  const found = hash === undefined ? false : await cluster.revokeToken(hash);
  if (found === "unavailable") {
    return session.fail("TOKEN", "TEMPORARILY_UNAVAILABLE", "The token could not be revoked");
  }
  if (revoked === session.token) session.token = undefined;
  if (!found) return session.fail("TOKEN", "INVALID_TOKEN", "No such session token");
  session.send({ command: "TOKEN", params: ["REVOKED"] });
}

export const TOKEN_COMMANDS: Record<string, Handler> = { TOKEN: token };
