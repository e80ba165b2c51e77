/**
 * `CS` and `CHANSERV`: ChanServ's commands without a private message, as Ergo takes them
 * (`CS REGISTER #chan` is `/msg ChanServ REGISTER #chan`). ChanServ answers with NOTICEs.
 *
 * @module
 */
import { ChanServ } from "../../chat/chanserv.ts";
import { CHANSERV_NICK } from "../../chat/hub.ts";
import type { IrcMessage } from "../message.ts";
import { Numeric } from "../numerics.ts";
import type { IrcSession } from "../session.ts";
import type { Handler } from "./handler.ts";

function chanServ(session: IrcSession, message: IrcMessage): void {
  const service = session.context.hub.find(CHANSERV_NICK);
  // Without a data directory nothing can be registered, and there is no ChanServ.
  if (!(service instanceof ChanServ)) {
    return session.reply(Numeric.ERR_NOSUCHNICK, CHANSERV_NICK, "No such nick/channel");
  }
  service.command(session.member, message.params.join(" "));
}

/** The ChanServ commands, by name. */
export const CHANSERV_COMMANDS: Record<string, Handler> = {
  CHANSERV: chanServ,
  CS: chanServ,
};
