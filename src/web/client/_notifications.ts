/**
 * Desktop notifications (the Notification API), opt-in: the header's button asks the
 * browser's permission the first time, and remembers the choice in the browser's storage.
 * While on, a message that names the user, or a private message, raises a notification when
 * the user is not looking at its conversation; clicking it shows that conversation.
 *
 * @module
 */

/** Where the choice is kept (not part of the session: it is about this browser). */
const KEY = "shmooze.notifications";

function supported(): boolean {
  return typeof Notification === "function";
}

/** The page's desktop notifications and their switch. */
export class Notifier {
  readonly #button: HTMLButtonElement;
  readonly #say: (text: string) => void;
  #on = false;

  /**
   * Takes over the switch.
   *
   * @param button The header's button; `aria-pressed` tells whether notifications are on.
   * @param say Tells the user something about notifications (a refusal).
   */
  constructor(button: HTMLButtonElement, say: (text: string) => void) {
    this.#button = button;
    this.#say = say;
    let wanted = false;
    try {
      wanted = localStorage.getItem(KEY) === "on";
    } catch { /* storage refused: off */ }
    this.#set(wanted && supported() && Notification.permission === "granted");
    button.addEventListener("click", () => this.#toggle());
  }

  /** Whether notifications are on. */
  get on(): boolean {
    return this.#on;
  }

  /**
   * Raises a notification, when they are on.
   *
   * @param title Who and where.
   * @param body The message.
   * @param tag Replaces an earlier notification with the same tag (one per conversation).
   * @param onClick What clicking it does (after the page takes the focus).
   */
  notify(title: string, body: string, tag: string, onClick: () => void): void {
    if (!this.#on || !supported() || Notification.permission !== "granted") return;
    const notification = new Notification(title, { body, tag });
    notification.addEventListener("click", () => {
      focus();
      onClick();
      notification.close();
    });
  }

  async #toggle(): Promise<void> {
    if (this.#on) {
      this.#set(false);
      return;
    }
    if (!supported()) {
      this.#say("This browser cannot show desktop notifications");
      return;
    }
    const permission = Notification.permission === "default"
      ? await Notification.requestPermission()
      : Notification.permission;
    if (permission !== "granted") {
      this.#say("Notifications are blocked for this page: allow them in the browser's settings");
      return;
    }
    this.#set(true);
  }

  #set(on: boolean): void {
    this.#on = on;
    // A toggle's name stays; its state is aria-pressed (and the page's style of it).
    this.#button.setAttribute("aria-pressed", String(on));
    try {
      if (on) localStorage.setItem(KEY, "on");
      else localStorage.removeItem(KEY);
    } catch { /* storage refused: the choice lasts as long as the page */ }
  }
}
