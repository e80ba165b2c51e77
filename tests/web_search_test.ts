/**
 * The chat page's search box, in a real Chromium against a real `serve` (message search:
 * `soju.im/search` over the history's full-text index): results listed newest first with
 * where, who and when and the words found marked; choosing one shows its conversation at that
 * message, loaded with `CHATHISTORY AROUND` when it is older than what the page holds, with
 * the gap up to the newer messages marked and loadable; the server's refusals (`FAIL SEARCH`)
 * shown in the box.
 *
 * They need the server side of search (`soju.im/search`), built at the same time on another
 * branch: until it is merged here they are ignored, and they run as soon as the server offers
 * the capability.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { CAPABILITIES } from "../src/irc/capabilities.ts";
import { loggedIn, newPage, startWebServe, submitLogin, withBrowser } from "./_browser.ts";
import { IrcTestClient } from "./_irc.ts";

/** playwright-core keeps its pipe to the browser open in ways Deno's sanitizers count. */
const BROWSER_TEST = {
  sanitizeResources: false,
  sanitizeOps: false,
  ignore: !CAPABILITIES.includes("soju.im/search"),
};

/** The list item of the message with this text, in the conversation shown. */
function message(page: Page, text: string) {
  return page.locator(".log:not([hidden]) li.msg", {
    has: page.locator(".text", { hasText: text }),
  });
}

/** Searches from the box (opened if closed) and waits for the answer. */
async function search(page: Page, text: string): Promise<void> {
  if (await page.locator("#search-panel").isHidden()) await page.click("#search-toggle");
  await page.fill("#search-input", text);
  await page.press("#search-input", "Enter");
  await page.locator("#search-status").filter({ hasNotText: "Searching…" }).waitFor();
}

Deno.test({
  name:
    "the chat page's search lists matches newest first and shows an old one in its conversation, with the gap to the newer messages loadable",
  ...BROWSER_TEST,
  fn: async () => {
    await using serve = await startWebServe(["--flood-burst", "0"]);
    await using bob = await IrcTestClient.register(serve.port, "bob");
    await bob.join("#lobby");
    await withBrowser(async (browser) => {
      const { page } = await newPage(browser);
      await page.goto(serve.url);
      await submitLogin(page, "ann", { create: true });
      await loggedIn(page, "ann");
      await page.locator("#user-list button", { hasText: "bob" }).waitFor();

      await bob.send("PRIVMSG #lobby :the deploy starts at 6, Café open");
      for (let i = 1; i <= 250; i++) await bob.send(`PRIVMSG #lobby :filler line ${i}`);
      await bob.send("PRIVMSG #lobby :deployed, thanks all");
      await message(page, "deployed, thanks all").waitFor();
      // Back later: the page loads the latest 100 messages, not the first one.
      await page.reload();
      await loggedIn(page, "ann");
      await message(page, "deployed, thanks all").waitFor();
      assert.equal(await message(page, "the deploy starts").count(), 0);

      await search(page, "deplo* cafe");
      assert.equal(await page.textContent("#search-status"), "1 message found");
      await search(page, "deplo*");
      assert.equal(await page.textContent("#search-status"), "2 messages found");
      const results = page.locator("#search-results .result");
      assert.deepEqual(await results.locator(".result-text").allTextContents(), [
        "deployed, thanks all",
        "the deploy starts at 6, Café open",
      ]);
      assert.deepEqual(await results.first().locator("mark").allTextContents(), ["deplo"]);
      assert.deepEqual(await results.locator(".where").allTextContents(), ["#lobby", "#lobby"]);
      assert.deepEqual(await results.locator(".nick").allTextContents(), ["bob", "bob"]);

      await results.nth(1).click();
      const found = page.locator(".log:not([hidden]) li.msg.found");
      await found.waitFor();
      assert.equal(await found.locator(".text").textContent(), "the deploy starts at 6, Café open");
      assert.ok(await found.evaluate((li) => li === li.ownerDocument.activeElement));
      // What came after it is loaded on demand, until it meets the newer messages shown.
      const gap = page.locator(".log:not([hidden]) li.gap button");
      while (await gap.count() > 0) {
        await gap.click();
        await page.locator(".log:not([hidden]) li.gap button:disabled").waitFor({
          state: "detached",
        });
      }
      const texts = await page.locator(".log:not([hidden]) li.msg .text").allTextContents();
      assert.deepEqual(texts, [
        "the deploy starts at 6, Café open",
        ...Array.from({ length: 250 }, (_, i) => `filler line ${i + 1}`),
        "deployed, thanks all",
      ]);

      // The newer result is in the log already: shown without a request.
      await results.first().click();
      await page.locator(".log:not([hidden]) li.msg.found", { hasText: "deployed, thanks" })
        .waitFor();
      assert.equal(await page.locator(".log li.found").count(), 1);
    });
  },
});

Deno.test({
  name:
    "the chat page's search says when nothing matches, shows the server's refusal of a query with no word, and closes with Escape",
  ...BROWSER_TEST,
  fn: async () => {
    await using serve = await startWebServe();
    await withBrowser(async (browser) => {
      const { page } = await newPage(browser);
      await page.goto(serve.url);
      await submitLogin(page, "ann", { create: true });
      await loggedIn(page, "ann");
      await search(page, "nothing-like-this");
      assert.equal(await page.textContent("#search-status"), "No messages match");
      await search(page, "* - ()");
      await page.locator("#search-status.error", { hasText: "no word to search for" }).waitFor();
      assert.equal(await page.locator("#search-results li").count(), 0);
      await page.press("#search-input", "Escape");
      await page.locator("#search-panel").waitFor({ state: "hidden" });
      assert.ok(
        await page.locator("#search-toggle").evaluate((b) => b === b.ownerDocument.activeElement),
      );
    });
  },
});
