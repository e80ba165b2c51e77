/**
 * A channel: a name, a topic and the members who receive what is said in it.
 *
 * @module
 */
import type { ChannelStream } from "./delivery.ts";
import type { Member } from "./member.ts";

/**
 * One channel. The hub changes it; transports read it.
 *
 * @example A new channel keeps its spelling and has no members or topic
 * ```ts
 * import assert from "node:assert/strict";
 * import { Channel } from "./channel.ts";
 *
 * const lobby = new Channel("#Lobby", "#lobby");
 * assert.equal(lobby.name, "#Lobby");
 * assert.equal(lobby.key, "#lobby");
 * assert.equal(lobby.members.size, 0);
 * assert.equal(lobby.topic, "");
 * ```
 */
export class Channel {
  /** The name as first created (`#Lobby` keeps its capital). */
  readonly name: string;
  /** The folded name, the channel's key. */
  readonly key: string;
  /** When it was created, ms since the epoch. */
  readonly createdAt: number = Date.now();
  /** The topic ("" when none). */
  topic = "";
  /** Who set the topic (a mask). */
  topicSetBy = "";
  /** When the topic was set, ms since the epoch. */
  topicSetAt = 0;
  /** Members in join order. */
  readonly members: Set<Member> = new Set();
  /** Channel operators (`+o`, prefix `@`): they may change modes, kick and invite. */
  readonly operators: Set<Member> = new Set();
  /** Voiced members (`+v`, prefix `+`): they may speak in a moderated channel. */
  readonly voiced: Set<Member> = new Set();
  /** Members without a send queue (virtual users): the hub hands them each event. */
  readonly direct: Set<Member> = new Set();
  /** This tick's events for members with a send queue, once something was said. */
  stream: ChannelStream | undefined;

  /**
   * Makes an empty channel without a topic.
   *
   * @param name The channel's name.
   * @param key Its folded name.
   */
  constructor(name: string, key: string) {
    this.name = name;
    this.key = key;
  }

  /**
   * A member's prefix as NAMES and WHO show it: `@` for an operator, else `+` for voice;
   * with `all` (IRCv3 `multi-prefix`) every prefix it has, highest first.
   *
   * @param member A member of the channel.
   * @param all Whether to give every prefix, not just the highest.
   * @returns The prefix ("" for none).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Channel } from "./channel.ts";
   * import type { Member } from "./member.ts";
   *
   * const channel = new Channel("#c", "#c");
   * const ann = { nick: "ann" } as Member;
   * channel.members.add(ann);
   * channel.operators.add(ann);
   * channel.voiced.add(ann);
   * assert.equal(channel.prefixOf(ann), "@");
   * assert.equal(channel.prefixOf(ann, true), "@+");
   * ```
   */
  prefixOf(member: Member, all = false): string {
    const op = this.operators.has(member) ? "@" : "";
    const voice = this.voiced.has(member) ? "+" : "";
    return all ? op + voice : op || voice;
  }
}
