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

function nickServ(session: IrcSession, message: IrcMessage): Promise<void> | void {
  const { hub, cluster } = session.context;
  const service = hub.find(NICKSERV_NICK);
  const missing = () =>
    session.reply(Numeric.ERR_NOSUCHNICK, NICKSERV_NICK, "No such nick/channel");
  // Without a data directory there are no accounts, and there is no NickServ.
  if (!(service instanceof NickServ)) return missing();
  const text = message.params.join(" ");
  if (cluster === undefined) return service.command(session.member, text);
  // Every node runs it, in the log's order, on its own always-on store.
  return cluster.nickServ(session, text).then((result) => {
    if (result === "no-such-nick") return missing();
    if (result !== undefined) {
      session.fail(
        "NS",
        "TEMPORARILY_UNAVAILABLE",
        "The command could not be sent to NickServ; try again later",
      );
    }
  });
}

/** The NickServ commands, by name. */
export const NICKSERV_COMMANDS: Record<string, Handler> = {
  NICKSERV: nickServ,
  NS: nickServ,
};
