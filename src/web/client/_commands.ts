/**
 * The slash commands of the message box: `/join`, `/part`, `/msg`, `/me`, `/nick`, `/topic`,
 * `/quote`. Anything else starting with one `/` is refused with the list; `//` sends a line
 * that starts with `/`.
 *
 * @module
 */
import { isChannelName } from "../../chat/names.ts";
import type { ChatClient } from "./_chat_client.ts";
import { SERVER } from "./_conversations.ts";

/**
 * Whether a line typed in the message box is a command rather than a message.
 *
 * @param text The line.
 * @returns True for `/join …`, false for `hello` and `//not a command`.
 */
export function isCommand(text: string): boolean {
  return text[0] === "/" && text[1] !== "/";
}

/**
 * Carries out a slash command typed in the message box.
 *
 * @param client The page's client.
 * @param text The line, starting with `/`.
 */
export function runCommand(client: ChatClient, text: string): void {
  const conversations = client.conversations;
  const current = conversations.current;
  const space = text.indexOf(" ");
  const name = (space < 0 ? text.slice(1) : text.slice(1, space)).toLowerCase();
  const arg = space < 0 ? "" : text.slice(space + 1).trim();
  const [first] = arg.split(/\s+/);
  switch (name) {
    case "join":
    case "j":
      client.join(first);
      break;
    case "part":
    case "leave":
      if (current?.kind === "channel") client.leave(current);
      break;
    case "msg":
    case "query": {
      if (!first) break;
      conversations.open(first, isChannelName(first) ? "channel" : "query");
      conversations.show(first);
      const rest = arg.slice(first.length).trim();
      if (rest) client.say(first, rest, false);
      break;
    }
    case "me":
      if (current && current.name !== SERVER && arg) client.say(current.name, arg, true);
      break;
    case "nick":
      if (first) client.send(`NICK ${first}`);
      break;
    case "topic":
      if (current?.kind === "channel") {
        client.send(`TOPIC ${current.name}${arg ? ` :${arg}` : ""}`);
      }
      break;
    case "quote":
    case "raw":
      if (arg) client.send(arg);
      break;
    default:
      conversations.system(
        current,
        `Unknown command /${name} (try /join, /part, /msg, /me, /nick, /topic)`,
        "error",
      );
  }
}
