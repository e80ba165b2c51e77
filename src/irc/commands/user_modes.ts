/**
 * User modes: `MODE nick [changes]` for the client's own modes — `+i` invisible, `+w`
 * WALLOPS, `+B` bot, `+o` server operator (given by OPER only; the client may drop it).
 *
 * @module
 */
import type { Member } from "../../chat/member.ts";
import { Numeric } from "../numerics.ts";
import type { IrcSession } from "../session.ts";

/**
 * The user modes a client has, as RPL_UMODEIS (221) shows them.
 *
 * @param member The user.
 * @returns `+` and the letters, in ASCII order (`B` first).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { userModeString } from "./user_modes.ts";
 *
 * const plain = { bot: false, invisible: false, oper: undefined, wallops: false };
 * assert.equal(userModeString(plain), "+");
 * assert.equal(userModeString({ bot: true, invisible: true, oper: "ann", wallops: true }), "+Biow");
 * ```
 */
export function userModeString(
  member: Pick<Member, "bot" | "invisible" | "oper" | "wallops">,
): string {
  return `+${member.bot ? "B" : ""}${member.invisible ? "i" : ""}${
    member.oper !== undefined ? "o" : ""
  }${member.wallops ? "w" : ""}`;
}

/**
 * Answers `MODE <nick> [changes]`: a query of the client's own modes, or a change to them.
 * `+o` is ignored (OPER gives it, as RFC 2812 says); `-o` ends operator status.
 *
 * @param session The client.
 * @param target The nick the MODE names.
 * @param change The changes (`+i`, `-w`, `+B`, `-o` …), or undefined for a query.
 */
export function userMode(session: IrcSession, target: string, change: string | undefined): void {
  const hub = session.context.hub;
  const member = hub.find(target);
  if (member === undefined) {
    return session.reply(Numeric.ERR_NOSUCHNICK, target, "No such nick/channel");
  }
  const self = session.member;
  if (member !== self) {
    return session.reply(Numeric.ERR_USERSDONTMATCH, "Cannot change mode for other users");
  }
  if (change === undefined) return session.reply(Numeric.RPL_UMODEIS, userModeString(self));
  let adding = true;
  let applied = "";
  let sign = "";
  const note = (letter: string) => {
    const wanted = adding ? "+" : "-";
    if (sign !== wanted) applied += sign = wanted;
    applied += letter;
  };
  let unknown = false;
  for (const c of change) {
    if (c === "+" || c === "-") {
      adding = c === "+";
    } else if (c === "i") {
      if (self.invisible !== adding) note("i");
      self.invisible = adding;
    } else if (c === "w") {
      if (self.wallops !== adding) note("w");
      self.wallops = adding;
    } else if (c === "o") {
      if (adding || self.oper === undefined) continue;
      note("o");
      session.context.moderation?.deoper(self);
    } else if (c === "B") {
      if (self.bot !== adding) note("B");
      self.bot = adding;
    } else {
      unknown = true;
    }
  }
  if (unknown) session.reply(Numeric.ERR_UMODEUNKNOWNFLAG, "Unknown MODE flag");
  if (applied !== "") {
    session.send({ source: session.nick, command: "MODE", params: [session.nick, applied] });
  }
}
