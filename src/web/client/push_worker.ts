/**
 * The chat page's service worker (bundled by `deno task build` into
 * `src/web/_bundle/push_worker.js`, served at `/push-worker.js`): it shows a notification for
 * each Web Push the server sends (`draft/webpush`: the IRC line of a message for an account
 * with no device connected), and a click on one opens its conversation — in a chat page
 * already open, else in a new one (`/#open=<conversation>`). It handles nothing else: no
 * fetch, no cache, so the page loads as if it were not there.
 *
 * The page is checked with the DOM's types, in which `self` is a window: the few service
 * worker types used are declared here.
 *
 * @module
 */
import { pushNotice } from "./_push_message.ts";

/** An event whose end the browser waits for (`ExtendableEvent`). */
interface ExtendableEvent extends Event {
  waitUntil(promise: Promise<unknown>): void;
}

/** A push, with its data (`PushEvent`). */
interface PushEvent extends ExtendableEvent {
  readonly data: { text(): string } | null;
}

/** A click on a notification (`NotificationEvent`). */
interface NotificationEvent extends ExtendableEvent {
  readonly notification: Notification;
}

/** A window of the worker's origin (`WindowClient`). */
interface WindowClient {
  readonly url: string;
  focus(): Promise<WindowClient>;
  postMessage(message: unknown): void;
}

/** What the worker uses of its global scope (`ServiceWorkerGlobalScope`). */
interface WorkerScope {
  readonly registration: ServiceWorkerRegistration;
  readonly clients: {
    matchAll(options: { type: "window"; includeUncontrolled: boolean }): Promise<WindowClient[]>;
    openWindow(url: string): Promise<WindowClient | null>;
  };
  skipWaiting(): Promise<void>;
  addEventListener(type: "install", listener: (event: ExtendableEvent) => void): void;
  addEventListener(type: "push", listener: (event: PushEvent) => void): void;
  addEventListener(type: "notificationclick", listener: (event: NotificationEvent) => void): void;
}

const worker = self as unknown as WorkerScope;

// A new version of the worker takes over at once: it holds no state to hand over.
worker.addEventListener("install", (event) => event.waitUntil(worker.skipWaiting()));

worker.addEventListener("push", (event) => {
  const notice = pushNotice(event.data?.text() ?? "");
  event.waitUntil(
    worker.registration.showNotification(notice.title, {
      body: notice.body,
      // One notification per conversation: a newer message replaces the older one.
      tag: notice.conversation || "shmooze",
      data: { conversation: notice.conversation },
    }),
  );
});

/** Shows a conversation in a chat page of this worker's scope, opening one if none is. */
async function openConversation(conversation: string): Promise<void> {
  const scope = worker.registration.scope;
  const windows = await worker.clients.matchAll({ type: "window", includeUncontrolled: true });
  const open = windows.find((client) => client.url.startsWith(scope));
  if (open) {
    open.postMessage({ open: conversation });
    await open.focus();
    return;
  }
  const fragment = conversation ? `#open=${encodeURIComponent(conversation)}` : "";
  await worker.clients.openWindow(`${scope}${fragment}`);
}

worker.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const conversation = String(event.notification.data?.conversation ?? "");
  event.waitUntil(openConversation(conversation));
});
