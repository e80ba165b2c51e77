/**
 * The chat page with accounts, in a real Chromium against a real `serve`: creating one and
 * logging in (SASL PLAIN, REGISTER), the session kept across a reload by a token and never
 * the password, read markers shared by an account's devices, and what the server keeps of
 * replies and reactions.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import {
  lineInState,
  loggedIn,
  login,
  newPage,
  reconnectNow,
  say,
  startWebServe,
  submitLogin,
  WAIT_MS,
  withBrowser,
  withServe,
} from "./_browser.ts";
import { PASSWORD } from "./_accounts.ts";
import { waitUntil } from "./_helpers.ts";
import { IrcTestClient } from "./_irc.ts";
import { HISTORY_CAPS, historyTexts } from "./_long_lines.ts";

/** playwright-core keeps its pipe to the browser open in ways Deno's sanitizers count. */
const BROWSER_TEST = { sanitizeResources: false, sanitizeOps: false };

/** Everything the page keeps in the browser: local and session storage, and cookies. */
function browserStorage(page: Page): Promise<string> {
  return page.evaluate(
    "JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie",
  );
}

/** The saved session, as the page stored it. */
async function savedSession(page: Page): Promise<{ token?: string; account?: string } | null> {
  return JSON.parse(await page.evaluate(`localStorage.getItem("shmooze.session") ?? "null"`));
}

/**
 * The session token the page saved, once it has one (it asks for it after logging in; the
 * storage has no event a test can wait on).
 */
async function savedToken(page: Page): Promise<string> {
  let token: string | undefined;
  await waitUntil(
    async () => {
      token = (await savedSession(page))?.token;
      return token !== undefined;
    },
    WAIT_MS,
    "the page to save a session token",
  );
  return token!;
}

/** The conversation list's entry for a channel or nick. */
function entry(page: Page, name: string) {
  return page.locator("#buffer-list li", { has: page.locator("button.open", { hasText: name }) });
}

/** The list item of the message with this text (not quoting it), in the conversation shown. */
function message(page: Page, text: string) {
  return page.locator(".log:not([hidden]) li.msg", {
    has: page.locator(".text", { hasText: text }),
  });
}

Deno.test({
  name:
    "the chat page creates an account, refuses a wrong password, and logs in again; the browser never keeps the password",
  ...BROWSER_TEST,
  fn: () =>
    withServe((serve) =>
      withBrowser(async (browser) => {
        const { page } = await newPage(browser);
        await page.goto(serve.url);
        await page.locator("#login-submit", { hasText: "Continue as a guest" }).waitFor();
        await page.fill("#password", PASSWORD);
        await page.locator("#login-submit", { hasText: "Log in" }).waitFor();
        await page.check("#create-account");
        await page.locator("#login-submit", { hasText: "Create the account" }).waitFor();
        await submitLogin(page, "ann", { create: true });
        await loggedIn(page, "ann");
        assert.equal(await page.inputValue("#password"), "");
        assert.ok(!(await browserStorage(page)).includes(PASSWORD));
        await using tom = await IrcTestClient.register(serve.port, "tom", {
          caps: ["account-tag"],
        });
        await tom.join("#lobby");
        await say(page, "hello as an account");
        const line = await tom.waitFor(/PRIVMSG #lobby :hello as an account$/);
        assert.equal(line.tags.account, "ann");

        await page.click("#logout");
        await page.locator("#login-view").waitFor();
        assert.equal(await savedSession(page), null);
        await tom.waitFor((m) => m.command === "QUIT" && m.source?.startsWith("ann!") === true);

        await submitLogin(page, "ann", { password: "not the password" });
        await page.locator("#login-error", { hasText: "invalid account or password" }).waitFor();
        assert.ok(await page.locator("#login-view").isVisible());
        assert.equal(await savedSession(page), null);

        await submitLogin(page, "ann");
        await loggedIn(page, "ann");
        assert.ok(!(await browserStorage(page)).includes(PASSWORD));
      })
    ),
});

Deno.test({
  name: "the chat page says why it cannot create an account whose name is taken",
  ...BROWSER_TEST,
  fn: () =>
    withServe((serve) =>
      withBrowser(async (browser) => {
        const first = (await newPage(browser)).page;
        await first.goto(serve.url);
        await submitLogin(first, "ann", { create: true });
        await loggedIn(first, "ann");
        await first.click("#logout");
        await first.locator("#login-view").waitFor();
        const { page } = await newPage(browser);
        await page.goto(serve.url);
        await submitLogin(page, "ann", { create: true });
        await page.locator("#login-error", { hasText: "Cannot create the account ann" }).waitFor();
        assert.match(await page.textContent("#login-error") ?? "", /registered to an account/);
        assert.equal(await savedSession(page), null);
      })
    ),
});

Deno.test({
  name:
    "log in, reload: still logged in with the same private chats, by a token and never the password",
  ...BROWSER_TEST,
  fn: async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "shmooze-web-accounts-test-" });
    try {
      await withBrowser(async (browser) => {
        const { page } = await newPage(browser);
        let ports: string[];
        {
          await using first = await startWebServe([], dataDir);
          ports = ["--port", String(first.port), "--http-port", String(first.httpPort)];
          await page.goto(first.url);
          await submitLogin(page, "ann", { create: true });
          await loggedIn(page, "ann");
          await using tom = await IrcTestClient.register(first.port, "tom");
          await tom.send("PRIVMSG ann :psst, ann");
          await entry(page, "tom").locator(".unread.mention", { hasText: "1" }).waitFor();
          await entry(page, "tom").locator("button.open").click();
          await say(page, "hi tom");
          await tom.waitFor(/PRIVMSG tom :hi tom$/);
          await savedToken(page);
          assert.equal((await savedSession(page))?.account, "ann");
          assert.ok(!(await browserStorage(page)).includes(PASSWORD));

          await page.reload();
          await loggedIn(page, "ann");
          assert.ok(await page.locator("#login-view").isHidden());
          await entry(page, "tom").locator("button.open").click();
          await message(page, "psst, ann").waitFor();
          await message(page, "hi tom").waitFor();
          assert.equal(await message(page, "psst, ann").count(), 1);
          assert.equal(await message(page, "hi tom").count(), 1);
        }
        // The server goes away; a line typed meanwhile waits, and goes once it is back.
        await page.locator("#status", { hasText: "reconnecting" }).waitFor();
        await entry(page, "#lobby").locator("button.open").click();
        await say(page, "typed while the server was down");
        await lineInState(page, "queued", "typed while the server was down").waitFor();
        await using second = await startWebServe(ports, dataDir);
        await reconnectNow(page);
        await loggedIn(page, "ann");
        await lineInState(page, "sent", "typed while the server was down").waitFor();
        await using tom = await IrcTestClient.register(second.port, "tom", { caps: HISTORY_CAPS });
        await tom.join("#lobby");
        const texts = await historyTexts(tom, "#lobby");
        assert.equal(texts.filter((t) => t === "typed while the server was down").length, 1);
      });
    } finally {
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});

Deno.test({
  name: "logging out revokes the session token and forgets it",
  ...BROWSER_TEST,
  fn: () =>
    withServe((serve) =>
      withBrowser(async (browser) => {
        const { page } = await newPage(browser);
        await page.goto(serve.url);
        await submitLogin(page, "ann", { create: true });
        await loggedIn(page, "ann");
        const token = await savedToken(page);
        const bearer = async () => {
          await using client = await IrcTestClient.connect(serve.port);
          await client.send("CAP REQ :sasl");
          await client.send("NICK someone");
          await client.send("USER someone 0 * :someone");
          await client.waitFor((m) => m.command === "CAP" && m.params[1] === "ACK");
          await client.send("AUTHENTICATE IRCV3BEARER");
          await client.waitFor((m) => m.command === "AUTHENTICATE");
          const payload = new TextEncoder().encode(`\0shmooze\0${token}`);
          await client.send(`AUTHENTICATE ${btoa(String.fromCharCode(...payload))}`);
          return (await client.waitFor((m) => ["903", "904"].includes(m.command))).command;
        };
        assert.equal(await bearer(), "903");
        await page.click("#logout");
        await page.locator("#login-view").waitFor();
        assert.equal(await savedSession(page), null);
        assert.equal(await bearer(), "904");
      })
    ),
});

/**
 * Records every Notification the page makes (each still a real one), so the test can see
 * what the user would have seen.
 */
const RECORD_NOTIFICATIONS = `{
  const Real = globalThis.Notification;
  globalThis.shownNotifications = [];
  globalThis.Notification = class extends Real {
    constructor(title, options) {
      super(title, options);
      globalThis.shownNotifications.push(title + ": " + (options?.body ?? ""));
    }
  };
}`;

Deno.test({
  name:
    "a mention raises the unread badge and a notification, on every device, from the read marker; reading it on one clears it on the other",
  ...BROWSER_TEST,
  fn: () =>
    withServe((serve) =>
      withBrowser(async (browser) => {
        const laptop = await newPage(browser);
        await laptop.context.grantPermissions(["notifications"], { origin: serve.url });
        await laptop.context.addInitScript({ content: RECORD_NOTIFICATIONS });
        const a = laptop.page;
        await a.goto(serve.url);
        await submitLogin(a, "ann", { create: true, channels: "#other #lobby" });
        await loggedIn(a, "ann");
        await a.click("#notify");
        await a.locator("#notify[aria-pressed=true]").waitFor();
        await using tom = await IrcTestClient.register(serve.port, "tom");
        await tom.join("#lobby");
        await tom.send("PRIVMSG #lobby :before she reads");
        await entry(a, "#lobby").locator("button.open").click();
        await message(a, "before she reads").waitFor();
        await entry(a, "#other").locator("button.open").click();

        await tom.send("PRIVMSG #lobby :ann: are you there?");
        await entry(a, "#lobby").locator(".unread.mention", { hasText: "1" }).waitFor();
        assert.deepEqual(await a.evaluate("shownNotifications"), [
          "tom in #lobby: ann: are you there?",
        ]);

        // A second device: the same unread mention, from the account's read marker.
        const phone = (await newPage(browser)).page;
        await phone.goto(serve.url);
        await submitLogin(phone, "ann", { channels: "#other #lobby" });
        await loggedIn(phone, "ann");
        await entry(phone, "#lobby").locator(".unread.mention", { hasText: "1" }).waitFor();
        assert.equal(
          await a.locator("#me").textContent(),
          await phone.locator("#me").textContent(),
        );

        // Read on the phone: the laptop's badge goes too.
        await entry(phone, "#lobby").locator("button.open").click();
        await message(phone, "are you there?").waitFor();
        await entry(a, "#lobby").locator(".unread:empty").waitFor({ state: "attached" });
      })
    ),
});

Deno.test({
  name: "a reply and a reaction made in one browser appear in the other and in history",
  ...BROWSER_TEST,
  fn: () =>
    withServe((serve) =>
      withBrowser(async (browser) => {
        const ann = (await newPage(browser)).page;
        await login(ann, serve.url, "ann");
        const bob = (await newPage(browser)).page;
        await login(bob, serve.url, "bob");
        await say(bob, "shall we ship it?");
        const question = message(ann, "shall we ship it?");
        await question.and(ann.locator("[data-msgid]")).waitFor();
        await question.hover();
        await question.getByRole("button", { name: "Reply to bob" }).click();
        await say(ann, "yes, today");
        await question.hover();
        await question.getByRole("button", { name: "React to bob's message" }).click();
        await question.getByRole("button", { name: "React with 🎉" }).click();
        await message(bob, "yes, today").locator(".quote", { hasText: "shall we ship it?" })
          .waitFor();
        await message(bob, "shall we ship it?").locator(".reaction", { hasText: "🎉 1" }).waitFor();

        // Someone who comes later reads both in the channel's history.
        const carol = (await newPage(browser)).page;
        await login(carol, serve.url, "carol");
        await message(carol, "yes, today").locator(".quote", { hasText: "shall we ship it?" })
          .waitFor();
        const chip = message(carol, "shall we ship it?").locator(".reaction");
        await chip.filter({ hasText: "🎉 1" }).waitFor();
        assert.equal(await chip.getAttribute("aria-label"), "🎉 from ann");
      })
    ),
});
