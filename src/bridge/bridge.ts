/**
 * The bridge between a local shared-memory room and a channel: the seeds' two halves —
 * processes chatting through shared memory, people chatting over sockets — in one
 * conversation (`shmooze serve --local-room NAME`).
 *
 * One room participant, named `irc`, stands for the whole network, so network users never
 * fill the room's 64-entry table. Each local participant becomes a virtual chat
 * {@link Member} with its name marked as local (`ann` is `ann|local`), so IRC and WebSocket
 * users see it join, talk and quit like anyone else.
 *
 * What crosses, and in which form:
 * - local → channel: a participant's message to everyone is said in the channel by its
 *   member; its join and its leave (a reaped dead process's too) are that member's JOIN
 *   and QUIT. Messages longer than an IRC line are split.
 * - channel → local: `irc` says `<bob> hello` in the room (`* bob waves` for /me,
 *   `-bob- hi` for a notice, `* bob joined #lobby` …); `shmooze local` shows `<bob@irc> hello`.
 * - network → local, privately: `PRIVMSG ann|local :hi` reaches ann alone as `<bob> hi`.
 * - local → network, privately: a private message to `irc` whose text is `NICK TEXT`;
 *   `shmooze local` sends that for `/msg bob TEXT` when nobody called bob is in the room.
 *
 * No loops: the room never hands a reader its own messages, so nothing the bridge writes
 * comes back; and what the bridge's members say in the channel is never relayed back into
 * the room. Everything its members say goes through the chat core, so it is stored in
 * history and served by CHATHISTORY like any other message.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { foldCase } from "../chat/casemap.ts";
import type { JoinRefusal } from "../chat/channel.ts";
import type { ChatEvent } from "../chat/chat_event.ts";
import { type ChatHub, LOBBY, type SendError } from "../chat/hub.ts";
import { maskOf, type Member } from "../chat/member.ts";
import { channelProblem } from "../chat/names.ts";
import { privmsgBudget, splitWords } from "../chat/split_text.ts";
import { IpcError } from "../ipc/ipc_error.ts";
import { MAX_MESSAGE_BYTES, Room, type RoomEvent } from "../ipc/room.ts";
import { DEFAULT_LIMITS } from "../irc/limits.ts";
import { nickOf } from "../irc/message.ts";
import { BRIDGE_NAME, chatText, eventText, fromLocalUser, localNick } from "./room_protocol.ts";

const log = getLogger(["shmooze", "bridge"]);

/**
 * The host of every bridged member (`ann|local!shm@local`). A network user's host is its IP
 * address, never this, so the host alone tells the bridge's own members from the others.
 */
const LOCAL_HOST = "local";
/** Told to a participant whose line history could not store (a full disk …). */
const UNSTORED = "the server could not store it (see its log); try again later";
/** Why the bridged channel keeps a local participant out, in the room's words. */
const KEPT_OUT: Record<JoinRefusal, string> = {
  banned: "you are banned from it",
  "invite-only": "it is invite only",
  "bad-key": "it has a key",
  full: "it is full",
  // Only always-on accounts' channels are stored; a local participant never has one.
  unavailable: "the server could not store it",
};

/** A shared-memory room bridged into a channel, as the monitor shows it (`LocalBridge.stats`). */
export interface LocalRoomStats {
  /** The room's name (`lobby`). */
  room: string;
  /** The channel it is bridged to (`#lobby`). */
  channel: string;
  /** Slots in the room's ring. */
  capacity: number;
  /** Slots holding messages not yet overwritten. */
  used: number;
  /** The sequence number the next message will get. */
  writeSeq: number;
  /** Names of the processes in the room. */
  participants: string[];
}

/** Options for {@link LocalBridge.start}. */
export interface BridgeOptions {
  /** The local room to join (`shmooze local --room`). */
  room: string;
  /** The channel the room is relayed with. @default {"#lobby"} */
  channel?: string;
  /** The server's NICKLEN: local nicks, mark included, are no longer. @default {32} */
  nickLength?: number;
  /** The server's longest IRC line, CR LF included: longer local messages are split. @default {512} */
  maxLine?: number;
}

/** A local participant as a member of the chat. */
interface LocalMember extends Member {
  /** The participant's name in the room. */
  readonly name: string;
  lastMessageAt: number;
}

/**
 * A local room relayed with a channel. Start it with {@link LocalBridge.start} (or
 * `ChatServer.bridge`, which also closes it with the server).
 *
 * @example Bridge a room into #lobby of an in-process server, both ways
 * ```ts
 * import assert from "node:assert/strict";
 * import { Room } from "../ipc/room.ts";
 * import { startServer } from "../server/server.ts";
 *
 * const server = await startServer({
 *   hostname: "127.0.0.1",
 *   port: 0,
 *   dataDir: false,
 *   status: false,
 * });
 * const room = `doc-bridge-${crypto.randomUUID().slice(0, 8)}`;
 * const ann = Room.join(room, "ann");
 * const bridge = server.bridge({ room });
 * assert.equal(server.hub.find("ann|local")?.transport, "local");
 * assert.deepEqual(bridge.stats()?.participants, ["ann", "irc"]);
 * await server.announce("hello, local room");
 * let heard = "";
 * for await (const event of ann.events(AbortSignal.timeout(5000))) {
 *   if (event.kind === "message") {
 *     heard = `${event.from.name}: ${event.text}`;
 *     break;
 *   }
 * }
 * assert.equal(heard, "irc: <*server*> hello, local room");
 * await server.close(); // the bridge leaves the room
 * assert.deepEqual(ann.participants().map((p) => p.name), ["ann"]);
 * ann.leave(); // the last one out removes the room's shared memory
 * ```
 */
export class LocalBridge {
  /** The bridge's membership in the room. */
  readonly room: Room;
  /** The channel the room is relayed with, as given. */
  readonly channel: string;
  readonly #hub: ChatHub;
  readonly #nickLength: number;
  readonly #maxLine: number;
  /** The room's participants in the chat, by participant id. */
  readonly #members = new Map<number, LocalMember>();
  readonly #stop = new AbortController();
  readonly #reading: Promise<void>;
  #outbox: { text: string; to: string | 0 }[] = [];
  #lastRelayed: ChatEvent | undefined;
  #closing: Promise<void> | undefined;

  private constructor(hub: ChatHub, room: Room, channel: string, options: BridgeOptions) {
    this.#hub = hub;
    this.room = room;
    this.channel = channel;
    this.#nickLength = options.nickLength ?? DEFAULT_LIMITS.nickLength;
    this.#maxLine = options.maxLine ?? DEFAULT_LIMITS.maxLine;
    this.#sync();
    this.#reading = this.#read();
  }

  /**
   * Joins the room as `irc`, brings everyone already in it into the channel, and relays
   * until {@link LocalBridge.close}.
   *
   * @param hub The chat core.
   * @param options The room, the channel and the server's limits.
   * @returns The running bridge.
   * @throws {Error} when the channel's name is not valid, or when another bridge (or a
   *   local user called `irc`) is in the room.
   * @throws {IpcError} when the room cannot be joined otherwise (`ENOSPC`: it is full).
   *
   * @example Relay a room with #local; a second bridge of the same room is refused
   * ```ts
   * import assert from "node:assert/strict";
   * import { ChatHub } from "../chat/hub.ts";
   * import { Room } from "../ipc/room.ts";
   * import { LocalBridge } from "./bridge.ts";
   *
   * const hub = new ChatHub();
   * const room = `doc-start-${crypto.randomUUID().slice(0, 8)}`;
   * const ann = Room.join(room, "ann");
   * const bridge = LocalBridge.start(hub, { room, channel: "#local" });
   * const members = hub.channel("#local")!.members;
   * assert.deepEqual([...members].map((member) => member.nick), ["ann|local"]);
   * assert.throws(() => LocalBridge.start(hub, { room }), /a participant of that name is in it/);
   * assert.throws(() => LocalBridge.start(hub, { room, channel: "local" }), /Cannot bridge/);
   * await bridge.close();
   * assert.equal(hub.find("ann|local"), undefined);
   * assert.equal(bridge.stats(), undefined);
   * ann.leave();
   * ```
   */
  static start(hub: ChatHub, options: BridgeOptions): LocalBridge {
    const channel = options.channel ?? LOBBY;
    const problem = channelProblem(channel);
    if (problem !== undefined) {
      throw new Error(`Cannot bridge with channel "${channel}": ${problem}`);
    }
    let room: Room;
    try {
      room = Room.join(options.room, BRIDGE_NAME);
    } catch (error) {
      if (!(error instanceof IpcError && error.code === "EEXIST")) throw error;
      throw new Error(
        `Cannot join room "${options.room}" as "${BRIDGE_NAME}": a participant of that name is in it (another server bridging it, or a local user called ${BRIDGE_NAME})`,
        { cause: error },
      );
    }
    return new LocalBridge(hub, room, channel, options);
  }

  /**
   * The room's ring and participants, for the monitor; undefined once closed.
   *
   * @returns The numbers.
   */
  stats(): LocalRoomStats | undefined {
    if (this.#closing) return undefined;
    return {
      room: this.room.room,
      channel: this.#hub.channel(this.channel)?.name ?? this.channel,
      ...this.room.stats(),
      participants: this.room.participants().map((p) => p.name),
    };
  }

  /**
   * Stops relaying: the local members quit the channel and the bridge leaves the room (the
   * last one out removes its shared memory). Safe to call twice.
   *
   * @returns Resolves when the bridge has left.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#stop.abort();
      await this.#reading;
      for (const id of [...this.#members.keys()]) {
        this.#remove(id, "Bridge to the local room closed");
      }
      this.#flush();
      try {
        this.room.leave();
      } catch (error) {
        // The server still shuts down; `shmooze ipc clean` removes what a failed leave left.
        log.error("Leaving local room {room} failed: {error}", { room: this.room.room, error });
      }
    })();
    return this.#closing;
  }

  async #read(): Promise<void> {
    try {
      // One event at a time: a message is stored and shown before the participant's next
      // event (a leave, another line) is taken, so the channel sees them in the room's order.
      for await (const event of this.room.events(this.#stop.signal)) await this.#fromRoom(event);
    } catch (error) {
      log.error("Reading local room {room} failed: {error}", { room: this.room.room, error });
    }
  }

  async #fromRoom(event: RoomEvent): Promise<void> {
    switch (event.kind) {
      case "join":
        this.#add(event.from.id, event.from.name);
        return;
      case "leave":
        this.#remove(event.from.id, "Left the local room");
        return;
      case "missed":
        // Joins and leaves may be among the lost: take the table as it is now.
        log.warn("Bridge fell behind local room {room}: {missed} events lost", {
          room: this.room.room,
          missed: event.missed,
        });
        this.#sync();
        return;
      case "message": {
        const member = this.#add(event.from.id, event.from.name);
        if (member === undefined || event.text === "") return;
        if (event.to !== 0) return this.#sayPrivately(member, event.text);
        // A member kicked from the channel is back in it when it next speaks, if it may be.
        if (!member.channels.has(foldCase(this.channel)) && !this.#enter(member)) return;
        const error = await this.#say(member, this.channel, event.text);
        if (error === "unavailable") {
          this.#queue(`not sent to ${this.channel}: ${UNSTORED}`, member.name);
        } else if (error !== undefined) {
          const why = error === "moderated"
            ? "it is moderated and you have no voice"
            : error === "banned"
            ? "you are banned from it"
            : "you are not in it";
          this.#queue(`not sent to ${this.channel}: ${why}`, member.name);
        }
      }
    }
  }

  /** Brings the chat in line with the room's participants table. */
  #sync(): void {
    const present = new Map<number, string>();
    for (const p of this.room.participants()) if (p.id !== this.room.id) present.set(p.id, p.name);
    for (const [id, member] of this.#members) {
      if (present.get(id) !== member.name) this.#remove(id, "Left the local room");
    }
    for (const [id, name] of present) this.#add(id, name);
  }

  /** The member of a participant, added to the chat and the channel if it is not yet. */
  #add(id: number, name: string): LocalMember | undefined {
    const known = this.#members.get(id);
    if (known?.name === name) return known;
    if (known) this.#remove(id, "Left the local room");
    const nick = localNick(name, this.#nickLength, (nick) => this.#hub.nickFree(nick));
    if (nick === undefined) {
      log.warn("No free nick for local participant {name}: it is not bridged", { name });
      return undefined;
    }
    const now = Date.now();
    const member: LocalMember = {
      nick,
      name,
      user: "shm",
      host: LOCAL_HOST,
      realname: `${name} in local room ${this.room.room}`,
      transport: "local",
      channels: new Set(),
      connectedAt: now,
      lastMessageAt: now,
      echo: false,
      deliver: (event) => this.#toRoom(member, event),
      disconnect: (reason) => this.#dropped(id, member, reason),
    };
    this.#hub.add(member);
    this.#members.set(id, member);
    this.#enter(member);
    return member;
  }

  /** Puts a member in the channel; false, and the participant told why, when it may not. */
  #enter(member: LocalMember): boolean {
    const refusal = this.#hub.join(member, this.channel);
    if (typeof refusal !== "string") return true;
    this.#queue(`you cannot join ${this.channel}: ${KEPT_OUT[refusal]}`, member.name);
    return false;
  }

  #remove(id: number, reason: string): void {
    const member = this.#members.get(id);
    if (member === undefined) return;
    this.#members.delete(id);
    this.#hub.remove(member, reason);
  }

  /** The operator disconnected a local member: it comes back when it next speaks. */
  #dropped(id: number, member: LocalMember, reason: string): void {
    if (this.#members.get(id) === member) this.#members.delete(id);
    if (this.#closing) return;
    this.#queue(
      `you were disconnected from ${this.channel} (${reason}); what you say next brings you back`,
      member.name,
    );
  }

  /** Says text as a member, split to fit IRC lines; returns why it failed, if it did. */
  async #say(member: LocalMember, target: string, text: string): Promise<SendError | undefined> {
    member.lastMessageAt = Date.now();
    const budget = privmsgBudget(this.#maxLine, maskOf(member), target);
    for (const piece of splitWords(text, budget)) {
      const result = await this.#hub.send(member, "privmsg", target, piece);
      if (typeof result === "string") return result;
    }
    return undefined;
  }

  /** A private message to the bridge: `NICK TEXT` for a network user. */
  async #sayPrivately(member: LocalMember, text: string): Promise<void> {
    const request = fromLocalUser(text);
    if (request === undefined) {
      this.#queue(`to reach a network user, send me "NICK TEXT" privately`, member.name);
      return;
    }
    const { nick } = request;
    const error = await this.#say(member, nick, request.text);
    if (error === "no-such-nick") {
      this.#queue(`nobody called ${nick} is on the network`, member.name);
    } else if (error === "unavailable") {
      this.#queue(`not sent to ${nick}: ${UNSTORED}`, member.name);
    } else if (error !== undefined) {
      this.#queue(`cannot send to ${nick}: only ${this.channel} is bridged`, member.name);
    }
  }

  /**
   * An event for one local member: a private message goes to that participant; a channel
   * event goes to the whole room once, however many local members the hub hands it to.
   */
  #toRoom(member: LocalMember, event: ChatEvent): void {
    if (this.#closing) return;
    const nick = nickOf(event.source);
    if ((event.kind === "privmsg" || event.kind === "notice") && !event.target.startsWith("#")) {
      const text = chatText(event.kind, nick, event.text);
      if (text !== undefined) this.#queue(text, member.name);
      return;
    }
    if (event === this.#lastRelayed) return;
    this.#lastRelayed = event;
    if (event.source.endsWith(`@${LOCAL_HOST}`)) return;
    const text = eventText(event, nick);
    if (text !== undefined) this.#queue(text, 0);
  }

  /** Queues a room message: `deliver` must not block, so the room is written after it. */
  #queue(text: string, to: string | 0): void {
    if (this.#outbox.length === 0) queueMicrotask(() => this.#flush());
    for (const piece of splitWords(text, MAX_MESSAGE_BYTES)) {
      this.#outbox.push({ text: piece, to });
    }
  }

  #flush(): void {
    const outbox = this.#outbox;
    this.#outbox = [];
    // The hub hands over only what history has committed: the room shows nothing unstored.
    for (const { text, to } of outbox) {
      try {
        this.room.send(text, to);
      } catch (error) {
        // ENOENT: the participant left before its message was written; its leave is on its way.
        if (!(error instanceof IpcError && error.code === "ENOENT")) {
          log.warn("Relaying into local room {room} failed: {error}", {
            room: this.room.room,
            error,
          });
        }
      }
    }
  }
}
