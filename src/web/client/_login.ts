/**
 * The login form: a nick, and a password for an account (or none, as a guest); "create the
 * account" registers the nick as a new one. The password goes to the client once, in
 * memory, and the field is emptied at once.
 *
 * @module
 */
import { nickProblem } from "../../chat/names.ts";
import { isLoopback } from "../../net/loopback.ts";
import type { Credentials } from "./_auth.ts";
import { byId } from "./_dom.ts";

/** What the user asked for. */
export interface LoginRequest {
  nick: string;
  channels: string[];
  credentials: Credentials;
}

/** The login view. */
export class LoginView {
  readonly #nick = byId<HTMLInputElement>("nick");
  readonly #password = byId<HTMLInputElement>("password");
  readonly #create = byId<HTMLInputElement>("create-account");
  readonly #channels = byId<HTMLInputElement>("channels");
  readonly #error = byId("login-error");
  readonly #submit = byId<HTMLButtonElement>("login-submit");

  /**
   * Takes over the form.
   *
   * @param submit What to do with a valid request.
   */
  constructor(submit: (request: LoginRequest) => void) {
    const label = () => {
      const password = this.#password.value !== "";
      this.#submit.textContent = !password
        ? "Continue as a guest"
        : this.#create.checked
        ? "Create the account"
        : "Log in";
    };
    this.#password.addEventListener("input", label);
    this.#create.addEventListener("change", label);
    label();
    const local = isLoopback(location.hostname) || location.hostname === "localhost";
    if (location.protocol !== "https:" && !local) {
      byId("login-note").textContent =
        "This page is not served over HTTPS: the server refuses passwords sent in clear text. " +
        "You can still chat as a guest.";
    }
    byId("login").addEventListener("submit", (event) => {
      event.preventDefault();
      const nick = this.#nick.value.trim();
      const problem = nickProblem(nick);
      if (problem !== undefined) {
        this.#error.textContent = `Cannot use that nickname: ${problem}`;
        this.#nick.focus();
        return;
      }
      const password = this.#password.value;
      this.#password.value = "";
      label();
      const credentials: Credentials = password === ""
        ? { kind: "guest" }
        : this.#create.checked
        ? { kind: "register", password }
        : { kind: "password", password };
      const channels = this.#channels.value.split(/[\s,]+/).filter(Boolean);
      submit({ nick, channels, credentials });
    });
  }

  /**
   * Shows the form, with what to say and what to fill in.
   *
   * @param error Why the form is back ("" when there is nothing wrong).
   * @param nick The nick to fill in, if any.
   */
  show(error: string, nick?: string): void {
    byId("chat-view").hidden = true;
    byId("login-view").hidden = false;
    byId("session").hidden = true;
    if (nick) this.#nick.value = nick;
    this.#error.textContent = error;
    (nick ? this.#password : this.#nick).focus();
  }

  /** Hides the form: the chat is shown. */
  hide(): void {
    byId("login-view").hidden = true;
    byId("chat-view").hidden = false;
    byId("session").hidden = false;
    this.#error.textContent = "";
  }
}
