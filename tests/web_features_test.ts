/**
 * The chat page's features in a real Chromium against a real `serve`, as guests: links,
 * grouping by sender and day, replies and reactions, typing, mentions with their badge and
 * desktop notification, scrolling back through history, the user list on a phone, and the
 * keyboard alone. The features that need an account are in web_accounts_test.ts.
 */
import assert from "node:assert/strict";
import type { BrowserContext, Page } from "playwright-core";
import { HistoryStore } from "../src/chat/history.ts";
import {
  login,
  newPage,
  say,
  startWebServe,
  type WebServe,
  withBrowser,
  withServe,
} from "./_browser.ts";
import { IrcTestClient } from "./_irc.ts";

/** playwright-core keeps its pipe to the browser open in ways Deno's sanitizers count. */
const BROWSER_TEST = { sanitizeResources: false, sanitizeOps: false };

/** A message to put in a channel's history before the server starts. */
interface Seed {
  nick: string;
  text: string;
  time: number;
}

/**
 * Runs `fn` against a `serve` whose #lobby history already holds `seeds` (written to its
 * data directory before it starts, as an earlier run of the server would have).
 */
async function withHistory(seeds: Seed[], fn: (serve: WebServe) => Promise<void>): Promise<void> {
  const dataDir = await Deno.makeTempDir({ prefix: "shmooze-web-features-test-" });
  try {
    const history = HistoryStore.open(dataDir, { retentionMs: 0 });
    for (const [i, seed] of seeds.entries()) {
      history.append({
        msgid: `seed-${i}`,
        time: seed.time,
        sender: seed.nick,
        senderMask: `${seed.nick}!${seed.nick}@127.0.0.1`,
        target: "#lobby",
        command: "PRIVMSG",
        text: seed.text,
      });
    }
    history.close();
    await using serve = await startWebServe([], dataDir);
    await fn(serve);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
}

/** The list item of the message with this text (not quoting it), in the conversation shown. */
function message(page: Page, text: string) {
  return page.locator(".log:not([hidden]) li.msg", {
    has: page.locator(".text", { hasText: text }),
  });
}

Deno.test({
  name: "the chat page makes http(s) addresses clickable links and leaves javascript: ones text",
  ...BROWSER_TEST,
  fn: () =>
    withServe((serve) =>
      withBrowser(async (browser) => {
        await using tom = await IrcTestClient.register(serve.port, "tom");
        await tom.join("#lobby");
        const { context, page } = await newPage(browser);
        await login(page, serve.url, "ann");
        const target = `${serve.url}/healthz`;
        await tom.send(`PRIVMSG #lobby :look ${target}, not javascript:alert(document.cookie)`);
        const li = message(page, "look");
        await li.waitFor();
        const links = li.locator("a");
        assert.equal(await links.count(), 1);
        assert.equal(await links.getAttribute("href"), target);
        assert.equal(await links.textContent(), target);
        assert.equal(await links.getAttribute("target"), "_blank");
        assert.match((await links.getAttribute("rel"))!, /noopener/);
        assert.match(await li.locator(".text").textContent() ?? "", /javascript:alert/);
        const opened = context.waitForEvent("page");
        await links.click();
        const tab = await opened;
        await tab.waitForLoadState();
        assert.equal(tab.url(), target);
        assert.equal((await tab.locator("body").innerText()).trim(), "ok");
      })
    ),
});

Deno.test({
  name: "the chat page heads each day and shows a person's messages in a row under one nick",
  ...BROWSER_TEST,
  fn: async () => {
    const day = 86_400_000;
    const noon = Math.floor(Date.now() / day) * day + day / 2; // UTC, as the page's zone
    const seeds = [
      { nick: "tom", text: "three days ago, first", time: noon - 3 * day },
      { nick: "tom", text: "three days ago, second", time: noon - 3 * day + 60_000 },
      { nick: "bob", text: "three days ago, bob", time: noon - 3 * day + 120_000 },
      { nick: "tom", text: "three days ago, tom again", time: noon - 3 * day + 180_000 },
      { nick: "tom", text: "yesterday, tom", time: noon - day },
    ];
    await withHistory(seeds, (serve) =>
      withBrowser(async (browser) => {
        const { page } = await newPage(browser, { timezoneId: "UTC", locale: "en-GB" });
        await login(page, serve.url, "ann");
        await say(page, "today, ann");
        await message(page, "today, ann").waitFor();
        const days = page.locator(".log:not([hidden]) li.day");
        const then = new Date(noon - 3 * day);
        const expected = then.toLocaleDateString("en-GB", {
          weekday: "long",
          day: "numeric",
          month: "long",
          year: then.getUTCFullYear() === new Date().getUTCFullYear() ? undefined : "numeric",
          timeZone: "UTC",
        });
        assert.deepEqual(await days.allTextContents(), [expected, "Yesterday", "Today"]);
        const continued = async (text: string) =>
          await message(page, text).evaluate((li) => li.classList.contains("continued"));
        assert.equal(await continued("three days ago, first"), false);
        assert.equal(await continued("three days ago, second"), true);
        assert.equal(await continued("three days ago, bob"), false);
        assert.equal(await continued("three days ago, tom again"), false);
        // A new day starts a new group, even for the same person.
        assert.equal(await continued("yesterday, tom"), false);
        // The nick of a continued message is still there for screen readers.
        assert.equal(await message(page, "three days ago, second").locator(".nick").count(), 1);
      }));
  },
});

/** Hovers a message and presses one of its buttons (they show on hover or focus). */
async function messageButton(li: ReturnType<typeof message>, name: RegExp): Promise<void> {
  await li.hover();
  await li.getByRole("button", { name }).click();
}

Deno.test({
  name: "a reply and a reaction made in one browser appear in the other and on the wire",
  ...BROWSER_TEST,
  fn: () =>
    withServe((serve) =>
      withBrowser(async (browser) => {
        await using tom = await IrcTestClient.register(serve.port, "tom", {
          caps: ["message-tags", "server-time"],
        });
        await tom.join("#lobby");
        const ann = (await newPage(browser)).page;
        await login(ann, serve.url, "ann");
        const bob = (await newPage(browser)).page;
        await login(bob, serve.url, "bob");
        await say(bob, "what do you think?");
        const question = message(ann, "what do you think?");
        await question.and(ann.locator("[data-msgid]")).waitFor();
        const msgid = await question.getAttribute("data-msgid");

        await messageButton(question, /^Reply to bob$/);
        await ann.locator("#reply-bar", { hasText: "what do you think?" }).waitFor();
        await say(ann, "I agree");
        const reply = message(bob, "I agree");
        await reply.locator(".quote", { hasText: "what do you think?" }).waitFor();
        assert.match(await reply.locator(".quote").textContent() ?? "", /bob/);
        const wire = await tom.waitFor(/PRIVMSG #lobby :I agree$/);
        assert.equal(wire.tags["+draft/reply"], msgid);
        assert.ok(await ann.locator("#reply-bar").isHidden());

        await messageButton(question, /^React to bob's message$/);
        await question.getByRole("button", { name: "React with 👍" }).click();
        const chip = message(bob, "what do you think?").locator(".reaction");
        await chip.filter({ hasText: "👍 1" }).waitFor();
        assert.equal(await chip.getAttribute("aria-label"), "👍 from ann");
        assert.equal(await chip.getAttribute("aria-pressed"), "false");
        const tag = await tom.waitFor((m) => m.command === "TAGMSG");
        assert.equal(tag.tags["+draft/react"], "👍");
        assert.equal(tag.tags["+draft/reply"], msgid);

        // bob adds his own 👍 by pressing the chip: one chip, two people.
        await messageButton(message(bob, "what do you think?"), /^👍 from ann$/);
        const both = message(ann, "what do you think?").locator(".reaction");
        await both.filter({ hasText: "👍 2" }).waitFor();
        assert.equal(await both.getAttribute("aria-label"), "👍 from ann, bob");
        assert.equal(await both.getAttribute("aria-pressed"), "true");
      })
    ),
});

Deno.test({
  name: "the chat page shows who is typing, and stops when their message arrives",
  ...BROWSER_TEST,
  fn: () =>
    withServe((serve) =>
      withBrowser(async (browser) => {
        await using tom = await IrcTestClient.register(serve.port, "tom", {
          caps: ["message-tags"],
        });
        await tom.join("#lobby");
        const ann = (await newPage(browser)).page;
        await login(ann, serve.url, "ann");
        const bob = (await newPage(browser)).page;
        await login(bob, serve.url, "bob");
        await ann.locator("#message").pressSequentially("hello th");
        await bob.locator("#typing", { hasText: "ann is typing…" }).waitFor();
        const active = await tom.waitFor((m) => m.command === "TAGMSG");
        assert.equal(active.tags["+typing"], "active");
        await ann.locator("#message").pressSequentially("ere");
        await ann.press("#message", "Enter");
        await message(bob, "hello there").waitFor();
        await bob.locator("#typing:empty").waitFor();
        // Only the notifications went by TAGMSG, and none of them is kept in history.
        const tagged = tom.lines.filter((m) => m.command === "TAGMSG");
        assert.ok(tagged.every((m) => m.tags["+typing"] === "active"), JSON.stringify(tagged));
      })
    ),
});

/**
 * Records every Notification the page makes (each still a real one), so the test can see
 * what the user would have seen.
 */
async function recordNotifications(context: BrowserContext): Promise<void> {
  // A script's text, run in the page before its own: the tests have no DOM types.
  await context.addInitScript({
    content: `{
      const Real = globalThis.Notification;
      const shown = [];
      globalThis.shownNotifications = shown;
      globalThis.Notification = class extends Real {
        constructor(title, options) {
          super(title, options);
          shown.push({ title, body: options?.body ?? "", notification: this });
        }
      };
    }`,
  });
}

/** The notifications the page made so far: title and body. */
function notifications(page: Page): Promise<{ title: string; body: string }[]> {
  return page.evaluate("shownNotifications.map(({ title, body }) => ({ title, body }))");
}

Deno.test({
  name: "a mention raises the unread badge and, when switched on, a desktop notification",
  ...BROWSER_TEST,
  fn: () =>
    withServe((serve) =>
      withBrowser(async (browser) => {
        await using tom = await IrcTestClient.register(serve.port, "tom");
        await tom.join("#lobby");
        const { context, page } = await newPage(browser);
        await context.grantPermissions(["notifications"], { origin: serve.url });
        await recordNotifications(context);
        await login(page, serve.url, "ann");
        const toggle = page.locator("#notify");
        assert.equal(await toggle.getAttribute("aria-pressed"), "false");
        await toggle.click();
        await page.locator("#notify[aria-pressed=true]").waitFor();
        await say(page, "/join #elsewhere");
        await page.locator("#buffer-title", { hasText: "#elsewhere" }).waitFor();

        const lobby = page.locator("#buffer-list li", { hasText: "#lobby" });
        await tom.send("PRIVMSG #lobby :just chatting");
        await lobby.locator(".unread:not(.mention)", { hasText: "1" }).waitFor();
        await tom.send("PRIVMSG #lobby :ann: have a look at this");
        const badge = lobby.locator(".unread.mention", { hasText: "2" });
        await badge.waitFor();
        assert.equal(await badge.getAttribute("aria-label"), "2 unread, 1 mentioning you");
        await tom.send("PING :sync");
        await tom.waitFor(/PONG .*sync/);
        assert.deepEqual(await notifications(page), [
          { title: "tom in #lobby", body: "ann: have a look at this" },
        ]);

        // Clicking the notification shows the conversation; what was new is marked so.
        await page.evaluate(`shownNotifications[0].notification.dispatchEvent(new Event("click"))`);
        await page.locator("#buffer-title", { hasText: "#lobby" }).waitFor();
        await lobby.locator(".unread:empty").waitFor({ state: "attached" });
        const divider = page.locator(".log:not([hidden]) li.new-divider + li.msg");
        assert.match(await divider.textContent() ?? "", /just chatting/);
        assert.ok(await message(page, "have a look").evaluate((li) => li.matches(".mention")));

        // Switched off, a mention raises the badge and nothing else.
        await toggle.click();
        await page.locator("#notify[aria-pressed=false]").waitFor();
        await page.locator("#buffer-list button.open", { hasText: "#elsewhere" }).click();
        await tom.send("PRIVMSG #lobby :ann, again");
        await lobby.locator(".unread.mention", { hasText: "1" }).waitFor();
        assert.equal((await notifications(page)).length, 1);
      })
    ),
});

Deno.test({
  name: "scrolling to the top of a conversation loads older history, keeping the view in place",
  ...BROWSER_TEST,
  fn: async () => {
    const start = Date.now() - 3_600_000;
    const seeds = Array.from(
      { length: 230 },
      (_, i) => ({ nick: "tom", text: `history line ${i + 1}.`, time: start + i * 1000 }),
    );
    await withHistory(seeds, (serve) =>
      withBrowser(async (browser) => {
        const { page } = await newPage(browser);
        await login(page, serve.url, "ann");
        await message(page, "history line 230.").waitFor();
        const lines = page.locator(".log:not([hidden]) li.msg");
        assert.equal(await lines.count(), 100);
        assert.equal(await message(page, "history line 130.").count(), 0);
        const log = page.locator(".log:not([hidden])");
        await log.evaluate((element) => element.scrollTop = 0);
        await message(page, "history line 31.").waitFor();
        assert.equal(await lines.count(), 200);
        // The line that was at the top is still in view: the older ones went in above it.
        const top = await message(page, "history line 131.").boundingBox();
        const box = await log.boundingBox();
        assert.ok(top && box && top.y >= box.y && top.y < box.y + box.height, "still in view");
        await log.evaluate((element) => element.scrollTop = 0);
        await message(page, "history line 1.").waitFor();
        await page.locator(".log:not([hidden]) li.more", { hasText: "Start of the conversation" })
          .waitFor();
        const texts = await lines.locator(".text").allTextContents();
        assert.deepEqual(texts, seeds.map((s) => s.text));
      }));
  },
});

Deno.test({
  name: "on a phone the user list opens from the conversation's header and closes with Escape",
  ...BROWSER_TEST,
  fn: () =>
    withServe((serve) =>
      withBrowser(async (browser) => {
        await using tom = await IrcTestClient.register(serve.port, "tom");
        await tom.join("#lobby");
        const { page } = await newPage(browser, {
          viewport: { width: 390, height: 760 },
          isMobile: true,
          hasTouch: true,
        });
        await page.goto(serve.url);
        await page.fill("#nick", "ann");
        await page.click("#login button[type=submit]");
        await page.locator("#status", { hasText: "Connected" }).waitFor();
        const users = page.locator("#users");
        assert.ok(await users.isHidden());
        const toggle = page.locator("#users-toggle");
        await page.locator("#users-toggle", { hasText: "Users (2)" }).waitFor();
        await toggle.tap();
        await users.locator("button", { hasText: "tom" }).waitFor();
        assert.equal(await toggle.getAttribute("aria-expanded"), "true");
        // The list takes the focus, and gives it back to its button when closed.
        await page.locator("#users :focus").waitFor();
        await page.keyboard.press("Escape");
        await users.waitFor({ state: "hidden" });
        assert.equal(await toggle.getAttribute("aria-expanded"), "false");
        await page.locator("#users-toggle:focus").waitFor();
        // Tapping a user opens a private chat and closes the list.
        await toggle.tap();
        await users.locator("button", { hasText: "tom" }).tap();
        await page.locator("#buffer-title", { hasText: "tom" }).waitFor();
        await users.waitFor({ state: "hidden" });
      })
    ),
});

/** What has the keyboard focus: a name for it, and whether its focus ring shows. */
interface Focused {
  name: string;
  ring: boolean;
}

/** The element with the focus, named by id, label or text (the tests have no DOM types). */
function focused(page: Page): Promise<Focused> {
  return page.evaluate(`(() => {
    const e = document.activeElement;
    if (e === document.body) return { name: "body", ring: false };
    const style = getComputedStyle(e);
    const name = e.id ? "#" + e.id
      : e.getAttribute("aria-label") ?? (e.matches("li.msg") ? "message: " + e.querySelector(".text").textContent
      : e.textContent.trim());
    return { name, ring: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0 };
  })()`);
}

Deno.test({
  name: "the keyboard alone reaches every control of the chat page, with the focus shown",
  ...BROWSER_TEST,
  fn: () =>
    withServe((serve) =>
      withBrowser(async (browser) => {
        await using tom = await IrcTestClient.register(serve.port, "tom", {
          caps: ["message-tags"],
        });
        await tom.join("#lobby");
        await tom.send("PRIVMSG #lobby :first, to answer");
        await tom.send("PRIVMSG #lobby :second, see https://example.com/doc");
        const { page } = await newPage(browser);
        await page.goto(serve.url);
        // The form: the nick has the focus; Tab goes through the fields in order.
        await page.locator("#nick:focus").waitFor();
        await page.keyboard.type("ann");
        const form: string[] = [];
        for (let i = 0; i < 4; i++) {
          await page.keyboard.press("Tab");
          form.push((await focused(page)).name);
        }
        assert.deepEqual(form, ["#password", "#create-account", "#channels", "#login-submit"]);
        await page.keyboard.press("Enter");
        await page.locator("#status", { hasText: "Connected" }).waitFor();
        await message(page, "second, see").waitFor();
        await page.locator("#message:focus").waitFor();

        // Once round the page with Tab, back to the message box.
        const round: Focused[] = [];
        for (let i = 0; i < 40; i++) {
          await page.keyboard.press("Tab");
          const now = await focused(page);
          if (now.name === "#message") break;
          // Past the last control the focus leaves the document (the browser's own UI).
          if (now.name !== "body") round.push(now);
        }
        const names = round.map((f) => f.name);
        for (
          const control of [
            "#send-form button",
            "Private message ann",
            "Private message tom",
            "#notify",
            "#push",
            "#attach",
            "#logout",
            "Monitor",
            "#lobby",
            "Leave #lobby",
            "server",
            "#join-input",
            "Join",
            "message: second, see https://example.com/doc",
            "https://example.com/doc",
            "Reply to tom",
            "React to tom's message",
          ]
        ) {
          const name = control === "#send-form button" ? "Send" : control;
          assert.ok(names.includes(name), `Tab never reached ${name}: ${names.join(" | ")}`);
        }
        for (const f of round) assert.ok(f.ring, `no focus ring on ${f.name}`);

        // In the log, ↑ goes to the message before; its reply button answers it.
        while ((await focused(page)).name !== "#message") await page.keyboard.press("Tab");
        await page.keyboard.press("Shift+Tab"); // the typing line and reply bar hold no stop
        while (!(await focused(page)).name.startsWith("message:")) {
          await page.keyboard.press("Shift+Tab");
        }
        await page.keyboard.press("ArrowUp");
        assert.equal((await focused(page)).name, "message: first, to answer");
        const first = await message(page, "first, to answer").getAttribute("data-msgid");
        await page.keyboard.press("Tab");
        assert.equal((await focused(page)).name, "Reply to tom");
        await page.keyboard.press("Enter");
        await page.locator("#message:focus").waitFor();
        await page.keyboard.type("answered by keyboard");
        await page.keyboard.press("Enter");
        const reply = await tom.waitFor(/PRIVMSG #lobby :answered by keyboard$/);
        assert.equal(reply.tags["+draft/reply"], first);

        // Back in the log, the same message is still the active one: react with the second
        // emoji of the picker, and Escape leaves the log for the message box.
        await page.keyboard.press("Shift+Tab");
        while (!(await focused(page)).name.startsWith("message:")) {
          await page.keyboard.press("Shift+Tab");
        }
        assert.equal((await focused(page)).name, "message: first, to answer");
        await page.keyboard.press("Tab");
        await page.keyboard.press("Tab");
        assert.equal((await focused(page)).name, "React to tom's message");
        await page.keyboard.press("Enter");
        assert.equal((await focused(page)).name, "React with 👍");
        await page.keyboard.press("Tab");
        await page.keyboard.press("Enter");
        const reaction = await tom.waitFor((m) => m.command === "TAGMSG");
        assert.equal(reaction.tags["+draft/react"], "❤️");
        assert.equal(reaction.tags["+draft/reply"], first);
        assert.equal((await focused(page)).name, "React to tom's message");
        await page.keyboard.press("Escape");
        assert.equal((await focused(page)).name, "#message");
      })
    ),
});
