/**
 * Server operator commands: OPER, KILL, KLINE, UNKLINE, CHGHOST, WALLOPS, REHASH and STATS. What each
 * does is `ServerModeration`'s (shared with the operator console); here are the IRC replies.
 *
 * @module
 */
import { maskOf } from "../../chat/member.ts";
import { hostProblem, userNameProblem } from "../../chat/names.ts";
import type { ServerModeration } from "../../chat/server_moderation.ts";
import { splitWords } from "../../chat/split_text.ts";
import { addressKey } from "../../net/address_key.ts";
import type { IrcMessage } from "../message.ts";
import { Numeric } from "../numerics.ts";
import type { IrcSession } from "../session.ts";
import type { Handler } from "./handler.ts";

/** The desk, when the client is an operator; else answers 481 and gives undefined. */
function operDesk(session: IrcSession): ServerModeration | undefined {
  const desk = session.context.moderation;
  if (desk === undefined || session.member.oper === undefined) {
    session.reply(Numeric.ERR_NOPRIVILEGES, "Permission Denied - You're not an IRC operator");
    return undefined;
  }
  return desk;
}

async function oper(session: IrcSession, message: IrcMessage): Promise<void> {
  const [name, password] = message.params;
  if (password === undefined) return session.needMoreParams("OPER");
  const desk = session.context.moderation;
  if (desk === undefined || desk.operators.size === 0) {
    return session.reply(Numeric.ERR_NOOPERHOST, "No operators are configured on this server");
  }
  const result = await desk.oper(session.member, name, password, addressKey(session.address));
  if (session.closed) return;
  if (result.ok) {
    session.reply(Numeric.RPL_YOUREOPER, `You are now an IRC operator (${result.operator.name})`);
    session.send({ source: session.nick, command: "MODE", params: [session.nick, "+o"] });
  } else if (result.reason === "invalid") {
    session.reply(Numeric.ERR_PASSWDMISMATCH, "Password incorrect");
  } else {
    const seconds = Math.max(1, Math.ceil(result.retryAfterMs / 1000));
    session.reply(
      Numeric.ERR_PASSWDMISMATCH,
      `Too many OPER attempts are waiting; try again in ${seconds} s`,
    );
  }
}

function kill(session: IrcSession, message: IrcMessage): Promise<void> | void {
  const desk = operDesk(session);
  if (desk === undefined) return;
  const [nick, reason] = message.params;
  if (!nick) return session.needMoreParams("KILL");
  const answer = (killed: boolean | "invalid" | "unavailable") => {
    if (killed === "unavailable") {
      session.fail("KILL", "TEMPORARILY_UNAVAILABLE", nick, "The cluster could not be reached");
    } else if (killed !== true) {
      session.reply(Numeric.ERR_NOSUCHNICK, nick, "No such nick/channel");
    }
  };
  const cluster = session.context.cluster;
  if (cluster === undefined) {
    return answer(desk.kill(session.member, nick, reason || "No reason given"));
  }
  const { quit, audit } = desk.killReason(session.member, reason || "No reason given");
  return cluster.kill(session.member, nick, quit, audit).then(answer);
}

function kline(session: IrcSession, message: IrcMessage): Promise<void> | void {
  const desk = operDesk(session);
  if (desk === undefined) return;
  if (message.params.length === 0) return session.needMoreParams("KLINE");
  if (session.context.cluster !== undefined) return klineThroughLog(session, message.params);
  const request = desk.banRequest(message.params);
  if ("problem" in request) {
    return session.fail("KLINE", "INVALID_PARAMS", request.problem);
  }
  try {
    desk.ban(session.member, request);
  } catch (error) {
    session.fail(
      "KLINE",
      "TEMPORARILY_UNAVAILABLE",
      `Could not store the ban: ${(error as Error).message}`,
    );
  }
}

/**
 * KLINE in a cluster: every node stores the ban. A nick of another node's user is resolved to
 * its address by that node, the one that knows it.
 */
async function klineThroughLog(session: IrcSession, words: readonly string[]): Promise<void> {
  const cluster = session.context.cluster!;
  const request = cluster.banRequest(words);
  if ("problem" in request) {
    return session.fail("KLINE", "INVALID_PARAMS", request.problem);
  }
  const ban = await cluster.ban(session.member, request);
  if (ban === "unavailable" || ban === "unstored") {
    session.fail(
      "KLINE",
      "TEMPORARILY_UNAVAILABLE",
      ban === "unstored"
        ? "This server could not store the ban (the other servers of the cluster may have)"
        : "The cluster could not be reached, so nothing was banned",
    );
  } else if (ban === "invalid") {
    session.fail("KLINE", "INVALID_PARAMS", "The mask or reason cannot be sent to the cluster");
  } else if (ban === "no-such-nick") {
    const nick = "nick" in request ? request.nick : "*";
    session.reply(Numeric.ERR_NOSUCHNICK, nick, "No such nick/channel");
  }
}

function unkline(session: IrcSession, message: IrcMessage): Promise<void> | void {
  const desk = operDesk(session);
  if (desk === undefined) return;
  const [mask] = message.params;
  if (!mask) return session.needMoreParams("UNKLINE");
  const none = () =>
    session.fail("UNKLINE", "NO_SUCH_BAN", mask, `There is no server ban on ${mask}`);
  const cluster = session.context.cluster;
  if (cluster === undefined) {
    try {
      if (desk.unban(session.member, mask) === undefined) none();
    } catch (error) {
      session.fail(
        "UNKLINE",
        "TEMPORARILY_UNAVAILABLE",
        mask,
        `Could not store the change: ${(error as Error).message}`,
      );
    }
    return;
  }
  return cluster.unban(session.member, mask).then((ban) => {
    if (ban === undefined || ban === "invalid") return none();
    if (ban === "unavailable" || ban === "unstored") {
      session.fail(
        "UNKLINE",
        "TEMPORARILY_UNAVAILABLE",
        mask,
        ban === "unstored"
          ? "This server could not store the change (the other servers of the cluster may have)"
          : "The cluster could not be reached, so nothing changed",
      );
    }
  });
}

/**
 * `CHGHOST <nick> <user> <host>`: gives a user another user name and host. The operator sees
 * the audit notice; a wrong nick gets 401, a user name or host that cannot be given
 * `FAIL CHGHOST INVALID_PARAMS`.
 */
function chghost(session: IrcSession, message: IrcMessage): Promise<void> | void {
  const desk = operDesk(session);
  if (desk === undefined) return;
  const [nick, user, host] = message.params;
  if (!nick || user === undefined || host === undefined) return session.needMoreParams("CHGHOST");
  if (session.context.cluster !== undefined) {
    return chghostThroughLog(session, desk, nick, user, host);
  }
  const outcome = desk.chghost(session.member, nick, user, host);
  if (outcome.ok) return;
  if (outcome.reason === "no-such-nick") {
    session.reply(Numeric.ERR_NOSUCHNICK, nick, "No such nick/channel");
  } else {
    session.fail("CHGHOST", "INVALID_PARAMS", nick, outcome.problem);
  }
}

/** CHGHOST in a cluster: the change is applied on every node, to whichever node's user has the nick. */
async function chghostThroughLog(
  session: IrcSession,
  desk: ServerModeration,
  nick: string,
  user: string,
  host: string,
): Promise<void> {
  const problem = userNameProblem(user) ?? hostProblem(host);
  if (problem !== undefined) {
    return session.fail(
      "CHGHOST",
      "INVALID_PARAMS",
      nick,
      `Cannot change the host of ${nick}: ${problem}`,
    );
  }
  const changed = await session.context.cluster!.changeHost(session, nick, user, host);
  if (changed === "no-such-nick") {
    return session.reply(Numeric.ERR_NOSUCHNICK, nick, "No such nick/channel");
  }
  if (changed === "unavailable") {
    return session.fail(
      "CHGHOST",
      "TEMPORARILY_UNAVAILABLE",
      nick,
      "The change could not be made; try again later",
    );
  }
  if (changed) desk.audit(`CHGHOST ${nick} is now ${user}@${host}, by ${session.member.nick}`);
}

function wallops(session: IrcSession, message: IrcMessage): Promise<void> | void {
  const desk = operDesk(session);
  if (desk === undefined) return;
  const [text] = message.params;
  if (!text) return session.needMoreParams("WALLOPS");
  // The relayed line carries the sender's whole mask: cut the text so that it still fits.
  const prefix = new TextEncoder().encode(`:${maskOf(session.member)} WALLOPS :\r\n`).length;
  const budget = Math.max(session.context.limits.maxLine - prefix, 16);
  const pieces = splitWords(text, budget);
  if (session.context.cluster !== undefined) return wallopsThroughLog(session, pieces);
  for (const piece of pieces) desk.wallops(session.member, piece);
}

/** WALLOPS in a cluster: each piece reaches the operators and `+w` users of every node, in order. */
async function wallopsThroughLog(session: IrcSession, pieces: readonly string[]): Promise<void> {
  for (const piece of pieces) {
    const sent = await session.context.cluster!.wallops(session.member, piece);
    if (sent === "unavailable") {
      return session.fail("WALLOPS", "TEMPORARILY_UNAVAILABLE", "The cluster could not be reached");
    }
    if (sent === "invalid") {
      return session.fail("WALLOPS", "INVALID_PARAMS", "The text cannot be sent to the cluster");
    }
  }
}

function rehash(session: IrcSession): void {
  const desk = operDesk(session);
  if (desk === undefined) return;
  const outcome = desk.rehash(session.member);
  if (outcome.ok) {
    session.reply(Numeric.RPL_REHASHING, desk.operFile!, "Rehashing");
  } else {
    session.fail("REHASH", "CANNOT_REHASH", outcome.error);
  }
}

function stats(session: IrcSession, message: IrcMessage): void {
  const [query] = message.params;
  if (!query) return session.needMoreParams("STATS");
  const letter = query[0];
  switch (letter) {
    case "k":
    case "K": {
      const desk = operDesk(session);
      if (desk === undefined) return;
      for (const ban of desk.bans.list()) {
        const expiry = ban.expiresAt === undefined
          ? "permanent"
          : new Date(ban.expiresAt).toISOString();
        session.reply(Numeric.RPL_STATSKLINE, "K", ban.mask, expiry, ban.setBy, ban.reason);
      }
      break;
    }
    case "o":
    case "O": {
      const desk = operDesk(session);
      if (desk === undefined) return;
      for (const name of desk.operators.names) {
        session.reply(Numeric.RPL_STATSOLINE, "O", "*", "*", name);
      }
      break;
    }
    case "u": {
      const seconds = Math.floor((Date.now() - session.context.createdAt) / 1000);
      const clock = [Math.floor(seconds / 3600) % 24, Math.floor(seconds / 60) % 60, seconds % 60]
        .map((n, i) => i === 0 ? String(n) : String(n).padStart(2, "0")).join(":");
      session.reply(
        Numeric.RPL_STATSUPTIME,
        `Server Up ${Math.floor(seconds / 86400)} days ${clock}`,
      );
      break;
    }
  }
  session.reply(Numeric.RPL_ENDOFSTATS, letter, "End of /STATS report");
}

/** The operator commands, by name. */
export const OPERATOR_COMMANDS: Record<string, Handler> = {
  CHGHOST: chghost,
  KILL: kill,
  KLINE: kline,
  OPER: oper,
  REHASH: rehash,
  STATS: stats,
  UNKLINE: unkline,
  WALLOPS: wallops,
};
