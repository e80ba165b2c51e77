/**
 * IRCv3 MONITOR: a client keeps a list of nicks (at most ISUPPORT `MONITOR`) and is told when
 * each comes online (730 RPL_MONONLINE, with its mask) or goes offline (731 RPL_MONOFFLINE):
 * on registration, quit and nick change, for users on every transport. The list lives in the
 * chat core's `WatchList`; the session turns its notices into numerics (`presence`).
 *
 * @module
 */
import { maskOf } from "../../chat/member.ts";
import { nickProblem } from "../../chat/names.ts";
import type { IrcMessage } from "../message.ts";
import { Numeric } from "../numerics.ts";
import type { IrcSession } from "../session.ts";
import type { Handler } from "./handler.ts";

/** Room for the list of a 730–732 reply, leaving the rest of the line to the prefix. */
const LIST_BUDGET = 400;

/**
 * Sends one numeric per run of `items` that fits a line, the items joined by commas.
 *
 * @param session The client.
 * @param numeric The numeric.
 * @param items The nicks or masks.
 */
function sendLists(session: IrcSession, numeric: string, items: string[]): void {
  let line: string[] = [];
  let length = 0;
  for (const item of items) {
    if (line.length > 0 && length + item.length + 1 > LIST_BUDGET) {
      session.reply(numeric, line.join(","));
      line = [];
      length = 0;
    }
    line.push(item);
    length += item.length + 1;
  }
  if (line.length > 0) session.reply(numeric, line.join(","));
}

/** Tells whether each nick is online (730 with masks) or offline (731). */
function sendStatus(session: IrcSession, nicks: string[]): void {
  const hub = session.context.hub;
  const online: string[] = [];
  const offline: string[] = [];
  for (const nick of nicks) {
    const member = hub.find(nick);
    if (member) online.push(maskOf(member));
    else offline.push(nick);
  }
  sendLists(session, Numeric.RPL_MONONLINE, online);
  sendLists(session, Numeric.RPL_MONOFFLINE, offline);
}

function add(session: IrcSession, targets: string[]): void {
  const { hub, limits } = session.context;
  const list = hub.watchList;
  const added: string[] = [];
  for (const nick of targets) {
    if (nickProblem(nick, limits.nickLength) !== undefined) {
      session.reply(Numeric.ERR_ERRONEUSNICKNAME, nick, "MONITOR watches nicks, not masks");
      continue;
    }
    if (list.count(session) >= limits.maxMonitor && !list.has(session, nick)) {
      const rest = targets.slice(targets.indexOf(nick)).join(",");
      session.reply(
        Numeric.ERR_MONLISTFULL,
        String(limits.maxMonitor),
        rest,
        "Monitor list is full",
      );
      break;
    }
    list.add(session, nick);
    added.push(nick);
  }
  sendStatus(session, added);
}

function monitor(session: IrcSession, message: IrcMessage): void {
  const list = session.context.hub.watchList;
  const [sub, targetText] = message.params;
  if (!sub) return session.needMoreParams("MONITOR");
  const targets = (targetText ?? "").split(",").filter((nick) => nick !== "");
  switch (sub.toUpperCase()) {
    case "+":
      if (targets.length === 0) return session.needMoreParams("MONITOR");
      return add(session, targets);
    case "-":
      if (targets.length === 0) return session.needMoreParams("MONITOR");
      for (const nick of targets) list.remove(session, nick);
      return;
    case "C":
      return list.clear(session);
    case "L":
      sendLists(session, Numeric.RPL_MONLIST, list.watched(session));
      return session.reply(Numeric.RPL_ENDOFMONLIST, "End of MONITOR list");
    case "S":
      return sendStatus(session, list.watched(session));
    default:
      return session.fail("MONITOR", "UNKNOWN_SUBCOMMAND", sub, "MONITOR takes +, -, C, L or S");
  }
}

/** The MONITOR command. */
export const MONITOR_COMMANDS: Record<string, Handler> = { MONITOR: monitor };
