/**
 * The keyboard in a conversation's log: the log is one stop of the Tab key, and the arrow
 * keys move between its messages (a roving tab index, as WAI-ARIA's practices describe for
 * composite widgets). The active message's links and buttons (reply, react, reactions) are
 * in the tab order; the other messages' are not, so a log of a thousand messages costs the
 * keyboard user one stop, not three thousand.
 *
 * @module
 */

/** What in a message can be operated: its links and buttons. */
const CONTROLS = "a[href], button";

/** The messages of a log that the arrow keys visit. */
function messages(log: HTMLOListElement): HTMLElement[] {
  return [...log.querySelectorAll<HTMLElement>("li.msg")];
}

/**
 * Puts a message's own controls in the tab order, or takes them out.
 *
 * @param li The message.
 * @param on Whether it is the active message.
 */
export function setControlsReachable(li: HTMLElement, on: boolean): void {
  for (const control of li.querySelectorAll<HTMLElement>(CONTROLS)) {
    control.tabIndex = on ? 0 : -1;
  }
}

/**
 * Makes a message the log's active one (its Tab stop).
 *
 * @param log The log.
 * @param li The message.
 */
function activate(log: HTMLOListElement, li: HTMLElement): void {
  for (const other of log.querySelectorAll<HTMLElement>("li.msg[tabindex='0']")) {
    if (other === li) continue;
    other.tabIndex = -1;
    setControlsReachable(other, false);
  }
  li.tabIndex = 0;
  setControlsReachable(li, true);
  log.tabIndex = -1;
}

/**
 * Whether a message is its log's active one: its controls belong in the tab order.
 *
 * @param li The message.
 * @returns True when active.
 */
export function isActive(li: HTMLElement): boolean {
  return li.tabIndex === 0;
}

/**
 * A message left its log: when it was the active one, the log itself is the Tab stop again.
 *
 * @param log The log.
 */
export function forgetActive(log: HTMLOListElement): void {
  if (!log.querySelector("li.msg[tabindex='0']")) log.tabIndex = 0;
}

/**
 * Gives a log its keyboard: Tab reaches the log (the newest message when none is active),
 * ↑ ↓ Home End move between messages, Escape goes back to the message box.
 *
 * @param log The log.
 * @param composer Where Escape sends the focus.
 */
export function attachLogFocus(log: HTMLOListElement, composer: () => HTMLElement): void {
  log.tabIndex = 0;
  log.addEventListener("focus", () => {
    const last = messages(log).at(-1);
    if (!last) return;
    activate(log, last);
    last.focus();
  });
  log.addEventListener("focusin", (event) => {
    const li = (event.target as HTMLElement).closest<HTMLElement>("li.msg");
    if (li && li.parentElement === log && !isActive(li)) activate(log, li);
  });
  log.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      composer().focus();
      return;
    }
    const li = event.target as HTMLElement;
    if (!li.classList.contains("msg")) return;
    const all = messages(log);
    const at = all.indexOf(li);
    let next: HTMLElement | undefined;
    if (event.key === "ArrowUp") next = all[at - 1];
    else if (event.key === "ArrowDown") next = all[at + 1];
    else if (event.key === "Home") next = all[0];
    else if (event.key === "End") next = all.at(-1);
    else return;
    event.preventDefault();
    if (!next) return;
    activate(log, next);
    next.focus();
  });
}
