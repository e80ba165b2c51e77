/**
 * The README's pictures of the chat page, taken by this test from a real conversation on a
 * real server: chat-desktop.png, chat-mobile.png (a phone) and chat-dark.png (the dark colour
 * scheme), in tests/artifacts/ — and in docs/img/, which the README shows, with
 * `deno task screenshots` (a test run never changes the checkout). Three visitors watch one scene: yesterday's messages from history,
 * a link, a mention, a reply, reactions, someone typing, unread channels and a private chat.
 */
import type { Page } from "playwright-core";
import { HistoryStore } from "../src/chat/history.ts";
import { ARTIFACTS, DOC_IMAGES, newPage, say, startWebServe, withBrowser } from "./_browser.ts";
import { IrcTestClient } from "./_irc.ts";

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
