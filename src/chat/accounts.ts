/**
 * User accounts: a registered nick and its password, in `<dataDir>/accounts.sqlite` (0600,
 * WAL) next to the history, with what else belongs to an account: always-on presence, read
 * markers, session tokens (each in its own file; the schema is `_accounts_schema.ts`).
 * Passwords are hashed with argon2id (`hash-wasm`, WebAssembly, so the single binary stays
 * portable). Failed logins slow down whoever makes them without locking the owner out (see
 * `login_throttle.ts`), and a server-wide budget bounds the hashing work.
 *
 * @module
 */
import type { DatabaseSync } from "node:sqlite";
import { argon2id } from "hash-wasm";
import { migrateSchema, openPrivateDatabase } from "./_sqlite.ts";
import { MIGRATIONS, SCHEMA, SCHEMA_VERSION } from "./_accounts_schema.ts";
import { AlwaysOnStore } from "./always_on.ts";
import { ReadMarkerStore } from "./read_markers.ts";
import { type SessionTokenOptions, SessionTokens } from "./session_tokens.ts";
import { foldCase } from "./casemap.ts";
import { nickProblem } from "./names.ts";
import { LoginThrottle, type LoginThrottleOptions } from "./login_throttle.ts";
import { RateLimiter, type RateLimiterOptions } from "./rate_limiter.ts";

/** A registered account. */
export interface Account {
  /** The name as registered (its case kept); it is also the nick it protects. */
  name: string;
  /** When it was registered, ms since the epoch. */
  createdAt: number;
}

/** argon2id cost parameters. */
export interface HashCost {
  /** Memory in KiB. @default {19456} (19 MiB) */
  memoryKiB: number;
  /** Passes over the memory. @default {2} */
  iterations: number;
}

/** Options for {@link AccountStore.open}. */
export interface AccountOptions {
  /**
   * argon2id cost of new hashes (existing ones keep the cost they were made with). The
   * default is OWASP's first recommendation for argon2id (m=19 MiB, t=2, p=1): about 65 ms
   * per hash on the 2-core CI machine.
   * @default {{ memoryKiB: 19456, iterations: 2 }}
   */
  hashCost?: HashCost;
  /** How failed logins slow further attempts (see {@link LoginThrottleOptions} for the defaults). */
  loginThrottle?: LoginThrottleOptions;
  /**
   * Registrations allowed per address.
   * @default {{ limit: 3, windowMs: 3600000 }}
   */
  registrationLimit?: RateLimiterOptions;
  /**
   * Password hashes computed per second, server-wide: each takes the event loop for tens of
   * ms, so many addresses at once must not be able to stall the chat. Over it, logins from
   * addresses the account has not logged in from are refused as `busy`; logins from known
   * ones are still checked.
   * @default {5}
   */
  hashesPerSecond?: number;
  /**
   * The hash budget to take from, shared with the server's other password checks (OPER), so
   * that together they stay within one budget; `hashesPerSecond` is then not used. Its key
   * is `*`.
   * @default {a budget of its own}
   */
  hashBudget?: RateLimiter;
  /** Longest account name (NICKLEN). @default {32} */
  maxNameLength?: number;
  /**
   * Shortest password a new account may have (the password policy; a test harness may lower
   * it, as Ergo's configuration allows). Existing accounts keep their passwords.
   * @default {MIN_PASSWORD_LENGTH}
   */
  minPasswordLength?: number;
  /** How long session tokens last and how many an account keeps (see {@link SessionTokenOptions}). */
  sessionTokens?: SessionTokenOptions;
}

/**
 * Why a login failed: a wrong name or password; too many attempts already waiting (for this
 * account or from this address); the server-wide hash budget is spent.
 */
export type LoginFailure = "invalid" | "throttled" | "busy";

/** The outcome of {@link AccountStore.login}. */
export type LoginResult =
  | { ok: true; account: Account }
  | { ok: false; reason: LoginFailure; retryAfterMs: number };

/** Why a registration failed (the draft/account-registration FAIL codes, in lower case). */
export type RegisterFailure =
  | "bad-account-name"
  | "account-exists"
  | "weak-password"
  | "temporarily-unavailable";

/** The outcome of {@link AccountStore.register}. */
export type RegisterResult = { ok: true; account: Account } | RegisterRefusal;

/** Why a registration was refused, with a message for the user. */
export type RegisterRefusal = { ok: false; reason: RegisterFailure; message: string };

/**
 * Shortest password accepted by default (see {@link AccountOptions.minPasswordLength}).
 *
 * @example A password one character short is refused before any hashing, unless the policy allows it
 * ```ts
 * import assert from "node:assert/strict";
 * import { AccountStore, MIN_PASSWORD_LENGTH } from "./accounts.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * const accounts = AccountStore.open(dir);
 * const short = "x".repeat(MIN_PASSWORD_LENGTH - 1);
 * const result = await accounts.register("ann", short, "127.0.0.1");
 * assert.equal(result.ok || result.reason, "weak-password");
 * accounts.close();
 * const lenient = AccountStore.open(dir, {
 *   minPasswordLength: 6,
 *   hashCost: { memoryKiB: 64, iterations: 1 },
 * });
 * assert.ok((await lenient.register("ann", "sesame", "127.0.0.1")).ok);
 * lenient.close();
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export const MIN_PASSWORD_LENGTH = 8;
/**
 * Longest password accepted, in characters (argon2 takes any length; this bounds the work).
 *
 * @example A password one character too long is refused before any hashing
 * ```ts
 * import assert from "node:assert/strict";
 * import { AccountStore, MAX_PASSWORD_LENGTH } from "./accounts.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * const accounts = AccountStore.open(dir);
 * const long = "x".repeat(MAX_PASSWORD_LENGTH + 1);
 * const result = await accounts.register("ann", long, "127.0.0.1");
 * assert.equal(result.ok || result.reason, "weak-password");
 * accounts.close();
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export const MAX_PASSWORD_LENGTH = 256;

const DEFAULT_COST: HashCost = { memoryKiB: 19456, iterations: 2 };
const SALT_BYTES = 16;
const HASH_BYTES = 32;
const PHC = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=1\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

/**
 * Whether a name can be an account (and so a nick): RFC 2812 nick characters, at most
 * `maxLength` long.
 *
 * @param name The name.
 * @param maxLength NICKLEN.
 * @returns True when valid.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validAccountName } from "./accounts.ts";
 *
 * assert.ok(validAccountName("ann"));
 * assert.ok(!validAccountName("#ann"));
 * assert.ok(!validAccountName("9lives"));
 * assert.ok(!validAccountName("ann", 2));
 * ```
 */
export function validAccountName(name: string, maxLength = 32): boolean {
  return nickProblem(name, maxLength) === undefined;
}

/**
 * The accounts of one server.
 *
 * @example Register an account, then log in with its password
 * ```ts
 * import assert from "node:assert/strict";
 * import { AccountStore } from "./accounts.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * const accounts = AccountStore.open(dir);
 * const registered = await accounts.register("ann", "correct horse battery", "127.0.0.1");
 * assert.ok(registered.ok);
 * const login = await accounts.login("ANN", "correct horse battery", "127.0.0.1");
 * assert.equal(login.ok && login.account.name, "ann");
 * accounts.close();
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export class AccountStore {
  /** Which accounts are always-on, and their channels. */
  readonly alwaysOn: AlwaysOnStore;
  /** Each account's read markers. */
  readonly readMarkers: ReadMarkerStore;
  /** The session tokens clients log in with instead of a password. */
  readonly sessionTokens: SessionTokens;
  #db: DatabaseSync;
  #cost: HashCost;
  #maxNameLength: number;
  #minPasswordLength: number;
  #throttle: LoginThrottle;
  /** Aborted by {@link close}, so no login is left waiting on a timer. */
  #closing = new AbortController();
  #registrations: RateLimiter;
  #hashes: RateLimiter;
  #find;
  #insert;

  private constructor(db: DatabaseSync, options: AccountOptions) {
    this.#db = db;
    this.#cost = options.hashCost ?? DEFAULT_COST;
    this.#maxNameLength = options.maxNameLength ?? 32;
    this.#minPasswordLength = options.minPasswordLength ?? MIN_PASSWORD_LENGTH;
    this.#throttle = new LoginThrottle(options.loginThrottle);
    this.#registrations = new RateLimiter(
      options.registrationLimit ?? { limit: 3, windowMs: 3_600_000 },
    );
    this.#hashes = options.hashBudget ??
      new RateLimiter({ limit: options.hashesPerSecond ?? 5, windowMs: 1000 });
    this.#find = db.prepare("SELECT name, hash, created_at FROM accounts WHERE key = ?");
    this.#insert = db.prepare(
      "INSERT OR IGNORE INTO accounts (key, name, hash, created_at) VALUES (?, ?, ?, ?)",
    );
    this.alwaysOn = new AlwaysOnStore(db);
    this.readMarkers = new ReadMarkerStore(db);
    this.sessionTokens = new SessionTokens(db, options.sessionTokens);
  }

  /**
   * Opens (creating if needed) `<dataDir>/accounts.sqlite`.
   *
   * @param dataDir The data directory (the history's, see `defaultDataDir()`).
   * @param options Hash cost and limits.
   * @returns The open store.
   * @throws Error if the directory or database cannot be opened, or a newer shmooze wrote it.
   *
   * @example Cheap hashes for a test; the file is private to its owner
   * ```ts
   * import assert from "node:assert/strict";
   * import { join } from "node:path";
   * import { AccountStore } from "./accounts.ts";
   *
   * const dir = Deno.makeTempDirSync();
   * const accounts = AccountStore.open(dir, { hashCost: { memoryKiB: 64, iterations: 1 } });
   * assert.equal(accounts.find("ann"), undefined);
   * if (Deno.build.os !== "windows") {
   *   assert.equal(Deno.statSync(join(dir, "accounts.sqlite")).mode! & 0o777, 0o600);
   * }
   * accounts.close();
   * Deno.removeSync(dir, { recursive: true });
   * ```
   */
  static open(dataDir: string, options: AccountOptions = {}): AccountStore {
    const { db, path } = openPrivateDatabase(dataDir, "accounts.sqlite", "accounts");
    try {
      migrateSchema(db, path, "accounts", SCHEMA, SCHEMA_VERSION, MIGRATIONS);
      return new AccountStore(db, options);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  /**
   * The account registered under a name.
   *
   * @param name The name, any case.
   * @returns The account, or undefined.
   *
   * @example Any case finds the account, which keeps its own
   * ```ts
   * import assert from "node:assert/strict";
   * import { AccountStore } from "./accounts.ts";
   *
   * const dir = Deno.makeTempDirSync();
   * const accounts = AccountStore.open(dir, { hashCost: { memoryKiB: 64, iterations: 1 } });
   * await accounts.register("Ann", "a long password", "127.0.0.1");
   * assert.equal(accounts.find("ann")?.name, "Ann");
   * assert.equal(accounts.find("bob"), undefined);
   * accounts.close();
   * Deno.removeSync(dir, { recursive: true });
   * ```
   */
  find(name: string): Account | undefined {
    const row = this.#find.get(foldCase(name));
    return row === undefined
      ? undefined
      : { name: row.name as string, createdAt: row.created_at as number };
  }

  /**
   * Registers an account.
   *
   * @param name The account name (the nick it will protect).
   * @param password The password: at least `minPasswordLength` (8 unless set), at most 256 characters.
   * @param address The requester's address key (`addressKey()` in src/net), for the
   *   per-address registration limit; the account then counts it as known.
   * @returns The new account, or why not.
   *
   * @example A name is registered once, in any case
   * ```ts
   * import assert from "node:assert/strict";
   * import { AccountStore } from "./accounts.ts";
   *
   * const dir = Deno.makeTempDirSync();
   * const accounts = AccountStore.open(dir, { hashCost: { memoryKiB: 64, iterations: 1 } });
   * const first = await accounts.register("ann", "a long password", "127.0.0.1");
   * assert.equal(first.ok && first.account.name, "ann");
   * const again = await accounts.register("ANN", "another password", "127.0.0.1");
   * assert.equal(again.ok || again.reason, "account-exists");
   * const bad = await accounts.register("#ann", "a long password", "127.0.0.1");
   * assert.equal(bad.ok || bad.reason, "bad-account-name");
   * accounts.close();
   * Deno.removeSync(dir, { recursive: true });
   * ```
   */
  async register(name: string, password: string, address: string): Promise<RegisterResult> {
    const prepared = await this.prepareRegistration(name, password, address);
    if (!prepared.ok) return prepared;
    if (!this.store(name, prepared.hash, prepared.createdAt)) return exists(name);
    this.rememberAddress(name, address);
    return { ok: true, account: { name, createdAt: prepared.createdAt } };
  }

  /**
   * Checks and hashes a registration without storing it ({@link AccountStore.store} does): a
   * cluster's node puts the hash in the log, and every node stores what it reads there.
   *
   * @param name The account name.
   * @param password The password.
   * @param address The requester's address key, for the per-address registration limit.
   * @returns The hash and time to store, or why not.
   */
  async prepareRegistration(
    name: string,
    password: string,
    address: string,
  ): Promise<{ ok: true; hash: string; createdAt: number } | RegisterRefusal> {
    if (!validAccountName(name, this.#maxNameLength)) {
      return {
        ok: false,
        reason: "bad-account-name",
        message:
          `Account name "${name}" is not a valid nick (letters, digits and []\\\`_^{|}- only, not starting with a digit or -, at most ${this.#maxNameLength} characters)`,
      };
    }
    const min = this.#minPasswordLength;
    if (password.length < min || password.length > MAX_PASSWORD_LENGTH) {
      return {
        ok: false,
        reason: "weak-password",
        message: `Password must be ${min} to ${MAX_PASSWORD_LENGTH} characters long`,
      };
    }
    if (this.find(name) !== undefined) return exists(name);
    if (!this.#registrations.take(address) || !this.#hashes.take("*")) {
      return {
        ok: false,
        reason: "temporarily-unavailable",
        message: "Too many registrations from your address; try again later",
      };
    }
    return { ok: true, hash: await hashPassword(password, this.#cost), createdAt: Date.now() };
  }

  /**
   * Stores an account whose password was hashed already (see
   * {@link AccountStore.prepareRegistration}); the first of a name wins.
   *
   * @param name The account name.
   * @param hash Its password hash ({@link hashPassword}).
   * @param createdAt When it was registered, ms since the epoch.
   * @returns False when the name was registered already (nothing changed).
   * @throws Error when the database cannot be written.
   */
  store(name: string, hash: string, createdAt: number): boolean {
    return Number(this.#insert.run(foldCase(name), name, hash, createdAt).changes) > 0;
  }

  /**
   * Whether an account is stored with this very hash (salted: one registration's own), as a
   * cluster's node that reads its log again from the start finds what it stored in its last
   * run.
   *
   * @param name The account name.
   * @param hash The password hash.
   * @returns True when the account has that hash.
   *
   * @example A registration stored once is found again by its hash, not by another's
   * ```ts
   * import assert from "node:assert/strict";
   * import { AccountStore, hashPassword } from "./accounts.ts";
   *
   * const dir = Deno.makeTempDirSync();
   * const accounts = AccountStore.open(dir);
   * const cost = { memoryKiB: 64, iterations: 1 };
   * const hash = await hashPassword("a long password", cost);
   * assert.ok(accounts.store("ann", hash, 1));
   * assert.ok(!accounts.store("ann", hash, 1), "stored once");
   * assert.ok(accounts.holds("Ann", hash));
   * assert.ok(!accounts.holds("ann", await hashPassword("a long password", cost)));
   * accounts.close();
   * Deno.removeSync(dir, { recursive: true });
   * ```
   */
  holds(name: string, hash: string): boolean {
    return this.#find.get(foldCase(name))?.hash === hash;
  }

  /**
   * An account's password hash, as a cluster's snapshot carries it to a node that starts from
   * it (the hash, never a password).
   *
   * @param name The account name, any case.
   * @returns The hash and when it was registered, or undefined when there is no such account.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { AccountStore } from "./accounts.ts";
   *
   * const dir = Deno.makeTempDirSync();
   * const accounts = AccountStore.open(dir);
   * accounts.store("Ann", "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", 5);
   * assert.equal(accounts.hashOf("ann")?.createdAt, 5);
   * assert.equal(accounts.hashOf("bob"), undefined);
   * accounts.close();
   * Deno.removeSync(dir, { recursive: true });
   * ```
   */
  hashOf(name: string): { name: string; hash: string; createdAt: number } | undefined {
    const row = this.#find.get(foldCase(name));
    return row === undefined ? undefined : {
      name: row.name as string,
      hash: row.hash as string,
      createdAt: row.created_at as number,
    };
  }

  /**
   * Counts an address as known to an account (its logins from there skip the busy check).
   *
   * @param name The account name.
   * @param address The address key.
   */
  rememberAddress(name: string, address: string): void {
    this.#throttle.remember(foldCase(name), address);
  }

  /**
   * Checks a name and password, after the wait the login throttle asks for: failures from an
   * address slow that address (and, for an account, many addresses together) but never
   * refuse the right password from elsewhere. See `login_throttle.ts` for the policy.
   *
   * @param name The account name, any case.
   * @param password The password.
   * @param address The client's address key (`addressKey()` in src/net).
   * @returns The account, or why not and how long to wait before trying again.
   *
   * @example A wrong password, and an unknown account, fail alike
   * ```ts
   * import assert from "node:assert/strict";
   * import { AccountStore } from "./accounts.ts";
   *
   * const dir = Deno.makeTempDirSync();
   * const accounts = AccountStore.open(dir, { hashCost: { memoryKiB: 64, iterations: 1 } });
   * await accounts.register("ann", "a long password", "127.0.0.1");
   * const wrong = await accounts.login("ann", "not the password", "127.0.0.1");
   * assert.deepEqual(wrong, { ok: false, reason: "invalid", retryAfterMs: 0 });
   * const unknown = await accounts.login("bob", "a long password", "127.0.0.1");
   * assert.deepEqual(unknown, wrong);
   * accounts.close();
   * Deno.removeSync(dir, { recursive: true });
   * ```
   */
  async login(name: string, password: string, address: string): Promise<LoginResult> {
    const key = foldCase(name);
    const turn = this.#throttle.take(key, address);
    if (!turn.granted) {
      return { ok: false, reason: "throttled", retryAfterMs: turn.retryAfterMs };
    }
    if (turn.waitMs > 0 && !await sleep(turn.waitMs, this.#closing.signal)) {
      return { ok: false, reason: "busy", retryAfterMs: 0 };
    }
    if (!this.#hashes.take("*") && !turn.known) {
      turn.cancel();
      return { ok: false, reason: "busy", retryAfterMs: this.#hashes.retryAfter("*") };
    }
    const row = this.#find.get(key);
    if (row !== undefined && await verifyPassword(password, row.hash as string)) {
      turn.succeeded();
      return {
        ok: true,
        account: { name: row.name as string, createdAt: row.created_at as number },
      };
    }
    return { ok: false, reason: "invalid", retryAfterMs: 0 };
  }

  /** Closes the database. */
  close(): void {
    this.#closing.abort();
    if (this.#db.isOpen) this.#db.close();
  }
}

/** Waits `ms`; resolves false at once if `signal` aborts first. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (waited: boolean) => {
      clearTimeout(timer);
      signal.removeEventListener("abort", aborted);
      resolve(waited);
    };
    const aborted = () => done(false);
    const timer = setTimeout(() => done(true), ms);
    signal.addEventListener("abort", aborted);
  });
}

function exists(name: string): RegisterRefusal {
  return {
    ok: false,
    reason: "account-exists",
    message: `Account "${name}" is already registered`,
  };
}

/**
 * Hashes a password with argon2id into the PHC string format
 * (`$argon2id$v=19$m=…,t=…,p=1$salt$hash`), which carries its own parameters so a later change
 * of cost keeps old hashes verifiable. Accounts and server operators (`shmooze oper-hash`)
 * share it.
 *
 * @param password The password.
 * @param cost The argon2id cost. @default {{ memoryKiB: 19456, iterations: 2 }}
 * @returns The PHC string.
 *
 * @example Hash cheaply (for a test), then verify
 * ```ts
 * import assert from "node:assert/strict";
 * import { hashPassword, isPasswordHash, verifyPassword } from "./accounts.ts";
 *
 * const hash = await hashPassword("a long password", { memoryKiB: 64, iterations: 1 });
 * assert.match(hash, /^\$argon2id\$v=19\$m=64,t=1,p=1\$/);
 * assert.ok(isPasswordHash(hash));
 * assert.ok(await verifyPassword("a long password", hash));
 * assert.ok(!await verifyPassword("another password", hash));
 * ```
 */
export async function hashPassword(
  password: string,
  cost: HashCost = DEFAULT_COST,
): Promise<string> {
  return await argon2id({
    password,
    salt: crypto.getRandomValues(new Uint8Array(SALT_BYTES)),
    parallelism: 1,
    iterations: cost.iterations,
    memorySize: cost.memoryKiB,
    hashLength: HASH_BYTES,
    outputType: "encoded",
  });
}

/**
 * Whether a string is an argon2id hash in the PHC format {@link hashPassword} writes (and
 * {@link verifyPassword} reads).
 *
 * @param text The string.
 * @returns True when it is one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isPasswordHash } from "./accounts.ts";
 *
 * assert.ok(isPasswordHash("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"));
 * assert.ok(!isPasswordHash("$2b$10$abcdefghijklmnopqrstuv"));
 * ```
 */
export function isPasswordHash(text: string): boolean {
  return PHC.test(text);
}

/**
 * Checks a password against a hash from {@link hashPassword}: recomputes the hash with the
 * parameters the PHC string carries and compares in constant time. hash-wasm's own
 * `argon2Verify` compares strings with `===`, which may stop at the first differing character.
 *
 * @param password The password to check.
 * @param encoded The PHC string.
 * @returns True when the password is the one hashed; false too when `encoded` is not a hash.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hashPassword, verifyPassword } from "./accounts.ts";
 *
 * const hash = await hashPassword("a long password", { memoryKiB: 64, iterations: 1 });
 * assert.ok(await verifyPassword("a long password", hash));
 * assert.ok(!await verifyPassword("a long password", "not a hash"));
 * ```
 */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const match = PHC.exec(encoded);
  if (match === null) return false;
  const expected = fromBase64(match[4]);
  const actual = await argon2id({
    password,
    salt: fromBase64(match[3]),
    parallelism: 1,
    iterations: Number(match[2]),
    memorySize: Number(match[1]),
    hashLength: expected.length,
    outputType: "binary",
  });
  let difference = 0;
  for (let i = 0; i < expected.length; i++) difference |= expected[i] ^ actual[i];
  return difference === 0;
}

/** Decodes unpadded base64, as PHC strings write it (`atob` accepts a missing `=`). */
function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}
