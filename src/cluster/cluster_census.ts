/**
 * Every node's numbers read from the cluster itself, for an operator on a machine with no node
 * (`shmooze status --cluster`): the log's last sequence from JetStream, and each node's last
 * heartbeat — heard for a little longer than one heartbeat period, so every live node is heard.
 *
 * @module
 */
import { jetstreamManager } from "@nats-io/jetstream";
import { decodeHeartbeat, type Heartbeat } from "./cluster_event.ts";
import { clusterNameProblem, clusterSubjects } from "./jetstream_bus.ts";
import { connectNats, type NatsAccess } from "./nats_access.ts";

/** One node as its heartbeat describes it. */
export interface CensusNode {
  /** Its name. */
  node: string;
  /** Its users. */
  clients: number;
  /** The last log sequence it applied. */
  applied: number;
  /** Entries it is behind the log's last sequence. */
  lag: number;
  /** Milliseconds since its last heartbeat, when the census ended. */
  silentMs: number;
  /** When it started, ms since the epoch (none from nodes that do not say). */
  startedAt?: number;
  /** Log entries it refused (none from nodes that do not say). */
  refused?: number;
  /** What its bus carried (none from nodes that do not say). */
  traffic?: { inBytes: number; outBytes: number; inMsgs: number; outMsgs: number };
}

/** A cluster at one moment. */
export interface ClusterCensus {
  /** The cluster's name. */
  cluster: string;
  /** The log's last sequence. */
  head: number;
  /** The nodes heard, by name. */
  nodes: CensusNode[];
}

/** Options for {@link takeCensus}. */
export interface CensusOptions {
  /** The cluster's name. @default {"shmooze"} */
  cluster?: string;
  /** Credentials and CA. @default {{}} */
  access?: NatsAccess;
  /** How long to listen to heartbeats, ms (nodes beat each second). @default {2500} */
  listenMs?: number;
}

/**
 * Reads a cluster's log head and listens to its nodes' heartbeats.
 *
 * @param url The NATS server, `nats://…` or `tls://…`.
 * @param options The cluster, access and listening time.
 * @returns What was heard; `nodes` is empty when no node beat while listening.
 * @throws {Error} One line: NATS cannot be reached (or refuses), or the cluster has no log there.
 *
 * @example A cluster nobody made (needs `nats-server -js` on 4222)
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { takeCensus } from "./cluster_census.ts";
 *
 * await assert.rejects(takeCensus("nats://127.0.0.1:4222", { cluster: "nobody" }), /No cluster "nobody"/);
 * ```
 */
export async function takeCensus(url: string, options: CensusOptions = {}): Promise<ClusterCensus> {
  const cluster = options.cluster ?? "shmooze";
  const problem = clusterNameProblem(cluster);
  if (problem !== undefined) throw new TypeError(problem);
  const subjects = clusterSubjects(cluster);
  const nc = await connectNats(url, options.access ?? {}, `shmooze-status-${Deno.pid}`);
  try {
    const heard = new Map<string, { at: number; beat: Heartbeat }>();
    const subscription = nc.subscribe(subjects.beats, {
      callback: (error, message) => {
        if (error) return;
        try {
          const beat = decodeHeartbeat(message.data);
          heard.set(beat.node, { at: Date.now(), beat });
        } catch {
          // Someone else's bytes on the subject: not a node.
        }
      },
    });
    const manager = await jetstreamManager(nc);
    const lastSequence = async () => {
      try {
        return (await manager.streams.info(subjects.stream)).state.last_seq;
      } catch (error) {
        if (/stream not found/i.test((error as Error).message)) {
          throw new Error(
            `No cluster "${cluster}" at ${url}: its log (stream ${subjects.stream}) does not exist`,
          );
        }
        throw new Error(
          `Cannot read the log of cluster "${cluster}" at ${url}: ${(error as Error).message}`,
        );
      }
    };
    await lastSequence();
    await new Promise((resolve) => setTimeout(resolve, options.listenMs ?? 2500));
    subscription.unsubscribe();
    const now = Date.now();
    const beats = [...heard.values()];
    const head = Math.max(await lastSequence(), ...beats.map(({ beat }) => beat.applied));
    const nodes = beats.map(({ at, beat }): CensusNode => ({
      node: beat.node,
      clients: beat.clients,
      applied: beat.applied,
      lag: head - beat.applied,
      silentMs: now - at,
      ...(beat.startedAt === undefined ? {} : { startedAt: beat.startedAt }),
      ...(beat.refused === undefined ? {} : { refused: beat.refused }),
      ...(beat.inBytes === undefined ? {} : {
        traffic: {
          inBytes: beat.inBytes,
          outBytes: beat.outBytes ?? 0,
          inMsgs: beat.inMsgs ?? 0,
          outMsgs: beat.outMsgs ?? 0,
        },
      }),
    }));
    return { cluster, head, nodes: nodes.sort((a, b) => a.node.localeCompare(b.node)) };
  } finally {
    await nc.close();
  }
}
