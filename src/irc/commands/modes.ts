/**
 * MODE: for channels here, for the user's own modes in `user_modes.ts`.
 *
 * @module
 */
import { isChannelName } from "../../chat/names.ts";
import type { IrcMessage } from "../message.ts";
import { Numeric } from "../numerics.ts";
import type { IrcSession } from "../session.ts";
import type { Handler } from "./handler.ts";
import { userMode } from "./user_modes.ts";

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
  return userMode(session, target, change);
}

/** The mode commands, by name. */
export const MODE_COMMANDS: Record<string, Handler> = {
  MODE: mode,
};
