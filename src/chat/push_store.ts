/**
 * Web Push subscriptions and the server's VAPID key, in `<dataDir>/push.sqlite` (0600, WAL)
 * next to the history and the accounts. A subscription belongs to an account (never to a
 * nick): the push endpoint a client registered (IRCv3 `draft/webpush`), the keys its pushes
 * are encrypted with, and the capabilities the client had, which shape the pushed line.
 *
 * Every subscription is also kept in memory, so deciding whom to push to reads no disk;
 * each change is written through first. The key pair is made once, on the first open.
 *
 * @module
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { migrateSchema, openPrivateDatabase } from "./_sqlite.ts";
import { foldCase } from "./casemap.ts";

/** One push subscription of an account. */
export interface PushSubscription {
  /** The account, as it spells itself. */
  readonly account: string;
  /** The push endpoint's URL. */
  readonly endpoint: string;
  /** The subscription's P-256 public key, URL-safe base64. */
  readonly p256dh: string;
  /** Its 16-byte authentication secret, URL-safe base64. */
  readonly auth: string;
  /** The capabilities the registering client had enabled (the pushed line follows them). */
  readonly capabilities: readonly string[];
  /** When it was registered or last renewed, ms since the epoch. */
  readonly renewedAt: number;
}

/** Options for {@link PushStore.open}. */
export interface PushStoreOptions {
  /** Most subscriptions one account may have. @default {10} */
  maxPerAccount?: number;
  /**
   * How long a subscription lasts without being registered again, ms (clients renew theirs
   * by sending the same `WEBPUSH REGISTER`, the spec suggests daily).
   * @default {2592000000} (30 days)
   */
  maxAgeMs?: number;
  /** The clock, ms since the epoch (tests move it). @default {Date.now} */
  clock?: () => number;
  /** Makes the VAPID key on the first open; its JWK is stored as JSON. */
  createKey: () => JsonWebKey;
}

/** What {@link PushStore.register} did: stored it, or refused (the account has the most). */
export type RegisterOutcome = "registered" | "too-many";

const DAY_MS = 24 * 60 * 60 * 1000;
const SCHEMA_VERSION = 1;
const SCHEMA = `
CREATE TABLE subscriptions (
  account_key  TEXT NOT NULL,
  account      TEXT NOT NULL,
  endpoint     TEXT NOT NULL,
  p256dh       TEXT NOT NULL,
  auth         TEXT NOT NULL,
  capabilities TEXT NOT NULL,
  renewed_at   INTEGER NOT NULL,
  PRIMARY KEY (account_key, endpoint)
);
CREATE TABLE vapid_key (
  id         INTEGER PRIMARY KEY CHECK (id = 1),
  jwk        TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
`;

/**
 * The push subscriptions of every account, and the VAPID key.
 *
 * @example Register, renew, list, refuse past the limit, forget
 * ```ts
 * import assert from "node:assert/strict";
 * import { PushStore } from "./push_store.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * const store = PushStore.open(dir, { maxPerAccount: 1, createKey: () => ({ kty: "test" }) });
 * const keys = { p256dh: "BKey", auth: "c2VjcmV0" };
 * const phone = { endpoint: "https://push.example/1", ...keys, capabilities: ["server-time"] };
 * assert.equal(store.register("Ann", phone), "registered");
 * assert.equal(store.register("ann", phone), "registered", "the same endpoint is renewed");
 * assert.equal(store.register("ann", { ...phone, endpoint: "https://push.example/2" }), "too-many");
 * assert.deepEqual(store.subscriptionsOf("ANN").map((s) => s.endpoint), ["https://push.example/1"]);
 * assert.ok(store.hasSubscriptions("ann"));
 * assert.deepEqual(store.vapidKey, { kty: "test" });
 * store.unregister("ann", "https://push.example/1");
 * assert.deepEqual(store.subscriptionsOf("ann"), []);
 * store.close();
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export class PushStore {
  /** The VAPID private key, as a JWK (made on the first open). */
  readonly vapidKey: JsonWebKey;
  readonly #db: DatabaseSync;
  readonly #maxPerAccount: number;
  readonly #maxAgeMs: number;
  readonly #clock: () => number;
  /** Every subscription, by folded account, then endpoint. */
  readonly #byAccount = new Map<string, Map<string, PushSubscription>>();
  readonly #statements: Record<"upsert" | "delete" | "expire", StatementSync>;

  private constructor(
    db: DatabaseSync,
    vapidKey: JsonWebKey,
    options: PushStoreOptions,
  ) {
    this.#db = db;
    this.vapidKey = vapidKey;
    this.#maxPerAccount = options.maxPerAccount ?? 10;
    this.#maxAgeMs = options.maxAgeMs ?? 30 * DAY_MS;
    this.#clock = options.clock ?? Date.now;
    this.#statements = {
      upsert: db.prepare(
        `INSERT INTO subscriptions (account_key, account, endpoint, p256dh, auth, capabilities,
           renewed_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (account_key, endpoint) DO UPDATE SET account = excluded.account,
           p256dh = excluded.p256dh, auth = excluded.auth, capabilities = excluded.capabilities,
           renewed_at = excluded.renewed_at`,
      ),
      delete: db.prepare("DELETE FROM subscriptions WHERE account_key = ? AND endpoint = ?"),
      expire: db.prepare("DELETE FROM subscriptions WHERE renewed_at < ?"),
    };
    this.#statements.expire.run(this.#clock() - this.#maxAgeMs);
    for (const row of db.prepare("SELECT * FROM subscriptions").all()) {
      this.#remember({
        account: row.account as string,
        endpoint: row.endpoint as string,
        p256dh: row.p256dh as string,
        auth: row.auth as string,
        capabilities: (row.capabilities as string).split(" ").filter((name) => name !== ""),
        renewedAt: row.renewed_at as number,
      });
    }
  }

  /**
   * Opens (creating if needed) `<dataDir>/push.sqlite`, making the VAPID key if it has none,
   * and drops the subscriptions that were not renewed in time.
   *
   * @param dataDir The data directory.
   * @param options Limits, the clock, and how to make the key.
   * @returns The store.
   * @throws {DataDirectoryError} when the file cannot be opened or was written by a newer
   *   shmooze.
   */
  static open(dataDir: string, options: PushStoreOptions): PushStore {
    const { db, path } = openPrivateDatabase(dataDir, "push.sqlite", "push");
    try {
      migrateSchema(db, path, "push", SCHEMA, SCHEMA_VERSION);
      const stored = db.prepare("SELECT jwk FROM vapid_key WHERE id = 1").get();
      let jwk: JsonWebKey;
      if (stored === undefined) {
        jwk = options.createKey();
        db.prepare("INSERT INTO vapid_key (id, jwk, created_at) VALUES (1, ?, ?)")
          .run(JSON.stringify(jwk), (options.clock ?? Date.now)());
      } else {
        jwk = JSON.parse(stored.jwk as string);
      }
      return new PushStore(db, jwk, options);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  /**
   * Stores a subscription of an account, or renews it (the same endpoint: its keys and
   * capabilities are replaced, as the spec says).
   *
   * @param account The account.
   * @param subscription The endpoint, keys and capabilities.
   * @returns `too-many` (nothing stored) when the account already has the most.
   * @throws Error when the database cannot write it.
   */
  register(
    account: string,
    subscription: Omit<PushSubscription, "account" | "renewedAt">,
  ): RegisterOutcome {
    const key = foldCase(account);
    const existing = this.#byAccount.get(key);
    if (!existing?.has(subscription.endpoint) && (existing?.size ?? 0) >= this.#maxPerAccount) {
      return "too-many";
    }
    const stored = { ...subscription, account, renewedAt: this.#clock() };
    this.#statements.upsert.run(
      key,
      account,
      stored.endpoint,
      stored.p256dh,
      stored.auth,
      stored.capabilities.join(" "),
      stored.renewedAt,
    );
    this.#remember(stored);
    return "registered";
  }

  /**
   * Forgets a subscription of an account; nothing happens when it has none there.
   *
   * @param account The account.
   * @param endpoint The endpoint.
   * @throws Error when the database cannot write it.
   */
  unregister(account: string, endpoint: string): void {
    const key = foldCase(account);
    this.#statements.delete.run(key, endpoint);
    const subscriptions = this.#byAccount.get(key);
    subscriptions?.delete(endpoint);
    if (subscriptions?.size === 0) this.#byAccount.delete(key);
  }

  /**
   * The live subscriptions of an account (one not renewed in time is forgotten here).
   *
   * @param account The account (any case).
   * @returns Its subscriptions.
   */
  subscriptionsOf(account: string): PushSubscription[] {
    const subscriptions = this.#byAccount.get(foldCase(account));
    if (subscriptions === undefined) return [];
    const oldest = this.#clock() - this.#maxAgeMs;
    const live: PushSubscription[] = [];
    for (const subscription of [...subscriptions.values()]) {
      if (subscription.renewedAt >= oldest) live.push(subscription);
      else this.unregister(subscription.account, subscription.endpoint);
    }
    return live;
  }

  /**
   * Whether an account has a subscription: a check that costs one map look-up, made for every
   * name a message mentions.
   *
   * @param account The account (any case).
   * @returns True when it has one.
   */
  hasSubscriptions(account: string): boolean {
    return this.#byAccount.has(foldCase(account));
  }

  /** Whether any account has a subscription. */
  get empty(): boolean {
    return this.#byAccount.size === 0;
  }

  /** Closes the database. */
  close(): void {
    this.#db.close();
  }

  #remember(subscription: PushSubscription): void {
    const key = foldCase(subscription.account);
    let subscriptions = this.#byAccount.get(key);
    if (subscriptions === undefined) this.#byAccount.set(key, subscriptions = new Map());
    subscriptions.set(subscription.endpoint, subscription);
  }
}
