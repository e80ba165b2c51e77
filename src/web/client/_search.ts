/**
 * Message search (soju's `soju.im/search`, answered by the server from its full-text index):
 * the conversation header's "Search" opens a box; the words typed (all of them must match;
 * `word*` for a prefix) go out as `SEARCH text=…`, in every conversation or only the one
 * shown, and the results come back in a `soju.im/search` batch. They are listed newest first
 * with where, who and when, the words found marked; choosing one shows its conversation at that
 * message (`CHATHISTORY AROUND` when it is not loaded) and highlights it. What the server
 * refuses (`FAIL SEARCH …`: a query with no word, too many searches) is shown in the box.
 *
 * @module
 */
import { isChannelName } from "../../chat/names.ts";
import { actionText } from "../../irc/ctcp.ts";
import { escapeTagValue, type IrcMessage, nickOf } from "../../irc/message.ts";
import type { Conversations } from "./_conversations.ts";
import { append, byId } from "./_dom.ts";
import type { History } from "./_history.ts";

/** How many results to ask for. */
const RESULTS = 50;

/** What search needs from the client. */
export interface SearchLink {
  /** Sends one IRC line; false when there is no connection to send it on. */
  send(line: string): boolean;
  /** Whether a nick is ours. */
  isSelf(nick: string): boolean;
  /** The page's conversations. */
  conversations: Conversations;
  /** The history, which loads the messages around a result. */
  history: History;
}

/** One result. */
interface Result {
  conversation: string;
  msgid: string;
  nick: string;
  time: Date;
  text: string;
}

/** The words of a query, for marking them in the results (without a prefix's `*`). */
function queryWords(query: string): string[] {
  return query.split(/[^\p{L}\p{N}\p{M}]+/u).filter((word) => word.length > 0);
}

/** Appends a text with the words searched for (or words they start) marked. */
function appendMarked(parent: HTMLElement, text: string, words: string[]): void {
  if (words.length === 0) {
    parent.append(text);
    return;
  }
  const escaped = words.map((word) => word.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  const pattern = new RegExp(`(${escaped.join("|")})`, "giu");
  for (const [i, part] of text.split(pattern).entries()) {
    if (i % 2 === 1) append(parent, "mark", "", part);
    else if (part) parent.append(part);
  }
}

/** The page's search box and its results. */
export class Search {
  readonly #link: SearchLink;
  /** The reference of the batch being received, and its results so far. */
  #batch: string | undefined;
  #results: Result[] = [];
  /** The words of the query under way. */
  #words: string[] = [];
  #waiting = false;

  /**
   * Takes over the search panel.
   *
   * @param link The client.
   */
  constructor(link: SearchLink) {
    this.#link = link;
    const toggle = byId<HTMLButtonElement>("search-toggle");
    toggle.addEventListener("click", () => this.#open(byId("search-panel").hidden !== false));
    byId("search-close").addEventListener("click", () => this.#open(false));
    byId("search-panel").addEventListener("keydown", (event) => {
      if (event.key !== "Escape") return;
      event.stopPropagation();
      this.#open(false);
    });
    byId("search-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.#search();
    });
    byId("search-results").addEventListener("click", (event) => {
      const button = (event.target as HTMLElement).closest<HTMLElement>("button[data-msgid]");
      if (button) this.#jump(button.dataset.conversation!, button.dataset.msgid!);
    });
  }

  /**
   * Whether the server searches: the header's button shows only then.
   *
   * @param offered True when the server offers `soju.im/search`.
   */
  offered(offered: boolean): void {
    // A new connection: a search asked on the old one will not be answered.
    if (this.#waiting) this.#status("", false);
    this.#waiting = false;
    this.#batch = undefined;
    byId("search-toggle").hidden = !offered;
    if (!offered) this.#open(false);
  }

  /** The conversation shown changed: the box says which one "only here" means. */
  switched(): void {
    const here = this.#here();
    byId("search-here-name").textContent = here ?? "";
    byId("search-here-label").hidden = here === undefined;
  }

  /**
   * A `BATCH` line: the start or end of the results.
   *
   * @param m The line.
   * @returns True when it was the search's batch.
   */
  batch(m: IrcMessage): boolean {
    const [reference, type] = m.params;
    if (reference?.[0] === "+" && type === "soju.im/search") {
      this.#batch = reference.slice(1);
      this.#results = [];
      return true;
    }
    if (reference?.[0] !== "-" || reference.slice(1) !== this.#batch) return false;
    this.#batch = undefined;
    this.#waiting = false;
    this.#render();
    return true;
  }

  /**
   * A line of the results' batch.
   *
   * @param m The line.
   * @returns True when it belonged to the search (and was taken).
   */
  collect(m: IrcMessage): boolean {
    if (this.#batch === undefined || m.tags.batch !== this.#batch) return false;
    const msgid = m.tags.msgid;
    const [target, text = ""] = m.params;
    if ((m.command !== "PRIVMSG" && m.command !== "NOTICE") || !msgid || !target) return true;
    const nick = nickOf(m.source);
    // A private result's conversation is the other person: the sender, or the one we wrote to.
    const conversation = isChannelName(target) || this.#link.isSelf(nick) ? target : nick;
    const action = actionText(text);
    this.#results.push({
      conversation,
      msgid,
      nick,
      time: m.tags.time ? new Date(m.tags.time) : new Date(),
      text: action === undefined ? text : `* ${nick} ${action}`,
    });
    return true;
  }

  /**
   * A `FAIL SEARCH` or `WARN SEARCH`: said in the box.
   *
   * @param m The line.
   */
  refused(m: IrcMessage): void {
    const text = m.params.at(-1) ?? "The search failed";
    if (m.command === "FAIL") {
      this.#waiting = false;
      this.#batch = undefined;
      this.#status(text, true);
      byId("search-results").textContent = "";
    } else {
      byId("search-note").textContent = text;
    }
  }

  /** The conversation shown, unless it is the server's. */
  #here(): string | undefined {
    const current = this.#link.conversations.current;
    return current?.kind === "server" ? undefined : current?.name;
  }

  /**
   * Shows a result in its conversation: at once when it is in the log, else once the
   * messages around it have come.
   */
  #jump(name: string, msgid: string): void {
    const { conversations, history } = this.#link;
    const channel = isChannelName(name);
    if (channel && !conversations.get(name)?.joined) {
      this.#status(`Join ${name} to see this message in its conversation`, true);
      return;
    }
    const conversation = conversations.open(name, channel ? "channel" : "query");
    conversations.show(conversation.name);
    if (conversations.highlight(conversation, msgid)) return;
    history.around(conversation, msgid, () => {
      if (!conversations.highlight(conversation, msgid)) {
        this.#status("That message is no longer in the history", true);
      }
    });
  }

  #open(open: boolean): void {
    const panel = byId("search-panel");
    const toggle = byId("search-toggle");
    panel.hidden = !open;
    toggle.setAttribute("aria-expanded", String(open));
    if (open) {
      this.switched();
      byId<HTMLInputElement>("search-input").focus();
    } else if (panel.contains(document.activeElement)) {
      toggle.focus();
    }
  }

  #search(): void {
    const query = byId<HTMLInputElement>("search-input").value.trim();
    if (!query || this.#waiting) return;
    const here = this.#here();
    const only = byId<HTMLInputElement>("search-here").checked && here !== undefined;
    const attributes = [`text=${escapeTagValue(query)}`, `limit=${RESULTS}`];
    if (only) attributes.push(`in=${escapeTagValue(here)}`);
    if (!this.#link.send(`SEARCH ${attributes.join(";")}`)) {
      this.#status("Not connected: try again once the page is", true);
      return;
    }
    this.#waiting = true;
    this.#words = queryWords(query);
    byId("search-note").textContent = "";
    this.#status("Searching…", false);
  }

  #status(text: string, error: boolean): void {
    const status = byId("search-status");
    status.textContent = text;
    status.classList.toggle("error", error);
  }

  #render(): void {
    const list = byId("search-results");
    list.textContent = "";
    const count = this.#results.length;
    this.#status(
      count === 0
        ? "No messages match"
        : `${count === RESULTS ? `The newest ${count}` : count} message${
          count === 1 ? "" : "s"
        } found`,
      false,
    );
    for (const result of this.#results.toReversed()) {
      const button = append(append(list, "li"), "button", "result plain");
      button.type = "button";
      button.dataset.conversation = result.conversation;
      button.dataset.msgid = result.msgid;
      const head = append(button, "span", "result-head");
      append(head, "span", "where", result.conversation);
      const time = append(
        head,
        "time",
        "",
        result.time.toLocaleString([], {
          day: "numeric",
          month: "short",
          hour: "2-digit",
          minute: "2-digit",
        }),
      );
      time.dateTime = result.time.toISOString();
      append(head, "span", "nick", result.nick);
      appendMarked(append(button, "span", "result-text"), result.text, this.#words);
    }
  }
}
