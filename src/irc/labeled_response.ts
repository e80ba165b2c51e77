/**
 * IRCv3 labeled-response: the answer to one command a client sent with `@label=…`, collected
 * while the command runs and sent when it ends with the label — one line labeled, several in a
 * `labeled-response` batch, none as `ACK`. The session handles commands one at a time, so
 * what it sends while a labeled command runs is that command's answer; the events the client
 * itself causes (its JOIN, its echo) reach it through `deliver` then (see
 * `ChatHub.beginResponse`), and {@link LabeledResponse.take} keeps them.
 *
 * @module
 */
import type { ChatEvent } from "../chat/chat_event.ts";
import { foldCase } from "../chat/casemap.ts";
import { encodeLine, encodeTagged } from "./encode.ts";
import type { IrcMessage } from "./message.ts";

/** A line the server sends, before encoding: its source defaults to the server. */
export type Outgoing = Omit<IrcMessage, "tags" | "source"> & Partial<IrcMessage> & {
  /** Put a colon before the last parameter even when it needs none. */
  trailing?: boolean;
};

/** One line of the answer: a reply, or an event the client caused. */
type Item = { message: Outgoing; event?: undefined } | { event: ChatEvent };

/** One encoded line of an answer, with the event it shows (when it may wait for its commit). */
export interface ResponseLine {
  /** The bytes, CR LF included. */
  bytes: Uint8Array;
  /** The event, for a line that shows one. */
  event?: ChatEvent;
}

let batches = 0;

/**
 * The answer to one labeled command.
 *
 * @example Two replies become a labeled batch; none an ACK
 * ```ts
 * import assert from "node:assert/strict";
 * import { LabeledResponse } from "./labeled_response.ts";
 *
 * const text = (response: LabeledResponse) =>
 *   response.lines(0, { batch: true, serverName: "irc.test" })
 *     .map((line) => new TextDecoder().decode(line.bytes).trimEnd());
 * const two = new LabeledResponse("l1", "ann!a@h");
 * two.reply({ command: "371", params: ["ann", "one"] });
 * two.reply({ command: "374", params: ["ann", "End of INFO list"] });
 * const [open, ...rest] = text(two);
 * const id = /^@label=l1 :irc\.test BATCH \+(\S+) labeled-response$/.exec(open)?.[1];
 * assert.deepEqual(rest, [
 *   `@batch=${id} :irc.test 371 ann one`,
 *   `@batch=${id} :irc.test 374 ann :End of INFO list`,
 *   `:irc.test BATCH -${id}`,
 * ]);
 * assert.deepEqual(text(new LabeledResponse("l2", "ann!a@h")), ["@label=l2 :irc.test ACK"]);
 * ```
 */
export class LabeledResponse {
  /** The label the client chose. */
  readonly label: string;
  /** The client's mask when the command started: the source of the events it causes. */
  readonly #mask: string;
  readonly #items: Item[] = [];

  /**
   * Starts an empty answer.
   *
   * @param label The label.
   * @param mask The client's `nick!user@host` as the command starts.
   */
  constructor(label: string, mask: string) {
    this.label = label;
    this.#mask = mask;
  }

  /**
   * Adds a reply to the answer.
   *
   * @param message The reply.
   */
  reply(message: Outgoing): void {
    this.#items.push({ message });
  }

  /**
   * Adds an event delivered while the command runs, if the client caused it: a JOIN, a NICK,
   * an echo. A message to oneself comes twice; only the second, the echo, is the answer.
   *
   * @param event The event.
   * @param client The client's nick and mask now (a NICK changed them).
   * @param echo Whether the same event was delivered just before (the echo of a message to
   *   oneself).
   * @returns True when the event is part of the answer (and taken); false when it is not.
   */
  take(event: ChatEvent, client: { nick: string; mask: string }, echo: boolean): boolean {
    if (event.source !== this.#mask && event.source !== client.mask) return false;
    const toSelf = (event.kind === "privmsg" || event.kind === "notice" ||
      event.kind === "tagmsg") && foldCase(event.target) === foldCase(client.nick);
    if (toSelf && !echo) return false;
    this.#items.push({ event });
    return true;
  }

  /**
   * The answer's lines: one line labeled; several in a `labeled-response` batch (a client
   * without `batch` gets them unlabeled); none as `ACK`. A reply already in a batch of its own
   * (a history batch) stays in it: that batch's `BATCH` lines are in this one.
   *
   * @param variant The client's encoding variant.
   * @param options Whether the client enabled `batch`, and the server's name.
   * @returns The lines, in order.
   */
  lines(variant: number, options: { batch: boolean; serverName: string }): ResponseLine[] {
    const encode = (item: Item, tags: Record<string, string>): ResponseLine =>
      item.event ? { bytes: encodeTagged(item.event, variant, tags), event: item.event } : {
        bytes: encodeLine({
          source: options.serverName,
          ...item.message,
          tags: { ...tags, ...item.message.tags },
        }),
      };
    const visible = this.#items.filter((item) =>
      item.event === undefined || encodeTagged(item.event, variant).length > 0
    );
    const label = { label: this.label };
    if (visible.length === 0) return [encode({ message: { command: "ACK", params: [] } }, label)];
    if (visible.length === 1) return [encode(visible[0], label)];
    if (!options.batch) return visible.map((item) => encode(item, {}));
    const id = `r${(++batches).toString(36)}`;
    return [
      encode({ message: { command: "BATCH", params: [`+${id}`, "labeled-response"] } }, label),
      ...visible.map((item) =>
        encode(item, item.event === undefined && item.message.tags?.batch ? {} : { batch: id })
      ),
      encode({ message: { command: "BATCH", params: [`-${id}`] } }, {}),
    ];
  }
}
