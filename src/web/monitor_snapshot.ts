/**
 * The numbers the web side shows: what `/monitor/events` and `/api/stats` send as JSON and
 * what `/metrics` prints. Plain data with no imports, so the dashboard (`client/monitor.ts`,
 * type-checked for the browser) and the server compile against the same shapes; the server
 * fills them from the hub's recent messages and the bridge's `LocalRoomStats`.
 *
 * @module
 */

/** One message as the monitor lists it. */
export interface MonitorMessage {
  /** When the server accepted it, in ms since the epoch. */
  time: number;
  /** The sender's nick. */
  sender: string;
  /** The channel. */
  target: string;
  /** The message text. */
  text: string;
}

/** The shared-memory room the server bridges, as the monitor shows it. */
export interface MonitorRoom {
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

/** Another node of the cluster, as this node knows it. */
export interface MonitorPeer {
  /** Its name. */
  node: string;
  /** Its users. */
  users: number;
  /** The last log sequence it said it applied (0: not heard yet). */
  applied: number;
  /** Milliseconds since it was last heard from. */
  silentMs: number;
}

/** This server as a node of a cluster (`serve --cluster`), as `/metrics` shows it. */
export interface MonitorCluster {
  /** The cluster's name. */
  cluster: string;
  /** The node's name. */
  node: string;
  /** The last log sequence it applied. */
  applied: number;
  /** The log's last sequence, as the node last asked. */
  head: number;
  /** How many log entries it is behind the log's last sequence. */
  lag: number;
  /** Its link to the bus (NATS); `unknown` when the bus does not tell. */
  bus: "connected" | "reconnecting" | "closed" | "unknown";
  /** What its bus carried since it opened. */
  traffic?: { inBytes: number; outBytes: number; inMsgs: number; outMsgs: number };
  /** Log entries refused as invalid since start. */
  refused: number;
  /** Users connected to this node (the snapshot's `clients` counts every node's). */
  localClients: number;
  /** How many other nodes it knows of. */
  peers: number;
  /** The other nodes. */
  nodes: MonitorPeer[];
}

/** One moment of the server, as the dashboard draws it. */
export interface MonitorSnapshot {
  /** When the snapshot was taken, ms since the epoch. */
  time: number;
  /** When the server started, ms since the epoch. */
  startedAt: number;
  /** Milliseconds since the server started. */
  uptimeMs: number;
  /** Connected clients, all transports. */
  clients: number;
  /** Connected clients by transport: `tcp`, `websocket`, `local` … */
  clientsByTransport: Record<string, number>;
  /** Chat messages accepted since the server started. */
  totalMessages: number;
  /**
   * Messages in each of the last complete seconds, oldest first; the last entry is the
   * second that ended at `time`.
   */
  messagesPerSecond: number[];
  /** Channels and their members' nicks, by name. */
  channels: { name: string; members: string[] }[];
  /** The last messages, oldest first. */
  recent: MonitorMessage[];
  /** Chat messages refused because history could not store them (a full disk …). */
  storeFailures?: number;
  /** Clients dropped because they did not read what they were sent (SendQ exceeded). */
  sendQDrops?: number;
  /** The bridged local room, when the server bridges one. */
  localRoom?: MonitorRoom;
  /** The cluster, when the server is one of its nodes. */
  cluster?: MonitorCluster;
}
