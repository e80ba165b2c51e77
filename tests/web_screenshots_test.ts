/**
 * The README's pictures of the chat page, taken by these tests from a real conversation on a
 * real server: chat-desktop.png, chat-mobile.png (a phone) and chat-dark.png (the dark colour
 * scheme) — three visitors watch one scene: yesterday's messages from history, a link, a
 * mention, a reply, reactions, someone typing, unread channels and a private chat — then
 * chat-uploads.png (an image's preview, an upload under way, push on), chat-search.png and
 * chat-deletion.png. They go to tests/artifacts/, and to docs/img/, which the README shows,
 * with `deno task screenshots` (a test run never changes the checkout).
 */
import type { Page } from "playwright-core";
import { HistoryStore } from "../src/chat/history.ts";
import { CAPABILITIES } from "../src/irc/capabilities.ts";
import {
  ARTIFACTS,
  DOC_IMAGES,
  giveFile,
  loggedIn,
  newPage,
  say,
  standInPushService,
  startWebServe,
  submitLogin,
  WAIT_MS,
  withBrowser,
} from "./_browser.ts";
import { waitUntil } from "./_helpers.ts";
import { IrcTestClient } from "./_irc.ts";
import { newSubscription, startPushService } from "./_push.ts";

/** playwright-core keeps its pipe to the browser open in ways Deno's sanitizers count. */
const BROWSER_TEST = { sanitizeResources: false, sanitizeOps: false };

/** Where the pictures go: docs/img/ with `SHMOOZE_SCREENSHOTS=docs` (`deno task screenshots`). */
const SHOTS_DIR = Deno.env.get("SHMOOZE_SCREENSHOTS") === "docs" ? DOC_IMAGES : ARTIFACTS;

/** The list item of the message with this text (not quoting it), in the conversation shown. */
function message(page: Page, text: string) {
  return page.locator(".log:not([hidden]) li.msg", {
    has: page.locator(".text", { hasText: text }),
  });
}

/** Joins as a guest into #lobby and #dev, with #lobby shown. */
async function join(page: Page, url: string, nick: string): Promise<void> {
  await page.goto(url);
  await page.fill("#nick", nick);
  await page.fill("#channels", "#lobby #dev");
  await page.click("#login-submit");
  await page.locator("#status", { hasText: "Connected" }).waitFor();
  await message(page, "tried the new shared-memory ring").waitFor();
}

Deno.test({
  name: "the chat page's screenshots for the README: desktop, phone and dark",
  ...BROWSER_TEST,
  fn: async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "shmooze-web-screenshots-test-" });
    try {
      const yesterday = Date.now() - 86_400_000;
      const history = HistoryStore.open(dataDir);
      for (
        const [i, [nick, text]] of [
          ["tom", "Morning! Has anyone tried the new shared-memory ring?"],
          ["bob", "Yes: about a microsecond per message on my laptop"],
          ["bob", "and no lost messages when a reader falls behind, it is told how many"],
        ].entries()
      ) {
        history.append({
          msgid: `yesterday-${i}`,
          time: yesterday + i * 40_000,
          sender: nick,
          senderMask: `${nick}!${nick}@127.0.0.1`,
          target: "#lobby",
          command: "PRIVMSG",
          text,
        });
      }
      history.close();
      await using serve = await startWebServe([], dataDir);
      const caps = { caps: ["message-tags", "server-time", "echo-message"] };
      await using tom = await IrcTestClient.register(serve.port, "tom", caps);
      await using bob = await IrcTestClient.register(serve.port, "bob", caps);
      await using zoe = await IrcTestClient.register(serve.port, "zoe", caps);
      for (const client of [tom, bob, zoe]) await client.join("#lobby");
      await tom.join("#dev");

      await withBrowser(async (browser) => {
        const desktop = (await newPage(browser)).page;
        const phone = (await newPage(browser, {
          viewport: { width: 390, height: 760 },
          isMobile: true,
          hasTouch: true,
          deviceScaleFactor: 2,
        })).page;
        const dark = (await newPage(browser, { colorScheme: "dark" })).page;
        const pages: [Page, string][] = [[desktop, "ann"], [phone, "mia"], [dark, "leo"]];
        for (const [page, nick] of pages) await join(page, serve.url, nick);

        await tom.send(
          "PRIVMSG #lobby :ann: the build is green again https://ci.example.com/run/42",
        );
        const green = await tom.waitFor(/PRIVMSG #lobby :ann: the build is green/);
        const msgid = green.tags.msgid;
        await bob.send(`@+draft/reply=${msgid} PRIVMSG #lobby :Great, shipping it after lunch`);
        await zoe.send(`@+draft/react=🎉;+draft/reply=${msgid} TAGMSG #lobby`);
        await bob.send(`@+draft/react=👍;+draft/reply=${msgid} TAGMSG #lobby`);
        await say(desktop, "Nice! I will update the docs, mia and leo can you review?");
        await zoe.send("PRIVMSG #lobby :mia, leo: the release notes are in the wiki");
        await tom.send("PRIVMSG #dev :deploy at 3?");
        await tom.send("PRIVMSG #dev :I will watch the monitor");
        for (const nick of ["ann", "mia", "leo"]) {
          await zoe.send(`PRIVMSG ${nick} :got a minute? about the ring benchmark`);
        }
        for (const [page] of pages) {
          await message(page, "the release notes are in the wiki").waitFor();
          await page.locator("#buffer-list li", { hasText: "zoe" }).waitFor();
          await page.locator(".log:not([hidden]) .reaction", { hasText: "👍 1" }).waitFor();
          await page.locator("#message").blur();
          await page.mouse.move(0, 0); // no message under the pointer, showing its buttons
        }
        const shots: [Page, string][] = [
          [desktop, "chat-desktop.png"],
          [phone, "chat-mobile.png"],
          [dark, "chat-dark.png"],
        ];
        for (const [page, file] of shots) {
          // Typing shows for 6 s after each notification: one just before each picture.
          await tom.send("@+typing=active TAGMSG #lobby");
          await page.locator("#typing", { hasText: "tom is typing" }).waitFor();
          await page.screenshot({ path: `${SHOTS_DIR}${file}` });
        }
      });
    } finally {
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});

/** The account `nick`, created from the page's form, in the channels given. */
async function createAccount(page: Page, url: string, nick: string, channels: string) {
  await page.goto(url);
  await submitLogin(page, nick, { create: true, channels });
  await loggedIn(page, nick);
}

/** No message under the pointer (its buttons hidden), and the message box without focus. */
async function settle(page: Page): Promise<void> {
  await page.locator("#message").blur();
  await page.mouse.move(0, 0);
}

Deno.test({
  name:
    "the README's picture of uploads and push: an image's preview, an upload under way, push on",
  ...BROWSER_TEST,
  fn: async () => {
    await using pushService = startPushService();
    await using serve = await startWebServe(["--push-allow-internal"]);
    const caps = { caps: ["message-tags", "server-time", "echo-message"] };
    await using tom = await IrcTestClient.register(serve.port, "tom", caps);
    await using bob = await IrcTestClient.register(serve.port, "bob", caps);
    for (const client of [tom, bob]) await client.join("#lobby");
    await withBrowser(async (browser) => {
      const { context, page } = await newPage(browser, { permissions: ["notifications"] });
      await standInPushService(context, `${pushService.origin}/push/ann`, await newSubscription());
      await createAccount(page, serve.url, "ann", "#lobby #dev");
      await page.locator("#user-list button", { hasText: "bob" }).waitFor();
      await page.click("#push");
      await page.locator("#push[aria-pressed=true]").waitFor();
      await tom.send("PRIVMSG #lobby :ann: could you share the ring diagram from the talk?");
      await message(page, "could you share the ring diagram").waitFor();
      const token = `JSON.parse(localStorage.getItem("shmooze.session") ?? "{}").token`;
      await waitUntil(async () => (await page.evaluate(token)) !== undefined, WAIT_MS, "a token");
      await giveFile(page, "paste", {
        name: "ring-diagram.png",
        png: { width: 480, height: 270, caption: "shared-memory ring" },
      });
      const posted = await tom.waitFor(/PRIVMSG #lobby :http.*ring-diagram\.png/);
      await bob.send("PRIVMSG #lobby :Thanks! The wrap-around is much clearer like that");
      const preview = message(page, posted.params[1]).locator("img.preview");
      await preview.evaluate((img) => (img as unknown as { decode(): Promise<void> }).decode());
      await message(page, "The wrap-around is much clearer").waitFor();
      const cdp = await context.newCDPSession(page);
      await cdp.send("Network.enable");
      await cdp.send("Network.emulateNetworkConditions", {
        offline: false,
        latency: 0,
        downloadThroughput: -1,
        uploadThroughput: 256 * 1024,
      });
      await giveFile(page, "drop", { name: "ring-benchmark.csv", bytes: 3_000_000 });
      const progress = page.locator("#upload-progress");
      await waitUntil(
        () => progress.evaluate((bar) => (bar as unknown as { value: number }).value > 0.3),
        WAIT_MS,
        "the upload to be under way",
      );
      await settle(page);
      await page.screenshot({ path: `${SHOTS_DIR}chat-uploads.png` });
      await page.click("#upload-cancel");
    });
  },
});

Deno.test({
  name: "the README's picture of search: results listed, one shown in its conversation",
  ...BROWSER_TEST,
  ignore: !CAPABILITIES.includes("soju.im/search"),
  fn: async () => {
    await using serve = await startWebServe();
    const caps = { caps: ["message-tags", "server-time", "echo-message"] };
    await using tom = await IrcTestClient.register(serve.port, "tom", caps);
    await using bob = await IrcTestClient.register(serve.port, "bob", caps);
    for (const client of [tom, bob]) await client.join("#lobby");
    await withBrowser(async (browser) => {
      const { page } = await newPage(browser);
      await createAccount(page, serve.url, "ann", "#lobby");
      await page.locator("#user-list button", { hasText: "bob" }).waitFor();
      const lines: [IrcTestClient, string][] = [
        [tom, "The deploy of 0.9 is tonight, after the benchmarks"],
        [bob, "I will keep the monitor open during the deploy"],
        [tom, "Benchmarks: 1.1 µs per message through the ring"],
        [bob, "and no lost messages with a slow reader"],
        [tom, "Deploying now"],
        [tom, "Deploy done: 0.9 is out, thanks all"],
        [bob, "Monitor looks calm, 40 clients back in a second"],
      ];
      for (const [client, text] of lines) await client.send(`PRIVMSG #lobby :${text}`);
      await message(page, "Monitor looks calm").waitFor();
      await page.click("#search-toggle");
      await page.fill("#search-input", "deplo*");
      await page.press("#search-input", "Enter");
      await page.locator("#search-status", { hasText: "4 messages found" }).waitFor();
      await page.locator("#search-results .result", { hasText: "monitor open" }).click();
      await page.locator(".log:not([hidden]) li.found").waitFor();
      await settle(page);
      await page.screenshot({ path: `${SHOTS_DIR}chat-search.png` });
    });
  },
});

Deno.test({
  name: "the README's picture of deletion: one's own message and a moderator's deletion",
  ...BROWSER_TEST,
  ignore: !CAPABILITIES.includes("draft/message-redaction"),
  fn: async () => {
    await using serve = await startWebServe();
    const caps = { caps: ["message-tags", "server-time", "echo-message"] };
    await using tom = await IrcTestClient.register(serve.port, "tom", caps);
    await using bob = await IrcTestClient.register(serve.port, "bob", caps);
    await withBrowser(async (browser) => {
      const { page } = await newPage(browser);
      await page.goto(serve.url);
      await page.fill("#nick", "ann");
      await page.fill("#channels", "#team");
      await page.click("#login-submit");
      await page.locator("#user-list button", { hasText: "@ann" }).waitFor();
      for (const client of [tom, bob]) await client.join("#team");
      page.on("dialog", (dialog) => dialog.accept());
      await say(page, "the wifi password is hunter2");
      await bob.waitFor(/PRIVMSG #team :the wifi password/);
      await remove(page, "the wifi password is hunter2");
      await say(page, "sorry, wrong window: the password is on the wiki");
      await tom.send("PRIVMSG #team :BUY CHEAP WATCHES at watches.example");
      await remove(page, "BUY CHEAP WATCHES");
      await bob.send("PRIVMSG #team :thanks ann");
      await message(page, "thanks ann").waitFor();
      // The focus left with the deleted message's buttons on it: back to the box, then away.
      await page.focus("#message");
      await page.locator("#message").blur();
      await message(page, "sorry, wrong window").hover();
      await page.screenshot({ path: `${SHOTS_DIR}chat-deletion.png` });
    });
  },
});

/** Deletes a message from its delete button (the confirmation is accepted by the test). */
async function remove(page: Page, text: string): Promise<void> {
  const li = message(page, text);
  await li.hover();
  await li.locator(".delete-button").click();
  await li.waitFor({ state: "detached" }); // its text is gone
}
