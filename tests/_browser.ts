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
