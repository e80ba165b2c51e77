/**
 * What ChanServ and NickServ share: a private message to a service is a command, run once the
 * hub has handed the message out (after its commit) and never for a message that was lost.
 *
 * @module
 */
import { type ChatEvent, isLost } from "./chat_event.ts";
import { foldCase } from "./casemap.ts";
import type { ChatHub } from "./hub.ts";
import type { Member } from "./member.ts";

/** A pseudo-user that takes private messages as commands. */
export interface CommandService extends Member {
  /**
   * Runs one command from a member and answers it.
   *
   * @param member Who asks.
   * @param text The command line.
   */
  command(member: Member, text: string): void;
}

/**
 * Takes what the hub hands a service: a private message to it becomes a command of its
 * sender; anything else is ignored.
 *
 * @param hub The chat.
 * @param service The service.
 * @param event What the hub hands it.
 *
 * @example A private message to the service runs as a command, once the hub is done
 * ```ts
 * import assert from "node:assert/strict";
 * import { createEvent } from "./chat_event.ts";
 * import { ChatHub } from "./hub.ts";
 * import type { Member } from "./member.ts";
 * import { type CommandService, takeCommand } from "./_service_command.ts";
 *
 * const hub = new ChatHub();
 * const ann = {
 *   nick: "ann", user: "a", host: "h", realname: "Ann", transport: "tcp",
 *   channels: new Set<string>(), echo: false, deliver() {}, disconnect() {},
 * } as Member;
 * hub.add(ann);
 * const asked: string[] = [];
 * const service = {
 *   ...ann, nick: "Helper", command: (m: Member, text: string) => asked.push(`${m.nick}: ${text}`),
 * } as CommandService;
 * const said = (target: string) =>
 *   createEvent({ kind: "privmsg", source: "ann!a@h", target, text: "HELP" });
 * takeCommand(hub, service, said("helper"));
 * takeCommand(hub, service, said("#lobby"));
 * assert.deepEqual(asked, [], "not while the hub hands it out");
 * await Promise.resolve();
 * assert.deepEqual(asked, ["ann: HELP"]);
 * ```
 */
export function takeCommand(hub: ChatHub, service: CommandService, event: ChatEvent): void {
  if (event.kind !== "privmsg" || isLost(event)) return;
  if (foldCase(event.target) !== foldCase(service.nick)) return;
  const nick = event.source.slice(0, event.source.indexOf("!"));
  // deliver must not act: the command runs once the hub is done handing events out.
  queueMicrotask(() => {
    const member = hub.find(nick);
    if (member !== undefined && member !== service) service.command(member, event.text);
  });
}
