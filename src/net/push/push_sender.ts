/**
 * Sends push messages in the background, so that no push service, however slow, ever holds
 * up the chat: a bounded queue (what does not fit is dropped and counted), a few requests at
 * once, each within a deadline, retried with a growing delay when the service is busy or
 * failing (429, 5xx, no answer), given up after a bounded number of tries. A 404 or 410
 * means the subscription is gone: the caller is told, to forget it.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { encryptPushMessage, type SubscriptionKeys } from "./push_encryption.ts";
import { type EndpointPolicy, resolveEndpoint, type Resolver } from "./push_endpoint.ts";
import { postPush, type PushResponse } from "./push_request.ts";
import type { Vapid } from "./vapid.ts";

const log = getLogger(["shmooze", "push"]);

/** How soon a push service should deliver (RFC 8030 section 5.3). */
export type Urgency = "very-low" | "low" | "normal" | "high";

/** One message for one subscription. */
export interface PushJob {
  /** The push endpoint. */
  readonly endpoint: string;
  /** The subscription's keys. */
  readonly keys: SubscriptionKeys;
  /** The message (before encryption). */
  readonly payload: string;
  /** Its urgency. @default {"normal"} */
  readonly urgency?: Urgency;
}

/** How a job ended. */
export type PushOutcome = "delivered" | "gone" | "failed" | "dropped";

/** Options for {@link PushSender}, whose jobs are of type `J`. */
export interface PushSenderOptions<J extends PushJob = PushJob> extends EndpointPolicy {
  /** Who signs the requests. */
  readonly vapid: Vapid;
  /** Requests in flight at once. @default {4} */
  readonly concurrency?: number;
  /** Jobs waiting (queued or between tries) at most; more are dropped. @default {1000} */
  readonly queueLimit?: number;
  /** Deadline of one request, ms. @default {10000} */
  readonly timeoutMs?: number;
  /** Tries per job before giving up. @default {4} */
  readonly maxAttempts?: number;
  /** Delay before the first retry, ms; it doubles each time. @default {1000} */
  readonly retryDelayMs?: number;
  /** Longest delay between tries (also caps `Retry-After`), ms. @default {60000} */
  readonly maxRetryDelayMs?: number;
  /** How long a push service keeps an undelivered message (the `TTL` header), s. @default {86400} */
  readonly ttlS?: number;
  /** More root certificates (PEM) to trust for endpoints (tests). */
  readonly caCerts?: string[];
  /** How host names are resolved. @default {DNS} */
  readonly resolver?: Resolver;
  /** Told how each job ended (`gone`: forget the subscription). */
  readonly onOutcome?: (job: J, outcome: PushOutcome) => void;
}

/** Counts since start. */
export interface PushSenderStats {
  /** Accepted by a push service (2xx). */
  delivered: number;
  /** Answered 404 or 410: the subscription no longer exists. */
  gone: number;
  /** Given up (refused, or still failing after every try). */
  failed: number;
  /** Not queued: the queue was full, or the sender closed. */
  dropped: number;
}

interface Pending<J> {
  readonly job: J;
  attempts: number;
  body?: Uint8Array;
}

/**
 * The background sender. Its jobs may carry more than a {@link PushJob} (the account a
 * subscription belongs to): `onOutcome` gets them back as they were queued.
 *
 * @example A job reaches a push service on loopback
 * ```ts
 * import assert from "node:assert/strict";
 * import { generateVapidKey, Vapid } from "./vapid.ts";
 * import { PushSender } from "./push_sender.ts";
 *
 * const got = Promise.withResolvers<Headers>();
 * await using service = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (r) => {
 *   got.resolve(new Headers(r.headers));
 *   return new Response(null, { status: 201 });
 * });
 * const done = Promise.withResolvers<string>();
 * const sender = new PushSender({
 *   vapid: new Vapid(generateVapidKey(), "mailto:ops@example.org"),
 *   allowInternal: true,
 *   onOutcome: (_job, outcome) => done.resolve(outcome),
 * });
 * const key = await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, [
 *   "deriveBits",
 * ]) as CryptoKeyPair;
 * assert.ok(sender.enqueue({
 *   endpoint: `http://127.0.0.1:${service.addr.port}/p`,
 *   keys: {
 *     p256dh: new Uint8Array(await crypto.subtle.exportKey("raw", key.publicKey)),
 *     auth: crypto.getRandomValues(new Uint8Array(16)),
 *   },
 *   payload: "PING",
 *   urgency: "high",
 * }));
 * const headers = await got.promise;
 * assert.equal(headers.get("content-encoding"), "aes128gcm");
 * assert.equal(headers.get("urgency"), "high");
 * assert.equal(headers.get("ttl"), "86400");
 * assert.match(headers.get("authorization")!, /^vapid t=.+, k=.+$/);
 * assert.equal(await done.promise, "delivered");
 * await sender.close();
 * assert.deepEqual(sender.stats, { delivered: 1, gone: 0, failed: 0, dropped: 0 });
 * ```
 */
export class PushSender<J extends PushJob = PushJob> {
  /** What became of the jobs so far. */
  readonly stats: PushSenderStats = { delivered: 0, gone: 0, failed: 0, dropped: 0 };
  readonly #options: PushSenderOptions<J>;
  readonly #ready: Pending<J>[] = [];
  readonly #timers = new Map<ReturnType<typeof setTimeout>, Pending<J>>();
  readonly #active = new Set<Promise<void>>();
  readonly #closing = new AbortController();

  /**
   * Makes a sender; nothing is sent until a job is queued.
   *
   * @param options Who signs, the limits, and whom to tell of outcomes.
   */
  constructor(options: PushSenderOptions<J>) {
    this.#options = options;
  }

  /** Jobs queued, in flight or waiting to be tried again. */
  get pending(): number {
    return this.#ready.length + this.#timers.size + this.#active.size;
  }

  /**
   * Queues a job; returns at once.
   *
   * @param job The message and its subscription.
   * @returns False when it was dropped: the queue is full, or the sender closed.
   */
  enqueue(job: J): boolean {
    if (this.#closing.signal.aborted || this.pending >= (this.#options.queueLimit ?? 1000)) {
      this.#end({ job, attempts: 0 }, "dropped");
      return false;
    }
    this.#ready.push({ job, attempts: 0 });
    this.#pump();
    return true;
  }

  /**
   * Stops: queued jobs and jobs waiting for a retry are dropped, requests in flight are
   * cancelled. Resolves when none is left.
   */
  async close(): Promise<void> {
    this.#closing.abort();
    for (const [timer, pending] of this.#timers) {
      clearTimeout(timer);
      this.#end(pending, "dropped");
    }
    this.#timers.clear();
    for (const pending of this.#ready.splice(0)) this.#end(pending, "dropped");
    await Promise.allSettled([...this.#active]);
  }

  /** Starts queued jobs while there is room. */
  #pump(): void {
    const concurrency = this.#options.concurrency ?? 4;
    while (this.#active.size < concurrency && this.#ready.length > 0) {
      const pending = this.#ready.shift()!;
      const running: Promise<void> = this.#attempt(pending).finally(() => {
        this.#active.delete(running);
        this.#pump();
      });
      this.#active.add(running);
    }
  }

  /** One try of a job, and what follows from its answer. */
  async #attempt(pending: Pending<J>): Promise<void> {
    const { job } = pending;
    pending.attempts++;
    let response: PushResponse | undefined;
    let problem: string;
    try {
      response = await this.#post(pending);
      problem = `HTTP ${response.status}`;
    } catch (error) {
      problem = (error as Error).message;
    }
    if (this.#closing.signal.aborted) return this.#end(pending, "dropped");
    const status = response?.status ?? 0;
    if (status >= 200 && status < 300) return this.#end(pending, "delivered");
    if (status === 404 || status === 410) return this.#end(pending, "gone");
    const retry = status === 0 || status === 429 || status >= 500;
    if (!retry || pending.attempts >= (this.#options.maxAttempts ?? 4)) {
      log.warn("A push to {origin} failed after {attempts} tries: {problem}", {
        origin: originOf(job.endpoint),
        attempts: pending.attempts,
        problem,
      });
      return this.#end(pending, "failed");
    }
    this.#retryLater(pending, response?.retryAfterS);
  }

  async #post(pending: Pending<J>): Promise<PushResponse> {
    const { job } = pending;
    const options = this.#options;
    // Checked at every try, not only when registered: the name may point elsewhere now.
    const endpoint = await resolveEndpoint(job.endpoint, options, options.resolver);
    if ("problem" in endpoint) throw new Error(endpoint.problem);
    pending.body ??= await encryptPushMessage(job.payload, job.keys);
    return await postPush({
      endpoint,
      headers: {
        "Content-Type": "application/octet-stream",
        "Content-Encoding": "aes128gcm",
        "TTL": String(options.ttlS ?? 86400),
        "Urgency": job.urgency ?? "normal",
        "Authorization": await options.vapid.authorization(job.endpoint),
      },
      body: pending.body,
      timeoutMs: options.timeoutMs ?? 10_000,
      caCerts: options.caCerts,
      signal: this.#closing.signal,
    });
  }

  #retryLater(pending: Pending<J>, retryAfterS: number | undefined): void {
    const base = this.#options.retryDelayMs ?? 1000;
    const cap = this.#options.maxRetryDelayMs ?? 60_000;
    const backoff = base * 2 ** (pending.attempts - 1);
    const delay = Math.min(cap, retryAfterS === undefined ? backoff : retryAfterS * 1000);
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.#ready.push(pending);
      this.#pump();
    }, delay);
    this.#timers.set(timer, pending);
  }

  #end(pending: Pending<J>, outcome: PushOutcome): void {
    this.stats[outcome]++;
    try {
      this.#options.onOutcome?.(pending.job, outcome);
    } catch (error) {
      log.error("Handling the outcome of a push failed: {error}", { error });
    }
  }
}

/** The endpoint's origin, for logs: the rest of the URL identifies a subscription. */
function originOf(endpoint: string): string {
  try {
    return new URL(endpoint).origin;
  } catch {
    return "an invalid endpoint";
  }
}
