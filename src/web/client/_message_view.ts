/**
 * How one line of a conversation looks, and where it goes in its log: the time, the nick
 * (left out when the same person goes on within a few minutes), the text with its links (and
 * a preview of each image uploaded to this server), the message it answers, its reactions and
 * the buttons to answer, react or delete. Lines are kept in time order, with a heading for each day, whatever order they arrive in (history after live
 * messages, older history on demand).
 *
 * @module
 */
import { foldCase } from "../../chat/casemap.ts";
import { append } from "./_dom.ts";
import { isActive } from "./_log_focus.ts";
import { linkParts } from "./_text.ts";

/** One line of a log. */
export interface Line {
  text: string;
  /** The server's time; now when absent. */
  time?: Date;
  /** The message's IRCv3 msgid, kept on the line so a later copy of it is recognised. */
  msgid?: string;
  nick?: string;
  /** Classes of the list item: `system`, `error`, `history`, `action`, `notice`. */
  cls?: string;
  /** No unread count: the user has seen it or need not. */
  quiet?: boolean;
  /** Typed by the user (or by another device of the account): scroll to it, never unread. */
  self?: boolean;
  /** It names us, or is a private message to us. */
  mention?: boolean;
  /** The msgid of the message it answers (`+draft/reply`). */
  replyTo?: string;
  /**
   * In a history batch, the line before it in the batch: it goes after that one, so that
   * among lines of the same millisecond the server's order holds.
   */
  after?: HTMLElement;
}

/** The most previews one message shows (its other links stay links). */
const MAX_PREVIEWS = 4;
/** Within this, a person's messages one after another are one group: one nick shown. */
const GROUP_MS = 5 * 60_000;

/** The time of a line as the log shows it: hours and minutes in the user's locale. */
function clock(time: Date): string {
  return time.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

/** A stable colour for a nick, so one person looks the same everywhere. */
function nickHue(nick: string): number {
  let hue = 0;
  for (let i = 0; i < nick.length; i++) hue = (hue * 31 + nick.charCodeAt(i)) >>> 0;
  return hue % 360;
}

/** The local day of a time, as `YYYY-MM-DD`. */
function dayKey(time: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${time.getFullYear()}-${pad(time.getMonth() + 1)}-${pad(time.getDate())}`;
}

/** How a day heading reads: "Today", "Yesterday" or the date. */
function dayTitle(time: Date): string {
  const today = new Date();
  const yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
  if (dayKey(time) === dayKey(today)) return "Today";
  if (dayKey(time) === dayKey(yesterday)) return "Yesterday";
  return time.toLocaleDateString([], {
    weekday: "long",
    day: "numeric",
    month: "long",
    year: time.getFullYear() === today.getFullYear() ? undefined : "numeric",
  });
}

/**
 * Which links of a message are previewed: the address of the image to show for a link, or
 * undefined for none (see `_file_links.ts`).
 */
export type PreviewOf = (href: string) => string | undefined;

/**
 * Appends a text to an element, its http(s) addresses as links that open in a new tab and
 * tell the other site nothing about the page.
 *
 * @returns The addresses of the previews its links have.
 */
function appendText(parent: HTMLElement, text: string, previewOf: PreviewOf): string[] {
  const previews: string[] = [];
  for (const part of linkParts(text)) {
    if (part.href === undefined) {
      parent.appendChild(document.createTextNode(part.text));
      continue;
    }
    const link = append(parent, "a", "", part.text);
    link.href = part.href;
    link.target = "_blank";
    link.rel = "noopener noreferrer nofollow";
    link.tabIndex = -1;
    const preview = previewOf(part.href);
    if (preview !== undefined && !previews.includes(preview) && previews.length < MAX_PREVIEWS) {
      previews.push(preview);
    }
  }
  return previews;
}

/**
 * Adds the previews of a message's images: a box of fixed height (so nothing below moves when
 * one loads), loaded only when scrolled near, and taken away if it cannot be shown (a file
 * gone with its retention, or not an image after all).
 */
function appendPreviews(li: HTMLElement, sources: string[]): void {
  if (sources.length === 0) return;
  const box = append(li, "div", "previews");
  for (const source of sources) {
    const image = append(box, "img", "preview");
    image.loading = "lazy";
    image.decoding = "async";
    image.referrerPolicy = "no-referrer";
    image.alt = `Image ${decodeURIComponent(source.slice(source.lastIndexOf("/") + 1))}`;
    image.addEventListener("error", () => image.remove());
    image.src = source;
  }
}

/**
 * Makes the list item of a line (not yet in a log). A chat message (one with a nick and a
 * msgid) gets the buttons to answer it, react to it and delete it, out of the tab order until
 * the message is the log's active one (`_log_focus.ts`).
 *
 * @param line The line.
 * @param actions Whether it can be answered: a message in a channel or private chat.
 * @param previewOf Which of its links show a preview.
 * @returns The item.
 */
export function renderLine(line: Line, actions: boolean, previewOf: PreviewOf): HTMLLIElement {
  const time = line.time ?? new Date();
  const li = document.createElement("li");
  li.className = line.cls ?? "";
  li.dataset.time = String(time.getTime());
  if (line.msgid) li.dataset.msgid = line.msgid;
  if (line.nick) {
    li.classList.add("msg");
    li.dataset.nick = foldCase(line.nick);
    li.tabIndex = -1;
  }
  if (line.self) li.classList.add("self");
  if (line.mention) li.classList.add("mention");
  if (line.replyTo) {
    li.dataset.reply = line.replyTo;
    append(li, "div", "quote");
  }
  const shown = append(li, "time", "", clock(time));
  shown.dateTime = time.toISOString();
  // The nick and the text in one column beside the time; the quote above them, reactions
  // below (the page's grid).
  const row = append(li, "span", "line");
  if (line.nick) {
    const action = li.classList.contains("action");
    const nick = append(row, "span", "nick", action ? `* ${line.nick}` : line.nick);
    nick.style.setProperty("--h", String(nickHue(line.nick)));
  }
  const previews = appendText(append(row, "span", "text"), line.text, previewOf);
  if (line.nick) appendPreviews(li, previews);
  if (line.nick && actions) addActions(li, line.nick);
  return li;
}

/**
 * Gives a message its buttons to answer it, react to it and delete it, in the tab order only
 * while it is its log's active message.
 *
 * @param li The message.
 * @param nick Who sent it.
 */
export function addActions(li: HTMLElement, nick: string): void {
  if (li.querySelector(".actions")) return;
  const reachable = isActive(li) ? 0 : -1;
  const bar = append(li, "span", "actions");
  const reply = append(bar, "button", "plain reply-button", "↩");
  reply.type = "button";
  reply.tabIndex = reachable;
  reply.setAttribute("aria-label", `Reply to ${nick}`);
  const react = append(bar, "button", "plain react-button", "☺");
  react.type = "button";
  react.tabIndex = reachable;
  react.setAttribute("aria-label", `React to ${nick}'s message`);
  react.setAttribute("aria-expanded", "false");
  // On every message: the page's style shows it on one's own, and on everyone's in a channel
  // one operates (the log's `moderator` class).
  const remove = append(bar, "button", "plain delete-button", "🗑");
  remove.type = "button";
  remove.tabIndex = reachable;
  remove.setAttribute("aria-label", `Delete ${nick}'s message`);
}

/**
 * Shows in a reply's quote the message it answers, when that message is in the log.
 *
 * @param log The log.
 * @param li The reply.
 */
export function fillQuote(log: HTMLOListElement, li: HTMLElement): void {
  const quote = li.querySelector<HTMLElement>(".quote");
  const msgid = li.dataset.reply;
  if (!quote || !msgid) return;
  const parent = log.querySelector<HTMLElement>(`li[data-msgid="${CSS.escape(msgid)}"]`);
  quote.textContent = "";
  append(quote, "span", "", "↪ ");
  if (!parent) {
    append(quote, "span", "muted", "a message not shown");
    return;
  }
  const nick = parent.querySelector(".nick")?.textContent ?? "";
  append(quote, "span", "quote-nick", nick);
  append(quote, "span", "", ` ${parent.querySelector(".text")?.textContent ?? ""}`);
}

/** Whether two adjacent lines are one person going on: the second needs no nick. */
function continues(previous: Element | null, li: HTMLElement): boolean {
  if (!(previous instanceof HTMLElement) || !previous.classList.contains("msg")) return false;
  if (!li.classList.contains("msg") || previous.dataset.nick !== li.dataset.nick) return false;
  for (const kind of ["action", "notice"]) {
    if (previous.classList.contains(kind) || li.classList.contains(kind)) return false;
  }
  return Number(li.dataset.time) - Number(previous.dataset.time) < GROUP_MS;
}

/**
 * Sets whether a line continues the one before it, and the line after it this one.
 *
 * @param li The line, in its log.
 */
export function regroup(li: HTMLElement): void {
  li.classList.toggle("continued", continues(li.previousElementSibling, li));
  const next = li.nextElementSibling;
  if (next instanceof HTMLElement) {
    next.classList.toggle("continued", continues(li, next));
  }
}

/** Puts an item into a log in time order: after every item at the same time or earlier. */
function insertByTime(log: HTMLOListElement, li: HTMLElement): void {
  const time = Number(li.dataset.time);
  let before: HTMLElement | null = null;
  for (
    let node = log.lastElementChild as HTMLElement | null;
    node;
    node = node.previousElementSibling as HTMLElement | null
  ) {
    if (Number(node.dataset.time) <= time) break;
    before = node;
  }
  log.insertBefore(li, before);
}

/**
 * Puts an item into a log after another and after every item earlier than it, but before
 * those of its own time: they come after it in the server's order.
 */
function insertAfter(log: HTMLOListElement, li: HTMLElement, anchor: HTMLElement): void {
  const time = Number(li.dataset.time);
  let next = anchor.nextElementSibling as HTMLElement | null;
  while (next && Number(next.dataset.time) < time) next = next.nextElementSibling as HTMLElement;
  log.insertBefore(li, next);
}

/**
 * Puts a line into its log in time order, under the heading of its day (added when it is the
 * day's first line), and groups it with its neighbours.
 *
 * @param log The log.
 * @param li The line.
 * @param after The line it follows in its history batch, if any.
 */
export function placeLine(log: HTMLOListElement, li: HTMLElement, after?: HTMLElement): void {
  const time = new Date(Number(li.dataset.time));
  const key = dayKey(time);
  if (!log.querySelector(`li.day[data-day="${key}"]`)) {
    const day = document.createElement("li");
    day.className = "day";
    day.dataset.day = key;
    // Half a millisecond before the day starts: after every line of the day before (times
    // are whole milliseconds), before every line of this one.
    const midnight = new Date(time.getFullYear(), time.getMonth(), time.getDate());
    day.dataset.time = String(midnight.getTime() - 0.5);
    append(day, "span", "", dayTitle(time));
    insertByTime(log, day);
    const next = day.nextElementSibling;
    if (next instanceof HTMLElement) next.classList.remove("continued");
  }
  if (after?.parentElement === log && Number(after.dataset.time) <= Number(li.dataset.time)) {
    insertAfter(log, li, after);
  } else {
    insertByTime(log, li);
  }
  regroup(li);
}

/**
 * Moves a line to another time (its server time, once known) and shows that time.
 *
 * @param li The line, in its log.
 * @param time The time.
 */
export function retime(li: HTMLElement, time: Date): void {
  li.dataset.time = String(time.getTime());
  const shown = li.querySelector("time")!;
  shown.dateTime = time.toISOString();
  shown.textContent = clock(time);
  regroup(li);
}
