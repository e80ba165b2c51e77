/**
 * User modes: `MODE nick [changes]` for the client's own modes (`+i` invisible, `+B` bot).
 *
 * @module
 */
import { Numeric } from "../numerics.ts";
import type { IrcSession } from "../session.ts";

/**
 * Answers `MODE <nick> [changes]`: a query of the client's own modes, or a change to them.
 *
 * @param session The client.
 * @param target The nick the MODE names.
 * @param change The changes (`+i`, `-B` …), or undefined for a query.
 */
export function userMode(session: IrcSession, target: string, change: string | undefined): void {
  const hub = session.context.hub;
  const member = hub.find(target);
  if (member === undefined) {
    return session.reply(Numeric.ERR_NOSUCHNICK, target, "No such nick/channel");
  }
  if (member !== session) {
    return session.reply(Numeric.ERR_USERSDONTMATCH, "Cannot change mode for other users");
  }
  if (change === undefined) {
    return session.reply(
      Numeric.RPL_UMODEIS,
      `+${session.bot ? "B" : ""}${session.invisible ? "i" : ""}`,
    );
  }
  let adding = true;
  let applied = "";
  for (const c of change) {
    if (c === "+" || c === "-") {
      adding = c === "+";
    } else if (c === "i") {
      if (session.invisible !== adding) applied += (adding ? "+" : "-") + "i";
      session.invisible = adding;
    } else if (c === "B") {
      if (session.bot !== adding) applied += (adding ? "+" : "-") + "B";
      session.bot = adding;
    } else {
      session.reply(Numeric.ERR_UMODEUNKNOWNFLAG, "Unknown MODE flag");
    }
  }
  if (applied !== "") {
    session.send({ source: session.nick, command: "MODE", params: [session.nick, applied] });
  }
}
