/**
 * The numbers the web side shows: what `/monitor/events` and `/api/stats` send as JSON and
 * what `/metrics` prints. Plain data, so the dashboard and scripts read the same thing.
 *
 * @module
 */
import type { RecentMessage } from "../chat/hub.ts";
import type { LocalRoomStats } from "../bridge/bridge.ts";

/** One message as the monitor lists it: the hub's record without its id and command. */
export type MonitorMessage = Pick<RecentMessage, "time" | "sender" | "target" | "text">;

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
  localRoom?: LocalRoomStats;
}
