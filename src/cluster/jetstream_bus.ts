/**
 * The cluster's {@link Bus} on NATS: the log is a JetStream stream (`SHMOOZE_<cluster>`, one
 * subject, file storage), read by an ordered consumer; appends carry the event's id as
 * `Nats-Msg-Id`, so within the stream's duplicate window a retried append is stored once.
 * Heartbeats go over core NATS, unstored.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import {
  createInbox,
  errors,
  headers,
  type Msg,
  nanos,
  type NatsConnection,
} from "@nats-io/transport-node";
import {
  type ConsumerMessages,
  DeliverPolicy,
  jetstream,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  jetstreamManager,
} from "@nats-io/jetstream";
import type { Bus, BusState, BusTraffic, LogEntry, LogReader, SnapshotStore } from "./bus.ts";
import { KvSnapshotStore } from "./_kv_snapshot_store.ts";
import {
  type ClusterEvent,
  decodeEvent,
  decodeHeartbeat,
  encodeEvent,
  type Heartbeat,
} from "./cluster_event.ts";
import { connectNats, type NatsAccess } from "./nats_access.ts";

const log = getLogger(["shmooze", "cluster"]);
const decoder = new TextDecoder();

/** One append published and not yet acknowledged (see `JetStreamBus.#publish`). */
interface PendingAck {
  resolve: (seq: number) => void;
  reject: (error: Error) => void;
  /** When to give up waiting, ms since the epoch. */
  due: number;
}

/** How often appends past their time are looked for, ms: a fraction of the 250 ms shortest. */
const SWEEP_MS = 50;

/** Options for {@link JetStreamBus.open}. */
export interface JetStreamBusOptions {
  /** The cluster's name: its stream and subjects. Letters, digits, `-`, `_`. @default {"shmooze"} */
  cluster?: string;
  /** How long one append may keep retrying while NATS does not answer, ms. @default {5000} */
  appendTimeoutMs?: number;
  /**
   * How long the stream remembers ids to drop a repeated append, ms: longer than any retry.
   * @default {120000}
   */
  duplicateWindowMs?: number;
  /** Credentials and CA for a NATS server that asks for them (`nats_access.ts`). @default {{}} */
  access?: NatsAccess;
  /**
   * How long the log keeps an entry, ms: older ones are removed, and a node starts from the
   * cluster's snapshot (written far more often, see `ReplicatedHubOptions.snapshotEveryMs`).
   * Applied to the stream each time a node opens it. @default {86400000} (a day)
   */
  maxAgeMs?: number;
  /** How many entries the log keeps at most (the oldest go first); 0 for no limit. @default {0} */
  maxEntries?: number;
}

/** Far past any log's last sequence: an append that expects it is never stored. */
const NEVER = Number.MAX_SAFE_INTEGER;

/**
 * Whether a cluster name is usable in NATS subjects and stream names.
 *
 * @param name The name.
 * @returns Why not, or undefined when it is.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { clusterNameProblem } from "./jetstream_bus.ts";
 *
 * assert.equal(clusterNameProblem("team-1"), undefined);
 * assert.match(clusterNameProblem("a.b") ?? "", /letters, digits/);
 * ```
 */
export function clusterNameProblem(name: string): string | undefined {
  return /^[A-Za-z0-9_-]{1,64}$/.test(name)
    ? undefined
    : `Cluster name "${name}" must be 1 to 64 letters, digits, "-" or "_"`;
}

/**
 * Where a cluster lives on NATS: its stream, the stream's one subject, and the heartbeats'.
 *
 * @param cluster The cluster's name (see {@link clusterNameProblem}).
 * @returns The names.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { clusterSubjects } from "./jetstream_bus.ts";
 *
 * assert.deepEqual(clusterSubjects("team"), {
 *   stream: "SHMOOZE_team", log: "shmooze.team.log", beats: "shmooze.team.beat",
 * });
 * ```
 */
export function clusterSubjects(cluster: string): { stream: string; log: string; beats: string } {
  return {
    stream: `SHMOOZE_${cluster}`,
    log: `shmooze.${cluster}.log`,
    beats: `shmooze.${cluster}.beat`,
  };
}

/**
 * A cluster's log and heartbeats on a NATS server with JetStream.
 *
 * @example Two connections share one log (needs `nats-server -js` on port 4222)
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { JetStreamBus } from "./jetstream_bus.ts";
 *
 * const bus = await JetStreamBus.open("nats://127.0.0.1:4222", { cluster: "demo" });
 * const seq = await bus.append({ v: 1, id: "q1", node: "a", conn: "1", kind: "quit", reason: "" });
 * assert.equal(await bus.head(), seq);
 * await bus.close();
 * ```
 */
export class JetStreamBus implements Bus {
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #stream: string;
  readonly #subject: string;
  readonly #beats: string;
  readonly #appendTimeoutMs: number;
  readonly #duplicateWindowMs: number;
  readonly #readers = new Set<LogReader>();
  #state: BusState = "connected";
  /** The cluster's snapshot, in a key-value bucket beside the stream. */
  readonly snapshots: SnapshotStore;
  /** Every append's acknowledgement comes to `<inbox>.<token>`, one subscription for all. */
  readonly #inbox = createInbox();
  readonly #acks = new Map<string, PendingAck>();
  #nextToken = 0;
  #sweeper: ReturnType<typeof setInterval> | undefined;

  private constructor(
    nc: NatsConnection,
    cluster: string,
    snapshots: SnapshotStore,
    options: JetStreamBusOptions,
  ) {
    this.#nc = nc;
    (async () => {
      for await (const status of nc.status()) {
        if (status.type === "disconnect" || status.type === "reconnecting") {
          this.#state = "reconnecting";
        } else if (status.type === "reconnect") this.#state = "connected";
      }
    })();
    this.#js = jetstream(nc);
    nc.subscribe(`${this.#inbox}.*`, {
      callback: (error, message) => {
        if (!error) this.#acknowledged(message);
      },
    });
    ({ stream: this.#stream, log: this.#subject, beats: this.#beats } = clusterSubjects(cluster));
    this.#appendTimeoutMs = options.appendTimeoutMs ?? 5000;
    this.#duplicateWindowMs = options.duplicateWindowMs ?? 120_000;
    this.snapshots = snapshots;
  }

  /**
   * Connects to NATS (reconnecting for ever after a loss) and makes the cluster's stream if it
   * does not exist yet.
   *
   * @param url The NATS server, `nats://host:port` or `tls://host:port`.
   * @param options The cluster's name, time limits, credentials and CA.
   * @returns The bus.
   * @throws When the name is unusable, NATS cannot be reached (or refuses the credentials or
   *   the TLS), or it has no JetStream.
   */
  static async open(url: string, options: JetStreamBusOptions = {}): Promise<JetStreamBus> {
    const cluster = options.cluster ?? "shmooze";
    const problem = clusterNameProblem(cluster);
    if (problem !== undefined) throw new TypeError(problem);
    const nc = await connectNats(url, options.access ?? {}, `shmooze-${Deno.pid}`);
    try {
      const { stream, log: subject } = clusterSubjects(cluster);
      const manager = await jetstreamManager(nc);
      const config = {
        name: stream,
        subjects: [subject],
        duplicate_window: nanos(options.duplicateWindowMs ?? 120_000),
        max_age: nanos(options.maxAgeMs ?? 86_400_000),
        max_msgs: options.maxEntries || -1,
      };
      let info;
      try {
        info = await manager.streams.info(stream);
      } catch {
        try {
          await manager.streams.add(config);
        } catch (error) {
          // Two nodes starting at once both get here, and nats-server 2.9 may refuse the second
          // add ("subjects overlap with an existing stream") while the first creates it: the
          // stream is then there, which is all this needs.
          await manager.streams.info(stream).catch(() => {
            throw error;
          });
        }
      }
      // The retention is the latest opener's: a stream made before there was one gets it too.
      if (
        info !== undefined &&
        (info.config.max_age !== config.max_age || info.config.max_msgs !== config.max_msgs)
      ) {
        await manager.streams.update(stream, {
          max_age: config.max_age,
          max_msgs: config.max_msgs,
        });
      }
      // The snapshot belongs to this stream: one made again (deleted, its store wiped) starts
      // at entry 1 again, and an older snapshot's sequences would mean other entries.
      const { created } = await manager.streams.info(stream);
      const snapshots = await KvSnapshotStore.open(nc, cluster, created);
      return new JetStreamBus(nc, cluster, snapshots, options);
    } catch (error) {
      await nc.close();
      throw new Error(`Cannot use JetStream at ${url}: ${(error as Error).message}`);
    }
  }

  async append(event: ClusterEvent): Promise<number> {
    const data = encodeEvent(event);
    return await this.#retrying(
      Date.now() + this.#appendTimeoutMs,
      (timeout) => this.#publish(data, event.id, timeout),
      (error) =>
        log.warn("Append of {id} failed, retrying with the same id: {error}", {
          id: event.id,
          error,
        }),
    );
  }

  async confirm(event: ClusterEvent, since: number): Promise<number | undefined> {
    const data = encodeEvent(event);
    // Asking once the window has passed would say "not there" for an entry that is.
    const until = since + this.#duplicateWindowMs - this.#appendTimeoutMs;
    return await this.#retrying(until, async (timeout) => {
      try {
        // The same id again, with an expectation no new entry meets: within the duplicate
        // window a stored attempt is answered as a duplicate (with its sequence) before the
        // expectation is looked at, and anything else is refused, never stored. Sent after
        // every earlier attempt on this connection, so none of those can be stored later.
        const ack = await this.#js.publish(this.#subject, data, {
          msgID: event.id,
          expect: { lastSequence: NEVER },
          timeout,
        });
        return ack.seq;
      } catch (error) {
        if (
          error instanceof JetStreamApiError &&
          error.code === JetStreamApiCodes.StreamWrongLastSequence
        ) {
          return undefined;
        }
        throw error;
      }
    });
  }

  /**
   * Tries `attempt` until it succeeds or `deadline` passes: 50 ms between the first tries,
   * doubling to 1 s; each try may take the time left, between 250 ms and 2 s. Gives up at once
   * when the connection is closed.
   */
  async #retrying<T>(
    deadline: number,
    attempt: (timeoutMs: number) => Promise<T>,
    onRetry?: (error: unknown) => void,
  ): Promise<T> {
    let wait = 50;
    for (;;) {
      try {
        return await attempt(Math.max(250, Math.min(2000, deadline - Date.now())));
      } catch (error) {
        if (this.#nc.isClosed() || Date.now() + wait >= deadline) throw error;
        onRetry?.(error);
        await new Promise((resolve) => setTimeout(resolve, wait));
        wait = Math.min(wait * 2, 1000);
      }
    }
  }

  /**
   * Publishes one append with its id as `Nats-Msg-Id` and waits for the stream's
   * acknowledgement: a core publish whose reply comes to this bus's one inbox subscription,
   * not a `js.publish` request each (its request, timer and promise per append cost the node
   * several times what the stream does). Rejects with NATS's `TimeoutError` when no
   * acknowledgement came in `timeoutMs`, as `js.publish` did, and with an error naming why
   * when JetStream refused it or nothing took the subject.
   */
  #publish(data: Uint8Array, id: string, timeoutMs: number): Promise<number> {
    const token = (this.#nextToken++).toString(36);
    const { promise, resolve, reject } = Promise.withResolvers<number>();
    const msgHeaders = headers();
    msgHeaders.set("Nats-Msg-Id", id);
    try {
      this.#nc.publish(this.#subject, data, {
        reply: `${this.#inbox}.${token}`,
        headers: msgHeaders,
      });
    } catch (error) {
      return Promise.reject(error);
    }
    this.#acks.set(token, { resolve, reject, due: Date.now() + timeoutMs });
    this.#sweeper ??= setInterval(() => this.#sweep(), SWEEP_MS);
    return promise;
  }

  /** Settles the append an acknowledgement is for; one that came after its time is dropped. */
  #acknowledged(message: Msg): void {
    const token = message.subject.slice(this.#inbox.length + 1);
    const pending = this.#acks.get(token);
    if (pending === undefined) return;
    this.#acks.delete(token);
    if (message.headers?.hasError) {
      // 503: no stream takes the subject (JetStream off, or the stream deleted).
      pending.reject(new Error(`NATS answered the append with ${message.headers.status}`));
      return;
    }
    let answer: { seq?: unknown; error?: { description?: string } };
    try {
      answer = JSON.parse(decoder.decode(message.data));
    } catch {
      pending.reject(new Error("JetStream's acknowledgement of an append is not JSON"));
      return;
    }
    if (answer.error !== undefined) {
      pending.reject(new Error(`JetStream refused the append: ${answer.error.description}`));
    } else if (typeof answer.seq !== "number" || !Number.isSafeInteger(answer.seq)) {
      pending.reject(new Error("JetStream's acknowledgement of an append has no sequence"));
    } else {
      pending.resolve(answer.seq);
    }
  }

  /** Fails the appends past their time (their retry has a new token); stops when none wait. */
  #sweep(): void {
    const now = Date.now();
    for (const [token, pending] of this.#acks) {
      if (pending.due > now) continue;
      this.#acks.delete(token);
      pending.reject(
        new errors.TimeoutError(),
      );
    }
    if (this.#acks.size === 0) this.#stopSweeping();
  }

  #stopSweeping(): void {
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
  }

  async read(from: number, apply: (entry: LogEntry) => void): Promise<LogReader> {
    let next = Math.max(1, from);
    let stopped = false;
    const open = async () => {
      const consumer = await this.#js.consumers.get(this.#stream, {
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: next,
      });
      // `expires` bounds each pull, so after NATS restarts the consumer asks again within 2 s
      // instead of waiting out a pull the old server forgot.
      return await consumer.consume({ expires: 2000 });
    };
    let messages: ConsumerMessages = await open();
    const done = (async () => {
      while (!stopped) {
        try {
          for await (const message of messages) {
            next = message.seq + 1;
            let entry: LogEntry;
            try {
              entry = { seq: message.seq, event: decodeEvent(message.data) };
            } catch (error) {
              entry = { seq: message.seq, error: error as TypeError };
            }
            apply(entry);
          }
          if (stopped || this.#nc.isClosed()) return;
          throw new Error("the consumer ended");
        } catch (error) {
          if (stopped || this.#nc.isClosed()) return;
          // A node that stopped reading would still send heartbeats: it must read again.
          log.warn("Reading the log stopped before {next}: {error}; reading again in 1 s", {
            next,
            error,
          });
          await new Promise((resolve) => setTimeout(resolve, 1000));
          if (stopped) return;
          messages = await open().catch(() => messages);
        }
      }
    })();
    const reader: LogReader = {
      stop: async () => {
        stopped = true;
        this.#readers.delete(reader);
        await messages.close();
        await done;
      },
    };
    this.#readers.add(reader);
    return reader;
  }

  async head(): Promise<number> {
    // Asked each heartbeat (lag): no account-info request first, one request in all.
    const manager = await jetstreamManager(this.#nc, { checkAPI: false });
    return (await manager.streams.info(this.#stream)).state.last_seq;
  }

  async first(): Promise<number> {
    const manager = await jetstreamManager(this.#nc);
    const { state } = await manager.streams.info(this.#stream);
    // An empty stream reports first_seq as last_seq + 1 once entries were removed, 0 if never any.
    return Math.max(1, state.first_seq);
  }

  /**
   * The NATS connection now: `reconnecting` from its loss until NATS is back.
   *
   * @returns The state.
   */
  state(): BusState {
    return this.#nc.isClosed() ? "closed" : this.#state;
  }

  /**
   * What this node's NATS connection has carried since it opened, both ways: the per-node
   * cost of the bus (log entries, their acknowledgements, heartbeats).
   *
   * @returns Bytes and NATS messages received and sent.
   */
  traffic(): BusTraffic {
    const { inBytes, outBytes, inMsgs, outMsgs } = this.#nc.stats();
    return { inBytes, outBytes, inMsgs, outMsgs };
  }

  beat(beat: Heartbeat): void {
    if (!this.#nc.isClosed()) this.#nc.publish(this.#beats, encodeEvent(beat));
  }

  onBeat(listener: (beat: Heartbeat) => void): void {
    this.#nc.subscribe(this.#beats, {
      callback: (error, message) => {
        if (error) return;
        try {
          listener(decodeHeartbeat(message.data));
        } catch (problem) {
          log.warn("A heartbeat was dropped: {problem}", { problem });
        }
      },
    });
  }

  async close(): Promise<void> {
    for (const reader of [...this.#readers]) await reader.stop();
    this.#stopSweeping();
    for (const pending of this.#acks.values()) {
      pending.reject(
        new Error("The cluster's NATS connection was closed before the append was acknowledged"),
      );
    }
    this.#acks.clear();
    if (!this.#nc.isClosed()) await this.#nc.close();
  }
}
