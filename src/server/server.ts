/**
 * The chat server: the chat core, its history and status board, the IRC sessions and the
 * TCP listener, with one lifecycle (start, attach, stats, close).
 *
 * Transports meet the server at {@link ChatServer.attach}: give it any {@link Connection}
 * and it runs an IRC session on it. Users that are not connections (a shared-memory room's
 * participants, bots) join through {@link ChatServer.hub} as {@link Member}s.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import denoJson from "../../deno.json" with { type: "json" };
import { AccountStore } from "../chat/accounts.ts";
import { ChannelStore } from "../chat/channel_store.ts";
import { ChanServ } from "../chat/chanserv.ts";
import { NickServ } from "../chat/nickserv.ts";
import { restorePresence } from "../chat/presence.ts";
import type { SessionTokenOptions } from "../chat/session_tokens.ts";
import type { Connection } from "../chat/connection.ts";
import { defaultDataDir } from "../chat/data_directory.ts";
import { FileStore, type FileStoreOptions } from "../chat/file_store.ts";
import { HistoryStore } from "../chat/history.ts";
import { OperatorList, readOperatorFile } from "../chat/operators.ts";
import { ServerBans } from "../chat/server_bans.ts";
import { ServerModeration } from "../chat/server_moderation.ts";
import { RateLimiter } from "../chat/rate_limiter.ts";
import { ChatHub, LOBBY, type RecentMessage } from "../chat/hub.ts";
import { PushStore } from "../chat/push_store.ts";
import { privmsgBudget, splitWords } from "../chat/split_text.ts";
import { Flusher } from "../chat/delivery.ts";
import { encodeLine } from "../irc/encode.ts";
import { DEFAULT_LIMITS, type IrcLimits } from "../irc/limits.ts";
import { type IrcContext, IrcSession } from "../irc/session.ts";
import { PushNotifications, type PushOptions } from "../irc/push_notifications.ts";
import type { PushSenderStats } from "../net/push/push_sender.ts";
import { generateVapidKey } from "../net/push/vapid.ts";
import { StatusBoard } from "../ipc/status_board.ts";
import type { Bus } from "../cluster/bus.ts";
import { JetStreamBus } from "../cluster/jetstream_bus.ts";
import type { NatsAccess } from "../cluster/nats_access.ts";
import { ShmBus } from "../cluster/shm_bus.ts";
import { FileSnapshotStore } from "../cluster/file_snapshot_store.ts";
import { type ClusterNodeStats, ReplicatedHub } from "../cluster/replicated_hub.ts";
import { ClusterHistory } from "../cluster/cluster_history.ts";
import { AcceptLoop } from "../net/accept_loop.ts";
import { AddressGate, type Admission } from "../net/address_gate.ts";
import { listen } from "../net/listen.ts";
import { type BridgeOptions, LocalBridge, type LocalRoomStats } from "../bridge/bridge.ts";
import { StreamConnection } from "./stream_connection.ts";

const log = getLogger(["shmooze", "server"]);
const DAY_MS = 24 * 60 * 60 * 1000;
const STATUS_INTERVAL_MS = 250;

/**
 * The message of the day when none is given.
 *
 * @example Two lines, the second pointing at #lobby and its history
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_MOTD } from "./server.ts";
 *
 * const lines = DEFAULT_MOTD.split("\n");
 * assert.equal(lines.length, 2);
 * assert.match(lines[1], /^Join #lobby to talk; CHATHISTORY/);
 * ```
 */
export const DEFAULT_MOTD =
  "Welcome to shmooze: chat over shared memory, semaphores and sockets.\nJoin #lobby to talk; CHATHISTORY serves what you missed.";

/** Options for {@link startServer}. */
export interface ServerOptions {
  /** Address to listen on. @default {"0.0.0.0"} */
  hostname?: string;
  /** TCP port; 0 picks a free one. @default {54000} */
  port?: number;
  /** History data directory, or `false` for no history. @default {defaultDataDir()} */
  dataDir?: string | false;
  /** Days history is kept; 0 keeps it forever. @default {30} */
  retentionDays?: number;
  /** Message of the day (lines separated by LF); "" for none. @default {DEFAULT_MOTD} */
  motd?: string;
  /** Publish the status board in shared memory. @default {true} */
  status?: boolean;
  /** The server's name in replies. @default {"shmooze"} */
  name?: string;
  /** Limits, each defaulting to {@link DEFAULT_LIMITS}. */
  limits?: Partial<IrcLimits>;
  /**
   * The least time between two flushes of the clients' queues, ms; a busy server waits
   * longer on its own. @default {0}
   */
  flushIntervalMs?: number;
  /** Also listen for IRC over TLS (on the same address) with this certificate. */
  tls?: TlsOptions;
  /**
   * The operator file (`name argon2id-hash` lines, see `readOperatorFile`), re-read by
   * REHASH; none: nobody can OPER (the console still can do what operators do).
   */
  operFile?: string;
  /** Shortest password a new account may have. @default {8} */
  minPasswordLength?: number;
  /**
   * How long session tokens last unused and how many an account keeps.
   * @default {{ idleDays: 30, maxPerAccount: 20 }}
   */
  sessionTokens?: SessionTokenOptions;
  /**
   * Uploaded files' limits (kept in `<dataDir>/files/` and `files.sqlite`, pruned with the
   * history's retention), or `false` for no uploads. The HTTP transport serves them; there is
   * no store without a data directory. @default {{}}
   */
  uploads?: Omit<FileStoreOptions, "retentionMs"> | false;
  /**
   * Push notifications (IRCv3 `draft/webpush`), on whenever there is a data directory: the
   * VAPID contact (`subject`, default `mailto:push@<name>`), whether endpoints on internal
   * addresses are allowed (`allowInternal`, default false), the sender's limits, and the most
   * subscriptions an account may have (`maxPerAccount`, default 10).
   */
  push?: Partial<PushOptions> & { maxPerAccount?: number };
  /**
   * Run as one node of a cluster on NATS JetStream (`docs/cluster.md`): users, nicks, channel
   * membership and messages are shared with every node of the same cluster name. None: this
   * server is alone, and nothing of the cluster runs.
   */
  cluster?: ClusterOptions;
  /**
   * Share the IRC ports with other processes that set it too (the workers of
   * `serve --workers`: Linux spreads connections over them; Deno needs `--unstable-net`).
   * @default {false}
   */
  reusePort?: boolean;
}

/** Where a clustered server finds its cluster. */
export interface ClusterOptions {
  /** The NATS server, `nats://host:port` or `tls://host:port` (JetStream on); ignored with `ring`. */
  url: string;
  /**
   * The shared-memory ring (`LogRing`) of a `serve --workers` server on this machine: the bus
   * instead of NATS. @default {undefined}
   */
  ring?: string;
  /**
   * Called when this node fell a whole ring behind (`ring` only): it stopped following the
   * log and must stop. @default {logs an error}
   */
  onLost?: (error: Error) => void;
  /**
   * The file that keeps the cluster's snapshot (`ring` only: the workers of `serve --workers`
   * share it); written every 10 s when the log moved, and by each node that stops.
   * @default {undefined: no snapshot, every node reads the ring from entry 1}
   */
  snapshotFile?: string;
  /** The cluster's name: nodes with the same name share their state. @default {"shmooze"} */
  name?: string;
  /** This node's name; a random part is added for each run. @default {the host and the pid} */
  node?: string;
  /** Credentials and a private CA for NATS (`src/cluster/nats_access.ts`). @default {{}} */
  access?: NatsAccess;
  /**
   * The cluster's shared history, `postgres://…` (docs/cluster.md): every node archives the log's
   * messages there and CHATHISTORY reads it. None: each node answers from its own SQLite.
   */
  history?: string;
  /**
   * How long the cluster's log keeps an entry, ms (applied to the stream by each node that
   * opens it); the snapshot is written every quarter of it, at most every 5 minutes.
   * @default {86400000}
   */
  retentionMs?: number;
}

/** A TLS listener's certificate and port. */
export interface TlsOptions {
  /** The certificate chain, PEM. */
  cert: string;
  /** The private key, PEM. */
  key: string;
  /** The TLS port; 0 picks a free one. @default {54443} */
  port?: number;
}

/** A snapshot of the server's state, for monitor pages and metrics. */
export interface ServerStats {
  /** When the server started, ms since the epoch. */
  startedAt: number;
  /** How long it has run. */
  uptimeMs: number;
  /** The port it listens on. */
  port: number;
  /** Attached connections, registered or not. */
  connections: number;
  /** Registered users on every transport, virtual users included. */
  clients: number;
  /** Registered users per transport (`tcp`, `websocket`, `local` …). */
  clientsByTransport: Record<string, number>;
  /** Every channel with its topic and members' nicks. */
  channels: { name: string; topic: string; members: string[] }[];
  /** Chat messages accepted since start. */
  totalMessages: number;
  /** Average over the last 5 complete seconds. */
  messagesPerSecond: number;
  /** Messages in each of the last 60 seconds, oldest first (the last is in progress). */
  messagesPerSecondSeries: number[];
  /** The latest chat messages, oldest first. */
  recentMessages: RecentMessage[];
  /** Chat messages refused because history could not store them (a full disk …). */
  storeFailures: number;
  /** Clients dropped because they did not read what they were sent (SendQ exceeded). */
  sendQDrops: number;
  /** The bridged local room's ring and participants, when {@link ChatServer.bridge} runs. */
  localRoom?: LocalRoomStats;
  /** What became of push notifications, and how many wait to be sent (with a data directory). */
  push?: PushSenderStats & { pending: number };
  /** This node's view of its cluster, when it is one (`clients` counts every node's users). */
  cluster?: ClusterNodeStats;
}

/**
 * A running server. Create it with {@link startServer}.
 *
 * @example Announce in #lobby, read the stats, close
 * ```ts
 * import assert from "node:assert/strict";
 * import { startServer } from "./server.ts";
 *
 * const server = await startServer({
 *   hostname: "127.0.0.1",
 *   port: 0,
 *   dataDir: false,
 *   status: false,
 * });
 * assert.ok(await server.announce("the server is up"));
 * const stats = server.stats();
 * assert.equal(stats.port, server.port);
 * assert.deepEqual(stats.channels, [{ name: "#lobby", topic: "", members: [] }]);
 * assert.equal(stats.totalMessages, 1);
 * assert.equal(stats.recentMessages[0].sender, "*server*");
 * assert.equal(stats.recentMessages[0].text, "the server is up");
 * await server.close();
 * await server.finished;
 * ```
 */
export class ChatServer {
  /** The chat core: members, channels, fan-out. Add virtual users here. */
  readonly hub: ChatHub;
  /** What server operators do (KILL, bans, WALLOPS, REHASH), for IRC opers and the console. */
  readonly moderation: ServerModeration;
  /** The address listened on. */
  readonly hostname: string;
  /** The port listened on (the real one when 0 was asked). */
  readonly port: number;
  /** The TLS port listened on, when TLS is on. */
  readonly tlsPort: number | undefined;
  /** When the server started, ms since the epoch. */
  readonly startedAt: number = Date.now();
  /** Resolves when the server has closed. */
  readonly finished: Promise<void>;
  /**
   * Admission per address, shared by every transport: IRC connections and the HTTP
   * transport's count against one `maxConnectionsPerIp` and one `connectionsPerMinute`.
   */
  readonly gate: AddressGate;
  readonly #context: IrcContext;
  /** This server as a node of its cluster, when it is one ({@link ServerOptions.cluster}). */
  readonly cluster: ReplicatedHub | undefined;
  /** The cluster's shared history, when it has one ({@link ClusterOptions.history}). */
  readonly clusterHistory: ClusterHistory | undefined;
  readonly #history: HistoryStore | undefined;
  readonly #channelStore: ChannelStore | undefined;
  /** Uploaded files, when uploads are on (see {@link ServerOptions.uploads}). */
  readonly files: FileStore | undefined;
  readonly #status: StatusBoard | undefined;
  readonly #sessions = new Set<IrcSession>();
  readonly #acceptLoops: AcceptLoop[] = [];
  #bridge: LocalBridge | undefined;
  readonly #timers: ReturnType<typeof setInterval>[] = [];
  #closing: Promise<void> | undefined;
  #finish!: () => void;

  /** Use {@link startServer}. */
  constructor(
    listener: Deno.Listener,
    context: IrcContext,
    history: HistoryStore | undefined,
    status: StatusBoard | undefined,
    tlsListener?: Deno.TlsListener,
    channelStore?: ChannelStore,
    files?: FileStore,
    clusterHistory?: ClusterHistory,
  ) {
    this.tlsPort = tlsListener && (tlsListener.addr as Deno.NetAddr).port;
    this.#context = context;
    this.cluster = context.cluster;
    this.clusterHistory = clusterHistory;
    this.#history = history;
    this.#channelStore = channelStore;
    this.files = files;
    this.#status = status;
    this.hub = context.hub;
    this.moderation = context.moderation!;
    this.gate = new AddressGate({
      maxPerAddress: context.limits.maxConnectionsPerIp,
      perMinute: context.limits.connectionsPerMinute,
    });
    const address = listener.addr as Deno.NetAddr;
    this.hostname = address.hostname;
    this.port = address.port;
    this.finished = new Promise((resolve) => this.#finish = resolve);
    const { pingInterval, pingTimeout, registrationTimeout } = context.limits;
    const tickMs = Math.min(
      1000,
      Math.max(50, Math.min(pingInterval, pingTimeout, registrationTimeout) * 250),
    );
    this.#timers.push(setInterval(() => this.#tick(), tickMs));
    if (status) this.#timers.push(setInterval(() => this.#publish(), STATUS_INTERVAL_MS));
    if (history) this.#timers.push(setInterval(() => history.prune(), 60 * 60 * 1000));
    if (files) this.#timers.push(setInterval(() => files.prune(), 60 * 60 * 1000));
    this.#publish();
    this.#accept(listener, "tcp", "irc");
    if (tlsListener) this.#accept(tlsListener, "tls", "irc-tls");
  }

  /**
   * Runs an IRC session on a connection from any transport. Refuses it (with an ERROR line)
   * when {@link ChatServer.gate} does: its address already has the most connections allowed,
   * or opened too many in the last minute (loopback excepted).
   *
   * @param connection The client's connection.
   * @param admission The gate's admission when the transport already has one (an HTTP
   *   connection upgraded to a WebSocket counts once); the session releases it when it ends.
   * @returns Whether a session runs on it (false: refused, or the server is closing).
   *
   * @example A client over a connection in memory: it registers, talks and leaves
   * ```ts
   * import assert from "node:assert/strict";
   * import type { Connection } from "../chat/connection.ts";
   * import { startServer } from "./server.ts";
   *
   * function memoryConnection(lines: string[], output: string[], onClose = () => {}): Connection {
   *   return {
   *     transport: "memory",
   *     remoteAddress: "127.0.0.1",
   *     async *lines() {
   *       for (const line of lines) yield new TextEncoder().encode(line);
   *     },
   *     write(chunks) {
   *       for (const chunk of chunks) output.push(new TextDecoder().decode(chunk));
   *       return Promise.resolve();
   *     },
   *     close: onClose,
   *   };
   * }
   * const server = await startServer({
   *   hostname: "127.0.0.1",
   *   port: 0,
   *   dataDir: false,
   *   status: false,
   * });
   * const output: string[] = [];
   * const said = ["NICK ann", "USER ann 0 * :Ann", "JOIN #lobby", "PRIVMSG #lobby :hello"];
   * const hungUp = Promise.withResolvers<void>();
   * assert.ok(server.attach(memoryConnection(said, output, hungUp.resolve)));
   * await hungUp.promise; // the lines ended, so the session closed the connection
   * assert.match(output.join(""), /^:shmooze 001 ann :Welcome/);
   * assert.equal(server.stats().recentMessages[0].text, "hello");
   * assert.equal(server.stats().clients, 0);
   * await server.close();
   * const refused: string[] = [];
   * assert.equal(server.attach(memoryConnection([], refused)), false);
   * assert.deepEqual(refused, ["ERROR :Closing Link: 127.0.0.1 (Server shutting down)\r\n"]);
   * ```
   */
  attach(connection: Connection, admission?: Admission): boolean {
    const admitted = admission ?? this.gate.admit(connection.remoteAddress);
    const reason = this.#closing ? "Server shutting down" : admitted.refused;
    if (reason !== undefined) {
      admitted.release();
      const line = encodeLine({
        command: "ERROR",
        params: [`Closing Link: ${connection.remoteAddress} (${reason})`],
      });
      connection.write([line], line.length).catch(() => {}).finally(() => connection.close());
      return false;
    }
    const session = new IrcSession(connection, this.#context, (closed) => {
      this.#sessions.delete(closed);
      admitted.release();
    });
    this.#sessions.add(session);
    session.run().catch((error) => log.error("Session failed: {error}", { error }));
    return true;
  }

  /** Registered accounts, when the server has a data directory. */
  get accounts(): AccountStore | undefined {
    return this.#context.accounts;
  }

  /**
   * Advertises the upload URL to IRC clients (ISUPPORT `draft/FILEHOST`) from their next
   * registration on; the HTTP transport calls it once it serves uploads.
   *
   * @param url The URL files are posted to.
   */
  advertiseFileHost(url: string): void {
    this.#context.fileHost = url;
  }

  /**
   * Accept errors of the IRC listeners so far, by listener (`irc`, `irc-tls`), for `/metrics`.
   *
   * @returns The counts.
   */
  acceptErrors(): Record<string, number> {
    return Object.fromEntries(this.#acceptLoops.map((loop) => [loop.name, loop.errors]));
  }

  /**
   * Relays a local shared-memory room with a channel until the server closes: its
   * participants become `name|local` users (see {@link LocalBridge}).
   *
   * @param options The room and the channel (default #lobby).
   * @returns The bridge.
   * @throws {IpcError} when the room cannot be joined (it is full); Error for a bad channel,
   *   a room where someone is already called `irc`, or a second bridge.
   */
  bridge(options: BridgeOptions): LocalBridge {
    if (this.#bridge) throw new Error("Cannot bridge a second local room: one is bridged");
    const { nickLength, maxLine } = this.#context.limits;
    this.#bridge = LocalBridge.start(this.hub, { nickLength, maxLine, ...options });
    return this.#bridge;
  }

  /**
   * Says something in #lobby as the server (the operator console), cut between words into
   * lines that fit the line limit when relayed.
   *
   * @param text The text.
   * @returns Whether every piece was stored and shown (false: history could not store one;
   *   the pieces after it were not sent).
   */
  async announce(text: string): Promise<boolean> {
    const budget = privmsgBudget(this.#context.limits.maxLine, this.hub.serverMask, LOBBY);
    for (const piece of splitWords(text, budget)) {
      const sent = this.cluster === undefined
        ? await this.hub.announce(piece)
        : await this.cluster.announce(piece);
      if (typeof sent === "string") return false;
    }
    return true;
  }

  /**
   * The server's state now.
   *
   * @returns A snapshot.
   */
  stats(): ServerStats {
    const now = Date.now();
    const clientsByTransport: Record<string, number> = {};
    for (const member of this.hub.members.values()) {
      clientsByTransport[member.transport] = (clientsByTransport[member.transport] ?? 0) + 1;
    }
    return {
      startedAt: this.startedAt,
      uptimeMs: now - this.startedAt,
      port: this.port,
      connections: this.#sessions.size,
      clients: this.hub.members.size,
      clientsByTransport,
      channels: [...this.hub.channels.values()].map((channel) => ({
        name: channel.name,
        topic: channel.topic,
        members: [...channel.members].map((member) => member.nick),
      })),
      totalMessages: this.hub.totalMessages,
      messagesPerSecond: this.hub.rate.perSecond(5, now),
      messagesPerSecondSeries: this.hub.rate.series(now),
      recentMessages: this.hub.recent(),
      storeFailures: this.hub.storeFailures,
      sendQDrops: this.#context.counters.sendQDrops,
      localRoom: this.#bridge?.stats(),
      push: this.#context.push && {
        ...this.#context.push.stats,
        pending: this.#context.push.pending,
      },
      cluster: this.cluster?.stats(),
    };
  }

  /**
   * Stops: no new connections; every client gets `ERROR` with the reason and is closed
   * (waiting at most a second for slow ones); virtual users are told to leave; history is
   * closed (everything appended is already on disk) and the status board removed.
   *
   * @param reason What clients are told.
   * @returns Resolves when everything is closed.
   */
  close(reason = "Server shutting down"): Promise<void> {
    this.#closing ??= this.#shutdown(reason);
    return this.#closing;
  }

  async #shutdown(reason: string): Promise<void> {
    for (const loop of this.#acceptLoops) loop.close();
    for (const timer of this.#timers) clearInterval(timer);
    this.hub.detachChannelStore();
    // The history archiver gets a moment to store what it holds: the node's last snapshot, next,
    // is written only when it has (a node started from it is not given those entries again).
    await this.clusterHistory?.archiver.idle(2000);
    // First, so every node sees this node's users quit (one node-down) rather than one by one.
    await this.cluster?.close();
    await this.clusterHistory?.close();
    await this.#bridge?.close();
    await Promise.all([...this.#sessions].map((session) => session.close(reason)));
    for (const member of [...this.hub.members.values()]) this.hub.kick(member.nick, reason);
    this.#context.flusher.flush();
    this.#history?.close();
    this.#context.accounts?.close();
    this.files?.close();
    this.moderation.close();
    this.#channelStore?.close();
    await this.#context.push?.close();
    this.#status?.close();
    this.#finish();
  }

  #accept(listener: Deno.Listener, transport: string, name: string): void {
    this.#acceptLoops.push(
      new AcceptLoop(listener, (conn) => this.attach(new StreamConnection(conn, transport)), {
        name,
      }),
    );
  }

  #tick(): void {
    const now = Date.now();
    for (const session of this.#sessions) session.tick(now);
  }

  #publish(): void {
    const stats = this.stats();
    const last = stats.recentMessages.at(-1);
    try {
      // Other nodes' users are the cluster part's (its peers), not a transport of this server.
      const { cluster: _others, ...clientsByTransport } = stats.clientsByTransport;
      this.#status?.publish({
        clients: stats.clients,
        clientsByTransport,
        channels: stats.channels.length,
        totalMessages: stats.totalMessages,
        messagesPerSecond: stats.messagesPerSecond,
        lastMessage: last && {
          sender: last.sender,
          target: last.target,
          text: last.text,
          time: last.time,
        },
        cluster: stats.cluster && {
          cluster: stats.cluster.cluster,
          node: stats.cluster.node,
          bus: stats.cluster.bus ?? "unknown",
          applied: stats.cluster.applied,
          head: stats.cluster.head,
          lag: stats.cluster.lag,
          refused: stats.cluster.refused,
          localClients: stats.cluster.localUsers,
          traffic: stats.cluster.traffic ?? { inBytes: 0, outBytes: 0, inMsgs: 0, outMsgs: 0 },
          peers: stats.cluster.peers,
        },
      });
    } catch (error) {
      log.warn("Publishing the status board failed: {error}", { error });
    }
  }
}

/**
 * Opens history, listens, creates the status board (keyed by the real port) and starts
 * serving IRC.
 *
 * @param options Where to listen and what limits to enforce.
 * @returns The running server.
 * @throws {ListenError} when a listener cannot open (a port in use …);
 *   {DataDirectoryError} when history, accounts or channels cannot be opened; {IpcError} when the status
 *   board cannot be made.
 *
 * @example Serve on a free port without history or status board; a taken port is refused
 * ```ts
 * import assert from "node:assert/strict";
 * import { startServer } from "./server.ts";
 *
 * const server = await startServer({
 *   hostname: "127.0.0.1",
 *   port: 0,
 *   dataDir: false,
 *   status: false,
 * });
 * assert.ok(server.port > 0);
 * assert.equal(server.stats().channels[0].name, "#lobby");
 * await assert.rejects(
 *   startServer({ hostname: "127.0.0.1", port: server.port, dataDir: false, status: false }),
 *   { name: "ListenError", problem: "in-use", message: /IRC on 127\.0\.0\.1:\d+: the port is already in use$/ },
 * );
 * await server.close();
 * ```
 */
export function startServer(options: ServerOptions = {}): Promise<ChatServer> {
  const cluster = options.cluster;
  if (cluster === undefined) return Promise.resolve().then(() => createServer(options));
  return startNode(options, cluster);
}

/**
 * How often the workers of `serve --workers` write their snapshot file (when the log moved):
 * what a `kill -9` of the whole server can lose, and how far a replacement worker may find the
 * ring gone round.
 */
const RING_SNAPSHOT_MS = 10_000;

/** Starts a server as a node of a cluster: connected to NATS, caught up with the log. */
async function startNode(options: ServerOptions, cluster: ClusterOptions): Promise<ChatServer> {
  const retentionMs = cluster.retentionMs ?? 86_400_000;
  // Opening the history only checks its URL: nothing connects until it is used.
  const history = cluster.history === undefined ? undefined : ClusterHistory.open(
    cluster.history,
    { retentionMs: (options.retentionDays ?? 30) * DAY_MS },
  );
  let bus: Bus;
  try {
    bus = cluster.ring === undefined
      ? await JetStreamBus.open(cluster.url, {
        cluster: cluster.name,
        access: cluster.access,
        maxAgeMs: retentionMs,
      })
      : ShmBus.open(cluster.ring, {
        onLost: cluster.onLost,
        snapshots: cluster.snapshotFile === undefined
          ? undefined
          : new FileSnapshotStore(cluster.snapshotFile),
      });
  } catch (error) {
    await history?.close();
    throw error;
  }
  let server: ChatServer;
  try {
    server = createServer(
      options,
      (hub, accounts, channels) =>
        new ReplicatedHub(hub, bus, {
          node: cluster.node,
          cluster: cluster.name,
          accounts,
          channels,
          onMessage: history?.feed(hub),
          snapshotReady: history && (() => history.archiver.caughtUp()),
          onRedact: history?.feedRedactions(),
          snapshotEveryMs: cluster.ring === undefined
            ? Math.min(300_000, retentionMs / 4)
            : RING_SNAPSHOT_MS,
        }),
      history,
    );
  } catch (error) {
    await bus.close();
    await history?.close();
    throw error;
  }
  try {
    await server.cluster!.start();
  } catch (error) {
    await server.close();
    throw error;
  }
  return server;
}

/**
 * Brings every always-on account back in its channels, with no device (a banned one stays
 * out): they were there when the server stopped.
 */
function restoreAlwaysOn(
  hub: ChatHub,
  accounts: AccountStore,
  moderation: ServerModeration,
): void {
  let restored = 0;
  for (const stored of accounts.alwaysOn.list()) {
    const presence = restorePresence(hub, stored);
    if (presence === undefined) {
      log.warn("Always-on {account} could not be brought back: its nick is taken", {
        account: stored.account,
      });
    } else if (!moderation.enforce(presence)) {
      restored++;
    }
  }
  if (restored > 0) log.info("Brought back {count} always-on account(s)", { count: restored });
}

function createServer(
  options: ServerOptions,
  replicate?: (
    hub: ChatHub,
    accounts: AccountStore | undefined,
    channels: ChannelStore | undefined,
  ) => ReplicatedHub,
  clusterHistory?: ClusterHistory,
): ChatServer {
  const hostname = options.hostname ?? "0.0.0.0";
  const port = options.port ?? 54000;
  const name = options.name ?? "shmooze";
  const dataDir = options.dataDir ?? defaultDataDir();
  const operators = options.operFile === undefined ? [] : readOperatorFile(options.operFile);
  const history = dataDir === false ? undefined : HistoryStore.open(dataDir, {
    retentionMs: (options.retentionDays ?? 30) * DAY_MS,
    deferCommit: true,
  });
  // Account logins and OPER share one budget of password hashes (each costs tens of ms).
  const hashBudget = new RateLimiter({ limit: 5, windowMs: 1000 });
  const accounts = dataDir === false ? undefined : AccountStore.open(dataDir, {
    maxNameLength: options.limits?.nickLength ?? DEFAULT_LIMITS.nickLength,
    hashBudget,
    minPasswordLength: options.minPasswordLength,
    sessionTokens: options.sessionTokens,
  });
  let channels: ChannelStore | undefined;
  let files: FileStore | undefined;
  let pushStore: PushStore | undefined;
  try {
    channels = dataDir === false ? undefined : ChannelStore.open(dataDir);
    // A node rebuilds its channels from the cluster's log, which it reads from the start.
    if (replicate !== undefined) channels?.clear();
    files = dataDir === false || options.uploads === false ? undefined : FileStore.open(dataDir, {
      ...options.uploads,
      retentionMs: (options.retentionDays ?? 30) * DAY_MS,
    });
    pushStore = dataDir === false ? undefined : PushStore.open(dataDir, {
      maxPerAccount: options.push?.maxPerAccount,
      createKey: generateVapidKey,
    });
  } catch (error) {
    history?.close();
    accounts?.close();
    channels?.close();
    files?.close();
    throw error;
  }
  const listeners: Deno.Listener[] = [];
  let bans: ServerBans | undefined;
  const closeAll = () => {
    for (const listener of listeners) listener.close();
    history?.close();
    accounts?.close();
    bans?.close();
    channels?.close();
    files?.close();
    pushStore?.close();
  };
  try {
    bans = ServerBans.open(dataDir);
    const shared = { reusePort: options.reusePort };
    listeners.push(listen("irc", hostname, port, undefined, shared));
    if (options.tls) {
      listeners.push(listen("irc-tls", hostname, options.tls.port ?? 54443, options.tls, shared));
    }
  } catch (error) {
    closeAll();
    throw error;
  }
  const [listener, tlsListener] = listeners;
  let status: StatusBoard | undefined;
  if (options.status ?? true) {
    try {
      status = StatusBoard.create((listener.addr as Deno.NetAddr).port);
    } catch (error) {
      closeAll();
      throw error;
    }
  }
  const motd = options.motd ?? DEFAULT_MOTD;
  // The hub commits history once per flush, before it shows the flush's messages to anyone.
  const flusher = new Flusher(options.flushIntervalMs ?? 0);
  let push: PushNotifications | undefined;
  const hub = new ChatHub({
    history,
    serverName: name,
    flusher,
    channels,
    alwaysOn: accounts?.alwaysOn,
    onStored: (message) => push?.notify(message),
  });
  if (pushStore) {
    try {
      push = new PushNotifications(hub, pushStore, {
        subject: `mailto:push@${name}`,
        ...options.push,
      });
    } catch (error) {
      closeAll();
      status?.close();
      throw error;
    }
  }
  if (channels) ChanServ.start(hub, channels);
  if (accounts) NickServ.start(hub, replicate !== undefined);
  const moderation = new ServerModeration(hub, {
    serverName: name,
    operators: new OperatorList(operators, { hashBudget }),
    operFile: options.operFile,
    bans,
  });
  if (accounts && replicate === undefined) restoreAlwaysOn(hub, accounts, moderation);
  else if (accounts) {
    // A cluster's always-on presences are in its log, which the node reads from its start and
    // writes this store by (as it does the channel store): what it kept from before is dropped.
    for (const stored of accounts.alwaysOn.list()) accounts.alwaysOn.disable(stored.account);
  }
  const context: IrcContext = {
    hub,
    flusher,
    limits: { ...DEFAULT_LIMITS, ...options.limits },
    serverName: name,
    version: denoJson.version,
    createdAt: Date.now(),
    motd: motd === "" ? [] : motd.split(/\r?\n/),
    accounts,
    moderation,
    counters: { sendQDrops: 0 },
    push,
    cluster: replicate?.(hub, accounts, channels),
    historyReader: clusterHistory,
  };
  context.cluster?.moderate(moderation);
  return new ChatServer(
    listener,
    context,
    history,
    status,
    tlsListener as Deno.TlsListener,
    channels,
    files,
    clusterHistory,
  );
}
