/**
 * Session tokens: what a client that must not keep the password (the browser) logs in with
 * instead (SASL `IRCV3BEARER`). A token is 32 random bytes, given to the client once
 * (base64url) after it logged in with the password; the server keeps only its SHA-256 hash,
 * with the account, when it was made and when it was last used. A token no client used for
 * `idleDays` expires; an account keeps at most `maxPerAccount` (making one more drops the
 * oldest); revoking one (logging out) deletes it.
 *
 * A plain hash (not argon2) is enough: a token is 256 random bits, so nothing can be guessed
 * from its hash, and checking one costs a hash and an index lookup, never a password hash's
 * tens of milliseconds.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { foldCase } from "./casemap.ts";

/** Options for {@link SessionTokens}. */
export interface SessionTokenOptions {
  /** Days without use after which a token expires. @default {30} */
  idleDays?: number;
  /** Tokens an account keeps; making one more drops the oldest. @default {20} */
  maxPerAccount?: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const TOKEN_BYTES = 32;
/** base64url of 32 bytes, unpadded. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/**
 * The session tokens of every account. Made by `AccountStore` (its `sessionTokens`).
 *
 * @example Make a token, log in with it, revoke it
 * ```ts
 * import assert from "node:assert/strict";
 * import { AccountStore } from "./accounts.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * const accounts = AccountStore.open(dir, { hashCost: { memoryKiB: 64, iterations: 1 } });
 * await accounts.register("Ann", "a long password", "127.0.0.1");
 * const token = accounts.sessionTokens.generate("ann");
 * assert.match(token, /^[A-Za-z0-9_-]{43}$/);
 * assert.equal(accounts.sessionTokens.verify(token), "Ann");
 * assert.ok(accounts.sessionTokens.revoke(token));
 * assert.equal(accounts.sessionTokens.verify(token), undefined);
 * accounts.close();
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export class SessionTokens {
  readonly #idleMs: number;
  readonly #max: number;
  readonly #statements: Record<string, StatementSync>;

  /**
   * Prepares the statements over an open accounts database (see `AccountStore.open`).
   *
   * @param db The accounts database, at schema version 2 or later.
   * @param options How long a token lasts unused, and how many an account keeps.
   * @throws Error when an option is not a positive number.
   */
  constructor(db: DatabaseSync, options: SessionTokenOptions = {}) {
    const idleDays = options.idleDays ?? 30;
    const max = options.maxPerAccount ?? 20;
    if (!(idleDays > 0) || !Number.isSafeInteger(max) || max < 1) {
      throw new Error(
        `Cannot keep session tokens: idleDays must be above 0 and maxPerAccount a whole number of at least 1, got ${idleDays} and ${max}`,
      );
    }
    this.#idleMs = idleDays * DAY_MS;
    this.#max = max;
    this.#statements = {
      insert: db.prepare(
        // A token stored already (a cluster's node reading its log or snapshot again) stays.
        `INSERT OR IGNORE INTO session_tokens (hash, account, created_at, last_used_at)
         VALUES (?, ?, ?, ?)`,
      ),
      // The newest `max` stay; ties in creation time are broken by the hash, arbitrarily.
      trim: db.prepare(
        `DELETE FROM session_tokens WHERE account = ?1 AND hash NOT IN (
           SELECT hash FROM session_tokens WHERE account = ?1
           ORDER BY created_at DESC, hash LIMIT ?2)`,
      ),
      expire: db.prepare("DELETE FROM session_tokens WHERE last_used_at < ?"),
      find: db.prepare(
        `SELECT a.name, t.last_used_at FROM session_tokens t JOIN accounts a ON a.key = t.account
         WHERE t.hash = ?`,
      ),
      touch: db.prepare("UPDATE session_tokens SET last_used_at = ? WHERE hash = ?"),
      revoke: db.prepare("DELETE FROM session_tokens WHERE hash = ?"),
      count: db.prepare("SELECT count(*) AS n FROM session_tokens WHERE account = ?"),
      ofAccount: db.prepare(
        "SELECT hash, created_at FROM session_tokens WHERE account = ? ORDER BY created_at, hash",
      ),
    };
  }

  /**
   * Makes a new token for an account, dropping its oldest beyond the most it keeps.
   *
   * @param account The account, any case (it must exist to be logged in to).
   * @param now The time, ms since the epoch. @default {Date.now()}
   * @returns The token, to give to the client once: only its hash is kept.
   * @throws Error when the database cannot be written.
   */
  generate(account: string, now: number = Date.now()): string {
    const { token, hash } = mintToken();
    this.store(account, hash, now);
    return token;
  }

  /**
   * Keeps a token made elsewhere by its hash (a cluster's node applying another node's
   * `TOKEN GENERATE`), dropping the account's oldest beyond the most it keeps: the same
   * tokens, in the same order, leave the same ones on every node.
   *
   * @param account The account, any case.
   * @param hash The token's hash ({@link mintToken}).
   * @param now When it was made, ms since the epoch. @default {Date.now()}
   * @throws Error when the database cannot be written, or the hash is not 64 hex digits.
   */
  store(account: string, hash: string, now: number = Date.now()): void {
    const key = foldCase(account);
    this.#statements.insert.run(fromHex(hash), key, now, now);
    this.#statements.trim.run(key, this.#max);
  }

  /**
   * Checks a token: the account it was made for, if it exists and has not expired. Using it
   * counts as use (its idle time starts again).
   *
   * @param token The token the client gave.
   * @param now The time, ms since the epoch. @default {Date.now()}
   * @returns The account as registered, or undefined.
   * @throws Error when the database cannot be read or written.
   */
  verify(token: string, now: number = Date.now()): string | undefined {
    if (!TOKEN_SHAPE.test(token)) return undefined;
    this.#statements.expire.run(now - this.#idleMs);
    const hash = hashToken(token);
    const row = this.#statements.find.get(hash);
    if (row === undefined) return undefined;
    this.#statements.touch.run(now, hash);
    return row.name as string;
  }

  /**
   * Revokes a token (the client logged out).
   *
   * @param token The token.
   * @returns False when there was no such token.
   * @throws Error when the database cannot be written.
   */
  revoke(token: string): boolean {
    const hash = tokenHash(token);
    return hash !== undefined && this.revokeHash(hash);
  }

  /**
   * Revokes a token by its hash ({@link tokenHash}): what a cluster's node applies.
   *
   * @param hash The token's hash.
   * @returns False when there was no such token.
   * @throws Error when the database cannot be written, or the hash is not 64 hex digits.
   */
  revokeHash(hash: string): boolean {
    return Number(this.#statements.revoke.run(fromHex(hash)).changes) > 0;
  }

  /**
   * How many tokens an account has (expired ones not yet deleted included).
   *
   * @param account The account, any case.
   * @returns The count.
   */
  count(account: string): number {
    return this.#statements.count.get(foldCase(account))!.n as number;
  }

  /**
   * An account's tokens by their hashes, oldest first: what a cluster's snapshot carries (as
   * `token-issue` events) to a node that starts from it.
   *
   * @param account The account, any case.
   * @returns Each token's hash (64 hex digits) and when it was made.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { AccountStore } from "./accounts.ts";
   * import { mintToken } from "./session_tokens.ts";
   *
   * const dir = Deno.makeTempDirSync();
   * const accounts = AccountStore.open(dir);
   * accounts.store("ann", "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", 1);
   * const { hash } = mintToken();
   * accounts.sessionTokens.store("Ann", hash, 7);
   * assert.deepEqual(accounts.sessionTokens.hashesOf("ANN"), [{ hash, time: 7 }]);
   * accounts.close();
   * Deno.removeSync(dir, { recursive: true });
   * ```
   */
  hashesOf(account: string): { hash: string; time: number }[] {
    return this.#statements.ofAccount.all(foldCase(account)).map((row) => ({
      hash: Array.from(row.hash as Uint8Array, (byte) => byte.toString(16).padStart(2, "0"))
        .join(""),
      time: row.created_at as number,
    }));
  }
}

function hashToken(token: string): Uint8Array {
  return new Uint8Array(createHash("sha256").update(token).digest());
}

function fromHex(hash: string): Uint8Array {
  if (!/^[0-9a-f]{64}$/.test(hash)) throw new Error("A session token's hash must be 64 hex digits");
  return Uint8Array.from(hash.match(/../g)!, (pair) => parseInt(pair, 16));
}

/**
 * Makes a new session token and its hash, without storing it ({@link SessionTokens.store}
 * does): a cluster's node puts the hash in the log, and gives the token to its client only.
 *
 * @returns The token (43 base64url characters) and its SHA-256 in hex.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mintToken, tokenHash } from "./session_tokens.ts";
 *
 * const { token, hash } = mintToken();
 * assert.match(token, /^[A-Za-z0-9_-]{43}$/);
 * assert.equal(tokenHash(token), hash);
 * ```
 */
export function mintToken(): { token: string; hash: string } {
  const bytes = crypto.getRandomValues(new Uint8Array(TOKEN_BYTES));
  const token = btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
  return { token, hash: tokenHash(token)! };
}

/**
 * The hash under which a token is kept (SHA-256, hex), or undefined when the text cannot be a
 * token.
 *
 * @param token The token a client gave.
 * @returns Its hash.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tokenHash } from "./session_tokens.ts";
 *
 * assert.equal(tokenHash("not a token"), undefined);
 * assert.match(tokenHash("A".repeat(43))!, /^[0-9a-f]{64}$/);
 * ```
 */
export function tokenHash(token: string): string | undefined {
  if (!TOKEN_SHAPE.test(token)) return undefined;
  return [...hashToken(token)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}
