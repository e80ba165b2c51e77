/**
 * MODE, for channels and for the user's own modes.
 *
 * @module
 */
import { isChannelName } from "../../chat/names.ts";
import type { IrcMessage } from "../message.ts";
import { Numeric } from "../numerics.ts";
import type { IrcSession } from "../session.ts";
import type { Handler } from "./handler.ts";

function mode(session: IrcSession, message: IrcMessage): void {
  const hub = session.context.hub;
  const [target, change] = message.params;
  if (!target) return session.needMoreParams("MODE");
  if (isChannelName(target)) {
    const channel = hub.channel(target);
    if (channel === undefined) {
      return session.reply(Numeric.ERR_NOSUCHCHANNEL, target, "No such channel");
    }
    if (change === undefined) {
      session.reply(Numeric.RPL_CHANNELMODEIS, channel.name, "+n");
      session.reply(
        Numeric.RPL_CREATIONTIME,
        channel.name,
        String(Math.floor(channel.createdAt / 1000)),
      );
      return;
    }
    const letters = change.replace(/^[+-]/, "");
    // A list query (`MODE #c b` or `+b` with no mask) is answered with an empty list.
    if (message.params.length === 2 && letters.length === 1) {
      if (letters === "b") {
        return session.reply(Numeric.RPL_ENDOFBANLIST, channel.name, "End of channel ban list");
      }
      if (letters === "e") {
        return session.reply(
          Numeric.RPL_ENDOFEXCEPTLIST,
          channel.name,
          "End of channel exception list",
        );
      }
      if (letters === "I") {
        return session.reply(
          Numeric.RPL_ENDOFINVITELIST,
          channel.name,
          "End of channel invite list",
        );
      }
    }
    const unknown = [...letters].find((c) => !"+-bnteIoklimsv".includes(c));
    if (unknown !== undefined) {
      return session.reply(Numeric.ERR_UNKNOWNMODE, unknown, "is unknown mode char to me");
    }
    return session.reply(Numeric.ERR_CHANOPRIVSNEEDED, channel.name, "You're not channel operator");
  }
  const member = hub.find(target);
  if (member === undefined) {
    return session.reply(Numeric.ERR_NOSUCHNICK, target, "No such nick/channel");
  }
  if (member !== session) {
    return session.reply(Numeric.ERR_USERSDONTMATCH, "Cannot change mode for other users");
  }
  if (change === undefined) {
    return session.reply(Numeric.RPL_UMODEIS, session.invisible ? "+i" : "+");
  }
  let adding = true;
  let applied = "";
  for (const c of change) {
    if (c === "+" || c === "-") {
      adding = c === "+";
    } else if (c === "i") {
      if (session.invisible !== adding) applied += (adding ? "+" : "-") + "i";
      session.invisible = adding;
    } else {
      session.reply(Numeric.ERR_UMODEUNKNOWNFLAG, "Unknown MODE flag");
    }
  }
  if (applied !== "") {
    session.send({ source: session.nick, command: "MODE", params: [session.nick, applied] });
  }
}

/** The mode commands, by name. */
export const MODE_COMMANDS: Record<string, Handler> = {
  MODE: mode,
};
