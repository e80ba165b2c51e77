/**
 * The chat page's script (bundled by `deno task build` into `src/web/_bundle/chat.js`, and
 * served inside the page of `src/web/_chat_page.ts`): it resumes the saved session or shows
 * the login form, and wires the page's controls — the message box (with the message being
 * answered, typing notifications, and files pasted into it), files dropped on the
 * conversation or picked with the upload button, the buttons on each message (reply, react),
 * the header's notifications and push switches and logout, the user list on small screens —
 * and opens the conversation a push notification was for. The IRC side is `_chat_client.ts`.
 *
 * @module
 */
import type { Credentials } from "./_auth.ts";
import { ChatClient } from "./_chat_client.ts";
import { isChannelName } from "../../chat/names.ts";
import { isCommand, runCommand } from "./_commands.ts";
import type { Conversation } from "./_conversations.ts";
import { byId } from "./_dom.ts";
import { LoginView } from "./_login.ts";
import { Notifier } from "./_notifications.ts";
import { conversationToOpen, listenForOpen } from "./_push.ts";
import { clearSession, loadSession, type SavedSession } from "./_session_store.ts";

const message = byId<HTMLInputElement>("message");
const joinInput = byId<HTMLInputElement>("join-input");
const reconnect = byId("reconnect");
const usersToggle = byId<HTMLButtonElement>("users-toggle");

function showStatus(text: string, cls: string, waiting: boolean): void {
  const status = byId("status");
  status.textContent = text;
  status.className = cls;
  reconnect.hidden = !waiting;
}

/** The message the next line answers, if the user picked one. */
let replying: { conversation: Conversation; msgid: string } | undefined;

function cancelReply(): void {
  replying = undefined;
  byId("reply-bar").hidden = true;
}

function startReply(conversation: Conversation, li: HTMLElement): void {
  const msgid = li.dataset.msgid;
  if (!msgid) return;
  replying = { conversation, msgid };
  const nick = li.querySelector(".nick")?.textContent ?? "";
  byId("reply-to").textContent = `${nick}: ${li.querySelector(".text")?.textContent ?? ""}`;
  byId("reply-bar").hidden = false;
  message.focus();
}

/** Opens or closes the user list, which on a small screen slides over the conversation. */
function showUsers(open: boolean): void {
  const wasOpen = usersToggle.getAttribute("aria-expanded") === "true";
  byId("users").classList.toggle("open", open);
  usersToggle.setAttribute("aria-expanded", String(open));
  if (open && !wasOpen) byId("user-list").querySelector("button")?.focus();
  else if (!open && wasOpen && byId("users").contains(document.activeElement)) usersToggle.focus();
}

const url = `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/irc`;
const client = new ChatClient(url, {
  status: showStatus,
  identity: (nick, account) => {
    byId("me").textContent = account ? `${nick} (logged in as ${account})` : `${nick} (guest)`;
  },
  refused: (reason) => login.show(reason, client.nick),
  mentioned: (conversation, nick, text) => {
    const where = conversation.kind === "query" ? "" : ` in ${conversation.name}`;
    notifier.notify(`${nick}${where}`, text, conversation.name, () => {
      client.conversations.show(conversation.name);
    });
  },
  switched: () => {
    cancelReply();
    showUsers(false);
  },
});
const { conversations, uploads } = client;
const notifier = new Notifier(byId<HTMLButtonElement>("notify"), (text) => {
  conversations.system(conversations.current, text, "error");
});

/** Shows a conversation a push notification was for: a channel not open is joined. */
function openConversation(name: string): void {
  if (isChannelName(name) && !conversations.get(name)) {
    client.join(name);
    return;
  }
  conversations.open(name, isChannelName(name) ? "channel" : "query");
  conversations.show(name);
}

const opening = conversationToOpen();
listenForOpen(openConversation);

function start(session: SavedSession, credentials: Credentials): void {
  login.hide();
  client.start(session, credentials);
  if (opening) openConversation(opening);
}

const saved = loadSession();
const login = new LoginView(({ nick, channels, credentials }) => {
  // The same nick again (a token that expired, say): its private chats come back too.
  const queries = saved?.nick === nick ? saved.queries : [];
  start({ nick, channels, queries }, credentials);
});

byId("send-form").addEventListener("submit", (event) => {
  event.preventDefault();
  let text = message.value;
  if (!text.trim()) return;
  message.value = "";
  if (isCommand(text)) {
    runCommand(client, text);
    return;
  }
  if (text[0] === "/") text = text.slice(1);
  const current = conversations.current;
  if (!current || current.kind === "server") {
    conversations.system(undefined, "Pick a channel or a person first", "error");
    return;
  }
  const reply = replying?.conversation === current ? replying.msgid : undefined;
  cancelReply();
  client.say(current.name, text, false, reply);
});

message.addEventListener("input", () => client.typing.input(conversations.current, message.value));
message.addEventListener("paste", (event) => {
  const files = [...event.clipboardData?.files ?? []];
  if (files.length === 0) return;
  event.preventDefault();
  uploads.add(files);
});

const fileInput = byId<HTMLInputElement>("file-input");
byId("attach").addEventListener("click", () => {
  const refusal = uploads.refusal();
  if (refusal) conversations.system(conversations.current, refusal, "error");
  else fileInput.click();
});
fileInput.addEventListener("change", () => {
  uploads.add([...fileInput.files ?? []]);
  fileInput.value = "";
});

const carriesFiles = (event: DragEvent) => event.dataTransfer?.types.includes("Files") ?? false;
// Files dropped anywhere else are refused: the browser would leave the chat to open them.
for (const type of ["dragover", "drop"]) {
  document.addEventListener(type, (event) => {
    if (carriesFiles(event as DragEvent)) event.preventDefault();
  });
}
// Files dragged over the conversation: it is outlined, and takes them when dropped.
const dropZone = byId("conversation");
dropZone.addEventListener("dragover", (event) => {
  if (!carriesFiles(event)) return;
  event.preventDefault();
  dropZone.classList.add("dropping");
});
dropZone.addEventListener("dragleave", (event) => {
  if (!dropZone.contains(event.relatedTarget as Node | null)) dropZone.classList.remove("dropping");
});
dropZone.addEventListener("drop", (event) => {
  if (!carriesFiles(event)) return;
  event.preventDefault();
  dropZone.classList.remove("dropping");
  uploads.add([...event.dataTransfer?.files ?? []]);
});
message.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && replying) {
    event.preventDefault();
    cancelReply();
  }
});
byId("reply-cancel").addEventListener("click", () => {
  cancelReply();
  message.focus();
});

// The buttons of every message, by delegation: logs come and go with conversations.
byId("logs").addEventListener("click", (event) => {
  const button = (event.target as HTMLElement).closest<HTMLElement>("button");
  const li = button?.closest<HTMLElement>("li.msg");
  const conversation = conversations.current;
  if (!button || !li || !conversation) return;
  if (button.classList.contains("reply-button")) {
    startReply(conversation, li);
  } else if (button.classList.contains("react-button")) {
    client.reactions.togglePicker(li, button);
  } else if (button.classList.contains("delete-button")) {
    client.redactions.ask(conversation, li);
  } else if (button.dataset.emoji) {
    const mine = button.getAttribute("aria-pressed") === "true";
    if (!mine && !client.reactions.react(conversation, li, button.dataset.emoji)) {
      conversations.system(conversation, "Not connected: the reaction was not sent", "error");
    }
    client.reactions.closePicker(li);
  }
});
byId("logs").addEventListener("keydown", (event) => {
  const li = (event.target as HTMLElement).closest<HTMLElement>("li.msg");
  if (event.key !== "Escape" || !li?.querySelector(".picker")) return;
  event.stopPropagation();
  client.reactions.closePicker(li);
}, { capture: true });

byId("join-form").addEventListener("submit", (event) => {
  event.preventDefault();
  client.join(joinInput.value.trim());
  joinInput.value = "";
});

reconnect.addEventListener("click", () => client.reconnectNow());
byId("logout").addEventListener("click", async () => {
  clearSession();
  await client.logout();
  location.reload();
});
usersToggle.addEventListener("click", () => {
  showUsers(usersToggle.getAttribute("aria-expanded") !== "true");
});
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && usersToggle.getAttribute("aria-expanded") === "true") {
    showUsers(false);
    usersToggle.focus();
  }
});
byId("user-list").addEventListener("click", () => showUsers(false));

if (saved?.channels.length) byId<HTMLInputElement>("channels").value = saved.channels.join(" ");
if (saved?.account !== undefined && saved.token === undefined) {
  // An account without a token (the server had none to give): the password is needed.
  login.show("", saved.nick);
} else if (saved) {
  start(saved, saved.token ? { kind: "token", token: saved.token } : { kind: "guest" });
} else {
  login.show("");
}
