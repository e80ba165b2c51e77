/**
 * Uploads from the chat page, in a real Chromium against a real `serve`: an image pasted into
 * the message box, a file dropped on the conversation and one picked with the upload button
 * go to `POST /upload` with the account's session token; the link is posted into the
 * conversation; images uploaded to this server show a preview (live and from history), links
 * to other sites' images never do; the server's refusals (413, 429) are shown in its words,
 * progress is shown and an upload can be cancelled; guests are told they cannot upload.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { Page } from "playwright-core";
import {
  giveFile,
  loggedIn,
  login,
  newPage,
  startWebServe,
  submitLogin,
  WAIT_MS,
  type WebServe,
  withBrowser,
} from "./_browser.ts";
import { waitUntil } from "./_helpers.ts";
import { PASSWORD } from "./_accounts.ts";
import { IrcTestClient } from "./_irc.ts";

/** playwright-core keeps its pipe to the browser open in ways Deno's sanitizers count. */
const BROWSER_TEST = { sanitizeResources: false, sanitizeOps: false };

/** The list item of the message with this text (not quoting it), in the conversation shown. */
function message(page: Page, text: string | RegExp) {
  return page.locator(".log:not([hidden]) li.msg", {
    has: page.locator(".text", { hasText: text }),
  });
}

/** An error line of the conversation shown. */
function errorLine(page: Page, text: string | RegExp) {
  return page.locator(".log:not([hidden]) li.system.error", { hasText: text });
}

/** The address of a file link as the server makes it, on the page's origin. */
function fileLink(origin: string, name: string): RegExp {
  return new RegExp(`^${origin.replace(/[.]/g, "\\.")}/files/[A-Za-z0-9_-]{24}/${name}$`);
}

/** Creates the account `nick` from the page's form, at `origin`, into #lobby. */
async function createAccount(page: Page, origin: string, nick: string): Promise<void> {
  await page.goto(origin);
  await submitLogin(page, nick, { create: true });
  await loggedIn(page, nick);
  await page.locator("#user-list button", { hasText: nick }).waitFor();
  // Uploads go with the session token, which the page asks for once logged in.
  const token = `JSON.parse(localStorage.getItem("shmooze.session") ?? "{}").token`;
  await waitUntil(
    async () => (await page.evaluate(token)) !== undefined,
    WAIT_MS,
    "the page to save a session token",
  );
}

/** Whether the preview of a message's image has loaded, and its natural size. */
function previewSize(li: ReturnType<typeof message>): Promise<[number, number]> {
  return li.locator("img.preview").evaluate(async (element) => {
    const img = element as unknown as {
      decode(): Promise<void>;
      naturalWidth: number;
      naturalHeight: number;
    };
    await img.decode();
    return [img.naturalWidth, img.naturalHeight] as [number, number];
  });
}

/** A `serve` with uploads; the page is opened as `localhost`, another name than FILEHOST's. */
async function withUploads(
  args: string[],
  fn: (serve: WebServe, origin: string) => Promise<void>,
): Promise<void> {
  await using serve = await startWebServe(args);
  await fn(serve, `http://localhost:${serve.httpPort}`);
}

Deno.test({
  name:
    "the chat page uploads a pasted image and a dropped file, posts their links, and previews the image live and from history",
  ...BROWSER_TEST,
  fn: () =>
    withUploads([], (serve, origin) =>
      withBrowser(async (browser) => {
        await using bob = await IrcTestClient.register(serve.port, "bob");
        await bob.join("#lobby");
        const ann = (await newPage(browser)).page;
        await createAccount(ann, origin, "ann");
        const zoe = (await newPage(browser)).page;
        await login(zoe, origin, "zoe");

        await giveFile(ann, "paste", { name: "image.png", png: { width: 64, height: 48 } });
        const posted = await bob.waitFor(/PRIVMSG #lobby :http/);
        const url = posted.params[1];
        // FILEHOST names the server 127.0.0.1; the page uploaded to its own name for it.
        assert.match(url, fileLink(origin, "image\\.png"));
        const file = await fetch(url);
        assert.equal(file.headers.get("content-type"), "image/png");
        assert.deepEqual(
          [...new Uint8Array(await file.arrayBuffer()).subarray(0, 4)],
          [0x89, 0x50, 0x4e, 0x47],
        );
        for (const page of [ann, zoe]) {
          const li = message(page, url);
          await li.locator("img.preview").waitFor();
          assert.deepEqual(await previewSize(li), [64, 48]);
          assert.equal(await li.locator("img.preview").getAttribute("src"), url);
        }

        await giveFile(ann, "drop", { name: "notes.txt", text: "minutes of the meeting\n" });
        const notes = (await bob.waitFor(/PRIVMSG #lobby :http.*notes\.txt/)).params[1];
        assert.match(notes, fileLink(origin, "notes\\.txt"));
        assert.equal(await (await fetch(notes)).text(), "minutes of the meeting\n");
        await message(ann, notes).waitFor();
        assert.equal(await message(ann, notes).locator("img").count(), 0);

        // Dropped outside the conversation: refused, so the browser does not leave the chat.
        assert.equal(await giveFile(ann, "drop outside", { name: "x.txt", text: "x" }), true);

        // At most 4 previews in one message.
        const picture = await (await fetch(url)).arrayBuffer();
        const album: string[] = [];
        for (let i = 0; i < 6; i++) {
          const response = await fetch(`${origin}/upload`, {
            method: "POST",
            headers: {
              authorization: `Basic ${btoa(`ann:${PASSWORD}`)}`,
              "content-disposition": `attachment; filename="p${i}.png"`,
            },
            body: picture,
          });
          album.push((await response.json()).url);
        }
        await bob.send(`PRIVMSG #lobby :album ${album.join(" ")}`);
        await message(zoe, "album").locator("img.preview").nth(3).waitFor();
        assert.equal(await message(zoe, "album").locator("img.preview").count(), 4);
        assert.equal(await message(zoe, "album").locator("a").count(), 6);

        // Another site's image, or one with this server's path on another site: no preview,
        // so reading the conversation tells no other site anything.
        const id = new URL(url).pathname.split("/")[2];
        await bob.send(`PRIVMSG #lobby :look https://example.com/files/${id}/cat.png`);
        await bob.send(`PRIVMSG #lobby :and https://example.com/cat.png`);
        await bob.send(`PRIVMSG #lobby :gone ${origin}/files/${"A".repeat(24)}/gone.png`);
        await message(zoe, "gone").waitFor();
        assert.equal(await message(zoe, "look").locator("img").count(), 0);
        assert.equal(await message(zoe, "and https").locator("img").count(), 0);
        // This server's link to a file that does not exist: its preview is taken away.
        await message(zoe, "gone").locator("img").waitFor({ state: "detached" });

        // From history, after a reload.
        await ann.reload();
        await loggedIn(ann, "ann");
        const again = message(ann, url);
        await again.locator("img.preview").waitFor();
        assert.deepEqual(await previewSize(again), [64, 48]);
      })),
});

Deno.test({
  name:
    "the chat page shows the server's refusal of an upload: too large (413), too many (429), and tells a guest they cannot upload",
  ...BROWSER_TEST,
  fn: () =>
    withUploads(
      ["--upload-max-bytes", "2000", "--uploads-per-hour", "1"],
      (serve, origin) =>
        withBrowser(async (browser) => {
          await using bob = await IrcTestClient.register(serve.port, "bob");
          await bob.join("#lobby");
          const guest = (await newPage(browser)).page;
          await login(guest, origin, "zoe");
          await guest.click("#attach");
          await errorLine(guest, "Guests cannot upload files: log in to an account").waitFor();
          await giveFile(guest, "paste", { name: "image.png", png: { width: 8, height: 8 } });
          assert.equal(await errorLine(guest, "Guests cannot upload").count(), 2);

          const ann = (await newPage(browser)).page;
          await createAccount(ann, origin, "ann");
          // The upload button opens the file picker.
          const chooser = ann.waitForEvent("filechooser");
          await ann.click("#attach");
          await (await chooser).setFiles({
            name: "big.bin",
            mimeType: "application/octet-stream",
            buffer: Buffer.alloc(5000),
          });
          await errorLine(
            ann,
            "The upload of big.bin failed: The file is 5000 bytes; at most 2000 are accepted (HTTP 413)",
          ).waitFor();

          await giveFile(ann, "drop", { name: "first.txt", text: "one\n" });
          await bob.waitFor(/PRIVMSG #lobby :http.*first\.txt/);
          // Refused for the account: the files dropped with it are not tried.
          await giveFile(ann, "drop", [
            { name: "second.txt", text: "two\n" },
            { name: "third.txt", text: "three\n" },
            { name: "fourth.txt", text: "four\n" },
          ]);
          await errorLine(ann, /The upload of second\.txt failed: .*\(HTTP 429\)/).waitFor();
          await errorLine(ann, "2 more files were not uploaded").waitFor();
          assert.equal(await errorLine(ann, "third.txt").count(), 0);
          assert.equal(await ann.locator("#upload-bar").isHidden(), true);
        }),
    ),
});

Deno.test({
  name: "the chat page says when the account's room for files is full (507)",
  ...BROWSER_TEST,
  fn: () =>
    withUploads(
      ["--upload-quota-bytes", "1500"],
      (_serve, origin) =>
        withBrowser(async (browser) => {
          const { page } = await newPage(browser);
          await createAccount(page, origin, "ann");
          await giveFile(page, "drop", { name: "one.bin", bytes: 1000 });
          await message(page, /one\.bin$/).waitFor();
          await giveFile(page, "drop", { name: "two.bin", bytes: 1000 });
          await errorLine(page, /The upload of two\.bin failed: Your account stores .*\(HTTP 507\)/)
            .waitFor();
        }),
    ),
});

Deno.test({
  name: "the chat page shows an upload's progress, and Cancel stops it with nothing posted",
  ...BROWSER_TEST,
  fn: () =>
    withUploads([], (_serve, origin) =>
      withBrowser(async (browser) => {
        const { context, page } = await newPage(browser);
        await createAccount(page, origin, "ann");
        // 64 KB/s: a 2 MB file takes half a minute, time enough to look and cancel.
        const cdp = await context.newCDPSession(page);
        await cdp.send("Network.enable");
        await cdp.send("Network.emulateNetworkConditions", {
          offline: false,
          latency: 0,
          downloadThroughput: -1,
          uploadThroughput: 64 * 1024,
        });
        await giveFile(page, "drop", { name: "slow.bin", bytes: 2_000_000 });
        await page.locator("#upload-bar:not([hidden])", {
          hasText: "Uploading slow.bin, 2.0 MB",
        }).waitFor();
        const progress = page.locator("#upload-progress");
        await waitUntil(
          () => progress.evaluate((bar) => (bar as unknown as { value: number }).value > 0),
          WAIT_MS,
          "the upload's progress to show",
        );
        await page.click("#upload-cancel");
        await errorLine(page, "The upload of slow.bin failed: cancelled").waitFor();
        await page.locator("#upload-bar[hidden]").waitFor({ state: "attached" });
        // The Cancel button went with the bar: the focus is back in the message box.
        await page.locator("#message:focus").waitFor();
        assert.equal(await page.locator(".log:not([hidden]) li.msg a").count(), 0);
      })),
});
