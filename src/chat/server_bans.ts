/**
 * Server-wide bans (K-lines): who may not connect at all, by mask or by account, with a
 * reason, who set it and when it expires. Kept in `<dataDir>/bans.sqlite` (0600, WAL, one
 * autocommitted statement per change, so a ban survives `kill -9` the moment it is
 * acknowledged); without a data directory, in memory.
 *
 * A mask is `nick!user@host` or `user@host` (meaning `*!user@host`) with the wildcards `*`
 * and `?`, matched by masks.ts's `wildcardMatch` as channel bans are, without case; the host
 * part matches the client's IP address as the server sees it (an IPv4 client on an IPv6
 * listener matches its IPv4 form too) and, after an operator's CHGHOST, the host shown. `~a:account` (the account extban of channel lists, see
 * masks.ts) matches the account a client is logged in to, with the same wildcards.
 *
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { getLogger } from "@logtape/logtape";
import { migrateSchema, openPrivateDatabase } from "./_sqlite.ts";
import { foldCase } from "./casemap.ts";
import { ACCOUNT_EXTBAN, wildcardMatch } from "./masks.ts";

/** One server ban. */
export interface ServerBan {
  /** The mask as stored: `nick!user@host` or `~a:account`. */
  readonly mask: string;
  /** Why, as the banned user is told. */
  readonly reason: string;
  /** Who set it (an operator's nick and name, or `console`). */
  readonly setBy: string;
  /** When it was set, ms since the epoch. */
  readonly setAt: number;
  /** When it ends, ms since the epoch; undefined for never. */
  readonly expiresAt: number | undefined;
}

/** Whom a ban is matched against. */
export interface BanSubject {
  /** The nick. */
  readonly nick: string;
  /** The user name (ident). */
  readonly user: string;
  /** The host shown (the client's address, unless an operator changed it with CHGHOST). */
  readonly host: string;
  /** The client's address, when the host shown is not it; a host mask matches either. */
  readonly address?: string;
  /** The account logged in to, if any. */
  readonly account?: string;
}

/**
 * The prefix of an account ban's mask: the account extban of channel lists (`ACCOUNT_EXTBAN`),
 * so one spelling bans an account from a channel and from the server.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ACCOUNT_BAN_PREFIX, banMask } from "./server_bans.ts";
 *
 * assert.equal(banMask(`${ACCOUNT_BAN_PREFIX}Spammer`), "~a:Spammer");
 * ```
 */
export const ACCOUNT_BAN_PREFIX: string = ACCOUNT_EXTBAN;

const log = getLogger(["shmooze", "audit"]);
const MAX_MASK_LENGTH = 200;
const MAX_REASON_LENGTH = 300;
const IPV4_MAPPED = /^0?::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;
const SCHEMA_VERSION = 1;
const SCHEMA = `
CREATE TABLE bans (
  key        TEXT PRIMARY KEY,
  mask       TEXT NOT NULL,
  reason     TEXT NOT NULL,
  set_by     TEXT NOT NULL,
  set_at     INTEGER NOT NULL,
  expires_at INTEGER
) WITHOUT ROWID;
PRAGMA user_version = ${SCHEMA_VERSION};
`;

/**
 * The mask a ban is stored under, or why the text is not one: `user@host` becomes
 * `*!user@host`; `~a:account` stays; a mask of wildcards alone (`*@*`, which would ban
 * everyone) is refused.
 *
 * @param text The mask as typed.
 * @returns The mask, or `{ problem }` saying what is wrong.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { banMask } from "./server_bans.ts";
 *
 * assert.equal(banMask("*@203.0.113.*"), "*!*@203.0.113.*");
 * assert.equal(banMask("bob!*@*"), "bob!*@*");
 * assert.deepEqual(banMask("*!*@*"), { problem: "it would ban everyone" });
 * assert.ok(typeof banMask("bob") === "object");
 * ```
 */
export function banMask(text: string): string | { problem: string } {
  if (text.length > MAX_MASK_LENGTH) {
    return { problem: `it is longer than ${MAX_MASK_LENGTH} characters` };
  }
  if (/[\s,\0]/.test(text)) return { problem: "it has a space, comma or NUL" };
  if (text.toLowerCase().startsWith(ACCOUNT_BAN_PREFIX)) {
    const account = text.slice(ACCOUNT_BAN_PREFIX.length);
    if (account === "") return { problem: "it names no account" };
    if (/^[*?]+$/.test(account)) return { problem: "it would ban every account" };
    return ACCOUNT_BAN_PREFIX + account;
  }
  const mask = text.includes("!") ? text : `*!${text}`;
  if (!/^[^!@]+![^!@]+@[^!@]+$/.test(mask)) {
    return { problem: "it is not nick!user@host, user@host or ~a:account" };
  }
  if (mask.replace(/[*?!@.:]/g, "") === "") return { problem: "it would ban everyone" };
  return mask;
}

/**
 * Reads a ban duration: a number of minutes (`30`, as Solanum and Hybrid take it) or a number
 * with units `s`, `m`, `h`, `d`, `w`, combined (`90s`, `1h30m`, `2d`, as InspIRCd and Ergo
 * take it). `0` means no expiry.
 *
 * @param text The duration as typed.
 * @returns Milliseconds (0 for no expiry), or undefined when it is not a duration.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseDuration } from "./server_bans.ts";
 *
 * assert.equal(parseDuration("30"), 30 * 60_000);
 * assert.equal(parseDuration("1h30m"), 90 * 60_000);
 * assert.equal(parseDuration("2s"), 2000);
 * assert.equal(parseDuration("0"), 0);
 * assert.equal(parseDuration("*@host"), undefined);
 * assert.equal(parseDuration("1y"), undefined);
 * ```
 */
export function parseDuration(text: string): number | undefined {
  if (/^\d{1,9}$/.test(text)) return Number(text) * 60_000;
  if (!/^(\d{1,9}[smhdw])+$/i.test(text)) return undefined;
  const unit: Record<string, number> = {
    s: 1000,
    m: 60_000,
    h: 3_600_000,
    d: 86_400_000,
    w: 604_800_000,
  };
  let ms = 0;
  for (const [, count, letter] of text.matchAll(/(\d+)([smhdw])/gi)) {
    ms += Number(count) * unit[letter.toLowerCase()];
  }
  return ms;
}

/**
 * A test of one ban's mask against users, compiled once (a server checks every ban at every
 * registration).
 *
 * @param mask A mask from {@link banMask}.
 * @returns A function telling whether a user matches.
 *
 * @example Masks match without case; an IPv4 client on an IPv6 listener matches its IPv4 form
 * ```ts
 * import assert from "node:assert/strict";
 * import { banMatcher } from "./server_bans.ts";
 *
 * const bob = { nick: "Bob", user: "bob", host: "0::ffff:203.0.113.9", account: "Bobby" };
 * assert.ok(banMatcher("*!*@203.0.113.*")(bob));
 * assert.ok(banMatcher("bob!*@*")(bob));
 * assert.ok(banMatcher("~a:bobby")(bob));
 * assert.ok(!banMatcher("~a:bob")(bob));
 * assert.ok(!banMatcher("~a:b*")({ nick: "ann", user: "ann", host: "192.0.2.1" }));
 * const staff = { nick: "cy", user: "cy", host: "staff.example", address: "192.0.2.7" };
 * assert.ok(banMatcher("*!*@192.0.2.7")(staff) && banMatcher("*!*@*.example")(staff));
 * ```
 */
export function banMatcher(mask: string): (subject: BanSubject) => boolean {
  const test = compile(mask);
  return (subject) => test(fold(subject));
}

/**
 * A user as matchers compare it, folded: nick, user, account, and its hosts: the host shown,
 * the address when it differs, and the IPv4 form of either.
 */
interface Folded {
  readonly nick: string;
  readonly user: string;
  readonly hosts: readonly string[];
  readonly account: string | undefined;
}

function fold(subject: BanSubject): Folded {
  const hosts = new Set<string>();
  for (const host of [subject.host, subject.address ?? subject.host]) {
    hosts.add(foldCase(host));
    const ipv4 = IPV4_MAPPED.exec(host)?.[1];
    if (ipv4 !== undefined) hosts.add(ipv4);
  }
  return {
    nick: foldCase(subject.nick),
    user: foldCase(subject.user),
    hosts: [...hosts],
    account: subject.account === undefined ? undefined : foldCase(subject.account),
  };
}

/**
 * A mask's test, part by part: `*` needs no test and a part without wildcards is a string
 * comparison, so the usual `*!*@host` costs one comparison per ban.
 */
function compile(mask: string): (folded: Folded) => boolean {
  if (mask.toLowerCase().startsWith(ACCOUNT_BAN_PREFIX)) {
    const account = globTest(mask.slice(ACCOUNT_BAN_PREFIX.length));
    return (folded) => folded.account !== undefined && account(folded.account);
  }
  const bang = mask.indexOf("!");
  const at = mask.indexOf("@", bang);
  const nick = globTest(mask.slice(0, bang));
  const user = globTest(mask.slice(bang + 1, at));
  const host = globTest(mask.slice(at + 1));
  return (folded) => nick(folded.nick) && user(folded.user) && folded.hosts.some(host);
}

/**
 * A glob (`*`, `?`) as a test of folded text: the project's one wildcard matcher
 * (`wildcardMatch`, linear in practice) where there are wildcards to match.
 */
function globTest(glob: string): (text: string) => boolean {
  const folded = foldCase(glob);
  if (/^\*+$/.test(folded)) return () => true;
  if (!/[*?]/.test(folded)) return (text) => text === folded;
  return (text) => wildcardMatch(folded, text);
}

/**
 * The server's bans.
 *
 * @example Ban a host for an hour; it matches, lists, and expires
 * ```ts
 * import assert from "node:assert/strict";
 * import { ServerBans } from "./server_bans.ts";
 *
 * const bans = ServerBans.open(false);
 * const now = Date.now();
 * bans.add({ mask: "*!*@203.0.113.9", reason: "spam", setBy: "ann", durationMs: 3_600_000 }, now);
 * const bob = { nick: "bob", user: "b", host: "203.0.113.9" };
 * assert.equal(bans.match(bob, now)?.reason, "spam");
 * assert.deepEqual(bans.list(now).map((ban) => ban.mask), ["*!*@203.0.113.9"]);
 * assert.equal(bans.match(bob, now + 3_600_000), undefined);
 * assert.deepEqual(bans.list(now + 3_600_000), []);
 * bans.close();
 * ```
 */
export class ServerBans {
  #db: DatabaseSync;
  /** Every ban, by folded mask, oldest first, with its matcher; the table is the durable copy. */
  #bans = new Map<string, { ban: ServerBan; matches: (folded: Folded) => boolean }>();
  #upsert;
  #delete;

  private constructor(db: DatabaseSync) {
    this.#db = db;
    this.#upsert = db.prepare(
      "INSERT OR REPLACE INTO bans (key, mask, reason, set_by, set_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
    );
    this.#delete = db.prepare("DELETE FROM bans WHERE key = ?");
    const rows = db.prepare(
      "SELECT mask, reason, set_by, set_at, expires_at FROM bans ORDER BY set_at",
    ).all();
    for (const row of rows) {
      const ban: ServerBan = {
        mask: row.mask as string,
        reason: row.reason as string,
        setBy: row.set_by as string,
        setAt: row.set_at as number,
        expiresAt: (row.expires_at as number | null) ?? undefined,
      };
      this.#bans.set(foldCase(ban.mask), { ban, matches: compile(ban.mask) });
    }
  }

  /**
   * Opens (creating if needed) `<dataDir>/bans.sqlite`, or keeps the bans in memory.
   *
   * @param dataDir The data directory, or `false` for bans that end with the process.
   * @returns The open store.
   * @throws {DataDirectoryError} if the directory or database cannot be used.
   *
   * @example Bans persist in the data directory
   * ```ts
   * import assert from "node:assert/strict";
   * import { ServerBans } from "./server_bans.ts";
   *
   * const dir = Deno.makeTempDirSync();
   * const first = ServerBans.open(dir);
   * first.add({ mask: "~a:spammer", reason: "spam", setBy: "ann" });
   * first.close();
   * const again = ServerBans.open(dir);
   * assert.equal(again.list()[0].mask, "~a:spammer");
   * again.close();
   * Deno.removeSync(dir, { recursive: true });
   * ```
   */
  static open(dataDir: string | false): ServerBans {
    const { db, path } = dataDir === false
      ? { db: new DatabaseSync(":memory:"), path: ":memory:" }
      : openPrivateDatabase(dataDir, "bans.sqlite", "server bans");
    try {
      migrateSchema(db, path, "server bans", SCHEMA, SCHEMA_VERSION);
      return new ServerBans(db);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  /**
   * Adds a ban, or replaces the one with the same mask.
   *
   * @param ban The mask (see {@link banMask}), reason, setter, and duration (0 or absent:
   *   no expiry).
   * @param now The time, ms since the epoch.
   * @returns The ban as stored (the reason cut to 300 characters).
   * @throws Error when the database cannot store it (then nothing changed).
   */
  add(
    ban: { mask: string; reason: string; setBy: string; durationMs?: number },
    now: number = Date.now(),
  ): ServerBan {
    const stored: ServerBan = {
      mask: ban.mask,
      reason: ban.reason.slice(0, MAX_REASON_LENGTH),
      setBy: ban.setBy,
      setAt: now,
      expiresAt: ban.durationMs ? now + ban.durationMs : undefined,
    };
    const key = foldCase(ban.mask);
    this.#upsert.run(
      key,
      stored.mask,
      stored.reason,
      stored.setBy,
      stored.setAt,
      stored.expiresAt ?? null,
    );
    this.#bans.delete(key);
    this.#bans.set(key, { ban: stored, matches: compile(stored.mask) });
    return stored;
  }

  /**
   * Lifts a ban.
   *
   * @param mask Its mask, any case (`user@host` as typed is understood too).
   * @param now The time, ms since the epoch.
   * @returns The ban lifted, or undefined when there was none (or it had expired).
   * @throws Error when the database cannot store the change.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { ServerBans } from "./server_bans.ts";
   *
   * const bans = ServerBans.open(false);
   * bans.add({ mask: "*!*@203.0.113.9", reason: "spam", setBy: "ann" });
   * assert.equal(bans.remove("*@203.0.113.9")?.reason, "spam");
   * assert.equal(bans.remove("*@203.0.113.9"), undefined);
   * bans.close();
   * ```
   */
  remove(mask: string, now: number = Date.now()): ServerBan | undefined {
    this.#expire(now);
    const normal = banMask(mask);
    const key = foldCase(typeof normal === "string" ? normal : mask);
    const ban = this.#bans.get(key)?.ban;
    if (ban === undefined) return undefined;
    this.#delete.run(key);
    this.#bans.delete(key);
    return ban;
  }

  /**
   * The bans in force, oldest first.
   *
   * @param now The time, ms since the epoch.
   * @returns The bans.
   */
  list(now: number = Date.now()): ServerBan[] {
    this.#expire(now);
    return [...this.#bans.values()].map((entry) => entry.ban);
  }

  /**
   * The first ban in force that matches a user.
   *
   * @param subject The user.
   * @param now The time, ms since the epoch.
   * @returns The ban, or undefined.
   */
  match(subject: BanSubject, now: number = Date.now()): ServerBan | undefined {
    this.#expire(now);
    const folded = fold(subject);
    for (const { ban, matches } of this.#bans.values()) if (matches(folded)) return ban;
    return undefined;
  }

  /** Closes the database. */
  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }

  /** Drops the bans that have expired. */
  #expire(now: number): void {
    for (const [key, { ban }] of this.#bans) {
      if (ban.expiresAt === undefined || ban.expiresAt > now) continue;
      try {
        this.#delete.run(key);
      } catch (error) {
        // It is ignored from now on all the same; the next start drops it again.
        log.warn("Could not delete the expired ban {mask}: {error}", { mask: ban.mask, error });
      }
      this.#bans.delete(key);
      log.info("Ban on {mask} expired (set by {setBy}: {reason})", { ...ban });
    }
  }
}
