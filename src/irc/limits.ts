/**
 * The limits an IRC session enforces, with defaults close to Ergo's.
 *
 * @module
 */
import { CHANNEL_LENGTH, NICK_LENGTH } from "../chat/names.ts";

/** Limits and timers of one server's IRC sessions. Times are in seconds. */
export interface IrcLimits {
  /** Longest line in bytes, CR LF included, tags excluded. @default {512} */
  maxLine: number;
  /**
   * Longest tag section a client may send, in bytes (`@` to the space after it): IRCv3
   * message-tags allows a client 4094 bytes of tags, 4096 with the `@` and the space.
   * @default {4096}
   */
  maxTags: number;
  /** Lines a registered client may send at once before flood control delays it; 0 turns flood control off. @default {5} */
  floodBurst: number;
  /** Lines per second allowed after the burst. @default {2} */
  floodRate: number;
  /** Most bytes queued for one client before it is dropped ("SendQ exceeded"). @default {98304} */
  sendQ: number;
  /** Silence after which the server sends PING. @default {90} */
  pingInterval: number;
  /** Time to answer that PING before the connection is closed. @default {60} */
  pingTimeout: number;
  /** Time to complete registration (NICK, USER, CAP END). @default {60} */
  registrationTimeout: number;
  /** Most connections from one IP address. @default {16} */
  maxConnectionsPerIp: number;
  /** New connections accepted from one IP address in any minute; loopback is exempt. @default {30} */
  connectionsPerMinute: number;
  /** Bytes a client may send before registration completes; more closes it. @default {16384} */
  maxUnregisteredBytes: number;
  /** CHATHISTORY commands one client may send in any 10 seconds. @default {20} */
  historyBudget: number;
  /** SEARCH commands one client may send in any 10 seconds. @default {10} */
  searchBudget: number;
  /**
   * Milliseconds one SEARCH may read the index (the server has one thread) before it stops
   * and answers with what it found and `WARN SEARCH INCOMPLETE`. @default {250}
   */
  searchTimeMs: number;
  /** NICKLEN. @default {32} */
  nickLength: number;
  /** CHANNELLEN. @default {64} */
  channelLength: number;
  /** TOPICLEN, also AWAYLEN and KICKLEN. @default {390} */
  topicLength: number;
  /** Channels one client may be in (CHANLIMIT). @default {100} */
  maxChannels: number;
  /** Targets of one PRIVMSG or NOTICE (MAXTARGETS). @default {4} */
  maxTargets: number;
  /** Most messages one CHATHISTORY reply holds. @default {100} */
  historyLimit: number;
  /** Nicks one client may watch with MONITOR (ISUPPORT `MONITOR`). @default {100} */
  maxMonitor: number;
}

/**
 * The defaults.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NICK_LENGTH } from "../chat/names.ts";
 * import { DEFAULT_LIMITS } from "./limits.ts";
 *
 * assert.equal(DEFAULT_LIMITS.maxLine, 512);
 * assert.equal(DEFAULT_LIMITS.nickLength, NICK_LENGTH);
 * assert.ok(Object.isFrozen(DEFAULT_LIMITS));
 * ```
 */
export const DEFAULT_LIMITS: Readonly<IrcLimits> = Object.freeze({
  maxLine: 512,
  maxTags: 4096,
  floodBurst: 5,
  floodRate: 2,
  sendQ: 96 * 1024,
  pingInterval: 90,
  pingTimeout: 60,
  registrationTimeout: 60,
  maxConnectionsPerIp: 16,
  connectionsPerMinute: 30,
  maxUnregisteredBytes: 16 * 1024,
  historyBudget: 20,
  searchBudget: 10,
  searchTimeMs: 250,
  nickLength: NICK_LENGTH,
  channelLength: CHANNEL_LENGTH,
  topicLength: 390,
  maxChannels: 100,
  maxTargets: 4,
  historyLimit: 100,
  maxMonitor: 100,
});
