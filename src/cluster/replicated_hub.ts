/**
 * One node of a cluster: today's hub, kept in step with every other node's by a shared log.
 * Nothing that changes shared state is done here directly: a user's command becomes an event
 * appended to the log ({@link Bus}), and every node — this one included — applies the log's
 * entries one at a time, in the log's order, to its own {@link ChatHub}. The hubs start equal
 * and apply the same changes in the same order, so they stay equal: the same members in the
 * same channels, the same holder of each nick (the first claim in the log wins, on every node
 * alike), the same order of messages. The user who asked is answered when its own event comes
 * back from the log and has been applied — with what applying it gave, which is what every
 * other node got too.
 *
 * Each node delivers only to its own users: users of other nodes are held as members without
 * devices whose deliveries are dropped, so a message crosses the bus once per node, never once
 * per recipient.
 *
 * Liveness: every node sends a heartbeat each second; a node not heard from for three seconds
 * is declared gone by whoever notices (`node-down`, whose id makes the log keep one however
 * many noticed), and on applying it every node quits that node's users.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { Channel, JoinRefusal } from "../chat/channel.ts";
import type { ChatEvent } from "../chat/chat_event.ts";
import type { ChannelError, ChatHub, SendError } from "../chat/hub.ts";
import { isDevice, type Member, memberOf, type Participant } from "../chat/member.ts";
import type { Bus, LogEntry, LogReader } from "./bus.ts";
import type { ClusterEvent, ConnectEvent } from "./cluster_event.ts";
import {
  type ChannelState,
  type ClusterSnapshot,
  decodeSnapshot,
  encodeSnapshot,
  type MemberRef,
} from "./cluster_snapshot.ts";
import { RemoteMember } from "./_remote_member.ts";

const log = getLogger(["shmooze", "cluster"]);

/** Options for a {@link ReplicatedHub}. */
export interface ReplicatedHubOptions {
  /**
   * This node's name. A random part is added, so that each run is a new node to the cluster:
   * a node restarted under the same name is not taken for the one declared gone, and its
   * event ids (msgids) never repeat the last run's. @default {the host's name and the pid}
   */
  node?: string;
  /** How often this node sends a heartbeat, ms. @default {1000} */
  beatMs?: number;
  /** How long a node may stay silent before it is declared gone, ms. @default {3000} */
  silenceMs?: number;
  /**
   * How often the cluster's snapshot is written (by whichever node finds it due first), ms:
   * far more often than the log's retention removes entries, so that a new node always finds
   * one to start from. 0: this node never writes one. @default {300000}
   */
  snapshotEveryMs?: number;
}

/** What a replicated call gives: what applying its event gave, or `unavailable`. */
export type Replicated<T> = T | "unavailable";

/** An event of this node waiting to come back from the log. */
interface Pending {
  /** The node name it was published under. */
  node: string;
  participant: Participant;
  resolve: (result: unknown) => void;
  /** A connect's: called as the member is added. */
  added?: () => void;
}

/** What this node knows of another: when it was last heard from, and its users. */
interface Peer {
  heardAt: number;
  /** The last log sequence it said it applied. */
  applied: number;
  members: Set<RemoteMember>;
}

/** A node's view of the cluster, for status pages and metrics. */
export interface ClusterNodeStats {
  /** This node's name. */
  node: string;
  /** The last log sequence this node applied. */
  applied: number;
  /**
   * How far behind the furthest node it has heard of it is, in log entries (0: level with the
   * others, or alone).
   */
  lag: number;
  /** Log entries refused as invalid since start. */
  refused: number;
  /** Users connected to this node. */
  localUsers: number;
  /** The other nodes with users: their names, users, last applied sequence, ms since heard. */
  peers: { node: string; users: number; applied: number; silentMs: number }[];
}

let nodeCounter = 0;

/** A name with a new random part: one run (incarnation) of a node. */
function incarnation(name: string): string {
  return `${name}-${crypto.getRandomValues(new Uint32Array(1))[0].toString(36)}`;
}

/**
 * A hub replicated through a shared log.
 *
 * @example Two nodes on one log agree on who holds a nick (needs `nats-server -js` on 4222)
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { ChatHub } from "../chat/hub.ts";
 * import { JetStreamBus } from "./jetstream_bus.ts";
 * import { ReplicatedHub } from "./replicated_hub.ts";
 *
 * const url = "nats://127.0.0.1:4222";
 * const a = new ReplicatedHub(new ChatHub(), await JetStreamBus.open(url));
 * const b = new ReplicatedHub(new ChatHub(), await JetStreamBus.open(url));
 * await Promise.all([a.start(), b.start()]);
 * const member = (nick: string) => ({
 *   nick, user: nick, host: "h", realname: nick, transport: "tcp",
 *   channels: new Set<string>(), echo: false, deliver() {}, disconnect() {},
 * });
 * const [ann, ann2] = await Promise.all([a.connect(member("ann")), b.connect(member("ann"))]);
 * assert.ok(ann !== ann2, "one of the two claims wins, on both nodes");
 * await Promise.all([a.close(), b.close()]);
 * ```
 */
export class ReplicatedHub {
  /** The hub this node applies the log to. */
  readonly hub: ChatHub;
  /** The name this node was given, before its random part. */
  readonly #name: string;
  #node: string;
  /** The sequence of the last log entry applied. */
  applied = 0;
  /** Log entries refused because their bytes were no valid event (the same on every node). */
  refused = 0;
  readonly #bus: Bus;
  readonly #beatMs: number;
  readonly #silenceMs: number;
  /** This node's users by connection name, from their `connect` until their `quit`. */
  readonly #local = new Map<string, Member>();
  readonly #conns = new Map<Member, string>();
  /** Other nodes' users by `node/conn`. */
  readonly #remote = new Map<string, RemoteMember>();
  readonly #peers = new Map<string, Peer>();
  /** Nodes declared gone: what they append later is ignored. */
  readonly #down = new Set<string>();
  /** Nodes this node has declared gone, until the declaration is applied. */
  readonly #declared = new Set<string>();
  readonly #pending = new Map<string, Pending>();
  /** Entries up to here were in the log before this node started: their messages are past. */
  #startHead = 0;
  #startedAt = Date.now();
  /** When this node last heard its own heartbeat come back through NATS. */
  #selfHeardAt = 0;
  /** Since when it has heard itself again after a gap (NATS away, or this node stalled). */
  #hearingSince = 0;
  #reader: LogReader | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #nextConn = 0;
  #nextId = 0;
  #closed = false;
  readonly #waiters: { seq: number; resolve: () => void }[] = [];
  readonly #snapshotEveryMs: number;
  /** When this node next looks whether the snapshot is due. */
  #snapshotDue = 0;
  #snapshotting = false;
  readonly #failed = Promise.withResolvers<Error>();
  /** Why this node cannot go on, once it cannot: it applies nothing more. */
  #failure: Error | undefined;

  /**
   * Makes a node for `hub` on a cluster's bus; {@link ReplicatedHub.start} brings it in. Users
   * may connect before that: their events are applied after what the log already held.
   *
   * @param hub A new hub, which this node alone changes from now on.
   * @param bus The cluster's bus; closed by {@link ReplicatedHub.close}.
   * @param options This node's name and liveness timing.
   */
  constructor(hub: ChatHub, bus: Bus, options: ReplicatedHubOptions = {}) {
    this.hub = hub;
    this.#bus = bus;
    this.#name = options.node ?? `${Deno.hostname()}-${Deno.pid}-${++nodeCounter}`;
    this.#node = incarnation(this.#name);
    this.#beatMs = options.beatMs ?? 1000;
    this.#silenceMs = options.silenceMs ?? 3000;
    this.#snapshotEveryMs = options.snapshotEveryMs ?? 300_000;
    // Nodes started together do not all find the snapshot due at the same beat.
    this.#snapshotDue = Date.now() + this.#snapshotEveryMs * Math.random() / 10;
  }

  /**
   * Resolves when this node cannot go on with a state it knows to be right — entries it had not
   * applied were removed from the log (it fell behind the log's retention) — and has stopped
   * applying; the server should stop. Never resolves otherwise.
   *
   * @returns Why.
   */
  get failed(): Promise<Error> {
    return this.#failed.promise;
  }

  /**
   * This node's name in the cluster: the name it was given and a random part, new for each run
   * (and each time the cluster declared it gone while it was alive).
   *
   * @returns The name.
   */
  get node(): string {
    return this.#node;
  }

  /**
   * Joins the cluster: loads the cluster's snapshot and reads the log after it (or the whole
   * log, when it still holds its first entry and there is no snapshot) into the hub (the state
   * they describe; messages from before this start are history, not shown again), then follows
   * the log, sends heartbeats, and writes the snapshot when it is due.
   *
   * @returns Resolves once this node has applied everything the log held when it started.
   * @throws When the log no longer holds entries this node needs and no usable snapshot
   *   covers them: it never runs with a state it knows to be wrong.
   */
  async start(): Promise<void> {
    this.#bus.onBeat((beat) => {
      const now = Date.now();
      if (beat.node === this.#node) {
        if (now - this.#selfHeardAt > this.#silenceMs) this.#hearingSince = now;
        this.#selfHeardAt = now;
        return;
      }
      const peer = this.#peers.get(beat.node);
      if (peer === undefined) return;
      peer.heardAt = now;
      peer.applied = beat.applied;
    });
    const from = await this.#load();
    this.#startHead = await this.#bus.head();
    const caughtUp = this.#appliedUpTo(this.#startHead);
    this.#reader = await this.#bus.read(from, (entry) => this.#apply(entry));
    const failed = await Promise.race([caughtUp, this.#failed.promise]);
    if (failed !== undefined) {
      await this.#reader.stop();
      throw failed;
    }
    this.#startedAt = Date.now();
    this.#timer = setInterval(() => this.#tick(), this.#beatMs);
    this.#tick();
  }

  /**
   * Registers a user of this node: it claims its nick in the log.
   *
   * @param member The user.
   * @param added Called as it is added, in the same turn (a session registers and attaches
   *   its device there, so it misses nothing between the two).
   * @returns True when it was added (on every node); false when the nick (or its account) was
   *   taken first; `unavailable` when the log could not be reached.
   */
  async connect(member: Member, added?: () => void): Promise<Replicated<boolean>> {
    const conn = (++this.#nextConn).toString(36);
    this.#local.set(conn, member);
    this.#conns.set(member, conn);
    const event: ConnectEvent = {
      ...this.#origin(conn),
      kind: "connect",
      nick: member.nick,
      user: member.user,
      host: member.host,
      realname: member.realname,
      ...(member.account === undefined ? {} : { account: member.account }),
      time: member.connectedAt ?? Date.now(),
    };
    const result = await this.#publish(event, member, added);
    if (result === "unavailable") {
      // It may be in the log all the same: a quit makes sure no node keeps it.
      this.#forget(member);
      void this.#bus.append({ ...this.#origin(conn), kind: "quit", reason: "Not registered" })
        .catch(() => {});
    }
    return result as Replicated<boolean>;
  }

  /**
   * Renames a user of this node (see `ChatHub.changeNick`).
   *
   * @param participant The user, or the device that asked.
   * @param nick The new nick.
   * @returns False when it was taken first; `unavailable` when the log could not be reached.
   */
  async changeNick(participant: Participant, nick: string): Promise<Replicated<boolean>> {
    const conn = this.#connOf(participant);
    if (conn === undefined) return false;
    return await this.#publish(
      { ...this.#origin(conn), kind: "nick", nick },
      participant,
    ) as Replicated<boolean>;
  }

  /**
   * Puts a user of this node in a channel (see `ChatHub.join`).
   *
   * @param participant The user, or the device that asked.
   * @param name The channel.
   * @param key The key it gave. @default {""}
   * @returns What `ChatHub.join` gave on applying it, or `unavailable`.
   */
  async join(
    participant: Participant,
    name: string,
    key = "",
  ): Promise<Channel | JoinRefusal | undefined> {
    const conn = this.#connOf(participant);
    if (conn === undefined) return "unavailable";
    return await this.#publish(
      { ...this.#origin(conn), kind: "join", channel: name, key },
      participant,
    ) as Channel | JoinRefusal | undefined;
  }

  /**
   * Takes a user of this node out of a channel (see `ChatHub.part`).
   *
   * @param participant The user, or the device that asked.
   * @param name The channel.
   * @param reason The part message.
   * @returns What `ChatHub.part` gave on applying it, or `unavailable`.
   */
  async part(participant: Participant, name: string, reason: string): Promise<Replicated<boolean>> {
    const conn = this.#connOf(participant);
    if (conn === undefined) return false;
    return await this.#publish(
      { ...this.#origin(conn), kind: "part", channel: name, reason },
      participant,
    ) as Replicated<boolean>;
  }

  /**
   * Sets a channel's topic as a user of this node (see `ChatHub.setTopic`); every node shows
   * the same setter and time.
   *
   * @param participant The user, or the device that asked.
   * @param name The channel.
   * @param topic The new topic ("" clears it).
   * @returns Why it was refused on applying it, `unavailable`, or undefined when it was set.
   */
  async setTopic(
    participant: Participant,
    name: string,
    topic: string,
  ): Promise<ChannelError | undefined> {
    const conn = this.#connOf(participant);
    if (conn === undefined) return "not-on-channel";
    return await this.#publish(
      { ...this.#origin(conn), kind: "topic", channel: name, topic, time: Date.now() },
      participant,
    ) as ChannelError | undefined;
  }

  /**
   * A user of this node quits (its connection closed): every node removes it.
   *
   * @param participant The user, or its device that closed.
   * @param reason The quit message.
   * @returns Resolves once applied (at once when it was not registered in the cluster).
   */
  async quit(participant: Participant, reason: string): Promise<void> {
    const conn = this.#connOf(participant);
    if (conn === undefined || this.#closed) return;
    const result = await this.#publish(
      { ...this.#origin(conn), kind: "quit", reason },
      participant,
    );
    // The log could not take it: this node removes the user now; the others will when they
    // declare this node gone, or apply the quit if it did get in.
    if (result === "unavailable") this.#remove(memberOf(participant), participant, reason);
  }

  /**
   * Sends a message from a user of this node (see `ChatHub.send`; `tagmsg` as `ChatHub.tag`).
   * Its log entry's id is its msgid on every node.
   *
   * @param participant The sender: the user, or its device that sent it.
   * @param command `privmsg`, `notice` or `tagmsg`.
   * @param target A channel or a nick.
   * @param text The text ("" for a TAGMSG).
   * @param clientTags Client-only tags.
   * @returns What applying it gave (the event, or why not), or `unavailable`.
   */
  async send(
    participant: Participant,
    command: "privmsg" | "notice" | "tagmsg",
    target: string,
    text: string,
    clientTags?: Record<string, string>,
  ): Promise<ChatEvent | SendError> {
    const conn = this.#connOf(participant);
    if (conn === undefined) return "unavailable";
    const result = await this.#publish({
      ...this.#origin(conn),
      kind: "message",
      command,
      target,
      text,
      time: Date.now(),
      ...(clientTags === undefined ? {} : { tags: clientTags }),
    }, participant);
    return result as ChatEvent | SendError;
  }

  /**
   * This node's view of the cluster now.
   *
   * @returns Its sequence, lag, refusals, users, and the other nodes with users.
   */
  stats(): ClusterNodeStats {
    const now = Date.now();
    const peers = [...this.#peers].map(([node, peer]) => ({
      node,
      users: peer.members.size,
      applied: peer.applied,
      silentMs: now - peer.heardAt,
    }));
    const furthest = Math.max(this.applied, ...peers.map((peer) => peer.applied));
    return {
      node: this.#node,
      applied: this.applied,
      lag: furthest - this.applied,
      refused: this.refused,
      localUsers: this.#local.size,
      peers,
    };
  }

  /**
   * Leaves the cluster: this node's users quit on every node (a `node-down` for itself), then
   * reading stops and the bus is closed.
   *
   * @returns Resolves when done.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    const seq = await this.#bus.append({
      v: 1,
      id: `down:${this.#node}`,
      node: this.#node,
      conn: "",
      kind: "node-down",
      reason: "Server shutting down",
    }).catch((error) => log.warn("Could not announce this node's end: {error}", { error }));
    // The last node to stop leaves a snapshot that holds its own end: a cluster stopped for
    // longer than the log's retention can start again from it.
    if (seq !== undefined && this.#reader !== undefined && this.#snapshotEveryMs > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        this.#appliedUpTo(seq),
        new Promise((resolve) => timer = setTimeout(resolve, 2000)),
      ]);
      clearTimeout(timer);
      if (this.applied >= seq) {
        await this.writeSnapshot().catch((error) =>
          log.warn("Could not write the snapshot: {error}", { error })
        );
      }
    }
    await this.#reader?.stop();
    await this.#bus.close();
    for (const { resolve } of this.#pending.values()) resolve("unavailable");
    this.#pending.clear();
  }

  /**
   * Writes the cluster's snapshot now: this node's state at the last entry it applied (unless
   * a snapshot at that entry or a later one is stored already).
   *
   * @returns Whether it was written; false too when the bus keeps no snapshots.
   */
  async writeSnapshot(): Promise<boolean> {
    const store = this.#bus.snapshots;
    if (store === undefined || this.#failure !== undefined || this.applied === 0) return false;
    // Taken in one turn, between two entries: the state at exactly `applied`.
    const snapshot = this.#snapshot();
    return await store.save(snapshot.seq, encodeSnapshot(snapshot));
  }

  /**
   * The state as the snapshot's contract says (`cluster_snapshot.ts`): events that, applied to
   * an empty hub through `#change`, give this hub's state. **An event kind that changes
   * lasting state adds here the events that set it** (as `connect` carries a user's nick,
   * mask and account, and each `join` a membership); a channel's settings and its members'
   * modes ride in its `ChannelState`.
   */
  #snapshot(): ClusterSnapshot {
    const events: ClusterEvent[] = [];
    const refs = new Map<Member, MemberRef>();
    const origin = (ref: MemberRef) => ({ v: 1 as const, id: "snapshot", ...ref });
    // Gone nodes first: what they appended after their node-down is ignored by every node.
    for (const node of this.#down) {
      events.push({ ...origin({ node, conn: "" }), kind: "node-down", reason: "" });
    }
    for (const member of this.hub.members.values()) {
      const conn = this.#conns.get(member);
      const ref = member instanceof RemoteMember
        ? { node: member.node, conn: member.conn }
        : conn === undefined
        ? undefined
        : { node: this.#node, conn };
      // Services and whatever else no node connected are not the cluster's to restore.
      if (ref === undefined) continue;
      refs.set(member, ref);
      events.push({
        ...origin(ref),
        kind: "connect",
        nick: member.nick,
        user: member.user,
        host: member.host,
        realname: member.realname,
        ...(member.account === undefined ? {} : { account: member.account }),
        time: member.connectedAt ?? 0,
      });
    }
    const channels: ChannelState[] = [];
    for (const channel of this.hub.channels.values()) {
      const members = [...channel.members].filter((member) => refs.has(member));
      if (members.length === 0) continue;
      for (const member of members) {
        events.push({ ...origin(refs.get(member)!), kind: "join", channel: channel.name, key: "" });
      }
      const pick = (set: Set<Member>) =>
        [...set].filter((member) => refs.has(member)).map((member) => refs.get(member)!);
      channels.push({
        channel: channel.name,
        settings: channel.settings,
        operators: pick(channel.operators),
        voiced: pick(channel.voiced),
      });
    }
    return { seq: this.applied, time: Date.now(), events, channels };
  }

  /**
   * Where this node starts reading the log: after the cluster's snapshot, loaded into the hub,
   * when there is a usable one; else at 1 when the log still holds its first entry.
   */
  async #load(): Promise<number> {
    const first = await this.#bus.first?.() ?? 1;
    let problem = "the cluster has no snapshot";
    let snapshot: ClusterSnapshot | undefined;
    try {
      const stored = await this.#bus.snapshots?.load();
      if (stored !== undefined) {
        snapshot = decodeSnapshot(stored.bytes);
        if (snapshot.seq !== stored.seq) {
          throw new TypeError(`it says entry ${snapshot.seq}, its store ${stored.seq}`);
        }
        const head = await this.#bus.head();
        if (snapshot.seq > head) {
          throw new TypeError(`it is at entry ${snapshot.seq}, past the log's last, ${head}`);
        }
        if (snapshot.seq + 1 < first) {
          problem = `the newest snapshot is at entry ${snapshot.seq}, older than that`;
          snapshot = undefined;
        }
      }
    } catch (error) {
      problem = `the cluster's snapshot was refused: ${(error as Error).message}`;
      snapshot = undefined;
    }
    if (snapshot !== undefined) {
      this.#restore(snapshot);
      log.info("Node {node} loaded the snapshot at entry {seq}", {
        node: this.#node,
        seq: snapshot.seq,
      });
      return snapshot.seq + 1;
    }
    if (first <= 1) {
      if (problem !== "the cluster has no snapshot") {
        log.warn("{problem}; reading the log from entry 1", { problem });
      }
      return 1;
    }
    throw new Error(
      `Cannot start cluster node ${this.#name}: the log starts at entry ${first} (its retention removed the older ones) and ${problem}`,
    );
  }

  /** Applies a snapshot to the hub, as history: the state it holds at its `seq`. */
  #restore(snapshot: ClusterSnapshot): void {
    for (const event of snapshot.events) {
      try {
        this.#change(0, event, undefined, undefined);
      } catch (error) {
        // As for a log entry: a bug, the same on every node that loads this snapshot.
        log.error("A snapshot event could not be applied: {error}", { error });
      }
    }
    for (const state of snapshot.channels) {
      const channel = this.hub.channel(state.channel);
      if (channel === undefined) continue;
      const member = (ref: MemberRef) => this.#remote.get(`${ref.node}/${ref.conn}`);
      channel.settings = state.settings;
      for (
        const [set, refs] of [[channel.operators, state.operators], [
          channel.voiced,
          state.voiced,
        ]] as const
      ) {
        set.clear();
        for (const ref of refs) {
          const found = member(ref);
          if (found !== undefined && channel.members.has(found)) set.add(found);
        }
      }
    }
    this.applied = snapshot.seq;
  }

  /** Stops applying for good: this node's state can no longer be right. */
  #fail(error: Error): void {
    if (this.#failure !== undefined) return;
    this.#failure = error;
    log.error("{error}", { error });
    for (const { resolve } of this.#pending.values()) resolve("unavailable");
    this.#pending.clear();
    this.#failed.resolve(error);
  }

  /** The fields of a new event of this node about `conn`. */
  #origin(conn: string) {
    return {
      v: 1 as const,
      id: `${this.#node}-${(++this.#nextId).toString(36)}`,
      node: this.#node,
      conn,
    };
  }

  #connOf(participant: Participant): string | undefined {
    return this.#conns.get(memberOf(participant));
  }

  /** Appends an event and waits until it has been applied here; `unavailable` if not taken. */
  async #publish(
    event: ClusterEvent,
    participant: Participant,
    added?: () => void,
  ): Promise<unknown> {
    if (this.#closed) return "unavailable";
    const applied = Promise.withResolvers<unknown>();
    this.#pending.set(event.id, {
      node: event.node,
      participant,
      resolve: applied.resolve,
      added,
    });
    const since = Date.now();
    try {
      await this.#bus.append(event);
    } catch (error) {
      // Its acknowledgement may be what was lost, not the entry: the command stays pending
      // until the log says whether it holds it, so that its user is told what every node did.
      let seq: number | undefined;
      try {
        seq = await this.#bus.confirm?.(event, since);
      } catch (unknown) {
        log.warn("Whether the log took {kind} {id} is unknown: {unknown}", {
          kind: event.kind,
          id: event.id,
          unknown,
        });
      }
      if (seq === undefined && this.#pending.get(event.id)?.resolve === applied.resolve) {
        log.warn("The log did not take {kind} {id}: {error}", {
          kind: event.kind,
          id: event.id,
          error,
        });
        this.#pending.delete(event.id);
        return "unavailable";
      }
    }
    return await applied.promise;
  }

  /** Resolves once the entry `seq` has been applied. */
  #appliedUpTo(seq: number): Promise<void> {
    if (this.applied >= seq) return Promise.resolve();
    const waiter = Promise.withResolvers<void>();
    this.#waiters.push({ seq, resolve: waiter.resolve });
    return waiter.promise;
  }

  /** Applies one log entry to the hub; called in the log's order, one at a time. */
  #apply(entry: LogEntry): void {
    // A reader that started again may hand over an entry twice; applying is once.
    if (entry.seq <= this.applied || this.#failure !== undefined) return;
    if (entry.seq > this.applied + 1) {
      this.#fail(
        new Error(
          `Cluster node ${this.#node} cannot go on: log entries ${this.applied + 1} to ${
            entry.seq - 1
          } were removed (the log's retention) before it applied them`,
        ),
      );
      return;
    }
    this.applied = entry.seq;
    if (entry.error !== undefined) {
      this.refused++;
      log.warn("Log entry {seq} was refused: {error}", { seq: entry.seq, error: entry.error });
    } else {
      let pending = this.#pending.get(entry.event.id);
      if (pending?.node !== entry.event.node) pending = undefined;
      else this.#pending.delete(entry.event.id);
      let result: unknown;
      try {
        result = this.#change(entry.seq, entry.event, pending?.participant, pending?.added);
      } catch (error) {
        // A bug, the same on every node: the entry changes nothing, the node goes on.
        log.error("Log entry {seq} could not be applied: {error}", { seq: entry.seq, error });
        result = "unavailable";
      }
      pending?.resolve(result);
    }
    while (this.#waiters.length > 0 && this.#waiters[0].seq <= this.applied) {
      this.#waiters.shift()!.resolve();
    }
  }

  /** The change one event makes, and what it gave (for the user who asked). */
  #change(
    seq: number,
    event: ClusterEvent,
    asked: Participant | undefined,
    added: (() => void) | undefined,
  ): unknown {
    if (this.#down.has(event.node)) return "unavailable";
    if (event.kind === "node-down") return this.#nodeDown(event.node, event.reason);
    if (event.kind === "connect") return this.#connect(event, added);
    const participant = asked ?? this.#participant(event.node, event.conn);
    if (participant === undefined) return "unavailable";
    switch (event.kind) {
      case "nick":
        return this.hub.changeNick(participant, event.nick);
      case "join":
        return this.hub.join(participant, event.channel, event.key);
      case "part":
        return this.hub.part(participant, event.channel, event.reason);
      case "topic": {
        const channel = this.hub.channel(event.channel);
        if (channel === undefined) return "no-such-channel";
        return this.hub.setTopic(participant, channel, event.topic, event.time);
      }
      case "quit":
        return this.#remove(memberOf(participant), participant, event.reason);
      case "message": {
        // A message from before this node started is history: nobody here was there to see it.
        if (seq <= this.#startHead) return "unavailable";
        const stamp = { msgid: event.id, time: event.time };
        return event.command === "tagmsg"
          ? this.hub.tag(participant, event.target, event.tags ?? {}, stamp)
          : this.hub.send(participant, event.command, event.target, event.text, event.tags, stamp);
      }
    }
  }

  /** Who acts in an event of a node: this node's user, or another node's. */
  #participant(node: string, conn: string): Participant | undefined {
    return node === this.#node ? this.#local.get(conn) : this.#remote.get(`${node}/${conn}`);
  }

  #connect(event: ConnectEvent, onAdded: (() => void) | undefined): boolean {
    if (event.node === this.#node) {
      const member = this.#local.get(event.conn);
      if (member === undefined) return false;
      const added = this.hub.add(member);
      if (!added) this.#forget(member);
      else onAdded?.();
      return added;
    }
    const member = new RemoteMember(event);
    if (!this.hub.add(member)) return false;
    this.#remote.set(`${event.node}/${event.conn}`, member);
    let peer = this.#peers.get(event.node);
    if (peer === undefined) {
      peer = { heardAt: Date.now(), applied: 0, members: new Set() };
      this.#peers.set(event.node, peer);
    }
    peer.members.add(member);
    return true;
  }

  /** Removes a user from the hub (its QUIT shown) and from this node's books. */
  #remove(member: Member, participant: Participant, reason: string): void {
    if (member instanceof RemoteMember) {
      this.#remote.delete(`${member.node}/${member.conn}`);
      this.#peers.get(member.node)?.members.delete(member);
      this.hub.remove(member, reason);
      return;
    }
    this.#forget(member);
    if (isDevice(participant)) this.hub.detach(participant, reason);
    else this.hub.remove(member, reason);
  }

  #forget(member: Member): void {
    const conn = this.#conns.get(member);
    if (conn === undefined) return;
    this.#conns.delete(member);
    this.#local.delete(conn);
  }

  /**
   * A node is gone: its users quit. If it is this one — declared gone while alive (stalled, or
   * cut off from NATS) — its users are told to reconnect, and it goes on as a new node: the
   * old name's events are ignored everywhere from now on.
   */
  #nodeDown(node: string, reason: string): void {
    this.#down.add(node);
    this.#declared.delete(node);
    if (node === this.#node) {
      for (const member of [...this.#local.values()]) {
        this.#forget(member);
        this.hub.remove(member, reason);
        member.disconnect(reason);
      }
      if (!this.#closed) this.#node = incarnation(this.#name);
      return;
    }
    const peer = this.#peers.get(node);
    this.#peers.delete(node);
    for (const member of peer?.members ?? []) {
      this.#remote.delete(`${member.node}/${member.conn}`);
      this.hub.remove(member, reason);
    }
  }

  /**
   * Writes the snapshot if nobody did for a period. Every node looks; the first to find it due
   * writes it, and a race between two is settled by the store (one compare-and-set wins).
   */
  #snapshotIfDue(now: number): void {
    if (this.#snapshotEveryMs <= 0 || this.#snapshotting || this.#bus.snapshots === undefined) {
      return;
    }
    this.#snapshotting = true;
    this.#snapshotDue = now + this.#snapshotEveryMs;
    void (async () => {
      const newest = await this.#bus.snapshots!.newest();
      if (newest !== undefined && now - newest.time < this.#snapshotEveryMs) {
        this.#snapshotDue = newest.time + this.#snapshotEveryMs +
          this.#snapshotEveryMs * Math.random() / 10;
        return;
      }
      if (await this.writeSnapshot()) {
        log.info("Node {node} wrote the snapshot at entry {seq}", {
          node: this.#node,
          seq: this.applied,
        });
      }
    })().catch((error) => log.warn("Could not write the snapshot: {error}", { error }))
      .finally(() => this.#snapshotting = false);
  }

  /**
   * Each beat: a heartbeat out, and a check for nodes gone silent. A node that does not hear
   * its own heartbeats is the one cut off (NATS is away, or this node stalled): it declares
   * nobody gone, and once it hears itself again every other node gets a full silence period to
   * be heard, so an outage of NATS quits nobody.
   */
  #tick(): void {
    if (this.#closed) return;
    this.#bus.beat({ v: 1, node: this.#node, applied: this.applied, clients: this.#local.size });
    const now = Date.now();
    if (now - this.#selfHeardAt > 2 * this.#beatMs) return;
    if (now >= this.#snapshotDue) this.#snapshotIfDue(now);
    const since = Math.max(this.#startedAt, this.#hearingSince);
    for (const [node, peer] of this.#peers) {
      if (this.#declared.has(node) || peer.members.size === 0) continue;
      if (now - Math.max(peer.heardAt, since) <= this.#silenceMs) continue;
      log.warn("Node {node} has not been heard from for {ms} ms: declaring it gone", {
        node,
        ms: now - peer.heardAt,
      });
      this.#declared.add(node);
      void this.#bus.append({
        v: 1,
        id: `down:${node}`,
        node,
        conn: "",
        kind: "node-down",
        reason: `Node ${node} stopped responding`,
      }).catch((error) => {
        // Someone has to say it: try again at the next beat.
        this.#declared.delete(node);
        log.warn("Could not declare {node} gone: {error}", { node, error });
      });
    }
  }
}
