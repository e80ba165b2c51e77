/**
 * The chat page's script (bundled by `deno task build` into `src/web/_bundle/chat.js`, and
 * served inside the page of `src/web/_chat_page.ts`): the login form, the message box and
 * its slash commands, the join form. The IRC side is `_chat_client.ts`.
 *
 * @module
 */
import { isChannelName, nickProblem } from "../../chat/names.ts";
import { ChatClient } from "./_chat_client.ts";
import { SERVER } from "./_conversations.ts";
import { byId } from "./_dom.ts";

const nickInput = byId<HTMLInputElement>("nick");
const channelsInput = byId<HTMLInputElement>("channels");
const loginError = byId("login-error");
const message = byId<HTMLInputElement>("message");
const joinInput = byId<HTMLInputElement>("join-input");
const reconnect = byId("reconnect");

function showStatus(text: string, cls: string, waiting: boolean): void {
  const status = byId("status");
  status.textContent = text;
  status.className = cls;
  reconnect.hidden = !waiting;
}

function showLogin(error: string): void {
  byId("chat-view").hidden = true;
  byId("login-view").hidden = false;
  loginError.textContent = error;
  showStatus("Not connected", "", false);
  nickInput.focus();
}

const url = `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/irc`;
const client = new ChatClient(url, {
  status: showStatus,
  nick: (nick) => {
    byId("me").textContent = `you are ${nick}`;
  },
  nickRefused: showLogin,
});
const { conversations } = client;

/** Carries out a slash command typed in the message box. */
function command(text: string): void {
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

byId("login").addEventListener("submit", (event) => {
  event.preventDefault();
  const nick = nickInput.value.trim();
  const problem = nickProblem(nick);
  if (problem !== undefined) {
    loginError.textContent = `Cannot use that nickname: ${problem}`;
    return;
  }
  byId("login-view").hidden = true;
  byId("chat-view").hidden = false;
  client.start(nick, channelsInput.value.split(/[\s,]+/).filter(Boolean));
});

byId("send-form").addEventListener("submit", (event) => {
  event.preventDefault();
  let text = message.value;
  if (!text.trim()) return;
  message.value = "";
  if (text[0] === "/" && text[1] !== "/") {
    command(text);
    return;
  }
  if (text[0] === "/") text = text.slice(1);
  const current = conversations.current;
  if (!current || current.name === SERVER) {
    conversations.system(undefined, "Pick a channel or a person first", "error");
    return;
  }
  client.say(current.name, text, false);
});

byId("join-form").addEventListener("submit", (event) => {
  event.preventDefault();
  client.join(joinInput.value.trim());
  joinInput.value = "";
});

reconnect.addEventListener("click", () => client.reconnectNow());

try {
  nickInput.value = localStorage.getItem("shmooze.nick") || "";
  channelsInput.value = localStorage.getItem("shmooze.channels") || "#lobby";
} catch { /* private mode */ }
