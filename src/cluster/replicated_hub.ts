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
import type { ModeChange, ModePlan } from "../chat/channel_modes.ts";
import { ChanServ } from "../chat/chanserv.ts";
import { NickServ, NICKSERV_NICK } from "../chat/nickserv.ts";
import type { ChatEvent } from "../chat/chat_event.ts";
import type { AccountStore } from "../chat/accounts.ts";
import type { ChannelStore } from "../chat/channel_store.ts";
import { DETACHED_AWAY } from "../chat/presence.ts";
import { foldCase } from "../chat/casemap.ts";
import type { HistoryOwner, Redaction } from "../chat/history.ts";
import { createEvent } from "../chat/chat_event.ts";
import {
  type ChannelError,
  CHANSERV_NICK,
  type ChatHub,
  type MessageStamp,
  type RedactError,
  type SendError,
} from "../chat/hub.ts";
import {
  type Device,
  isDevice,
  maskOf,
  type Member,
  memberOf,
  type Participant,
} from "../chat/member.ts";
import { banMask, banMatcher, type ServerBan } from "../chat/server_bans.ts";
import {
  type Actor,
  actorName,
  banLength,
  type BanRequest,
  parseBanRequest,
  type ServerModeration,
} from "../chat/server_moderation.ts";
import type { Bus, BusState, BusTraffic, LogEntry, LogReader } from "./bus.ts";
import {
  type AttachEvent,
  carriedTime,
  type ClusterEvent,
  type ConnectEvent,
  decodeEvent,
  encodeEvent,
  type EventOrigin,
  type GapEvent,
  type Heartbeat,
  type InviteEvent,
  type KickEvent,
  type KillEvent,
  type KlineEvent,
  type KlineNickEvent,
  type MessageEvent,
  type ModeEvent,
  type RedactEvent,
  type ServiceEvent,
  type StateEvent,
  type UnklineEvent,
  type UserStateEvent,
  type WallopsEvent,
} from "./cluster_event.ts";
import {
  type ChannelState,
  type ClusterSnapshot,
  decodeSnapshot,
  encodeSnapshot,
  type MemberRef,
  type UserState,
} from "./cluster_snapshot.ts";
import { RemoteMember } from "./_remote_member.ts";

const log = getLogger(["shmooze", "cluster"]);

/** A target or msgid a `redact` entry can carry (see `cluster_event.ts`): one word, bounded. */
const ENTRY_WORD = /^[^\s,\0]{1,400}$/;

/** Options for a {@link ReplicatedHub}. */
export interface ReplicatedHubOptions {
  /**
   * This node's name. A random part is added, so that each run is a new node to the cluster:
   * a node restarted under the same name is not taken for the one declared gone, and its
   * event ids (msgids) never repeat the last run's. @default {the host's name and the pid}
   */
  node?: string;
  /** The cluster's name, for status pages. @default {"shmooze"} */
  cluster?: string;
  /** How often this node sends a heartbeat, ms. @default {1000} */
  beatMs?: number;
  /** How long a node may stay silent before it is declared gone, ms. @default {3000} */
  silenceMs?: number;
  /**
   * This node's account store, which applying the log's account events writes (registrations,
   * session tokens); none: this node keeps no accounts and skips them.
   */
  accounts?: AccountStore;
  /**
   * This node's ChanServ store, which applying the log writes: a snapshot carries its
   * registered channels, and loading one writes them here.
   */
  channels?: ChannelStore;
  /**
   * Called with every message entry of the log (those from before this node started included),
   * its sequence and its sender, just before it is applied: the history archiver's feed. Must
   * not block; what it throws is logged.
   */
  onMessage?: (seq: number, event: MessageEvent, sender: Member) => void;
  /**
   * Called with every deletion this node applied (those from before it started included): its
   * sequence, the msgid deleted, that message's time and the deletion as stored — the
   * archiver's feed of deletions. Must not block; what it throws is logged.
   */
  onRedact?: (seq: number, msgid: string, time: number, redaction: Redaction) => void;
  /**
   * How often the cluster's snapshot is written (by whichever node finds it due first), ms:
   * far more often than the log's retention removes entries, so that a new node always finds
   * one to start from. 0: this node never writes one. @default {300000}
   */
  snapshotEveryMs?: number;
  /**
   * Whether a snapshot may be written now. A node started from a snapshot is not given the log's
   * entries before it, so whatever is fed from the log (the history archiver) must have stored
   * all it was given first: while it has not (PostgreSQL away), no snapshot is written and a node
   * that starts reads those entries again. @default {() => true}
   */
  snapshotReady?: () => boolean;
}

/**
 * A `KLINE` on the address of the user who holds a nick on another node (see
 * {@link ReplicatedHub.banRequest}): that node, which knows the address, makes the mask.
 */
export interface NickBanRequest {
  /** The nick. */
  nick: string;
  /** How long, ms; 0 for no expiry. */
  durationMs: number;
  /** Why. */
  reason: string;
}

/**
 * How long an operator waits for the ban a `kline-nick` asked another node to append (that
 * node's append is retried for 5 s) before it is told the cluster could not be reached.
 */
const RESOLVE_MS = 10_000;

/** What a replicated call gives: what applying its event gave, or `unavailable`. */
export type Replicated<T> = T | "unavailable";

/** An event of this node waiting to come back from the log. */
interface Pending {
  /** The node name it was published under. */
  node: string;
  /** Who asked; none for the operator console, or for an account event of a client not registered yet. */
  participant?: Participant;
  resolve: (result: unknown) => void;
  /** A connect's: called as the member is added. */
  added?: () => void;
  /** Called with the result as the event is applied, in the same turn. */
  applied?: (result: unknown) => void;
}

/** What this node knows of another: when it was last heard from, and its users' devices. */
interface Peer {
  heardAt: number;
  /** The last log sequence it said it applied. */
  applied: number;
  /** The user of each of its connections (devices), by connection name. */
  members: Map<string, Member>;
}

/** A node's view of the cluster, for status pages and metrics. */
export interface ClusterNodeStats {
  /** The cluster's name. */
  cluster: string;
  /** This node's name. */
  node: string;
  /** When this node started, ms since the epoch. */
  startedAt: number;
  /** The last log sequence this node applied. */
  applied: number;
  /** The log's last sequence, as this node last asked the log (each heartbeat). */
  head: number;
  /** How far behind the log's last sequence this node is, in entries (0: caught up). */
  lag: number;
  /** Its bus's link (none: the bus does not tell). */
  bus?: BusState;
  /** What its bus carried since it opened (none: the bus does not tell). */
  traffic?: BusTraffic;
  /** Log entries refused as invalid since start. */
  refused: number;
  /** Users connected to this node. */
  localUsers: number;
  /**
   * The other nodes: those with users, and those without heard within the silence period —
   * their names, users, last applied sequence (0: not heard yet), ms since heard.
   */
  peers: { node: string; users: number; applied: number; silentMs: number }[];
}

let nodeCounter = 0;

/** The user-state events that write the account store. */
type AccountEvent = Extract<
  UserStateEvent,
  { kind: "account-register" | "token-issue" | "token-revoke" | "read-marker" }
>;

/** `Omit` applied to each member of a union. */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** The node and connection of a `node/conn` key. */
/**
 * The node a snapshot names for what no node holds: accounts, tokens and markers, and always-on
 * users with no device (a real node's name always ends in its run's random part).
 */
const SNAPSHOT_NODE = "snapshot";

function memberRef(key: string): MemberRef {
  const slash = key.lastIndexOf("/");
  return { node: key.slice(0, slash), conn: key.slice(slash + 1) };
}

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
  readonly #cluster: string;
  #node: string;
  /** The sequence of the last log entry applied. */
  applied = 0;
  /** Log entries refused because their bytes were no valid event (the same on every node). */
  refused = 0;
  readonly #bus: Bus;
  readonly #beatMs: number;
  readonly #silenceMs: number;
  readonly #accounts: AccountStore | undefined;
  readonly #channelStore: ChannelStore | undefined;
  readonly #onMessage: ReplicatedHubOptions["onMessage"];
  readonly #onRedact: ReplicatedHubOptions["onRedact"];
  /**
   * The user of each of this node's connections (devices), by connection name, from their
   * `connect` or `attach` until their `quit`.
   */
  readonly #local = new Map<string, Member>();
  /** The connection name of each of this node's devices (or of a user without devices). */
  readonly #conns = new Map<Participant, string>();
  /** This node's devices by connection name. */
  readonly #devices = new Map<string, Device>();
  /** The user of each of the other nodes' connections, by `node/conn`. */
  readonly #remote = new Map<string, Member>();
  /**
   * Every user's connections on every node (`node/conn`): it quits when the last one leaves,
   * unless it is always-on (then it stays, with none).
   */
  readonly #homes = new Map<Member, Set<string>>();
  /** The accounts (folded) the log registered so far: its first entry of a name wins. */
  readonly #registered = new Set<string>();
  readonly #peers = new Map<string, Peer>();
  /** Every other node's last heartbeat, and when it came: the nodes without users too. */
  readonly #heard = new Map<string, { at: number; beat: Heartbeat }>();
  /** The log's last sequence, as last asked (each beat). */
  #head = 0;
  #askingHead = false;
  /** Nodes declared gone: what they append later is ignored. */
  readonly #down = new Set<string>();
  /** Nodes this node has declared gone, until the declaration is applied. */
  readonly #declared = new Set<string>();
  readonly #pending = new Map<string, Pending>();
  /**
   * The latest time an applied entry carried (see `carriedTime`): the time of an old entry's
   * line, which carries none — the same on every node, which all applied the same entries.
   */
  #clock = 0;
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
  #moderation: ServerModeration | undefined;
  readonly #snapshotEveryMs: number;
  readonly #snapshotReady: () => boolean;
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
    this.#cluster = options.cluster ?? "shmooze";
    this.#beatMs = options.beatMs ?? 1000;
    this.#silenceMs = options.silenceMs ?? 3000;
    this.#accounts = options.accounts;
    this.#channelStore = options.channels;
    this.#onMessage = options.onMessage;
    this.#onRedact = options.onRedact;
    this.#snapshotEveryMs = options.snapshotEveryMs ?? 300_000;
    this.#snapshotReady = options.snapshotReady ?? (() => true);
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
      if (!this.#down.has(beat.node)) this.#heard.set(beat.node, { at: now, beat });
      const peer = this.#peers.get(beat.node);
      if (peer === undefined) return;
      peer.heardAt = now;
      peer.applied = beat.applied;
    });
    const from = await this.#load();
    this.#startHead = await this.#bus.head();
    this.#head = this.#startHead;
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
   * @param device Its first device, when it has devices (an IRC session): the connection is
   *   that device's, and the user quits when its last device on any node has left.
   * @returns True when it was added (on every node); false when the nick (or its account) was
   *   taken first; `unavailable` when the log could not be reached.
   */
  async connect(
    member: Member,
    added?: () => void,
    device?: Device,
  ): Promise<Replicated<boolean>> {
    const conn = (++this.#nextConn).toString(36);
    this.#local.set(conn, member);
    this.#conns.set(device ?? member, conn);
    if (device !== undefined) this.#devices.set(conn, device);
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
      this.#forget(conn);
      const quit = { kind: "quit", reason: "Not registered", time: Date.now() } as const;
      void this.#bus.append({ ...this.#origin(conn), ...quit })
        .catch(() => {});
    }
    return result as Replicated<boolean>;
  }

  /**
   * Attaches a device of this node to the presence of an account, wherever it was connected
   * (any node) or with no device (always-on): an `attach` entry, applied by every node. The
   * user quits when its last device on any node has left (see {@link ReplicatedHub.quit}).
   *
   * @param device The new device (not yet in the hub).
   * @param account The account it logged in to.
   * @param attached Called with the presence as the entry is applied, in the same turn (the
   *   device attaches there, so it misses nothing in between).
   * @returns True when it was attached; false when the account had no presence any more as the
   *   entry was applied; `unavailable` when the log could not be reached.
   */
  async attach(
    device: Device,
    account: string,
    attached: (member: Member) => void,
  ): Promise<Replicated<boolean>> {
    const conn = (++this.#nextConn).toString(36);
    this.#conns.set(device, conn);
    this.#devices.set(conn, device);
    const event: AttachEvent = { ...this.#origin(conn), kind: "attach", account };
    const result = await this.#publish(event, undefined, undefined, (member) => {
      if (member !== false && member !== "unavailable") attached(member as Member);
    });
    if (result === "unavailable") {
      this.#forget(conn);
      void this.#bus.append({ ...this.#origin(conn), kind: "quit", reason: "Not registered" })
        .catch(() => {});
      return result;
    }
    return result !== false;
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
      { ...this.#origin(conn), kind: "nick", nick, time: Date.now() },
      participant,
    ) as Replicated<boolean>;
  }

  /**
   * Puts a user of this node in a channel (see `ChatHub.join`).
   *
   * @param participant The user, or the device that asked.
   * @param name The channel.
   * @param key The key it gave. @default {""}
   * @param answer Called with the result once: as the event is applied, in the same turn, so
   *   that the replies it sends (topic, NAMES) come before anything applied after it.
   * @returns What `ChatHub.join` gave on applying it, or `unavailable`.
   */
  async join(
    participant: Participant,
    name: string,
    key = "",
    answer?: (result: Channel | JoinRefusal | undefined) => void,
  ): Promise<Channel | JoinRefusal | undefined> {
    type Result = Channel | JoinRefusal | undefined;
    let answered = false;
    const applied = (result: unknown) => {
      answered = true;
      answer?.(result as Result);
    };
    const conn = this.#connOf(participant);
    const result = conn === undefined ? "unavailable" : await this.#publish(
      { ...this.#origin(conn), kind: "join", channel: name, key, time: Date.now() },
      participant,
      undefined,
      applied,
    ) as Result;
    if (!answered) answer?.(result);
    return result;
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
      { ...this.#origin(conn), kind: "part", channel: name, reason, time: Date.now() },
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
   * A device of this node leaves (its connection closed): every node takes it from its user,
   * which quits when this was its last device on any node (unless it is always-on).
   *
   * @param participant The device that closed, or a user without devices.
   * @param reason The quit message.
   * @returns Resolves once applied (at once when it was not registered in the cluster).
   */
  async quit(participant: Participant, reason: string): Promise<void> {
    const conn = this.#connOf(participant);
    if (conn === undefined || this.#closed) return;
    const result = await this.#publish(
      { ...this.#origin(conn), kind: "quit", reason, time: Date.now() },
      participant,
    );
    // The log could not take it: this node lets the device go now; the others will when they
    // declare this node gone, or apply the quit if it did get in.
    if (result === "unavailable") this.#leave(this.#node, conn, reason);
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

  // User and account state (issue #15, state15b): each a log event applied on every node.

  /**
   * Marks a user of this node away, or back (see `ChatHub.setAway`), on every node.
   *
   * @param participant The user, or the device that asked.
   * @param text The away message, "" when back.
   * @returns Whether it changed anything, or `unavailable`.
   */
  async setAway(participant: Participant, text: string): Promise<Replicated<boolean>> {
    return await this.#publishFor(participant, { kind: "away", text }) as Replicated<boolean>;
  }

  /**
   * Changes the real name of a user of this node (see `ChatHub.setRealname`), on every node.
   *
   * @param participant The user, or the device that asked.
   * @param realname The new real name (checked by the caller).
   * @returns True when done, or `unavailable`.
   */
  async setRealname(participant: Participant, realname: string): Promise<Replicated<boolean>> {
    return await this.#publishFor(participant, { kind: "setname", realname }) as Replicated<
      boolean
    >;
  }

  /**
   * Gives the holder of a nick, on whichever node it is, another user name and host (an
   * operator's CHGHOST, checked by the caller), on every node (see `ChatHub.changeHost`).
   *
   * @param participant The operator, a user of this node.
   * @param target The nick.
   * @param user The new user name.
   * @param host The new host.
   * @returns Whether it changed anything, `no-such-nick` when nobody held the nick (or it is
   *   no network client) as it was applied, or `unavailable`.
   */
  async changeHost(
    participant: Participant,
    target: string,
    user: string,
    host: string,
  ): Promise<Replicated<boolean | "no-such-nick">> {
    return await this.#publishFor(participant, {
      kind: "chghost",
      target,
      user,
      host,
    }) as Replicated<boolean | "no-such-nick">;
  }

  /**
   * Logs a registered user of this node in to an account (SASL after registration), on every
   * node (see `ChatHub.logIn`).
   *
   * @param participant The user, or the device that logged in.
   * @param account The account, as registered.
   * @returns False when another user is logged in to it, or `unavailable`.
   */
  async logIn(participant: Participant, account: string): Promise<Replicated<boolean>> {
    return await this.#publishFor(participant, { kind: "login", account }) as Replicated<
      boolean
    >;
  }

  /**
   * Registers an account on every node's store, with the hash this node computed; the user who
   * asked, if it is registered on this node, is logged in to it as it is applied.
   *
   * @param participant The user who asked, or its device; undefined before its registration.
   * @param account The account name.
   * @param hash Its password hash (`hashPassword`).
   * @param time When it was registered, ms since the epoch.
   * @returns False when the name was registered first (the first in the log wins), or
   *   `unavailable`.
   */
  async registerAccount(
    participant: Participant | undefined,
    account: string,
    hash: string,
    time: number,
  ): Promise<Replicated<boolean>> {
    const conn = participant === undefined ? "" : this.#connOf(participant) ?? "";
    return await this.#publish(
      { ...this.#origin(conn), kind: "account-register", account, hash, time },
      participant,
    ) as Replicated<boolean>;
  }

  /**
   * Stores a new session token's hash on every node (see `SessionTokens.store`).
   *
   * @param account The account.
   * @param hash The token's hash (`mintToken`).
   * @returns True when stored here, or `unavailable`.
   */
  async issueToken(account: string, hash: string): Promise<Replicated<boolean>> {
    return await this.#publish(
      { ...this.#origin(""), kind: "token-issue", account, hash, time: Date.now() },
      undefined,
    ) as Replicated<boolean>;
  }

  /**
   * Revokes a session token on every node (see `SessionTokens.revokeHash`).
   *
   * @param hash The token's hash (`tokenHash`).
   * @returns False when there was no such token, or `unavailable`.
   */
  async revokeToken(hash: string): Promise<Replicated<boolean>> {
    return await this.#publish(
      { ...this.#origin(""), kind: "token-revoke", hash },
      undefined,
    ) as Replicated<boolean>;
  }

  /**
   * Moves an account's read marker of a conversation forward on every node's store (see
   * `ReadMarkerStore.set`: the latest wins, whatever the order).
   *
   * @param account The account.
   * @param target The channel or nick.
   * @param time The marker, ms since the epoch.
   * @returns The marker now, on this node, or `unavailable`.
   */
  async markRead(account: string, target: string, time: number): Promise<Replicated<number>> {
    return await this.#publish(
      { ...this.#origin(""), kind: "read-marker", account, target, time },
      undefined,
    ) as Replicated<number>;
  }

  /** Publishes a user event about a registered user of this node. */
  #publishFor(
    participant: Participant,
    fields: DistributiveOmit<UserStateEvent, keyof EventOrigin>,
  ): Promise<unknown> {
    const conn = this.#connOf(participant);
    if (conn === undefined) return Promise.resolve("unavailable");
    return this.#publish({ ...this.#origin(conn), ...fields } as UserStateEvent, participant);
  }

  // Deleting stored messages (redact15).

  /**
   * Deletes a stored message for a user of this node (see `ChatHub.redact`), on every node: each
   * decides on applying the entry whether the user may, with its own history and the state of
   * that point of the log, erases the message and tells its users; the entry's id is the
   * REDACT's msgid everywhere. The user's account (and its creation time) is what the log says
   * at that point, not what the asking node claims.
   *
   * @param participant The user, or its device that asked.
   * @param target The channel, or the other party's nick.
   * @param msgid The id of the message to delete.
   * @param reason Why ("" for no reason).
   * @returns What applying it here gave (the REDACT event, or why not), or `unavailable`.
   */
  async redact(
    participant: Participant,
    target: string,
    msgid: string,
    reason: string,
  ): Promise<ChatEvent | RedactError> {
    const conn = this.#connOf(participant);
    if (conn === undefined) return "unavailable";
    // What no entry could carry names no message here either: every node would refuse the
    // entry as invalid, and its asker would wait for an answer no node gives.
    if (!ENTRY_WORD.test(target)) return "invalid-target";
    if (!ENTRY_WORD.test(msgid)) return "unknown-msgid";
    // A message this node does not hold (sent before it started, pruned, deleted already) is
    // refused here, as alone and without a log entry: the nodes that do hold it must not delete
    // what its asker is told was not deleted. The hub gives the refusal alone would give.
    const held = this.hub.history?.locate(msgid);
    if (held === undefined || held.redacted) {
      return await this.hub.redact(participant, target, msgid, reason, this.#ownerOf(participant));
    }
    return await this.#publish(
      { ...this.#origin(conn), kind: "redact", target, msgid, reason, time: Date.now() },
      participant,
    ) as ChatEvent | RedactError;
  }

  /**
   * Applies a deletion: decided here as alone, on this node's history; once committed, the
   * archiver is told, so that PostgreSQL forgets the message too.
   */
  #redact(seq: number, event: RedactEvent, participant: Participant): Promise<unknown> {
    const account = memberOf(participant).account;
    const owner = this.#ownerOf(participant);
    const located = this.hub.history?.locate(event.msgid);
    const done = this.hub.redact(
      participant,
      event.target,
      event.msgid,
      event.reason,
      owner,
      { msgid: event.id, time: event.time },
    );
    return done.then((result) => {
      if (typeof result === "object" && located !== undefined) {
        const { msgid, time, source } = result;
        const redaction = { msgid, time, source, account, reason: event.reason };
        try {
          this.#onRedact?.(seq, event.msgid, located.time, redaction);
        } catch (error) {
          log.error("A listener of deletions failed on entry {seq}: {error}", { seq, error });
        }
      }
      return result;
    }, (error) => {
      // A bug, the same on every node: the entry deletes nothing, the node goes on.
      log.error("Log entry {seq} could not be applied: {error}", { seq, error });
      return "unavailable";
    });
  }

  /** A user's account and its creation time, as this node's account store has them. */
  #ownerOf(participant: Participant): HistoryOwner | undefined {
    const account = memberOf(participant).account;
    if (account === undefined) return undefined;
    const found = this.#accounts?.find(account);
    return { account: found?.name ?? account, since: found?.createdAt };
  }

  // Channel and server state: MODE, KICK, INVITE, ChanServ, KILL, KLINE, UNKLINE, announcements.

  /**
   * The server operators' desk this node applies KILL, KLINE and UNKLINE with (its ban store,
   * its audit lines to its own operators). Without one, those entries change nothing here.
   *
   * @param desk The desk of this node's server.
   */
  moderate(desk: ServerModeration): void {
    this.#moderation = desk;
  }

  /**
   * Changes a channel's modes as a user of this node (see `ChatHub.changeModes`): whether it
   * may is decided on applying, on every node alike.
   *
   * @param participant The user, or the device that asked.
   * @param name The channel.
   * @param changes The changes, in order.
   * @returns What applying it gave, `invalid` when a parameter cannot travel in the log (a
   *   space, a comma, an empty one), or `unavailable`.
   */
  async changeModes(
    participant: Participant,
    name: string,
    changes: readonly ModeChange[],
  ): Promise<ModePlan | ChannelError | "invalid"> {
    return await this.#publishChange(participant, (origin) => ({
      ...origin,
      kind: "mode",
      channel: name,
      // Only the fields a change has: nothing else rides along into the log.
      changes: changes.map(({ add, mode, param }) => ({
        add,
        mode,
        ...(param === undefined ? {} : { param }),
      })),
      time: Date.now(),
    })) as ModePlan | ChannelError | "invalid";
  }

  /**
   * Kicks a user out of a channel as a user of this node (see `ChatHub.kickFromChannel`).
   *
   * @param participant The operator, or the device that asked.
   * @param name The channel.
   * @param victim The nick of who is kicked.
   * @param reason Why.
   * @returns Why it was refused on applying it (`no-such-nick` when nobody had that nick then),
   *   `invalid`, `unavailable`, or undefined when the user was kicked.
   */
  async kick(
    participant: Participant,
    name: string,
    victim: string,
    reason: string,
  ): Promise<ChannelError | "no-such-nick" | "invalid" | undefined> {
    return await this.#publishChange(participant, (origin) => ({
      ...origin,
      kind: "kick",
      channel: name,
      victim,
      reason,
      time: Date.now(),
    })) as ChannelError | "no-such-nick" | "invalid" | undefined;
  }

  /**
   * Invites a user to a channel as a user of this node (see `ChatHub.invite`): every node
   * remembers the invitation, so the invited user may join through any node.
   *
   * @param participant Who invites, or the device that asked.
   * @param name The channel.
   * @param target The nick of who is invited.
   * @returns The invite event, or why not (`no-such-nick` when nobody had that nick then).
   */
  async invite(
    participant: Participant,
    name: string,
    target: string,
  ): Promise<ChatEvent | ChannelError | "no-such-nick" | "invalid"> {
    return await this.#publishChange(participant, (origin) => ({
      ...origin,
      kind: "invite",
      channel: name,
      target,
      time: Date.now(),
    })) as ChatEvent | ChannelError | "no-such-nick" | "invalid";
  }

  /**
   * Gives ChanServ a command as a user of this node: every node runs it on its own hub and
   * channel store, so registrations, access lists and a registered channel's stored state are
   * the same everywhere. ChanServ answers the user on its own node.
   *
   * @param participant Who asks, or the device that asked.
   * @param text The command line (`REGISTER #chan`).
   * @returns Undefined once run; `no-such-nick` without ChanServ; `invalid` for a line that
   *   cannot travel in the log; `unavailable`.
   */
  async chanServ(
    participant: Participant,
    text: string,
  ): Promise<"no-such-nick" | "invalid" | "unavailable" | undefined> {
    return await this.#service(participant, CHANSERV_NICK, text);
  }

  /**
   * Gives NickServ a command as a user of this node (`NS SET ALWAYS-ON ON`): every node runs it
   * as it applies the entry, on its own hub and always-on store, so an always-on presence is the
   * same everywhere. NickServ answers each node's own devices of the user.
   *
   * @param participant Who asks, or the device that asked.
   * @param text The command line.
   * @returns What NickServ gave on applying it (undefined); `no-such-nick` without NickServ;
   *   `invalid` for a line that cannot travel in the log; `unavailable`.
   */
  async nickServ(
    participant: Participant,
    text: string,
  ): Promise<"no-such-nick" | "invalid" | "unavailable" | undefined> {
    return await this.#service(participant, NICKSERV_NICK, text);
  }

  /** Publishes a service command (`service` entry) as a user of this node. */
  async #service(
    participant: Participant,
    service: string,
    text: string,
  ): Promise<"no-such-nick" | "invalid" | "unavailable" | undefined> {
    return await this.#publishChange(participant, (origin) => ({
      ...origin,
      kind: "service",
      service,
      text,
      time: Date.now(),
    })) as "no-such-nick" | "invalid" | "unavailable" | undefined;
  }

  /**
   * Disconnects a user of any node as a server operator (`KILL`) or the operator console
   * (`/kick`, `/kill`): every node removes it with the same quit message, its own node closes
   * its connection, and every node tells its operators.
   *
   * @param by Who: an operator of this node, or `console`.
   * @param nick Whom.
   * @param reason The quit message everyone sees.
   * @param audit What the audit line says of it.
   * @returns False when nobody (but a service) had that nick on applying it; `invalid`;
   *   `unavailable`.
   */
  async kill(
    by: Actor,
    nick: string,
    reason: string,
    audit: string,
  ): Promise<boolean | "invalid" | "unavailable"> {
    return await this.#publishChange(by, (origin) => ({
      ...origin,
      kind: "kill",
      victim: nick,
      reason,
      by: actorName(by),
      audit,
      time: Date.now(),
    })) as boolean | "invalid" | "unavailable";
  }

  /**
   * Bans from every node (`KLINE`): each node stores the ban in its own ban store, refuses
   * matching users from then on, and disconnects those of its users it matches now (operators
   * excepted) — their quits go through the log like any other.
   *
   * @param by Who: an operator of this node, or `console`.
   * @param request The mask, duration and reason; or the nick of another node's user, whose
   *   node then makes the mask from the user's address (see {@link ReplicatedHub.banRequest}).
   * @returns The ban as this node stored it; `unstored` when this node's store failed (other
   *   nodes may have it); `no-such-nick` when nobody held the nick as the entry was applied;
   *   `invalid`; `unavailable`.
   */
  async ban(
    by: Actor,
    request: BanRequest | NickBanRequest,
  ): Promise<ServerBan | "unstored" | "no-such-nick" | "invalid" | "unavailable"> {
    const { reason, durationMs } = request;
    return await this.#publishChange(by, (origin) => ({
      ...origin,
      ...("nick" in request
        ? { kind: "kline-nick", nick: request.nick }
        : { kind: "kline", mask: request.mask }),
      reason,
      durationMs,
      by: actorName(by),
      time: Date.now(),
    } as KlineEvent | KlineNickEvent)) as
      | ServerBan
      | "unstored"
      | "no-such-nick"
      | "invalid"
      | "unavailable";
  }

  /**
   * Reads `KLINE [duration] mask [reason…]` (see `parseBanRequest`) as a node of a cluster: a
   * nick in place of the mask bans its user's address, not the host it shows — this node's
   * user's at once, and for another node's user a {@link NickBanRequest}, since only that
   * user's node knows its address.
   *
   * @param words The command's parameters.
   * @returns The request, or `{ problem }` saying what is wrong.
   */
  banRequest(words: readonly string[]): BanRequest | NickBanRequest | { problem: string } {
    let remote: string | undefined;
    const request = parseBanRequest(words, (nick) => {
      const member = this.hub.find(nick);
      if (member instanceof RemoteMember) remote = member.nick;
      return member && (member.address ?? member.host);
    });
    if ("problem" in request || remote === undefined) return request;
    return { nick: remote, durationMs: request.durationMs, reason: request.reason };
  }

  /**
   * Writes to the operators and `+w` users of every node (`WALLOPS`), with the same msgid and
   * time everywhere; each node delivers to its own users.
   *
   * @param by Who writes: an operator of this node, or `console` (as this node's server).
   * @param text The text (one line that fits).
   * @returns How many users of this node it reached, `invalid`, or `unavailable`.
   */
  async wallops(by: Actor, text: string): Promise<number | "invalid" | "unavailable"> {
    const source = by === "console" ? this.hub.serverName : maskOf(by);
    return await this.#publishChange(by, (origin) => ({
      ...origin,
      kind: "wallops",
      source,
      text,
      time: Date.now(),
    })) as number | "invalid" | "unavailable";
  }

  /**
   * Lifts a server ban on every node (`UNKLINE`).
   *
   * @param by Who: an operator of this node, or `console`.
   * @param mask The ban's mask.
   * @returns The ban lifted here, undefined when there was none, `unstored`, `invalid`, or
   *   `unavailable`.
   */
  async unban(
    by: Actor,
    mask: string,
  ): Promise<ServerBan | undefined | "unstored" | "invalid" | "unavailable"> {
    return await this.#publishChange(by, (origin) => ({
      ...origin,
      kind: "unkline",
      mask,
      by: actorName(by),
      time: Date.now(),
    })) as ServerBan | undefined | "unstored" | "invalid" | "unavailable";
  }

  /**
   * Says something in #lobby as the server (the operator console), on every node, with the
   * same msgid and time everywhere.
   *
   * @param text The text (one line that fits).
   * @returns The event as shown here, or `unavailable`.
   */
  async announce(text: string): Promise<ChatEvent | "invalid" | "unavailable"> {
    return await this.#publishChange("console", (origin) => ({
      ...origin,
      kind: "announce",
      text,
      time: Date.now(),
    })) as ChatEvent | "invalid" | "unavailable";
  }

  /**
   * Publishes a channel or server state event of a user of this node (an operator, for a server
   * one) or of its console; `invalid` for an event that could not travel in the log.
   */
  async #publishChange(
    by: Participant | "console",
    make: (origin: EventOrigin) => StateEvent | GapEvent,
  ): Promise<unknown> {
    const conn = by === "console" ? "" : this.#connOf(by);
    if (conn === undefined) return "unavailable";
    const event = make(this.#origin(conn));
    if (!travels(event)) return "invalid";
    return await this.#publish(event, by === "console" ? undefined : by);
  }

  /** Applies a MODE, KICK, INVITE or ChanServ entry of a user. */
  #channelState(
    participant: Participant,
    event: ModeEvent | KickEvent | InviteEvent | ServiceEvent,
  ): unknown {
    switch (event.kind) {
      case "mode": {
        const channel = this.hub.channel(event.channel);
        if (channel === undefined) return "no-such-channel";
        const stamp = { msgid: event.id, time: event.time };
        return this.hub.changeModes(participant, channel, event.changes, { stamp });
      }
      case "kick": {
        const channel = this.hub.channel(event.channel);
        if (channel === undefined) return "no-such-channel";
        const victim = this.hub.find(event.victim);
        if (victim === undefined) return "no-such-nick";
        const stamp = { msgid: event.id, time: event.time };
        return this.hub.kickFromChannel(participant, channel, victim, event.reason, stamp);
      }
      case "invite": {
        const target = this.hub.find(event.target);
        if (target === undefined) return "no-such-nick";
        const stamp = { msgid: event.id, time: event.time };
        return this.hub.invite(participant, event.channel, target, stamp);
      }
      case "service": {
        const nickServ = this.#nickServ(event.service);
        if (nickServ !== undefined) return nickServ.command(memberOf(participant), event.text);
        const service = this.#chanServ(event.service);
        if (service === undefined) return "no-such-nick";
        service.command(memberOf(participant), event.text, event.time, event.id);
        return undefined;
      }
    }
  }

  /**
   * The hub's ChanServ when `nick` names it. Every node runs its commands as it applies them,
   * so ChanServ must not also take the messages it is handed as commands (each node would run
   * them after the entry, at its own time).
   */
  #chanServ(nick: string): ChanServ | undefined {
    if (foldCase(nick) !== foldCase(CHANSERV_NICK)) return undefined;
    const service = this.hub.find(nick);
    if (!(service instanceof ChanServ)) return undefined;
    service.commandsFromMessages = false;
    return service;
  }

  /**
   * The hub's NickServ when `nick` names it (a cluster's NickServ takes no message as a
   * command by itself: every node runs its commands as it applies them).
   */
  #nickServ(nick: string): NickServ | undefined {
    if (foldCase(nick) !== foldCase(NICKSERV_NICK)) return undefined;
    const service = this.hub.find(nick);
    return service instanceof NickServ ? service : undefined;
  }

  /** Applies a KILL, KLINE or UNKLINE entry. */
  #serverState(event: KillEvent | KlineEvent | UnklineEvent): unknown {
    const desk = this.#moderation;
    switch (event.kind) {
      case "kill": {
        const victim = this.hub.find(event.victim);
        if (victim === undefined || !this.#isUser(victim)) return false;
        const mask = maskOf(victim);
        this.#drop(victim, event.reason, { msgid: event.id, time: event.time ?? this.#clock });
        desk?.audit(`KILL ${victim.nick} (${mask}) by ${event.by}: ${event.audit}`);
        return true;
      }
      case "kline": {
        if (desk === undefined) return "unstored";
        let ban: ServerBan;
        try {
          ban = desk.bans.add(
            {
              mask: event.mask,
              reason: event.reason,
              setBy: event.by,
              durationMs: event.durationMs,
            },
            event.time,
          );
        } catch (error) {
          log.error("This node could not store the server ban on {mask}: {error}", {
            mask: event.mask,
            error,
          });
          return "unstored";
        }
        // Each node judges its own users: only it knows their addresses and operators.
        const matches = banMatcher(ban.mask);
        const disconnected: string[] = [];
        for (const member of new Set(this.#local.values())) {
          // A user whose connect comes later in the log was not there when the ban was set.
          if (this.hub.find(member.nick) !== member) continue;
          if (member.oper !== undefined || !matches(member)) continue;
          disconnected.push(member.nick);
          this.#expelHere(member, `Banned: ${ban.reason}`);
        }
        const whom = disconnected.length === 0 ? "" : `; disconnected ${disconnected.join(", ")}`;
        desk.audit(`KLINE ${ban.mask} (${banLength(ban)}) by ${ban.setBy}: ${ban.reason}${whom}`);
        return ban;
      }
      case "unkline": {
        if (desk === undefined) return "unstored";
        let ban: ServerBan | undefined;
        try {
          ban = desk.bans.remove(event.mask, event.time);
        } catch (error) {
          log.error("This node could not lift the server ban on {mask}: {error}", {
            mask: event.mask,
            error,
          });
          return "unstored";
        }
        if (ban !== undefined) {
          desk.audit(`UNKLINE ${ban.mask} by ${event.by} (set by ${ban.setBy}: ${ban.reason})`);
        }
        return ban;
      }
    }
  }

  /** Delivers a WALLOPS entry to this node's operators and `+w` users; how many it reached. */
  #wallops(event: WallopsEvent): number {
    const line = createEvent({
      kind: "wallops",
      source: event.source,
      target: "",
      text: event.text,
      msgid: event.id,
      time: event.time,
    });
    let reached = 0;
    for (const member of this.#local.values()) {
      if (member.oper === undefined && member.wallops !== true) continue;
      if (this.hub.find(member.nick) !== member) continue;
      member.deliver(line);
      reached++;
    }
    return reached;
  }

  /**
   * Applies a KLINE on a nick's user: its own node appends the ban on its address; the node that
   * asked waits for that ban (and gives what applying it gave). Nobody holding the nick, or a
   * service holding it, bans nothing — the same on every node.
   */
  #klineNick(event: KlineNickEvent): unknown {
    const holder = this.hub.find(event.nick);
    if (holder === undefined || !this.#isUser(holder)) return "no-such-nick";
    // The node that appends the ban: one every node picks alike among those holding a device.
    const node = [...this.#homes.get(holder) ?? []].map((key) => memberRef(key).node).sort()[0];
    const id = `${event.id}/mask`;
    let answer: Promise<unknown> | undefined;
    if (event.node === this.#node) {
      const waiting = Promise.withResolvers<unknown>();
      const timer = setTimeout(() => {
        if (this.#pending.get(id)?.resolve !== settle) return;
        this.#pending.delete(id);
        settle("unavailable");
      }, RESOLVE_MS);
      const settle = (result: unknown) => {
        clearTimeout(timer);
        waiting.resolve(result);
      };
      this.#pending.set(id, { node, resolve: settle });
      answer = waiting.promise;
    }
    if (node === this.#node) {
      const mask = banMask(`*@${holder.address ?? holder.host}`);
      if (typeof mask !== "string") {
        log.warn("The address of {nick} cannot be banned: {problem}", {
          nick: holder.nick,
          problem: mask.problem,
        });
      } else {
        const { reason, durationMs, by, time } = event;
        const ban = { reason, durationMs, by, time };
        void this.#bus.append({ v: 1, id, node, conn: "", kind: "kline", mask, ...ban })
          .catch((error) =>
            log.warn("Could not append the ban on {nick}: {error}", {
              nick: holder.nick,
              error,
            })
          );
      }
    }
    return answer;
  }

  /**
   * Disconnects a user of this node whose connect was just applied when a server ban matches
   * it: its node checked the bans it had when the user registered, which may be fewer than the
   * log holds before the user's connect (a node still reading the log as users arrive).
   */
  #enforceBans(member: Member): void {
    const ban = member.oper === undefined ? this.#moderation?.refusal(member) : undefined;
    if (ban !== undefined) this.#expelHere(member, `Banned: ${ban.reason}`);
  }

  /**
   * A user of this node has just logged in to an account (SASL or REGISTER after registration):
   * a ban on the account disconnects it now, in the log's order, its quit in the log — so its
   * QUIT has one msgid on every node (the session's own check then finds it gone).
   */
  #enforceLogin(participant: Participant): void {
    const member = memberOf(participant);
    const homes = this.#homes.get(member) ?? [];
    if ([...homes].some((key) => memberRef(key).node === this.#node)) this.#enforceBans(member);
  }

  /** Whether a member is a user of a node (not a service or a bridged participant). */
  #isUser(member: Member): boolean {
    return this.#homes.has(member);
  }

  /**
   * Disconnects this node's devices of a user, when only this node decided it (a ban it
   * matched): each is closed now, and leaves — here as everywhere — when its quit, appended
   * now, is applied. Leaving here first would make this node disagree with the others about the
   * user until then (a KLINE on its nick, applied in between, found it on one node and not on
   * another). The user quits when those were its last devices (unless it is always-on).
   */
  #expelHere(member: Member, reason: string): void {
    for (const [conn, holder] of [...this.#local]) {
      if (holder !== member) continue;
      const participant = this.#devices.get(conn) ?? member;
      void this.quit(participant, reason);
      participant.disconnect(reason);
    }
  }

  /** Removes a user, with all its devices on every node (a KILL); this node's are closed. */
  #drop(member: Member, reason: string, stamp?: MessageStamp): void {
    for (const key of this.#homes.get(member) ?? []) {
      const { node, conn } = memberRef(key);
      if (node === this.#node) this.#forget(conn);
      else {
        this.#remote.delete(key);
        this.#peers.get(node)?.members.delete(conn);
      }
    }
    this.#homes.delete(member);
    this.hub.remove(member, reason, stamp);
    member.disconnect(reason);
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
    for (const [node, { at, beat }] of this.#heard) {
      if (this.#peers.has(node) || this.#down.has(node) || now - at > this.#silenceMs) continue;
      peers.push({ node, users: beat.clients, applied: beat.applied, silentMs: now - at });
    }
    peers.sort((a, b) => a.node.localeCompare(b.node));
    const head = Math.max(this.#head, this.applied);
    return {
      cluster: this.#cluster,
      node: this.#node,
      startedAt: this.#startedAt,
      applied: this.applied,
      head,
      lag: head - this.applied,
      ...(this.#bus.state ? { bus: this.#bus.state() } : {}),
      ...(this.#bus.traffic ? { traffic: this.#bus.traffic() } : {}),
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
      time: Date.now(),
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
    if (!this.#snapshotReady()) {
      log.info("No snapshot at entry {seq}: the history archiver has not stored all before it", {
        seq: this.applied,
      });
      return false;
    }
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
    events.push(...this.#accountEvents(origin({ node: SNAPSHOT_NODE, conn: "" })));
    const users: UserState[] = [];
    let detached = 0;
    for (const member of this.hub.members.values()) {
      const homes = this.#homes.get(member);
      // Services and whatever else no node connected are not the cluster's to restore.
      if (homes === undefined) continue;
      // A user's first connection (device) connects it; its others attach to it.
      const [first, ...others] = [...homes].map(memberRef);
      // An always-on user with no device connects from a connection of no node, left as the
      // snapshot is loaded.
      if (first === undefined && (!member.alwaysOn || member.account === undefined)) continue;
      const ref = first ?? { node: SNAPSHOT_NODE, conn: (++detached).toString(36) };
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
      for (const other of others) {
        if (member.account !== undefined) {
          events.push({ ...origin(other), kind: "attach", account: member.account });
        }
      }
      // The away of a user with no device comes back as it leaves its connection.
      if (member.away !== undefined && (first !== undefined || member.away !== DETACHED_AWAY)) {
        events.push({ ...origin(ref), kind: "away", text: member.away });
      }
      const invites = this.hub.invitesOf(member).filter((name) => this.hub.channel(name));
      if (member.alwaysOn === true || first === undefined || invites.length > 0) {
        users.push({
          ...ref,
          alwaysOn: member.alwaysOn === true,
          ...(first === undefined ? { detachedAt: member.detachedAt ?? Date.now() } : {}),
          invites,
        });
      }
    }
    const channels: ChannelState[] = [];
    for (const channel of this.hub.channels.values()) {
      const members = [...channel.members].filter((member) => refs.has(member));
      if (members.length === 0) continue;
      for (const member of members) {
        events.push({
          ...origin(refs.get(member)!),
          kind: "join",
          channel: channel.name,
          key: "",
          // The first join creates the channel at this time (329).
          time: channel.createdAt,
        });
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
    const registered = [];
    for (const key of this.#channelStore?.registeredKeys() ?? []) {
      const stored = this.#channelStore!.load(key);
      if (stored?.kind === "registered") registered.push(stored);
    }
    return { seq: this.applied, time: Date.now(), events, channels, registered, users };
  }

  /**
   * The events that write this node's account store as the log did: each account the log
   * registered (with its hash), its session tokens and read markers; and the server bans.
   */
  #accountEvents(from: EventOrigin): ClusterEvent[] {
    const events: ClusterEvent[] = [];
    const accounts = this.#accounts;
    for (const key of accounts === undefined ? [] : this.#registered) {
      const stored = accounts!.hashOf(key);
      if (stored === undefined) continue;
      const { name: account, hash, createdAt: time } = stored;
      events.push({ ...from, kind: "account-register", account, hash, time });
      for (const token of accounts!.sessionTokens.hashesOf(key)) {
        events.push({ ...from, kind: "token-issue", account, ...token });
      }
      for (const { target, time } of accounts!.readMarkers.ofAccount(key)) {
        events.push({ ...from, kind: "read-marker", account, target, time });
      }
    }
    for (const ban of this.#moderation?.bans.list() ?? []) {
      events.push({
        ...from,
        kind: "kline",
        mask: ban.mask,
        reason: ban.reason,
        durationMs: ban.expiresAt === undefined ? 0 : ban.expiresAt - ban.setAt,
        by: ban.setBy,
        time: ban.setAt,
      });
    }
    // What this node stored before it joined the cluster may not pass as an entry (a ban mask
    // of an older form): left out, rather than every node refusing the whole snapshot.
    return events.filter(travels);
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
        // A ban is stored as it was set; nobody here is there to be disconnected or told.
        if (event.kind === "kline") this.#restoreBan(event);
        else this.#change(0, event, undefined, undefined);
      } catch (error) {
        // As for a log entry: a bug, the same on every node that loads this snapshot.
        log.error("A snapshot event could not be applied: {error}", { error });
      }
    }
    const member = (ref: MemberRef) => this.#remote.get(`${ref.node}/${ref.conn}`);
    // After the joins: a registered channel's modes would refuse its own members' joins.
    for (const stored of snapshot.registered) {
      try {
        this.#channelStore?.restore(stored);
      } catch (error) {
        log.error("The registration of {channel} could not be stored: {error}", {
          channel: stored.name,
          error,
        });
      }
      // A registered channel exists with nobody in it, as on a server started on its store.
      const channel = this.hub.openChannel(stored.name);
      channel.registration = stored.registration;
      channel.access.clear();
      for (const entry of stored.access) channel.access.set(foldCase(entry.account), entry);
    }
    for (const state of snapshot.channels) {
      const channel = this.hub.channel(state.channel);
      if (channel === undefined) continue;
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
    for (const state of snapshot.users) {
      const found = member(state);
      if (found !== undefined) this.#restoreUser(found, state);
    }
    if (this.#peers.get(SNAPSHOT_NODE)?.members.size === 0) this.#peers.delete(SNAPSHOT_NODE);
    this.applied = snapshot.seq;
  }

  /** Stores a server ban a snapshot carries. */
  #restoreBan(event: KlineEvent): void {
    const { mask, reason, by: setBy, durationMs, time } = event;
    this.#moderation?.bans.add({ mask, reason, setBy, durationMs }, time);
  }

  /**
   * Gives a user what its events did not: its invitations, always-on (in the hub and this
   * node's always-on store), and — when it had no device — its leaving its snapshot connection.
   */
  #restoreUser(member: Member, state: UserState): void {
    for (const name of state.invites) {
      const channel = this.hub.channel(name);
      if (channel !== undefined && !channel.members.has(member)) {
        this.hub.addInvite(member, channel);
      }
    }
    const account = member.account;
    if (state.alwaysOn && account !== undefined) {
      member.alwaysOn = true;
      const channels = [...member.channels].map((key) => this.hub.channels.get(key)?.name ?? key);
      try {
        this.#accounts?.alwaysOn.enable(account, channels);
      } catch (error) {
        log.error("Always-on of {account} could not be stored: {error}", { account, error });
      }
    }
    if (state.detachedAt === undefined) return;
    const key = `${state.node}/${state.conn}`;
    this.#remote.delete(key);
    this.#peers.get(state.node)?.members.delete(state.conn);
    this.#homes.get(member)?.delete(key);
    // Marked away, as when its last device left; a user that is not always-on quits.
    this.hub.lastDeviceLeft(member, "Not connected");
    if (member.alwaysOn !== true || account === undefined) return;
    member.detachedAt = state.detachedAt;
    try {
      this.#accounts?.alwaysOn.setDetachedAt(account, state.detachedAt);
    } catch (error) {
      log.error("Always-on of {account} could not be stored: {error}", { account, error });
    }
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

  /**
   * The connection an event of a participant of this node is about: a device's own, or — for
   * a user without devices, or asked as a user — one of its connections here.
   */
  #connOf(participant: Participant): string | undefined {
    const conn = this.#conns.get(participant);
    if (conn !== undefined || isDevice(participant)) return conn;
    for (const [local, member] of this.#local) if (member === participant) return local;
    return undefined;
  }

  /** Appends an event and waits until it has been applied here; `unavailable` if not taken. */
  async #publish(
    event: ClusterEvent,
    participant: Participant | undefined,
    added?: () => void,
    onApplied?: (result: unknown) => void,
  ): Promise<unknown> {
    if (this.#closed) return "unavailable";
    const applied = Promise.withResolvers<unknown>();
    this.#pending.set(event.id, {
      node: event.node,
      participant,
      resolve: applied.resolve,
      added,
      applied: onApplied,
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

  /**
   * Asks the log for its last sequence, one question at a time: lag is measured against the
   * log itself, so a node whose reading stalled sees its lag grow even when no other node
   * says how far it got.
   */
  #askHead(): void {
    if (this.#askingHead) return;
    this.#askingHead = true;
    this.#bus.head()
      .then((head) => this.#head = Math.max(this.#head, head))
      .catch(() => {}) // NATS away: the state says so; the last answer stands
      .finally(() => this.#askingHead = false);
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
      const carried = carriedTime(entry.event);
      if (carried !== undefined && carried > this.#clock) this.#clock = carried;
      let result: unknown;
      try {
        result = this.#change(entry.seq, entry.event, pending?.participant, pending?.added);
      } catch (error) {
        // A bug, the same on every node: the entry changes nothing, the node goes on.
        log.error("Log entry {seq} could not be applied: {error}", { seq: entry.seq, error });
        result = "unavailable";
      }
      pending?.applied?.(result);
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
    if (event.kind === "node-down") {
      return this.#nodeDown(event.node, event.reason, event.time ?? this.#clock);
    }
    if (event.kind === "connect") return this.#connect(event, added);
    if (event.kind === "attach") return this.#attach(event);
    if (
      event.kind === "account-register" || event.kind === "token-issue" ||
      event.kind === "token-revoke" || event.kind === "read-marker"
    ) return this.#accountChange(event, asked);
    if (event.kind === "kill" || event.kind === "kline" || event.kind === "unkline") {
      return this.#serverState(event);
    }
    if (event.kind === "wallops") return this.#wallops(event);
    if (event.kind === "kline-nick") return this.#klineNick(event);
    if (event.kind === "announce") {
      if (seq <= this.#startHead) return "unavailable";
      return this.hub.announce(event.text, { msgid: event.id, time: event.time });
    }
    const participant = asked ?? this.#participant(event.node, event.conn);
    if (participant === undefined) return "unavailable";
    // The JOIN, PART, NICK and QUIT lines carry the event's id and time on every node.
    const line = { msgid: event.id, time: carriedTime(event) ?? this.#clock };
    switch (event.kind) {
      case "nick":
        return this.hub.changeNick(participant, event.nick, line);
      case "join": {
        const joined = this.hub.join(participant, event.channel, event.key, line);
        // This node's devices of a user who joined through another node's device: the rest
        // of the join (the asking node shows its own devices theirs).
        if (event.node !== this.#node && typeof joined === "object") {
          for (const device of memberOf(participant).devices ?? []) device.joined?.(joined);
        }
        return joined;
      }
      case "part":
        return this.hub.part(participant, event.channel, event.reason, line);
      case "topic": {
        const channel = this.hub.channel(event.channel);
        if (channel === undefined) return "no-such-channel";
        return this.hub.setTopic(participant, channel, event.topic, event.time);
      }
      case "quit":
        return this.#leave(event.node, event.conn, event.reason, line);
      case "message": {
        this.#tellMessage(seq, event, participant);
        const stamp = { msgid: event.id, time: event.time };
        // ChanServ's and NickServ's commands change state: they run here, in the log's order,
        // on every node.
        const chanServ = event.command === "privmsg" ? this.#chanServ(event.target) : undefined;
        const nickServ = event.command === "privmsg" ? this.#nickServ(event.target) : undefined;
        // A message from before this node started is history: nobody here was there to see it.
        const sent = seq <= this.#startHead
          ? "unavailable"
          : event.command === "tagmsg"
          ? this.hub.tag(participant, event.target, event.tags ?? {}, stamp)
          : this.hub.send(participant, event.command, event.target, event.text, event.tags, stamp);
        chanServ?.command(memberOf(participant), event.text, event.time, event.id);
        nickServ?.command(memberOf(participant), event.text);
        return sent;
      }
      case "mode":
      case "kick":
      case "invite":
      case "service":
        return this.#channelState(participant, event);
      case "redact":
        return this.#redact(seq, event, participant);
      default:
        return this.#userChange(event, participant);
    }
  }

  /** Hands a message entry to the `onMessage` listener; its failure is not the entry's. */
  #tellMessage(seq: number, event: MessageEvent, participant: Participant): void {
    try {
      this.#onMessage?.(seq, event, memberOf(participant));
    } catch (error) {
      log.error("A listener of log messages failed on entry {seq}: {error}", { seq, error });
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
      if (!added) this.#forget(event.conn);
      else {
        this.#homes.set(member, new Set([`${event.node}/${event.conn}`]));
        onAdded?.();
        this.#enforceBans(member);
      }
      return added;
    }
    const member = new RemoteMember(event);
    if (!this.hub.add(member)) return false;
    const key = `${event.node}/${event.conn}`;
    this.#remote.set(key, member);
    this.#homes.set(member, new Set([key]));
    this.#peer(event.node).members.set(event.conn, member);
    return true;
  }

  /** What this node knows of another node, made when it is first named by the log. */
  #peer(node: string): Peer {
    let peer = this.#peers.get(node);
    if (peer === undefined) {
      peer = { heardAt: Date.now(), applied: 0, members: new Map() };
      this.#peers.set(node, peer);
    }
    return peer;
  }

  /**
   * A device joins the presence of an account (see {@link ReplicatedHub.attach}): one more
   * connection of the user, on every node. Its own node attaches the device in the same turn
   * (the asker's callback); the others, when the user had no device left (always-on), mark it
   * back.
   */
  #attach(event: AttachEvent): Member | false {
    const member = this.hub.memberOfAccount(event.account);
    const homes = member === undefined ? undefined : this.#homes.get(member);
    if (member === undefined || homes === undefined) {
      if (event.node === this.#node) this.#forget(event.conn);
      return false;
    }
    const key = `${event.node}/${event.conn}`;
    homes.add(key);
    if (event.node === this.#node) this.#local.set(event.conn, member);
    else {
      this.#remote.set(key, member);
      this.#peer(event.node).members.set(event.conn, member);
      if (homes.size === 1) this.hub.deviceReturned(member);
    }
    return member;
  }

  /** Applies a user event (state15b) to the user it is about. */
  #userChange(event: Exclude<UserStateEvent, AccountEvent>, participant: Participant): unknown {
    switch (event.kind) {
      case "away":
        return this.hub.setAway(participant, event.text);
      case "setname":
        this.hub.setRealname(participant, event.realname);
        return true;
      case "login": {
        const loggedIn = this.hub.logIn(participant, event.account);
        if (loggedIn) this.#enforceLogin(participant);
        return loggedIn;
      }
      case "chghost": {
        // Users only: services keep their masks (a cluster has no bridged rooms).
        const target = this.hub.members.get(foldCase(event.target));
        if (target === undefined) return "no-such-nick";
        if (!this.hub.changeHost(target, event.user, event.host)) return false;
        // Each node tells its own devices of the user (none here: nothing is sent).
        if (target !== memberOf(participant)) {
          target.deliver(createEvent({
            kind: "notice",
            source: this.hub.serverName,
            target: target.nick,
            text:
              `*** Your user name and host are now ${event.user}@${event.host} (an operator changed them)`,
          }));
        }
        return true;
      }
    }
  }

  /**
   * Applies an account event to this node's store: every node writes what the log holds, in
   * its order, so all stores agree (the first registration of a name wins everywhere).
   */
  #accountChange(
    event: AccountEvent,
    asked: Participant | undefined,
  ): unknown {
    const accounts = this.#accounts;
    switch (event.kind) {
      case "account-register": {
        // A node reading the log again finds what it stored in its last run: the name's first
        // entry in the log, then, is the one its store holds.
        const key = foldCase(event.account);
        const first = !this.#registered.has(key);
        this.#registered.add(key);
        const stored = accounts === undefined ||
          accounts.store(event.account, event.hash, event.time) ||
          (first && accounts.holds(event.account, event.hash));
        if (!stored || event.conn === "") return stored;
        const participant = asked ?? this.#participant(event.node, event.conn);
        if (participant !== undefined && this.hub.logIn(participant, event.account)) {
          this.#enforceLogin(participant);
        }
        return true;
      }
      case "token-issue":
        accounts?.sessionTokens.store(event.account, event.hash, event.time);
        return true;
      case "token-revoke":
        return accounts?.sessionTokens.revokeHash(event.hash) ?? false;
      case "read-marker":
        return accounts?.readMarkers.set(event.account, event.target, event.time) ?? event.time;
    }
  }

  /**
   * A connection (device) of a user leaves — its quit, its node gone, or this node's own
   * decision —: the user quits (its QUIT shown) when it was its last one on any node, unless it
   * is always-on; this node's device is taken from the hub.
   */
  #leave(node: string, conn: string, reason: string, stamp?: MessageStamp): void {
    const key = `${node}/${conn}`;
    const mine = node === this.#node;
    const member = mine ? this.#local.get(conn) : this.#remote.get(key);
    if (member === undefined) return;
    const device = mine ? this.#devices.get(conn) : undefined;
    if (mine) this.#forget(conn);
    else {
      this.#remote.delete(key);
      this.#peers.get(node)?.members.delete(conn);
    }
    const homes = this.#homes.get(member);
    homes?.delete(key);
    const elsewhere = homes !== undefined && homes.size > 0;
    if (device !== undefined && member.devices?.has(device)) {
      this.hub.detach(device, reason, stamp, elsewhere);
    } else if (!elsewhere) this.hub.lastDeviceLeft(member, reason, stamp);
    if (this.hub.members.get(foldCase(member.nick)) !== member) this.#homes.delete(member);
  }

  /** Forgets one of this node's connections. */
  #forget(conn: string): void {
    const device = this.#devices.get(conn);
    const member = this.#local.get(conn);
    this.#devices.delete(conn);
    this.#local.delete(conn);
    if (device !== undefined) this.#conns.delete(device);
    if (member !== undefined && this.#conns.get(member) === conn) this.#conns.delete(member);
  }

  /**
   * A node is gone: its users quit. If it is this one — declared gone while alive (stalled, or
   * cut off from NATS) — its users are told to reconnect, and it goes on as a new node: the
   * old name's events are ignored everywhere from now on.
   */
  #nodeDown(node: string, reason: string, time: number): void {
    this.#down.add(node);
    this.#declared.delete(node);
    if (node === this.#node) {
      for (const [conn, member] of [...this.#local]) {
        const device = this.#devices.get(conn);
        this.#leave(node, conn, reason, { msgid: `down:${node}/${conn}`, time });
        (device ?? member).disconnect(reason);
      }
      if (!this.#closed) this.#node = incarnation(this.#name);
      return;
    }
    // A ban this node waits for that node to append will not come.
    for (const [id, pending] of [...this.#pending]) {
      if (pending.node !== node) continue;
      this.#pending.delete(id);
      pending.resolve("unavailable");
    }
    const peer = this.#peers.get(node);
    this.#peers.delete(node);
    // Its devices leave; a user quits when those were its last (devices on other nodes keep
    // it), each QUIT with an id every node derives alike from the event's.
    for (const conn of peer?.members.keys() ?? []) {
      this.#leave(node, conn, reason, { msgid: `down:${node}/${conn}`, time });
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
      // Nothing was appended since: the stored one is this state (an idle log costs nothing).
      if (newest !== undefined && newest.seq >= this.applied) return;
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
    this.#bus.beat({
      v: 1,
      node: this.#node,
      applied: this.applied,
      clients: this.#local.size,
      startedAt: this.#startedAt,
      refused: this.refused,
      head: Math.max(this.#head, this.applied),
      ...this.#bus.traffic?.(),
    });
    this.#askHead();
    const now = Date.now();
    // A node without users is forgotten once silent (nobody declares it gone), and a node
    // declared gone at once: each run of a node is a new name, so this would only grow.
    for (const [node, { at }] of this.#heard) {
      if (now - at > this.#silenceMs || this.#down.has(node)) this.#heard.delete(node);
    }
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
        time: now,
      }).catch((error) => {
        // Someone has to say it: try again at the next beat.
        this.#declared.delete(node);
        log.warn("Could not declare {node} gone: {error}", { node, error });
      });
    }
  }
}

/** Whether an event is one every node will accept (else it would wait for an answer forever). */
function travels(event: ClusterEvent): boolean {
  try {
    decodeEvent(encodeEvent(event));
    return true;
  } catch {
    return false;
  }
}
