import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { AccountStore, validAccountName } from "../src/chat/accounts.ts";
import { RateLimiter } from "../src/chat/rate_limiter.ts";

/** Cheap hashes, and no server-wide hash budget: the tests check behaviour, not cost. */
const CHEAP = { hashCost: { memoryKiB: 64, iterations: 1 }, hashesPerSecond: 1000 };

function tempDir(): { path: string } & Disposable {
  const path = Deno.makeTempDirSync({ prefix: "shmooze-accounts-test-" });
  return { path, [Symbol.dispose]: () => Deno.removeSync(path, { recursive: true }) };
}

Deno.test("AccountStore stores an argon2id hash, never the password, in a 0600 WAL file", async () => {
  using dir = tempDir();
  const accounts = AccountStore.open(dir.path);
  const result = await accounts.register("Ann", "correct horse battery", "127.0.0.1");
  assert.ok(result.ok);
  accounts.close();
  const path = join(dir.path, "accounts.sqlite");
  assert.equal(Deno.statSync(path).mode! & 0o777, 0o600);
  const db = new DatabaseSync(path);
  const row = db.prepare("SELECT * FROM accounts").get()!;
  const mode = db.prepare("PRAGMA journal_mode").get()!;
  db.close();
  assert.equal(mode.journal_mode, "wal");
  assert.equal(row.name, "Ann");
  assert.equal(row.key, "ann");
  assert.match(row.hash as string, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  assert.ok(!(row.hash as string).includes("correct horse"));
});

Deno.test("AccountStore.login() accepts the password in any name case and rejects others", async () => {
  using dir = tempDir();
  const accounts = AccountStore.open(dir.path, CHEAP);
  await accounts.register("Ann", "correct horse battery", "10.0.0.1");
  const good = await accounts.login("aNN", "correct horse battery", "10.0.0.2");
  assert.deepEqual(good.ok && good.account.name, "Ann");
  const bad = await accounts.login("ann", "correct horse batterY", "10.0.0.2");
  assert.deepEqual(bad, { ok: false, reason: "invalid", retryAfterMs: 0 });
  const nobody = await accounts.login("bob", "correct horse battery", "10.0.0.3");
  assert.equal(nobody.ok, false);
  accounts.close();
});

Deno.test("AccountStore keeps accounts across reopen", async () => {
  using dir = tempDir();
  const first = AccountStore.open(dir.path, CHEAP);
  await first.register("ann", "a long password", "127.0.0.1");
  first.close();
  const second = AccountStore.open(dir.path, CHEAP);
  assert.equal(second.find("ANN")?.name, "ann");
  assert.ok((await second.login("ann", "a long password", "127.0.0.1")).ok);
  second.close();
});

Deno.test("AccountStore.register() refuses bad names, weak passwords and taken names", async () => {
  using dir = tempDir();
  const accounts = AccountStore.open(dir.path, CHEAP);
  const reasons = [];
  for (
    const [name, password] of [
      ["#ann", "a long password"],
      ["9ann", "a long password"],
      [
        "x".repeat(33),
        "a long password",
      ],
      ["ann", "short"],
      ["ann", "p".repeat(257)],
    ]
  ) {
    const result = await accounts.register(name, password, "127.0.0.1");
    reasons.push(result.ok || result.reason);
  }
  assert.deepEqual(reasons, [
    "bad-account-name",
    "bad-account-name",
    "bad-account-name",
    "weak-password",
    "weak-password",
  ]);
  assert.ok((await accounts.register("ann", "a long password", "127.0.0.1")).ok);
  const again = await accounts.register("ANN", "another password", "127.0.0.2");
  assert.equal(again.ok || again.reason, "account-exists");
  accounts.close();
});

Deno.test("AccountStore.register() of one name twice at once creates it once", async () => {
  using dir = tempDir();
  const accounts = AccountStore.open(dir.path, CHEAP);
  const results = await Promise.all([
    accounts.register("ann", "first password", "10.0.0.1"),
    accounts.register("ann", "second password", "10.0.0.2"),
  ]);
  assert.deepEqual(results.map((r) => r.ok || r.reason).sort(), ["account-exists", true]);
  const winner = results[0].ok ? "first password" : "second password";
  assert.ok((await accounts.login("ann", winner, "10.0.0.3")).ok);
  accounts.close();
});

Deno.test("AccountStore.register() limits registrations per address", async () => {
  using dir = tempDir();
  const accounts = AccountStore.open(dir.path, {
    ...CHEAP,
    registrationLimit: { limit: 2, windowMs: 60_000 },
  });
  const results = [];
  for (const name of ["ann", "bob", "cat"]) {
    const result = await accounts.register(name, "a long password", "10.0.0.1");
    results.push(result.ok || result.reason);
  }
  assert.deepEqual(results, [true, true, "temporarily-unavailable"]);
  assert.ok((await accounts.register("cat", "a long password", "10.0.0.2")).ok);
  accounts.close();
});

/** Short delays, so the tests measure the policy's shape in about a second each. */
const FAST = { firstDelayMs: 200, maxDelayMs: 1600 };
/** A login that did not wait for a turn takes less than this, even on a busy machine. */
const AT_ONCE = 150;

/**
 * Times a login. A throttled attempt waits for a turn counted from the previous attempt's
 * turn, which came no earlier than that attempt's `start`: so `end` minus the previous
 * attempt's `start` bounds the wait from below however busy the machine is, where `ms` alone
 * would not (the previous attempt's own checking eats into it).
 */
async function timedLogin(
  accounts: AccountStore,
  name: string,
  password: string,
  address: string,
): Promise<{ result: string | true; ms: number; start: number; end: number }> {
  const start = performance.now();
  const result = await accounts.login(name, password, address);
  const end = performance.now();
  return { result: result.ok || result.reason, ms: end - start, start, end };
}

/** The wait between attempt `i - 1` and attempt `i` of a series, bounded from below. */
function gap(tries: { start: number; end: number }[], i: number): number {
  return tries[i].end - tries[i - 1].start;
}

Deno.test("AccountStore.login() slows an address's failures but checks the owner's right password elsewhere at once", async () => {
  using dir = tempDir();
  const accounts = AccountStore.open(dir.path, { ...CHEAP, loginThrottle: FAST });
  await accounts.register("ann", "a long password", "198.51.100.4");
  const attacker = [];
  for (let i = 0; i < 6; i++) {
    attacker.push(await timedLogin(accounts, "ann", `guess ${i}`, "203.0.113.7"));
  }
  assert.deepEqual(attacker.map((a) => a.result), Array(6).fill("invalid"));
  // Three free failures, then 200, 400, 800 ms apart.
  assert.ok(attacker.slice(0, 3).every((a) => a.ms < AT_ONCE), JSON.stringify(attacker));
  assert.ok(
    gap(attacker, 3) >= 200 && gap(attacker, 4) >= 400 && gap(attacker, 5) >= 800,
    JSON.stringify(attacker),
  );
  // The owner, from her own address and from one the account has never used.
  for (const address of ["198.51.100.4", "192.0.2.50"]) {
    const owner = await timedLogin(accounts, "ann", "a long password", address);
    assert.equal(owner.result, true);
    assert.ok(owner.ms < AT_ONCE, `owner from ${address} waited ${owner.ms} ms`);
  }
  accounts.close();
});

Deno.test("AccountStore.login() after the owner's own typos: the right password is checked, after the documented wait", async () => {
  using dir = tempDir();
  const accounts = AccountStore.open(dir.path, { ...CHEAP, loginThrottle: FAST });
  await accounts.register("ann", "a long password", "198.51.100.4");
  const typos = [];
  for (let i = 0; i < 4; i++) {
    typos.push(await timedLogin(accounts, "ann", `typo ${i}`, "198.51.100.4"));
  }
  // Four failures: the fifth attempt waits 2^(4-3) × 200 ms after the fourth.
  const right = await timedLogin(accounts, "ann", "a long password", "198.51.100.4");
  assert.equal(right.result, true);
  assert.ok(gap([...typos, right], 4) >= 400, `waited ${right.ms} ms`);
  assert.ok(right.ms < 400 + AT_ONCE, `waited ${right.ms} ms`);
  // A success clears the address's schedule for the account.
  const next = await timedLogin(accounts, "ann", "a long password", "198.51.100.4");
  assert.ok(next.ms < AT_ONCE, `waited ${next.ms} ms after a success`);
  accounts.close();
});

Deno.test("AccountStore.login() slows one address spraying many accounts", async () => {
  using dir = tempDir();
  const accounts = AccountStore.open(dir.path, {
    ...CHEAP,
    loginThrottle: { ...FAST, freePerAddress: 4 },
  });
  const names = ["ann", "bob", "cat", "dan", "eve", "fay"];
  for (const [i, name] of names.entries()) {
    assert.ok((await accounts.register(name, "a long password", `198.51.100.${i}`)).ok);
  }
  const tries = [];
  for (const name of names) {
    tries.push(await timedLogin(accounts, name, "password1", "203.0.113.7"));
  }
  assert.ok(tries.slice(0, 4).every((t) => t.ms < AT_ONCE), JSON.stringify(tries));
  assert.ok(gap(tries, 4) >= 200 && gap(tries, 5) >= 400, JSON.stringify(tries));
  const owner = await timedLogin(accounts, "fay", "a long password", "198.51.100.9");
  assert.ok(owner.result === true && owner.ms < AT_ONCE, JSON.stringify(owner));
  accounts.close();
});

Deno.test("AccountStore.login() bounds many addresses guessing one account without slowing the owner's known address", async () => {
  using dir = tempDir();
  const accounts = AccountStore.open(dir.path, {
    ...CHEAP,
    loginThrottle: { ...FAST, freePerAccount: 6 },
  });
  await accounts.register("ann", "a long password", "198.51.100.4");
  // Three addresses, each within its own three free failures: together they pass the
  // account's six.
  let last = 0;
  for (let host = 1; host <= 3; host++) {
    for (let i = 0; i < 3; i++) {
      last = performance.now();
      await accounts.login("ann", `guess ${i}`, `203.0.113.${host}`);
    }
  }
  // A fourth address the account never used queues behind them...
  const fresh = await timedLogin(accounts, "ann", "guess", "203.0.113.4");
  assert.ok(fresh.end - last >= 700, `a new address waited only ${fresh.ms} ms`);
  // ...and the bound holds from any number of addresses: turns are 1600 ms apart by now, so
  // of three at once one is checked (after its turn) and two are refused unchecked.
  const burst = await Promise.all(
    [6, 7, 8].map((host) => timedLogin(accounts, "ann", "guess", `203.0.113.${host}`)),
  );
  assert.deepEqual(burst.map((b) => b.result).sort(), ["invalid", "throttled", "throttled"]);
  const checked = burst.find((b) => b.result === "invalid")!;
  assert.ok(checked.end - fresh.start >= 1000, JSON.stringify(burst));
  // The owner at the address she registered from is not in that queue.
  const owner = await timedLogin(accounts, "ann", "a long password", "198.51.100.4");
  assert.ok(owner.result === true && owner.ms < AT_ONCE, `owner waited ${owner.ms} ms`);
  accounts.close();
});

Deno.test("AccountStore.login() refuses at once attempts piled up beyond the longest wait", async () => {
  using dir = tempDir();
  const accounts = AccountStore.open(dir.path, {
    ...CHEAP,
    loginThrottle: { ...FAST, freePerAccountAddress: 1 },
  });
  const results = await Promise.all(
    Array.from({ length: 6 }, () => accounts.login("ann", "a guess", "203.0.113.7")),
  );
  // Turns at 0, 200, 600, 1400 ms; the next would wait 3000 ms > 1600.
  assert.deepEqual(results.map((r) => r.ok || r.reason), [
    "invalid",
    "invalid",
    "invalid",
    "invalid",
    "throttled",
    "throttled",
  ]);
  const last = results[5];
  assert.ok(!last.ok && last.retryAfterMs > 0 && last.retryAfterMs <= 1400);
  accounts.close();
});

Deno.test("AccountStore.login() caps password hashes per second server-wide, except from known addresses", async () => {
  using dir = tempDir();
  const accounts = AccountStore.open(dir.path, { ...CHEAP, hashesPerSecond: 3 });
  // The registration is one of the three hashes of this second.
  await accounts.register("ann", "a long password", "198.51.100.4");
  const results = await Promise.all(
    ["10.0.0.1", "10.0.0.2", "10.0.0.3"].map((address) =>
      accounts.login("bob", "whatever password", address)
    ),
  );
  assert.deepEqual(results.map((r) => r.ok || r.reason), ["invalid", "invalid", "busy"]);
  assert.ok((await accounts.login("ann", "a long password", "198.51.100.4")).ok);
  const stranger = await accounts.login("ann", "a long password", "10.0.0.4");
  assert.equal(stranger.ok || stranger.reason, "busy");
  accounts.close();
});

Deno.test("AccountStore.close() ends a login that is waiting for its turn", async () => {
  using dir = tempDir();
  const accounts = AccountStore.open(dir.path, {
    ...CHEAP,
    loginThrottle: { freePerAccountAddress: 0, firstDelayMs: 20_000, maxDelayMs: 20_000 },
  });
  await accounts.login("ann", "first guess", "203.0.113.7");
  const waiting = accounts.login("ann", "second guess", "203.0.113.7");
  const start = performance.now();
  accounts.close();
  assert.equal((await waiting).ok, false);
  assert.ok(performance.now() - start < 1000);
});

Deno.test("AccountStore hashes take 50 to 150 ms at the default cost", async () => {
  using dir = tempDir();
  const accounts = AccountStore.open(dir.path, { hashesPerSecond: 100 });
  await accounts.register("ann", "a long password", "127.0.0.1");
  const start = performance.now();
  assert.ok((await accounts.login("ann", "a long password", "127.0.0.1")).ok);
  const elapsed = performance.now() - start;
  console.log(`argon2id m=19456 KiB t=2 p=1: ${elapsed.toFixed(1)} ms`);
  // A lower bound only: the CI machine is shared, so a slow run is no failure of the cost.
  assert.ok(elapsed > 20, `hash took only ${elapsed} ms`);
  accounts.close();
});

Deno.test("validAccountName() follows the nick rules and NICKLEN", () => {
  assert.ok(validAccountName("ann"));
  assert.ok(validAccountName("[ann]_^-9"));
  assert.ok(!validAccountName(""));
  assert.ok(!validAccountName("-ann"));
  assert.ok(!validAccountName("ann bob"));
  assert.ok(!validAccountName("ann\u0000"));
  assert.ok(!validAccountName("ánn"));
  assert.ok(!validAccountName("a".repeat(11), 10));
});

Deno.test("RateLimiter allows limit events per sliding window per key", () => {
  const limiter = new RateLimiter({ limit: 2, windowMs: 1000 });
  assert.ok(limiter.take("a", 0));
  assert.ok(limiter.take("a", 500));
  assert.ok(!limiter.take("a", 999));
  assert.ok(limiter.take("b", 999));
  assert.equal(limiter.retryAfter("a", 999), 1);
  assert.ok(limiter.take("a", 1000));
  assert.ok(!limiter.take("a", 1499));
  limiter.refund("a");
  assert.ok(limiter.take("a", 1499));
});

Deno.test("RateLimiter forgets idle keys after a window", () => {
  const limiter = new RateLimiter({ limit: 1, windowMs: 1000 });
  for (let i = 0; i < 1000; i++) limiter.take(`10.0.${i >> 8}.${i & 255}`, 10);
  assert.equal(limiter.size, 1000);
  limiter.take("other", 2000);
  assert.equal(limiter.size, 1);
});

Deno.test("RateLimiter rejects a zero limit or window", () => {
  assert.throws(() => new RateLimiter({ limit: 0, windowMs: 1000 }), /limit must be/);
  assert.throws(() => new RateLimiter({ limit: 1, windowMs: 0 }), /windowMs must be/);
});
