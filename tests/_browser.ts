/**
 * Browser test helpers: a real `serve` process with its web side on free ports, a headless
 * Chromium driven by playwright-core, and the chat page's common steps (log in as a guest,
 * say a line, find a line in the conversation shown).
 */
import {
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  chromium,
  type Page,
} from "playwright-core";
import { PASSWORD } from "./_accounts.ts";
import { type ServeProcess, startServe } from "./_irc.ts";
import type { TestSubscription } from "./_push.ts";
import { withTimeout } from "./fixtures/web_clients.ts";

/** Where test runs leave screenshots that are not documentation. */
export const ARTIFACTS: string = new URL("./artifacts/", import.meta.url).pathname;
/** Where the screenshots the README shows go. */
export const DOC_IMAGES: string = new URL("../docs/img/", import.meta.url).pathname;
const CHROMIUM = "/usr/bin/chromium";
const BROWSER_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
/** Bound on every single browser wait. */
export const WAIT_MS = 15_000;

/** A `serve` child with HTTP on a free port, and the address of its pages. */
export type WebServe = ServeProcess & { httpPort: number; url: string };

/**
 * Starts `serve` with its web side on a free port.
 *
 * @param args More arguments for `serve`.
 * @param dataDir The data directory; a new temporary one (removed after) when absent.
 * @returns The running server.
 */
export async function startWebServe(args: string[] = [], dataDir?: string): Promise<WebServe> {
  const serve = await startServe({ http: true, args, dataDir, timeoutMs: 120_000 });
  const httpPort = serve.httpPort!;
  return Object.assign(serve, { httpPort, url: `http://127.0.0.1:${httpPort}` });
}

/**
 * Runs `fn` against a fresh `serve` with its web side, stopped after.
 *
 * @param fn The test.
 * @param args More arguments for `serve`.
 */
export async function withServe(
  fn: (serve: WebServe) => Promise<void>,
  args: string[] = [],
): Promise<void> {
  await using serve = await startWebServe(args);
  await fn(serve);
}

/**
 * Runs `fn` with a headless Chromium, closed after.
 *
 * @param fn The test.
 */
export async function withBrowser(fn: (browser: Browser) => Promise<void>): Promise<void> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: BROWSER_ARGS,
    timeout: 30_000,
  });
  try {
    await fn(browser);
  } finally {
    await withTimeout(browser.close(), 15_000, "the browser to close");
  }
}

/**
 * A page in a context of its own, so pages share no storage: two separate visitors (or two
 * devices of one person).
 *
 * @param browser The browser.
 * @param options The context's options (viewport, colour scheme, permissions …).
 * @returns The context and its page; page errors are printed.
 */
export async function newPage(
  browser: Browser,
  options: BrowserContextOptions = {},
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 700 }, ...options });
  context.setDefaultTimeout(WAIT_MS);
  const page = await context.newPage();
  page.on("pageerror", (error) => console.error(`page error: ${error.message}`));
  return { context, page };
}

/**
 * Opens the chat page and joins as a guest; waits until the page is in #lobby.
 *
 * @param page The page.
 * @param url The server's web address.
 * @param nick The nick.
 */
export async function login(page: Page, url: string, nick: string): Promise<void> {
  await page.goto(url);
  await page.fill("#nick", nick);
  await page.click("#login button[type=submit]");
  await page.locator("#status", { hasText: "Connected" }).waitFor();
  await page.locator("#user-list button", { hasText: nick }).waitFor();
}

/**
 * Logs in from the form: with a password, creating the account when asked.
 *
 * @param page The page, on the login form.
 * @param nick The nick (the account's name).
 * @param options The password, whether to create the account, the channels.
 */
export async function submitLogin(
  page: Page,
  nick: string,
  options: { password?: string; create?: boolean; channels?: string } = {},
): Promise<void> {
  await page.fill("#nick", nick);
  await page.fill("#password", options.password ?? PASSWORD);
  await page.setChecked("#create-account", options.create ?? false);
  if (options.channels) await page.fill("#channels", options.channels);
  await page.click("#login-submit");
}

/**
 * Waits until the page is connected and logged in to an account.
 *
 * @param page The page.
 * @param account The account.
 */
export async function loggedIn(page: Page, account: string): Promise<void> {
  await page.locator("#status", { hasText: "Connected" }).waitFor();
  await page.locator("#me", { hasText: `logged in as ${account}` }).waitFor();
}

/** A file made in the page: a PNG drawn on a canvas, a text, or that many bytes. */
export interface PageFile {
  /** Its name. */
  name: string;
  /** A real image: a blue field with an orange disc, and a caption if asked. */
  png?: { width: number; height: number; caption?: string };
  /** A text file. */
  text?: string;
  /** That many bytes. */
  bytes?: number;
}

/**
 * Makes files in the page and hands them to the page as the user would: pasted into the
 * message box, dropped on the conversation, or dropped outside it (on the page's header).
 *
 * @param page The page.
 * @param how Pasted, dropped, or dropped outside the conversation.
 * @param files The files (one, or several at once).
 * @returns Whether the page took the event (prevented the browser's own handling of it).
 */
export async function giveFile(
  page: Page,
  how: "paste" | "drop" | "drop outside",
  files: PageFile | PageFile[],
): Promise<boolean> {
  return await page.evaluate(`(async (how, files) => {
    const transfer = new DataTransfer();
    for (const file of files) {
      let blob;
      if (file.png) {
        const canvas = document.createElement("canvas");
        canvas.width = file.png.width;
        canvas.height = file.png.height;
        const g = canvas.getContext("2d");
        g.fillStyle = "#2563eb";
        g.fillRect(0, 0, canvas.width, canvas.height);
        g.fillStyle = "#f59e0b";
        g.beginPath();
        g.arc(canvas.width / 2, canvas.height / 2, canvas.height / 3, 0, 2 * Math.PI);
        g.fill();
        if (file.png.caption) {
          g.fillStyle = "#ffffff";
          g.font = "bold " + Math.round(canvas.height / 9) + "px sans-serif";
          g.textAlign = "center";
          g.fillText(file.png.caption, canvas.width / 2, canvas.height - canvas.height / 12);
        }
        blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
      } else if (file.text !== undefined) {
        blob = new Blob([file.text], { type: "text/plain" });
      } else {
        blob = new Blob([new Uint8Array(file.bytes ?? 0).fill(7)]);
      }
      transfer.items.add(new File([blob], file.name, { type: blob.type }));
    }
    const init = { bubbles: true, cancelable: true };
    if (how === "paste") {
      return !document.getElementById("message").dispatchEvent(
        new ClipboardEvent("paste", { ...init, clipboardData: transfer }),
      );
    }
    const where = document.querySelector(how === "drop" ? ".log:not([hidden])" : "header");
    where.dispatchEvent(new DragEvent("dragover", { ...init, dataTransfer: transfer }));
    return !where.dispatchEvent(new DragEvent("drop", { ...init, dataTransfer: transfer }));
  })(${JSON.stringify(how)}, ${JSON.stringify([files].flat())})`);
}

/**
 * Replaces the context's `PushManager.subscribe` and `getSubscription` with a stand-in for the
 * browser's push service: the subscription's endpoint is the test's push service, its keys the
 * test's. It is kept, and each call written, in the page's storage (`test.push…` keys, which
 * the page leaves alone).
 * (A browser's real push service is on the Internet, out of the tests' reach.)
 *
 * @param context The browser context.
 * @param endpoint The endpoint the subscription names.
 * @param subscription The keys the test made (`newSubscription`).
 */
export async function standInPushService(
  context: BrowserContext,
  endpoint: string,
  subscription: TestSubscription,
): Promise<void> {
  const [, p256dh, auth] = /^p256dh=([^;]+);auth=(.+)$/.exec(subscription.keys)!;
  await context.addInitScript(`(() => {
    const fake = ${JSON.stringify({ endpoint, p256dh, auth })};
    const record = (call) => localStorage.setItem(
      "test.push",
      JSON.stringify([...JSON.parse(localStorage.getItem("test.push") ?? "[]"), call]),
    );
    // Kept in the page's storage, as a browser keeps a subscription across reloads and tabs.
    const made = (key) => ({
      endpoint: fake.endpoint,
      options: { userVisibleOnly: true, applicationServerKey: new Uint8Array(key).buffer },
      toJSON: () => ({ endpoint: fake.endpoint, keys: { p256dh: fake.p256dh, auth: fake.auth } }),
      unsubscribe: async () => {
        record("unsubscribe");
        localStorage.removeItem("test.push.key");
        return true;
      },
    });
    PushManager.prototype.subscribe = async function (options) {
      record("subscribe");
      const key = [...new Uint8Array(options.applicationServerKey)];
      localStorage.setItem("test.push.key", JSON.stringify(key));
      return made(key);
    };
    PushManager.prototype.getSubscription = async function () {
      const key = localStorage.getItem("test.push.key");
      return key === null ? null : made(JSON.parse(key));
    };
  })()`);
}

/**
 * Types a line in the message box and sends it.
 *
 * @param page The page.
 * @param text The line.
 */
export async function say(page: Page, text: string): Promise<void> {
  await page.fill("#message", text);
  await page.press("#message", "Enter");
}

/**
 * The lines of the conversation shown that hold a text.
 *
 * @param page The page.
 * @param text The text.
 * @returns A locator.
 */
export function shownLine(page: Page, text: string) {
  return page.locator(".log:not([hidden]) li", { hasText: text });
}

/**
 * A line of the visible conversation in a given composer state (`data-state`).
 *
 * @param page The page.
 * @param state The state.
 * @param text The line's text.
 * @returns A locator.
 */
export function lineInState(page: Page, state: string, text: string) {
  return page.locator(`.log:not([hidden]) li[data-state="${state}"]`, { hasText: text });
}

/**
 * Presses "Reconnect now" until the page is connected, rather than wait for its back-off
 * (which grows to 30 s): the button shows while the page waits to retry.
 *
 * @param page The page.
 */
export async function reconnectNow(page: Page): Promise<void> {
  const connected = page.locator("#status.connected");
  const button = page.locator("#reconnect:not([hidden])");
  for (let attempt = 0; attempt < 5; attempt++) {
    await connected.or(button).first().waitFor();
    if (await connected.isVisible()) return;
    // The page's own timer may fire between the look and the click, hiding the button.
    await button.click({ timeout: 2000 }).catch(() => {});
  }
  await connected.waitFor();
}
