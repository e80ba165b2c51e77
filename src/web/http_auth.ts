/**
 * Who an HTTP request comes from: a logged-in account, by the same credentials as on IRC —
 * HTTP Basic with the account's name and password (what SASL PLAIN sends), or
 * `Authorization: Bearer <token>` with a session token (what SASL IRCV3BEARER sends). Both are
 * secrets sent as they are, so both are refused on a connection that is neither TLS nor
 * loopback, before anything is checked. Passwords go through the account store's login, so
 * the login throttle and the server's hash budget apply to HTTP as to IRC.
 *
 * @module
 */
import type { AccountStore, LoginResult } from "../chat/accounts.ts";
import { addressKey } from "../net/address_key.ts";
import { isLoopback } from "../net/loopback.ts";

/** What an {@link Authenticator} needs of a request. */
export interface AuthRequest {
  /** The request's header fields (`Authorization`). */
  headers: Headers;
  /** The peer's IP address. */
  remoteAddress: string;
  /** Whether the connection is TLS. */
  secure: boolean;
}

/** The outcome of {@link Authenticator.authenticate}. */
export type AuthResult =
  | { ok: true; account: string }
  | {
    ok: false;
    /** 401: no or wrong credentials; 403: credentials over clear text; 429: throttled. */
    status: 401 | 403 | 429;
    /** What was wrong, for the response body. */
    message: string;
    /** The `WWW-Authenticate` challenge to send with a 401. */
    challenge?: string;
    /** For a 429: seconds before trying again. */
    retryAfterSeconds?: number;
  };

/** Decides which account, if any, a request comes from. */
export interface Authenticator {
  /**
   * Checks a request's credentials.
   *
   * @param request The request's headers, address and transport.
   * @returns The account, or why not.
   */
  authenticate(request: AuthRequest): Promise<AuthResult>;
}

/** Options for {@link accountAuthenticator}. */
export interface AccountAuthenticatorOptions {
  /**
   * Checks a session token (`Authorization: Bearer`): the account it belongs to, or undefined.
   * Without it every Bearer token is refused.
   */
  verifyToken?: (token: string) => string | undefined | Promise<string | undefined>;
  /** The realm named in challenges. @default {"shmooze"} */
  realm?: string;
}

/**
 * An {@link Authenticator} over the server's accounts: HTTP Basic by password (through
 * {@link AccountStore.login}: throttled, and counted against the hash budget), and Bearer by
 * session token when `verifyToken` is given.
 *
 * Requests that carry the same name and password from the same address while one of them is
 * being checked share that check: a client uploading several files at once costs one password
 * hash, and its parallel requests do not queue behind each other in the login throttle (which
 * counts an attempt as a failure until its password proves right).
 *
 * @param accounts The account store.
 * @param options The token check, the realm.
 * @returns The authenticator.
 *
 * @example Basic with the right password; none at all is challenged
 * ```ts
 * import assert from "node:assert/strict";
 * import { AccountStore } from "../chat/accounts.ts";
 * import { accountAuthenticator } from "./http_auth.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * const accounts = AccountStore.open(dir, { hashCost: { memoryKiB: 64, iterations: 1 } });
 * await accounts.register("ann", "a long password", "127.0.0.1");
 * const auth = accountAuthenticator(accounts);
 * const request = (authorization?: string) => ({
 *   headers: new Headers(authorization ? { authorization } : {}),
 *   remoteAddress: "127.0.0.1",
 *   secure: false,
 * });
 * const basic = `Basic ${btoa("ann:a long password")}`;
 * assert.deepEqual(await auth.authenticate(request(basic)), { ok: true, account: "ann" });
 * const none = await auth.authenticate(request());
 * assert.equal(none.ok || none.status, 401);
 * assert.equal(none.ok || none.challenge, 'Basic realm="shmooze", charset="UTF-8"');
 * accounts.close();
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export function accountAuthenticator(
  accounts: AccountStore,
  options: AccountAuthenticatorOptions = {},
): Authenticator {
  const realm = options.realm ?? "shmooze";
  const basicChallenge = `Basic realm="${realm}", charset="UTF-8"`;
  const bearerChallenge = `Bearer realm="${realm}", error="invalid_token"`;
  const checking = new Map<string, Promise<LoginResult>>();
  const login = (name: string, password: string, address: string): Promise<LoginResult> => {
    const key = JSON.stringify([name, password, address]);
    let check = checking.get(key);
    if (check === undefined) {
      check = accounts.login(name, password, address).finally(() => checking.delete(key));
      checking.set(key, check);
    }
    return check;
  };
  const unauthorized = (message: string, challenge: string): AuthResult => ({
    ok: false,
    status: 401,
    message,
    challenge,
  });
  return {
    async authenticate({ headers, remoteAddress, secure }) {
      const authorization = headers.get("authorization");
      if (authorization === null) {
        return unauthorized(
          "Log in: send your account name and password (HTTP Basic)",
          basicChallenge,
        );
      }
      const space = authorization.indexOf(" ");
      const scheme = authorization.slice(0, space < 0 ? undefined : space).toLowerCase();
      const credentials = space < 0 ? "" : authorization.slice(space + 1).trim();
      if (scheme !== "basic" && scheme !== "bearer") {
        return unauthorized(
          `Unknown authorization scheme "${scheme}": use Basic or Bearer`,
          basicChallenge,
        );
      }
      if (!secure && !isLoopback(remoteAddress)) {
        return {
          ok: false,
          status: 403,
          message: "Credentials are accepted only over HTTPS (or from this machine): " +
            "they were sent in clear text; change your password if the network is not yours",
        };
      }
      if (scheme === "bearer") {
        const account = credentials === "" ? undefined : await options.verifyToken?.(credentials);
        return account === undefined
          ? unauthorized(
            "The session token is not valid (expired, revoked or unknown)",
            bearerChallenge,
          )
          : { ok: true, account };
      }
      const pair = decodeBasic(credentials);
      if (pair === undefined) {
        return unauthorized("Malformed Basic credentials: base64 of name:password", basicChallenge);
      }
      const result = await login(pair.name, pair.password, addressKey(remoteAddress));
      if (result.ok) return { ok: true, account: result.account.name };
      if (result.reason === "invalid") {
        return unauthorized("Invalid account or password", basicChallenge);
      }
      const seconds = Math.max(1, Math.ceil(result.retryAfterMs / 1000));
      const why = result.reason === "throttled"
        ? "too many attempts are waiting for this account or from your address"
        : "the server is checking too many passwords";
      return {
        ok: false,
        status: 429,
        message: `Not checked: ${why}; try again in ${seconds} s`,
        retryAfterSeconds: seconds,
      };
    },
  };
}

/** `name:password` from base64 of UTF-8 (RFC 7617), or undefined when malformed. */
function decodeBasic(credentials: string): { name: string; password: string } | undefined {
  try {
    const bytes = Uint8Array.from(atob(credentials), (c) => c.charCodeAt(0));
    const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    const colon = text.indexOf(":");
    if (colon <= 0) return undefined;
    return { name: text.slice(0, colon), password: text.slice(colon + 1) };
  } catch {
    return undefined;
  }
}
