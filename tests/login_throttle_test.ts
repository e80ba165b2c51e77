/**
 * Failed logins slow whoever makes them and never lock the owner out: over real sockets,
 * with the default delays, from two distinct loopback addresses of one dual-stack server
 * (`::1`, and 127.0.0.1 which a server on `::` sees as `::ffff:127.0.0.1`), and the
 * throttle's policy with explicit clocks.
 */
import assert from "node:assert/strict";
import { IrcTestClient } from "./_irc.ts";
import { PASSWORD, registeredUser, saslLogin, withAccounts } from "./_accounts.ts";
import { LoginThrottle } from "../src/chat/login_throttle.ts";

/** One timed login attempt (see {@link timedSasl}). */
interface Timed {
  numeric: string;
  text: string;
  ms: number;
  start: number;
  end: number;
}

/**
 * A SASL PLAIN login over a fresh connection from `hostname`, timed from connect (`start`)
 * to answer (`end`). The server schedules an attempt no earlier than it receives it, so
 * `end` of one attempt minus `start` of the one before bounds the wait between them from
 * below, whatever the load on the machine.
 */
async function timedSasl(
  port: number,
  hostname: string,
  password: string,
): Promise<Timed> {
  const start = performance.now();
  await using client = await IrcTestClient.connect(port, hostname);
  const answer = await saslLogin(client, "ann", password, 40_000);
  const end = performance.now();
  return { numeric: answer.command, text: answer.params.at(-1)!, ms: end - start, start, end };
}

Deno.test("SASL PLAIN: failures from ::1 slow ::1 (1 s, 2 s, 4 s) while the owner on 127.0.0.1 logs in at once", async () => {
  await withAccounts({ hostname: "::" }, async (server) => {
    await (await registeredUser(server.port, "ann")).close();
    const attacker: Timed[] = [];
    for (let i = 0; i < 5; i++) attacker.push(await timedSasl(server.port, "::1", `guess ${i}`));
    assert.deepEqual(attacker.map((a) => a.numeric), Array(5).fill("904"));
    assert.match(attacker[4].text, /invalid account or password/);
    console.log(`attacker on ::1: ${attacker.map((a) => a.ms.toFixed(0)).join(", ")} ms`);
    // Three free failures, then each attempt waits 1 s, then 2 s, after the one before.
    const gap = (i: number) => attacker[i].end - attacker[i - 1].start;
    assert.ok(gap(3) >= 1000, `the fourth guess came ${gap(3)} ms after the third`);
    assert.ok(gap(4) >= 2000, `the fifth guess came ${gap(4)} ms after the fourth`);

    // The attacker's sixth attempt waits 4 s; meanwhile the owner gets in from elsewhere,
    // long before it.
    const sixth = timedSasl(server.port, "::1", "guess 5");
    const owner = await timedSasl(server.port, "127.0.0.1", PASSWORD);
    console.log(`owner on 127.0.0.1: ${owner.ms.toFixed(0)} ms`);
    assert.equal(owner.numeric, "900");
    const slowed = await sixth;
    assert.equal(slowed.numeric, "904");
    assert.ok(slowed.end - attacker[4].start >= 4000, "the sixth guess was not slowed");
    assert.ok(owner.end < slowed.end - 2000, `the owner waited ${owner.ms} ms`);
  });
});

Deno.test("SASL PLAIN: the owner's own typos slow her, and the right password then logs in after the documented wait", async () => {
  await withAccounts({ hostname: "::" }, async (server) => {
    await (await registeredUser(server.port, "ann", { hostname: "::1" })).close();
    const typos: Timed[] = [];
    for (let i = 0; i < 4; i++) typos.push(await timedSasl(server.port, "::1", `typo ${i}`));
    assert.deepEqual(typos.map((t) => t.numeric), Array(4).fill("904"));
    // After four failures in a row the next attempt waits 2^(4-3) = 2 s after the fourth:
    // slowed, but nowhere near a lockout (the longest wait is 30 s).
    const right = await timedSasl(server.port, "::1", PASSWORD);
    console.log(`right password after four typos: ${right.ms.toFixed(0)} ms`);
    assert.equal(right.numeric, "900");
    assert.ok(right.end - typos[3].start >= 2000, "the right password after typos was not slowed");
    assert.ok(right.end - typos[3].end < 10_000, `logged in after ${right.ms} ms`);
    // The success clears her schedule: the next login does not wait the 4 s it otherwise would.
    const again = await timedSasl(server.port, "::1", PASSWORD);
    assert.equal(again.numeric, "900");
    assert.ok(again.ms < 3000, `then waited ${again.ms} ms`);
  });
});

Deno.test("LoginThrottle: one address alone never slows the account elsewhere, however often it fails", () => {
  const throttle = new LoginThrottle();
  let now = 0;
  for (let i = 0; i < 200; i++) {
    const turn = throttle.take("ann", "203.0.113.7", now);
    if (turn.granted) now += turn.waitMs;
    else now += turn.retryAfterMs;
  }
  const owner = throttle.take("ann", "192.0.2.50", now);
  assert.ok(owner.granted && owner.waitMs === 0);
  // The attacker itself is down to one attempt per 30 s.
  const next = throttle.take("ann", "203.0.113.7", now);
  assert.ok(next.granted && next.waitMs === 30_000);
});

Deno.test("LoginThrottle: many addresses share one schedule per account, capped at a turn per 30 s", () => {
  const throttle = new LoginThrottle();
  throttle.remember("ann", "198.51.100.4", 0);
  let now = 0;
  const checked: number[] = [];
  // 1000 addresses, each trying three times in a row, one attempt every 100 ms overall.
  for (let host = 0; host < 1000; host++) {
    for (let i = 0; i < 3; i++, now += 100) {
      const turn = throttle.take("ann", `10.${host >> 8}.${host & 255}.1`, now);
      if (turn.granted) checked.push(now + turn.waitMs);
    }
  }
  // Over those 300 s: 10 free turns, then 1, 2, 4, 8, 16 s apart, then one every 30 s.
  assert.ok(checked.length <= 10 + 5 + 300 / 30, `${checked.length} attempts were checked`);
  const gaps = checked.slice(15).map((at, i) => at - checked[14 + i]);
  assert.ok(gaps.length >= 5 && gaps.every((gap) => gap >= 30_000), `gaps ${gaps}`);
  // The owner's known address is outside that queue.
  const owner = throttle.take("ann", "198.51.100.4", now);
  assert.ok(owner.granted && owner.waitMs === 0 && owner.known);
});

Deno.test("LoginThrottle forgets a schedule 15 minutes after its last failure", () => {
  const throttle = new LoginThrottle();
  for (let i = 0; i < 3; i++) throttle.take("ann", "203.0.113.7", 0);
  const slowed = throttle.take("ann", "203.0.113.7", 0);
  assert.ok(slowed.granted && slowed.waitMs === 1000);
  const later = throttle.take("ann", "203.0.113.7", 1000 + 15 * 60_000 + 1);
  assert.ok(later.granted && later.waitMs === 0);
  assert.equal(throttle.size, 3);
  throttle.take("bob", "198.51.100.4", 40 * 60_000);
  assert.equal(throttle.size, 3, "forgotten schedules were swept");
});

Deno.test("LoginThrottle keeps at most 100,000 schedules of each kind, dropping the oldest", () => {
  const throttle = new LoginThrottle();
  for (let i = 0; i < 100_010; i++) {
    assert.ok(throttle.take(`user${i}`, `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, 0).granted);
  }
  assert.equal(throttle.size, 3 * 100_000);
  // The first ones went: user0 from 10.0.0.0 starts afresh.
  for (let i = 0; i < 3; i++) throttle.take("user0", "10.0.0.0", 0);
  const fourth = throttle.take("user0", "10.0.0.0", 0);
  assert.ok(fourth.granted && fourth.waitMs === 1000);
});
