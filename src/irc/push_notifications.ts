/**
 * Push notifications for IRC (IRCv3 `draft/webpush`): keeps the subscriptions that logged-in
 * clients register, listens to the messages the chat stores, and for each one that concerns
 * an account with no device connected (see `push_audience.ts`) pushes the message's IRC line
 * to every subscription of that account, encrypted for it (RFC 8291) and signed with the
 * server's VAPID key (RFC 8292). The line is written as the registering client would have
 * received it (its `server-time`, `message-tags` and `account-tag`, no client-only tags),
 * without the final CRLF. Sending happens in the background (`PushSender`): a slow or dead
 * push service never slows the chat.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { foldCase } from "../chat/casemap.ts";
import type { ChatHub, StoredMessage } from "../chat/hub.ts";
import { pushAudience } from "../chat/push_audience.ts";
import type { PushStore, PushSubscription } from "../chat/push_store.ts";
import { type EndpointPolicy, resolveEndpoint, type Resolver } from "../net/push/push_endpoint.ts";
import {
  type PushJob,
  PushSender,
  type PushSenderOptions,
  type PushSenderStats,
} from "../net/push/push_sender.ts";
import { Vapid } from "../net/push/vapid.ts";
import { encodeTagged, VARIANT_OF_CAPABILITY } from "./encode.ts";

const log = getLogger(["shmooze", "push"]);
const decoder = new TextDecoder();

/**
 * The capabilities that shape a pushed line; a subscription keeps those its client had.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PUSH_LINE_CAPABILITIES } from "./push_notifications.ts";
 *
 * assert.deepEqual(PUSH_LINE_CAPABILITIES, ["server-time", "message-tags", "account-tag"]);
 * ```
 */
export const PUSH_LINE_CAPABILITIES: readonly string[] = [
  "server-time",
  "message-tags",
  "account-tag",
];

/** Pushes a subscription may fail in a row (each after every retry) before it is dropped. */
const MAX_FAILURES_IN_A_ROW = 3;

/** Options for {@link PushNotifications}. */
export interface PushOptions
  extends
    EndpointPolicy,
    Omit<PushSenderOptions, "vapid" | "onOutcome" | "allowInternal" | "resolver"> {
  /** Who runs the server (`mailto:` or `https:` URI), the VAPID `sub` claim. */
  readonly subject: string;
  /** How endpoint host names are resolved. @default {DNS} */
  readonly resolver?: Resolver;
}

/** A subscription's keys as a client sends them: URL-safe base64. */
export interface EncodedKeys {
  /** The P-256 ECDH public key. */
  readonly p256dh: string;
  /** The 16-byte auth secret. */
  readonly auth: string;
}

/** Why a registration was refused: the spec's FAIL code, and a sentence for the client. */
export interface Refusal {
  /** `INVALID_PARAMS`, `MAX_REGISTRATIONS` or `INTERNAL_ERROR`. */
  readonly code: "INVALID_PARAMS" | "MAX_REGISTRATIONS" | "INTERNAL_ERROR";
  /** What was wrong. */
  readonly description: string;
}

/** A job with the subscription it is for. */
interface AccountJob extends PushJob {
  readonly account: string;
}

/**
 * The server's push notifications. Create one per server; give {@link PushNotifications.notify}
 * to the hub as its `onStored` listener.
 *
 * @example Register a subscription; a bad one is refused with the reason
 * ```ts
 * import assert from "node:assert/strict";
 * import { ChatHub } from "../chat/hub.ts";
 * import { PushStore } from "../chat/push_store.ts";
 * import { generateVapidKey } from "../net/push/vapid.ts";
 * import { PushNotifications } from "./push_notifications.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * const store = PushStore.open(dir, { createKey: generateVapidKey });
 * const push = new PushNotifications(new ChatHub(), store, { subject: "mailto:ops@example.org" });
 * assert.match(push.vapidKey, /^B[A-Za-z0-9_-]{86}$/);
 * const key = await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, [
 *   "deriveBits",
 * ]) as CryptoKeyPair;
 * const keys = {
 *   p256dh: new Uint8Array(await crypto.subtle.exportKey("raw", key.publicKey))
 *     .toBase64({ alphabet: "base64url", omitPadding: true }),
 *   auth: crypto.getRandomValues(new Uint8Array(16))
 *     .toBase64({ alphabet: "base64url", omitPadding: true }),
 * };
 * assert.equal(await push.register("ann", "https://192.0.2.1/p", keys, []), undefined);
 * assert.deepEqual(await push.register("ann", "https://192.168.0.1/p", keys, []), {
 *   code: "INVALID_PARAMS",
 *   description:
 *     "The endpoint is at 192.168.0.1, an internal address (loopback, private or reserved); the server does not send there",
 * });
 * assert.equal((await push.register("ann", "https://192.0.2.1/q", { ...keys, auth: "AAAA" }, []))?.code, "INVALID_PARAMS");
 * assert.deepEqual(store.subscriptionsOf("ann").map((s) => s.endpoint), ["https://192.0.2.1/p"]);
 * await push.close();
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export class PushNotifications {
  readonly #hub: ChatHub;
  readonly #store: PushStore;
  readonly #vapid: Vapid;
  readonly #sender: PushSender<AccountJob>;
  readonly #options: PushOptions;
  /** Failed pushes in a row, by account and endpoint. */
  readonly #failures = new Map<string, number>();

  /**
   * Starts pushing for a hub from a store's subscriptions.
   *
   * @param hub The chat.
   * @param store Subscriptions and the VAPID key; closed by {@link PushNotifications.close}.
   * @param options The contact URI, the endpoint policy and the sender's limits.
   */
  constructor(hub: ChatHub, store: PushStore, options: PushOptions) {
    this.#hub = hub;
    this.#store = store;
    this.#options = options;
    this.#vapid = new Vapid(store.vapidKey, options.subject);
    this.#sender = new PushSender<AccountJob>({
      ...options,
      vapid: this.#vapid,
      onOutcome: (job, outcome) => this.#outcome(job, outcome),
    });
  }

  /** The VAPID public key clients subscribe with (ISUPPORT `VAPID`). */
  get vapidKey(): string {
    return this.#vapid.publicKey;
  }

  /** What became of the pushes so far. */
  get stats(): PushSenderStats {
    return { ...this.#sender.stats };
  }

  /** Pushes queued, in flight or waiting for a retry. */
  get pending(): number {
    return this.#sender.pending;
  }

  /**
   * Registers (or renews) a subscription of an account: checks the endpoint (and resolves
   * its host) and the keys first.
   *
   * @param account The account.
   * @param endpoint The push endpoint.
   * @param keys Its keys, URL-safe base64.
   * @param capabilities The client's capabilities (those of {@link PUSH_LINE_CAPABILITIES}
   *   are kept).
   * @returns Why it was refused; undefined when it was stored.
   */
  async register(
    account: string,
    endpoint: string,
    keys: EncodedKeys,
    capabilities: readonly string[],
  ): Promise<Refusal | undefined> {
    const keyProblem = await keysProblem(keys);
    if (keyProblem !== undefined) return { code: "INVALID_PARAMS", description: keyProblem };
    const resolved = await resolveEndpoint(endpoint, this.#options, this.#options.resolver);
    if ("problem" in resolved) return { code: "INVALID_PARAMS", description: resolved.problem };
    try {
      const outcome = this.#store.register(account, {
        endpoint,
        ...keys,
        capabilities: capabilities.filter((name) => PUSH_LINE_CAPABILITIES.includes(name)),
      });
      if (outcome === "too-many") {
        return {
          code: "MAX_REGISTRATIONS",
          description: "Your account has the most push subscriptions allowed; unregister one first",
        };
      }
    } catch (error) {
      log.error("Storing a push subscription of {account} failed: {error}", { account, error });
      return { code: "INTERNAL_ERROR", description: "The subscription could not be stored" };
    }
    this.#failures.delete(failureKey(account, endpoint));
    return undefined;
  }

  /**
   * Forgets a subscription of an account (nothing happens when there is none).
   *
   * @param account The account.
   * @param endpoint The push endpoint.
   * @returns Why it failed; undefined when done.
   */
  unregister(account: string, endpoint: string): Refusal | undefined {
    try {
      this.#store.unregister(account, endpoint);
      return undefined;
    } catch (error) {
      log.error("Forgetting a push subscription of {account} failed: {error}", { account, error });
      return { code: "INTERNAL_ERROR", description: "The subscription could not be removed" };
    }
  }

  /**
   * Pushes a stored message to the accounts it concerns (the hub's `onStored` listener).
   *
   * @param message The message and the accounts of its ends.
   */
  notify(message: StoredMessage): void {
    if (this.#store.empty) return;
    const subscribed = (account: string) => this.#store.hasSubscriptions(account);
    for (const { account, reason } of pushAudience(this.#hub, message, subscribed)) {
      for (const subscription of this.#store.subscriptionsOf(account)) {
        this.#sender.enqueue({
          account,
          endpoint: subscription.endpoint,
          keys: {
            p256dh: Uint8Array.fromBase64(subscription.p256dh, { alphabet: "base64url" }),
            auth: Uint8Array.fromBase64(subscription.auth, { alphabet: "base64url" }),
          },
          payload: pushLine(message, subscription),
          urgency: reason === "private" ? "high" : "normal",
        });
      }
    }
  }

  /** Stops sending (what is queued is dropped) and closes the store. */
  async close(): Promise<void> {
    await this.#sender.close();
    this.#store.close();
  }

  #outcome(job: AccountJob, outcome: string): void {
    const key = failureKey(job.account, job.endpoint);
    if (outcome === "delivered") {
      this.#failures.delete(key);
      return;
    }
    const failures = (this.#failures.get(key) ?? 0) + 1;
    if (outcome === "failed") this.#failures.set(key, failures);
    // The push service says the subscription is gone, or it keeps failing: forget it.
    if (outcome === "gone" || (outcome === "failed" && failures >= MAX_FAILURES_IN_A_ROW)) {
      this.#failures.delete(key);
      log.info("Dropped a push subscription of {account} ({why})", {
        account: job.account,
        why: outcome === "gone" ? "the push service says it is gone" : "it kept failing",
      });
      this.unregister(job.account, job.endpoint);
    }
  }
}

/**
 * The IRC line pushed for a message: as the subscription's client would have received it,
 * with no client-only tags (a push carries little) and no CRLF.
 */
function pushLine(message: StoredMessage, subscription: PushSubscription): string {
  let variant = 0;
  for (const name of subscription.capabilities) variant |= VARIANT_OF_CAPABILITY[name] ?? 0;
  const event = { ...message.event, clientTags: undefined, encoded: [] };
  return decoder.decode(encodeTagged(event, variant)).replace(/\r\n$/, "");
}

/** Why a subscription's keys cannot be used, if they cannot. */
async function keysProblem(keys: EncodedKeys): Promise<string | undefined> {
  const decode = (text: string) => {
    try {
      return Uint8Array.fromBase64(text, { alphabet: "base64url" });
    } catch {
      return undefined;
    }
  };
  const auth = decode(keys.auth);
  if (auth?.length !== 16) return "The auth key must be 16 bytes in URL-safe base64";
  const p256dh = decode(keys.p256dh);
  if (p256dh?.length !== 65 || p256dh[0] !== 4) {
    return "The p256dh key must be an uncompressed P-256 public key (65 bytes) in URL-safe base64";
  }
  try {
    await crypto.subtle.importKey("raw", p256dh, { name: "ECDH", namedCurve: "P-256" }, false, []);
  } catch {
    return "The p256dh key is not a point on the P-256 curve";
  }
  return undefined;
}

function failureKey(account: string, endpoint: string): string {
  return `${foldCase(account)} ${endpoint}`;
}
