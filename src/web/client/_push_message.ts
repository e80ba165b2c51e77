/**
 * What a push notification says: the service worker (`push_worker.ts`) gets the IRC line the
 * server pushed (`draft/webpush`: one line, as the client would have received it) and shows
 * who wrote, where, and what. A plain function of the line, with no DOM, so tests run it
 * directly (tests/web_text_test.ts).
 *
 * @module
 */
import { isChannelName } from "../../chat/names.ts";
import { actionText, isCtcp } from "../../irc/ctcp.ts";
import { nickOf, parseMessage } from "../../irc/message.ts";

/** A notification to show, and the conversation its click opens. */
export interface PushNotice {
  /** Who, and where for a channel: `bob in #team`, `bob`. */
  title: string;
  /** The message (`* bob waves` for an action). */
  body: string;
  /** The channel, or the person for a private message; "" when the line names none. */
  conversation: string;
}

/** The longest body shown: a notification is a glance, the page has the rest. */
const MAX_BODY = 300;

/**
 * Reads a pushed IRC line. A PRIVMSG or NOTICE becomes its sender, place and text; anything
 * else (a line the page does not know how to read) still makes a notification, since a push
 * must show one, with the line's own text.
 *
 * @param line The pushed line, without CR LF.
 * @returns What to show.
 */
export function pushNotice(line: string): PushNotice {
  const m = parseMessage(line);
  const target = m?.params[0] ?? "";
  let text = m?.params[1] ?? "";
  if (!m || (m.command !== "PRIVMSG" && m.command !== "NOTICE") || !m.source || !target) {
    return { title: "shmooze", body: line.slice(0, MAX_BODY), conversation: "" };
  }
  const from = nickOf(m.source);
  const action = actionText(text);
  if (action !== undefined) text = `* ${from} ${action}`;
  else if (isCtcp(text)) text = "(a CTCP request)";
  const channel = isChannelName(target);
  return {
    title: channel ? `${from} in ${target}` : from,
    body: text.length > MAX_BODY ? `${text.slice(0, MAX_BODY - 1)}…` : text,
    conversation: channel ? target : from,
  };
}
