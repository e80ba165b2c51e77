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

Deno.test("AccountStore.login() throttles the fourth failure in a minute per account", async () => {
  using dir = tempDir();
  const accounts = AccountStore.open(dir.path, CHEAP);
  await accounts.register("ann", "a long password", "127.0.0.1");
  const reasons = [];
  for (let i = 0; i < 4; i++) {
    const result = await accounts.login("ann", `guess ${i}`, `10.0.0.${i}`);
    reasons.push(result.ok || result.reason);
  }
  assert.deepEqual(reasons, ["invalid", "invalid", "invalid", "throttled"]);
  // Even the right password is not checked while the account is throttled.
  const right = await accounts.login("ann", "a long password", "10.0.0.9");
  assert.equal(right.ok, false);
  assert.ok(!right.ok && right.reason === "throttled" && right.retryAfterMs > 55_000);
  accounts.close();
});

Deno.test("AccountStore.login() throttles the fourth failure in a minute per address", async () => {
  using dir = tempDir();
  const accounts = AccountStore.open(dir.path, CHEAP);
  for (const name of ["ann", "bob", "cat", "dan"]) {
    await accounts.register(name, "a long password", `10.1.0.${name.length}${name}`);
  }
  const reasons = [];
  for (const name of ["ann", "bob", "cat", "dan"]) {
    const result = await accounts.login(name, "wrong password", "203.0.113.7");
    reasons.push(result.ok || result.reason);
  }
  assert.deepEqual(reasons, ["invalid", "invalid", "invalid", "throttled"]);
  assert.ok((await accounts.login("dan", "a long password", "203.0.113.8")).ok);
  accounts.close();
});

Deno.test("AccountStore.login() does not count successful logins against the limit", async () => {
  using dir = tempDir();
  const accounts = AccountStore.open(dir.path, CHEAP);
  await accounts.register("ann", "a long password", "127.0.0.1");
  for (let i = 0; i < 6; i++) {
    assert.ok((await accounts.login("ann", "a long password", "127.0.0.1")).ok, `login ${i}`);
  }
  accounts.close();
});

Deno.test("AccountStore.login() caps password hashes per second server-wide", async () => {
  using dir = tempDir();
  const accounts = AccountStore.open(dir.path, { ...CHEAP, hashesPerSecond: 2 });
  const results = await Promise.all(
    ["10.0.0.1", "10.0.0.2", "10.0.0.3"].map((address) =>
      accounts.login("ann", "whatever password", address)
    ),
  );
  assert.deepEqual(results.map((r) => r.ok || r.reason), ["invalid", "invalid", "throttled"]);
  accounts.close();
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
