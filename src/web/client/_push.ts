/**
 * Web Push from the page, opt-in: the header's "Push" button registers the service worker
 * (`push_worker.ts`, served at `push-worker.js`), asks the browser's permission to notify,
 * subscribes with the server's VAPID key (ISUPPORT `VAPID`) and gives the subscription to the
 * server (`WEBPUSH REGISTER`, IRCv3 `draft/webpush`). The server then pushes the messages
 * meant for the account while none of its devices is connected; the worker shows them. The
 * choice is kept in this browser, with the account's name: each later connection of that
 * account registers the subscription again (the server drops one not renewed for 30 days).
 * Turning it off, or logging out, unregisters it (`WEBPUSH UNREGISTER`) and drops the
 * browser's subscription; so does another account logging in here, whose messages must not
 * go to the first one's notifications, nor the first one's to it. Guests cannot: a
 * subscription belongs to an account.
 *
 * @module
 */
import { foldCase } from "../../chat/casemap.ts";
import type { IrcMessage } from "../../irc/message.ts";

/** Where the choice is kept: the account that turned push on in this browser. */
const KEY = "shmooze.push";
/** The service worker's script, beside the page; its scope is the page's folder. */
const WORKER = "push-worker.js";

/** What push needs from the client. */
export interface PushLink {
  /** Sends one IRC line. */
  send(line: string): void;
  /** The account logged in, if any. */
  account(): string | undefined;
  /** The server's VAPID key, when it offers `draft/webpush`; undefined otherwise. */
  vapidKey(): string | undefined;
  /** Tells the user something about push (a refusal, a failure). */
  say(text: string): void;
}

/** The keys of a subscription as `WEBPUSH REGISTER` writes them: `p256dh=…;auth=…`. */
function keysOf(subscription: PushSubscription): string | undefined {
  const keys = subscription.toJSON().keys;
  if (!keys?.p256dh || !keys.auth) return undefined;
  return `p256dh=${keys.p256dh};auth=${keys.auth}`;
}

/** Bytes from URL-safe base64 (the VAPID key). */
function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}

/** Whether a subscription was made with this VAPID key (a new data directory has another). */
function madeWith(subscription: PushSubscription, key: Uint8Array): boolean {
  const used = subscription.options.applicationServerKey;
  if (!used) return false;
  const bytes = new Uint8Array(used);
  return bytes.length === key.length && bytes.every((byte, i) => byte === key[i]);
}

/** The account that turned push on in this browser (folded), if any. */
function subscriber(): string | undefined {
  try {
    return localStorage.getItem(KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

/** Keeps (or, with undefined, forgets) the account push is on for. */
function remember(account: string | undefined): void {
  try {
    if (account !== undefined) localStorage.setItem(KEY, foldCase(account));
    else localStorage.removeItem(KEY);
  } catch { /* storage refused: the choice lasts as long as the page */ }
}

/**
 * Why this page cannot receive pushes, if it cannot: no service workers or Push API (an old
 * browser, or a page that is not HTTPS or localhost, where browsers offer neither).
 */
function unsupported(): string | undefined {
  if (!isSecureContext) {
    return "Push notifications need this page over HTTPS (or on localhost)";
  }
  if (!("serviceWorker" in navigator) || typeof PushManager !== "function") {
    return "This browser cannot receive push notifications";
  }
  return undefined;
}

/** The page's push subscription and its switch. */
export class PushSwitch {
  readonly #button: HTMLButtonElement;
  readonly #link: PushLink;
  /** The endpoint registered with the server on this connection, or being registered. */
  #endpoint: string | undefined;
  #busy = false;

  /**
   * Takes over the switch.
   *
   * @param button The header's button; `aria-pressed` tells whether push is on.
   * @param link The client.
   */
  constructor(button: HTMLButtonElement, link: PushLink) {
    this.#button = button;
    this.#link = link;
    this.#show(false);
    button.addEventListener("click", () => this.#toggle());
  }

  /**
   * Logged in, or registered: the subscription is registered again when this account turned
   * push on in this browser (a renewal; or a first registration after a reload), once the
   * server's key is known; another account's is dropped.
   */
  async connected(): Promise<void> {
    this.#endpoint = undefined;
    this.#show(false);
    const account = this.#link.account();
    const owner = subscriber();
    if (owner === undefined || account === undefined) return;
    if (owner !== foldCase(account)) {
      // Another account's subscription: this one must not receive its pushes.
      remember(undefined);
      await (await this.#current())?.unsubscribe().catch(() => {});
      return;
    }
    if (this.#refusal() === undefined) await this.#subscribe(false);
  }

  /**
   * A `WEBPUSH` answer: the server registered (or unregistered) an endpoint.
   *
   * @param m The line.
   */
  answered(m: IrcMessage): void {
    const [sub, endpoint] = m.params;
    if (sub === "REGISTER" && endpoint === this.#endpoint) this.#show(true);
  }

  /**
   * A `FAIL WEBPUSH`: the server refused the subscription.
   *
   * @param m The line.
   */
  refused(m: IrcMessage): void {
    const [, , sub, endpoint] = m.params;
    if (sub === "REGISTER" && endpoint === this.#endpoint) {
      this.#endpoint = undefined;
      remember(undefined);
      this.#show(false);
    }
    this.#link.say(`Push notifications: ${m.params.at(-1) ?? "refused by the server"}`);
  }

  /**
   * Logging out: the subscription goes, on the server and in the browser.
   *
   * @returns The lines to send before the session ends.
   */
  async logout(): Promise<string[]> {
    remember(undefined);
    this.#show(false);
    const subscription = await this.#current();
    if (!subscription) return [];
    const lines = [`WEBPUSH UNREGISTER ${subscription.endpoint}`];
    await subscription.unsubscribe().catch(() => {});
    return lines;
  }

  #refusal(): string | undefined {
    if (this.#link.account() === undefined) {
      return "Guests cannot get push notifications: log in to an account";
    }
    const reason = unsupported();
    if (reason !== undefined) return reason;
    if (this.#link.vapidKey() === undefined) return "This server sends no push notifications";
    return undefined;
  }

  async #toggle(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      if (this.#button.getAttribute("aria-pressed") === "true") await this.#turnOff();
      else await this.#turnOn();
    } finally {
      this.#busy = false;
    }
  }

  async #turnOn(): Promise<void> {
    const refusal = this.#refusal();
    if (refusal !== undefined) {
      this.#link.say(refusal);
      return;
    }
    const permission = Notification.permission === "default"
      ? await Notification.requestPermission()
      : Notification.permission;
    if (permission !== "granted") {
      this.#link.say(
        "Notifications are blocked for this page: allow them in the browser's settings",
      );
      return;
    }
    await this.#subscribe(true);
  }

  async #turnOff(): Promise<void> {
    remember(undefined);
    this.#show(false);
    this.#endpoint = undefined;
    const subscription = await this.#current();
    if (!subscription) return;
    this.#link.send(`WEBPUSH UNREGISTER ${subscription.endpoint}`);
    await subscription.unsubscribe().catch(() => {});
  }

  /** The browser's subscription for this page, if any. */
  async #current(): Promise<PushSubscription | null> {
    if (unsupported() !== undefined) return null;
    const registration = await navigator.serviceWorker.getRegistration();
    return await registration?.pushManager.getSubscription() ?? null;
  }

  /**
   * Makes (or finds) the browser's subscription and registers it with the server.
   *
   * @param asked Whether the user just asked (a failure is then told); otherwise a renewal.
   */
  async #subscribe(asked: boolean): Promise<void> {
    const key = fromBase64Url(this.#link.vapidKey()!);
    let subscription: PushSubscription;
    try {
      const registration = await navigator.serviceWorker.register(WORKER);
      await navigator.serviceWorker.ready;
      const found = await registration.pushManager.getSubscription();
      if (found && !madeWith(found, key)) await found.unsubscribe();
      subscription = found && madeWith(found, key) ? found : await registration.pushManager
        .subscribe({ userVisibleOnly: true, applicationServerKey: key });
    } catch (error) {
      if (asked) {
        this.#link.say(
          `This browser could not subscribe to push notifications: ${(error as Error).message}`,
        );
      }
      this.#show(false);
      return;
    }
    const keys = keysOf(subscription);
    if (keys === undefined) {
      this.#link.say("This browser's push subscription has no encryption keys: push is off");
      return;
    }
    remember(this.#link.account());
    this.#endpoint = subscription.endpoint;
    this.#link.send(`WEBPUSH REGISTER ${subscription.endpoint} ${keys}`);
  }

  #show(on: boolean): void {
    this.#button.setAttribute("aria-pressed", String(on));
  }
}

/**
 * Listens for the service worker asking the page to show a conversation (a notification
 * clicked while the page is open).
 *
 * @param open Shows the conversation.
 */
export function listenForOpen(open: (conversation: string) => void): void {
  if (!("serviceWorker" in navigator)) return;
  navigator.serviceWorker.addEventListener("message", (event) => {
    const conversation = (event.data as { open?: unknown } | null)?.open;
    if (typeof conversation === "string" && conversation) open(conversation);
  });
}

/**
 * The conversation the page was opened for (`#open=<name>`, from a notification clicked with
 * no page open), taken out of the address so a reload does not open it again.
 *
 * @returns The conversation, or undefined.
 */
export function conversationToOpen(): string | undefined {
  const match = /^#open=(.+)$/.exec(location.hash);
  if (!match) return undefined;
  history.replaceState(null, "", location.pathname + location.search);
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return undefined;
  }
}
