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

function chanServ(session: IrcSession, message: IrcMessage): Promise<void> | void {
  const { hub, cluster } = session.context;
  const service = hub.find(CHANSERV_NICK);
  const missing = () =>
    session.reply(Numeric.ERR_NOSUCHNICK, CHANSERV_NICK, "No such nick/channel");
  // Without a data directory nothing can be registered, and there is no ChanServ.
  if (!(service instanceof ChanServ)) return missing();
  const text = message.params.join(" ");
  if (cluster === undefined) return service.command(session.member, text);
  // Every node runs it, in the log's order, on its own channel store.
  return cluster.chanServ(session, text).then((result) => {
    if (result === "no-such-nick") return missing();
    if (result !== undefined) {
      session.fail(
        "CS",
        "TEMPORARILY_UNAVAILABLE",
        "The command could not be sent to ChanServ; try again later",
      );
    }
  });
}

/** The ChanServ commands, by name. */
export const CHANSERV_COMMANDS: Record<string, Handler> = {
  CHANSERV: chanServ,
  CS: chanServ,
};
