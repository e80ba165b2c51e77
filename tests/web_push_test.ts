/**
 * Web Push from the chat page, in a real Chromium against a real `serve` and a push service
 * run by the test on loopback (tests/_push.ts).
 *
 * What runs for real: the page's switch, the service worker served by `serve` and registered
 * under the page's CSP, `WEBPUSH REGISTER` and `UNREGISTER` with the server, the server's
 * encrypted, signed push to the test's push service when the account has no device, the
 * worker's notification for the pushed line (delivered to the worker by the DevTools protocol,
 * `ServiceWorker.deliverPushMessage`), and a click on it showing the conversation.
 *
 * What stands in: a browser's push service (Google's, Mozilla's …) is on the Internet, which
 * these tests do not reach, and headless Chromium refuses to subscribe without one. So the
 * page's `PushManager.subscribe` is replaced, in the test's browser context only, by one that
 * answers with the test's push service as the endpoint and keys the test holds; the test
 * decrypts what the server pushed there (as the browser's push service and the browser would)
 * and hands the line to the worker. A click on a notification is dispatched to the worker as a
 * `notificationclick` event (no automation can click a system notification); opening a new
 * window from it needs a real click, so that path is checked by opening the address the worker
 * opens (`/#open=…`). One test lets the real `subscribe` run, and checks that its refusal is
 * told to the user.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import type { BrowserContext, Page } from "playwright-core";
import {
  loggedIn,
  login,
  newPage,
  say,
  standInPushService,
  startWebServe,
  submitLogin,
  WAIT_MS,
  type WebServe,
  withBrowser,
} from "./_browser.ts";
import { waitUntil } from "./_helpers.ts";
import { IrcTestClient } from "./_irc.ts";
import { decryptPush, newSubscription, startPushService } from "./_push.ts";

/** playwright-core keeps its pipe to the browser open in ways Deno's sanitizers count. */
const BROWSER_TEST = { sanitizeResources: false, sanitizeOps: false };

/** An error line of the conversation shown. */
function errorLine(page: Page, text: string | RegExp) {
  return page.locator(".log:not([hidden]) li.system.error", { hasText: text });
}

/** The calls the stand-in recorded. */
async function pushCalls(page: Page): Promise<string[]> {
  return JSON.parse(await page.evaluate(`localStorage.getItem("test.push") ?? "[]"`));
}

/** The endpoints the server keeps for an account, read from its push.sqlite. */
function storedEndpoints(serve: WebServe, account: string): string[] {
  const db = new DatabaseSync(`${serve.dataDir}/push.sqlite`, { readOnly: true });
  try {
    return db.prepare("SELECT endpoint FROM subscriptions WHERE account = ?").all(account)
      .map((row) => String(row.endpoint));
  } finally {
    db.close();
  }
}

/** The worker's registration id for an origin, from the DevTools protocol. */
async function registrationId(context: BrowserContext, origin: string): Promise<{
  id: string;
  send: (data: string) => Promise<unknown>;
}> {
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  const found = Promise.withResolvers<string>();
  cdp.on("ServiceWorker.workerRegistrationUpdated", (event) => {
    const registration = event.registrations.find((r) =>
      r.scopeURL === `${origin}/` && !r.isDeleted
    );
    if (registration) found.resolve(registration.registrationId);
  });
  await cdp.send("ServiceWorker.enable");
  const timer = setTimeout(
    () => found.reject(new Error("No service worker registration")),
    WAIT_MS,
  );
  const id = await found.promise.finally(() => clearTimeout(timer));
  return {
    id,
    send: (data) =>
      cdp.send("ServiceWorker.deliverPushMessage", { origin, registrationId: id, data }),
  };
}

/** The notifications the worker shows. */
async function shownNotifications(
  context: BrowserContext,
): Promise<{ title: string; body: string; tag: string }[]> {
  const [worker] = context.serviceWorkers();
  return await worker.evaluate(`self.registration.getNotifications().then((list) =>
    list.map(({ title, body, tag }) => ({ title, body, tag })))`);
}

Deno.test({
  name:
    "the chat page subscribes to push, the server pushes a private message while no device is on, the worker shows it and a click opens the conversation; logging out unsubscribes",
  ...BROWSER_TEST,
  fn: async () => {
    await using pushService = startPushService();
    const subscription = await newSubscription();
    const endpoint = `${pushService.origin}/push/ann`;
    await using serve = await startWebServe(["--push-allow-internal"]);
    await using bob = await IrcTestClient.register(serve.port, "bob", { caps: ["away-notify"] });
    await bob.join("#lobby");
    await withBrowser(async (browser) => {
      const { context, page } = await newPage(browser, { permissions: ["notifications"] });
      await standInPushService(context, endpoint, subscription);
      await page.goto(serve.url);
      await submitLogin(page, "ann", { create: true });
      await loggedIn(page, "ann");
      // Always-on: a private message to ann is taken while no device of hers is connected.
      await say(page, "/quote NS SET ALWAYS-ON ON");
      await page.locator(".log li", { hasText: "Always-on is on for ann" }).waitFor({
        state: "attached",
      });

      await page.click("#push");
      await page.locator("#push[aria-pressed=true]").waitFor();
      assert.deepEqual(storedEndpoints(serve, "ann"), [endpoint]);

      await page.close();
      await bob.waitFor((m) => m.command === "AWAY" && m.source?.startsWith("ann!") === true);
      await bob.send("PRIVMSG ann :are you there?");
      const pushed = await pushService.nth(1);
      const line = await decryptPush(pushed.body, subscription);
      assert.match(line, /^@\S+ :bob!\S+ PRIVMSG ann :are you there\?$/);

      const worker = await registrationId(context, serve.url);
      await worker.send(line);
      let shown: { title: string; body: string; tag: string }[] = [];
      await waitUntil(
        async () => (shown = await shownNotifications(context)).length > 0,
        WAIT_MS,
        "the worker to show a notification",
      );
      assert.deepEqual(shown, [{ title: "bob", body: "are you there?", tag: "bob" }]);

      // A click while a chat page is open shows the conversation there.
      const again = await context.newPage();
      await again.goto(serve.url);
      await loggedIn(again, "ann");
      await again.locator("#buffer-title", { hasText: "#lobby" }).waitFor();
      // Push is on in this browser: the new page registered the subscription again.
      await again.locator("#push[aria-pressed=true]").waitFor();
      await context.serviceWorkers()[0].evaluate(`self.registration.getNotifications()
        .then(([notification]) => self.dispatchEvent(
          new NotificationEvent("notificationclick", { notification })))`);
      await again.locator("#buffer-title", { hasText: /^bob$/ }).waitFor();
      assert.deepEqual(storedEndpoints(serve, "ann"), [endpoint]);

      // With no page open, a click opens /#open=<conversation>: a channel is joined and shown.
      const opened = await context.newPage();
      await opened.goto(`${serve.url}/#open=${encodeURIComponent("#news")}`);
      await opened.locator("#buffer-title", { hasText: "#news" }).waitFor();
      await opened.locator("#user-list button", { hasText: "ann" }).waitFor();
      await opened.locator("#push[aria-pressed=true]").waitFor();
      assert.equal(new URL(opened.url()).hash, "");
      await opened.close();

      await again.click("#logout");
      await again.locator("#login-view:not([hidden])").waitFor();
      assert.deepEqual(storedEndpoints(serve, "ann"), []);
      // Subscribed once (the switch); the pages that connected later renewed that one.
      assert.deepEqual(await pushCalls(again), ["subscribe", "unsubscribe"]);
    });
  },
});

Deno.test({
  name:
    "push turned on by one account is dropped, not handed over, when another account logs in on the same browser",
  ...BROWSER_TEST,
  fn: async () => {
    await using pushService = startPushService();
    const endpoint = `${pushService.origin}/push/shared`;
    await using serve = await startWebServe(["--push-allow-internal"]);
    await withBrowser(async (browser) => {
      const { context, page } = await newPage(browser, { permissions: ["notifications"] });
      await standInPushService(context, endpoint, await newSubscription());
      await page.goto(serve.url);
      await submitLogin(page, "ann", { create: true });
      await loggedIn(page, "ann");
      await page.click("#push");
      await page.locator("#push[aria-pressed=true]").waitFor();
      assert.deepEqual(storedEndpoints(serve, "ann"), [endpoint]);

      // ann leaves without logging out; bob logs in to his account in the same browser.
      await page.evaluate(`localStorage.removeItem("shmooze.session")`);
      await page.reload();
      await submitLogin(page, "bob", { create: true });
      await loggedIn(page, "bob");
      await waitUntil(
        async () => (await pushCalls(page)).includes("unsubscribe"),
        WAIT_MS,
        "the page to drop ann's subscription",
      );
      assert.equal(await page.evaluate(`localStorage.getItem("shmooze.push")`), null);
      assert.equal(await page.getAttribute("#push", "aria-pressed"), "false");
      assert.deepEqual(storedEndpoints(serve, "bob"), []);
    });
  },
});

Deno.test({
  name:
    "the chat page's push switch tells a guest to log in, and tells an account when the browser cannot subscribe",
  ...BROWSER_TEST,
  fn: async () => {
    await using serve = await startWebServe();
    await withBrowser(async (browser) => {
      const guest = (await newPage(browser, { permissions: ["notifications"] })).page;
      await login(guest, serve.url, "zoe");
      await guest.click("#push");
      await errorLine(guest, "Guests cannot get push notifications: log in to an account")
        .waitFor();
      assert.equal(await guest.getAttribute("#push", "aria-pressed"), "false");

      // The real PushManager: headless Chromium has no push service to subscribe with.
      const { page } = await newPage(browser, { permissions: ["notifications"] });
      await page.goto(serve.url);
      await submitLogin(page, "ann", { create: true });
      await loggedIn(page, "ann");
      await page.click("#push");
      await errorLine(page, /This browser could not subscribe to push notifications: .+/)
        .waitFor();
      assert.equal(await page.getAttribute("#push", "aria-pressed"), "false");
    });
  },
});

Deno.test("serve serves the push worker at /push-worker.js and lets the chat page run it and show its images", async () => {
  await using serve = await startWebServe();
  const worker = await fetch(`${serve.url}/push-worker.js`);
  assert.equal(worker.status, 200);
  assert.equal(worker.headers.get("content-type"), "text/javascript; charset=utf-8");
  assert.equal(worker.headers.get("content-security-policy"), "default-src 'none'");
  assert.equal(worker.headers.get("x-content-type-options"), "nosniff");
  assert.match(await worker.text(), /notificationclick/);
  const page = await fetch(serve.url);
  await page.body?.cancel();
  const csp = page.headers.get("content-security-policy") ?? "";
  assert.match(csp, /(^|; )worker-src 'self'(;|$)/);
  assert.match(csp, /(^|; )img-src 'self' data:(;|$)/);
  const monitor = await fetch(`${serve.url}/monitor`);
  await monitor.body?.cancel();
  assert.match(monitor.headers.get("content-security-policy") ?? "", /(^|; )img-src data:(;|$)/);
});
