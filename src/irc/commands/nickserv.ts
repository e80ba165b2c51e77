/**
 * `NS` and `NICKSERV`: NickServ's commands without a private message, as Ergo takes them
 * (`NS SET ALWAYS-ON ON` is `/msg NickServ SET ALWAYS-ON ON`). NickServ answers with NOTICEs.
 *
 * @module
 */
import { NickServ, NICKSERV_NICK } from "../../chat/nickserv.ts";
import type { IrcMessage } from "../message.ts";
import { Numeric } from "../numerics.ts";
import type { IrcSession } from "../session.ts";
import type { Handler } from "./handler.ts";

function nickServ(session: IrcSession, message: IrcMessage): void {
  const service = session.context.hub.find(NICKSERV_NICK);
  // Without a data directory there are no accounts, and there is no NickServ.
  if (!(service instanceof NickServ)) {
    return session.reply(Numeric.ERR_NOSUCHNICK, NICKSERV_NICK, "No such nick/channel");
  }
  service.command(session.member, message.params.join(" "));
}

/** The NickServ commands, by name. */
export const NICKSERV_COMMANDS: Record<string, Handler> = {
  NICKSERV: nickServ,
  NS: nickServ,
};
