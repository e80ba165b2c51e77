/**
 * MODE: for channels here, for the user's own modes in `user_modes.ts`.
 *
 * A channel mode string is read as ISUPPORT `CHANMODES=beI,k,l,imnst` and `PREFIX=(ov)@+`
 * say: list modes (`b`, `e`, `I`) and `k`, `o`, `v` take a parameter both ways, `l` only when
 * set, flags none. A list mode without its parameter asks for the list. At most
 * {@link MAX_MODES} changes with a parameter are taken from one command (ISUPPORT `MODES`);
 * the rest are ignored, as servers do.
 *
 * @module
 */
import type { Channel } from "../../chat/channel.ts";
import {
  type ListMode,
  type ModeChange,
  type ModePlan,
  type ModeRefusal,
  paramRule,
} from "../../chat/channel_modes.ts";
import type { ChannelError } from "../../chat/hub.ts";
import { isChannelName } from "../../chat/names.ts";
import type { IrcMessage } from "../message.ts";
import { Numeric } from "../numerics.ts";
import type { IrcSession } from "../session.ts";
import type { Handler } from "./handler.ts";
import { userMode } from "./user_modes.ts";

/**
 * The most mode changes with a parameter one MODE command makes (ISUPPORT `MODES`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MAX_MODES } from "./modes.ts";
 *
 * assert.equal(MAX_MODES, 6);
 * ```
 */
export const MAX_MODES = 6;

/** The numerics that list each list mode, and the end of each list. */
const LIST_REPLIES: Record<ListMode, [string, string, string]> = {
  b: [Numeric.RPL_BANLIST, Numeric.RPL_ENDOFBANLIST, "End of channel ban list"],
  e: [Numeric.RPL_EXCEPTLIST, Numeric.RPL_ENDOFEXCEPTLIST, "End of channel exception list"],
  I: [Numeric.RPL_INVEXLIST, Numeric.RPL_ENDOFINVEXLIST, "End of channel invite exception list"],
};

/** A channel MODE command, read: the changes asked, the lists asked for, unknown letters. */
interface ParsedModes {
  changes: ModeChange[];
  queries: ListMode[];
  unknown: string[];
}

/**
 * Reads `+ov-b ann bob mask`: each letter with its parameter, by the letter's rule.
 *
 * @param modes The mode string.
 * @param params The parameters after it.
 * @returns The changes (at most {@link MAX_MODES} with a parameter), list queries, and the
 *   letters shmooze does not know.
 */
function parseModes(modes: string, params: string[]): ParsedModes {
  const parsed: ParsedModes = { changes: [], queries: [], unknown: [] };
  let add = true;
  let next = 0;
  let withParam = 0;
  for (const mode of modes) {
    if (mode === "+" || mode === "-") {
      add = mode === "+";
      continue;
    }
    const rule = paramRule(mode);
    if (rule === undefined) {
      if (!parsed.unknown.includes(mode)) parsed.unknown.push(mode);
      continue;
    }
    const takes = rule === "always" || (rule === "when-set" && add);
    if (!takes) {
      parsed.changes.push({ add, mode });
      continue;
    }
    const param = params[next++];
    if (param === undefined) {
      if ("beI".includes(mode) && !parsed.queries.includes(mode as ListMode)) {
        parsed.queries.push(mode as ListMode);
      } else if (mode === "k" && !add) {
        parsed.changes.push({ add, mode });
      }
      continue;
    }
    if (++withParam > MAX_MODES) continue;
    parsed.changes.push({ add, mode, param });
  }
  return parsed;
}

function sendList(session: IrcSession, channel: Channel, list: ListMode): void {
  const [item, end, text] = LIST_REPLIES[list];
  // A secret channel's lists would name its members and operators to outsiders.
  const entries = channel.visibleTo(session.member) ? channel.settings.lists[list] : [];
  for (const entry of entries) {
    session.reply(
      item,
      channel.name,
      entry.mask,
      entry.setBy,
      String(Math.floor(entry.setAt / 1000)),
    );
  }
  session.reply(end, channel.name, text);
}

function refusal(session: IrcSession, channel: Channel, refused: ModeRefusal): void {
  const { change, error, reason } = refused;
  switch (error) {
    case "unknown-mode":
      return session.reply(Numeric.ERR_UNKNOWNMODE, change.mode, "is unknown mode char to me");
    case "need-param":
      return session.needMoreParams("MODE");
    case "invalid-param":
      // A key is never shown back (those who see the reply may not be meant to know it),
      // and an empty parameter would vanish from the line.
      return session.reply(
        Numeric.ERR_INVALIDMODEPARAM,
        channel.name,
        change.mode,
        change.mode === "k" || !change.param ? "*" : change.param,
        reason,
      );
    case "list-full":
      return session.reply(Numeric.ERR_BANLISTFULL, channel.name, change.mode, reason);
    case "no-such-nick":
      return session.reply(Numeric.ERR_NOSUCHNICK, change.param ?? "*", "No such nick/channel");
    case "not-in-channel":
      return session.reply(
        Numeric.ERR_USERNOTINCHANNEL,
        change.param ?? "*",
        channel.name,
        "They aren't on that channel",
      );
  }
}

function channelMode(
  session: IrcSession,
  channel: Channel,
  modes: string,
  params: string[],
): Promise<void> | void {
  const { hub, cluster } = session.context;
  const { changes, queries, unknown } = parseModes(modes, params);
  for (const mode of unknown) {
    session.reply(Numeric.ERR_UNKNOWNMODE, mode, "is unknown mode char to me");
  }
  for (const list of queries) sendList(session, channel, list);
  if (changes.length === 0) return;
  if (cluster === undefined) {
    return modeAnswer(session, channel, hub.changeModes(session, channel, changes));
  }
  // Lists are read here (every node holds the same); changes go through the cluster's log.
  return cluster.changeModes(session, channel.name, changes).then((result) =>
    modeAnswer(session, channel, result)
  );
}

/** Answers a MODE change with what it gave. */
function modeAnswer(
  session: IrcSession,
  channel: Channel,
  result: ModePlan | ChannelError | "invalid",
): void {
  if (result === "invalid") {
    return session.fail(
      "MODE",
      "INVALID_PARAMS",
      channel.name,
      "A mode parameter is empty or holds a space or a comma",
    );
  }
  if (result === "no-such-channel") {
    return session.reply(Numeric.ERR_NOSUCHCHANNEL, channel.name, "No such channel");
  }
  if (result === "not-operator") {
    return session.reply(Numeric.ERR_CHANOPRIVSNEEDED, channel.name, "You're not channel operator");
  }
  if (result === "not-on-channel") {
    return session.reply(Numeric.ERR_NOTONCHANNEL, channel.name, "You're not on that channel");
  }
  if (typeof result === "string") {
    return session.fail(
      "MODE",
      "TEMPORARILY_UNAVAILABLE",
      channel.name,
      "The change could not be stored, so it was not made; try again later",
    );
  }
  for (const refused of result.refused) refusal(session, channel, refused);
}

function mode(session: IrcSession, message: IrcMessage): Promise<void> | void {
  const hub = session.context.hub;
  const [target, change, ...params] = message.params;
  if (!target) return session.needMoreParams("MODE");
  if (!isChannelName(target)) return userMode(session, target, change);
  const channel = hub.channel(target);
  if (channel === undefined) {
    return session.reply(Numeric.ERR_NOSUCHCHANNEL, target, "No such channel");
  }
  if (change !== undefined) return channelMode(session, channel, change, params);
  // The key and limit are for the channel's members only.
  const modes = channel.modeString(channel.members.has(session.member));
  session.reply(Numeric.RPL_CHANNELMODEIS, channel.name, ...modes.split(" "));
  session.reply(
    Numeric.RPL_CREATIONTIME,
    channel.name,
    String(Math.floor(channel.createdAt / 1000)),
  );
}

/** The mode commands, by name. */
export const MODE_COMMANDS: Record<string, Handler> = {
  MODE: mode,
};
