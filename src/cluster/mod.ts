/**
 * Several servers as one chat: the state changes nodes share through a log (the event format),
 * the bus that carries them (an interface, and NATS JetStream behind it), the replicated hub
 * each node runs, and the cluster's history in PostgreSQL with the archiver that feeds it. `docs/cluster.md` explains the design and what it guarantees.
 *
 * @example An event as it travels on the bus, checked on the way in
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeEvent, encodeEvent, type ClusterEvent } from "./mod.ts";
 *
 * const join: ClusterEvent = { v: 1, id: "a-1", node: "a", conn: "1", kind: "join", channel: "#c", key: "" };
 * assert.deepEqual(decodeEvent(encodeEvent(join)), join);
 * ```
 *
 * @module
 */
export type {
  Bus,
  BusState,
  BusTraffic,
  LogEntry,
  LogReader,
  SnapshotStore,
  StoredSnapshot,
} from "./bus.ts";
export {
  type AccountRegisterEvent,
  type AnnounceEvent,
  type AttachEvent,
  type AwayEvent,
  type ChghostEvent,
  type ClusterEvent,
  type ConnectEvent,
  decodeEvent,
  decodeHeartbeat,
  encodeEvent,
  EVENT_VERSION,
  type EventOrigin,
  type GapEvent,
  type Heartbeat,
  type InviteEvent,
  type JoinEvent,
  type KickEvent,
  type KillEvent,
  type KlineEvent,
  type KlineNickEvent,
  type LoginEvent,
  type MessageEvent,
  type ModeEvent,
  type ModeEventChange,
  type NickEvent,
  type NodeDownEvent,
  type PartEvent,
  type QuitEvent,
  type ReadMarkerEvent,
  type RedactEvent,
  type ServiceEvent,
  type SetnameEvent,
  type StateEvent,
  type TokenIssueEvent,
  type TokenRevokeEvent,
  type TopicEvent,
  type UnklineEvent,
  type UserStateEvent,
  type WallopsEvent,
} from "./cluster_event.ts";
export type { NatsAccess } from "./nats_access.ts";
export { ClusterHistory } from "./cluster_history.ts";
export {
  archivedMessage,
  type ArchiverStats,
  type ArchiveStore,
  HistoryArchiver,
  type HistoryArchiverOptions,
} from "./history_archiver.ts";
export { clusterNameProblem, JetStreamBus, type JetStreamBusOptions } from "./jetstream_bus.ts";
export {
  type Archived,
  type ArchivedMessage,
  type ArchivedRedaction,
  PgHistory,
  type PgHistoryOptions,
} from "./pg_history.ts";
export { ShmBus, type ShmBusOptions } from "./shm_bus.ts";
export { FileSnapshotStore } from "./file_snapshot_store.ts";
export {
  type ClusterNodeStats,
  type NickBanRequest,
  type Replicated,
  ReplicatedHub,
  type ReplicatedHubOptions,
} from "./replicated_hub.ts";
