/**
 * Logging in from the page: SASL `PLAIN` with the password (before registration), SASL
 * `IRCV3BEARER` with a saved session token, `REGISTER` (draft/account-registration, after
 * registration: the nick becomes the account), or nothing for a guest. Once logged in with
 * a password, the page asks `TOKEN GENERATE` when the server offers session tokens, keeps
 * the token and forgets the password; a reconnect or a reload logs in with the token.
 *
 * @module
 */
import type { IrcMessage } from "../../irc/message.ts";

/** How the page logs in. */
export type Credentials =
  | { kind: "guest" }
  | { kind: "password"; password: string }
  | { kind: "register"; password: string }
  | { kind: "token"; token: string };

/**
 * The capability under which a server offers session tokens (`TOKEN GENERATE|REVOKE`): a
 * vendor name, so the page takes any `…/session-token`.
 */
const TOKEN_CAP = /\/session-token$/;
/** The bearer token type of shmooze's session tokens. */
const TOKEN_TYPE = "shmooze";
/** A full AUTHENTICATE chunk: more follow. */
const CHUNK = 400;

/** What logging in needs from the connection and tells the page. */
export interface AuthLink {
  /** Sends one IRC line. */
  send(line: string): void;
  /** Logged in to an account. */
  loggedIn(account: string): void;
  /** The server gave a session token. */
  token(token: string): void;
  /**
   * Logging in failed: the page stops and asks the user.
   *
   * @param reason What the server said.
   * @param expired Whether it was the saved token that failed (it is gone now).
   */
  failed(reason: string, expired: boolean): void;
}

/** base64 of a string's UTF-8 bytes. */
function base64(text: string): string {
  let binary = "";
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** One connection's login. */
export class Auth {
  readonly #link: AuthLink;
  /** How to log in on the next connection. */
  credentials: Credentials = { kind: "guest" };
  /** The account logged in on this connection, if any. */
  account: string | undefined;
  /** The session-token capability the server offers, if any. */
  #tokenCap: string | undefined;
  #tokenAcked = false;
  #nick = "";

  /**
   * Not logged in.
   *
   * @param link The connection.
   */
  constructor(link: AuthLink) {
    this.#link = link;
  }

  /**
   * A new connection: nothing is logged in on it yet.
   *
   * @param nick The nick (and so the account) asked for.
   */
  reset(nick: string): void {
    this.account = undefined;
    this.#tokenCap = undefined;
    this.#tokenAcked = false;
    this.#nick = nick;
  }

  /**
   * The capabilities to ask for besides the page's own, from the server's `CAP LS`.
   *
   * @param offered Every capability offered, with its value.
   * @returns The names to request; undefined when logging in is impossible (said already).
   */
  capabilities(offered: Map<string, string>): string[] | undefined {
    this.#tokenCap = [...offered.keys()].find((cap) => TOKEN_CAP.test(cap));
    const kind = this.credentials.kind;
    if (kind === "guest") return [];
    const caps = this.#tokenCap ? [this.#tokenCap] : [];
    if (kind === "register") {
      if (!offered.has("draft/account-registration")) {
        this.#link.failed("This server does not let you create accounts", false);
        return undefined;
      }
      return caps;
    }
    // A server that lists no mechanisms (CAP LS without 302) offers PLAIN at least.
    const mechanisms = (offered.get("sasl") || "PLAIN").split(",");
    const mechanism = kind === "token" ? "IRCV3BEARER" : "PLAIN";
    if (!offered.has("sasl") || !mechanisms.includes(mechanism)) {
      this.#link.failed(
        kind === "token"
          ? "This server no longer takes saved sessions: log in again"
          : "This server does not offer logging in with a password",
        kind === "token",
      );
      return undefined;
    }
    return ["sasl", ...caps];
  }

  /**
   * The capabilities are granted: starts SASL when logging in with it.
   *
   * @param acked The capabilities granted.
   * @returns True when an exchange started: `CAP END` waits for its end.
   */
  start(acked: Set<string>): boolean {
    this.#tokenAcked = this.#tokenCap !== undefined && acked.has(this.#tokenCap);
    const kind = this.credentials.kind;
    if (!acked.has("sasl") || (kind !== "password" && kind !== "token")) return false;
    this.#link.send(`AUTHENTICATE ${kind === "token" ? "IRCV3BEARER" : "PLAIN"}`);
    return true;
  }

  /** The server is ready for the payload (`AUTHENTICATE +`): it goes, in chunks. */
  payload(): void {
    const credentials = this.credentials;
    let text: string;
    if (credentials.kind === "password") text = `\0${this.#nick}\0${credentials.password}`;
    else if (credentials.kind === "token") text = `\0${TOKEN_TYPE}\0${credentials.token}`;
    else return;
    const encoded = base64(text);
    for (let at = 0; at < encoded.length; at += CHUNK) {
      this.#link.send(`AUTHENTICATE ${encoded.slice(at, at + CHUNK)}`);
    }
    if (encoded.length % CHUNK === 0) this.#link.send("AUTHENTICATE +");
  }

  /**
   * A SASL numeric (900–906).
   *
   * @param m The line.
   * @returns True when the exchange is over and registration may go on (`CAP END`).
   */
  numeric(m: IrcMessage): boolean {
    switch (m.command) {
      case "900":
        this.account = m.params[2];
        this.#link.loggedIn(this.account);
        return false;
      case "903":
        return true;
      case "904":
      case "905": {
        const expired = this.credentials.kind === "token";
        this.#link.failed(m.params.at(-1) ?? "Logging in failed", expired);
        return false;
      }
      case "906":
        return true;
      default:
        return false;
    }
  }

  /**
   * Registered (001): a new account is asked for now (REGISTER needs a registered client).
   *
   * @returns True when the page waits for the REGISTER answer before joining its channels.
   */
  registered(): boolean {
    const credentials = this.credentials;
    if (credentials.kind !== "register") {
      this.#generateToken();
      return false;
    }
    this.#link.send(`REGISTER * * :${credentials.password}`);
    return true;
  }

  /**
   * `REGISTER SUCCESS …`: the account exists and the client is logged in to it.
   *
   * @param m The line.
   */
  registerSucceeded(m: IrcMessage): void {
    if (m.params[0] !== "SUCCESS") return;
    this.account = m.params[1];
    this.#link.loggedIn(this.account);
    this.#generateToken();
  }

  /**
   * A `TOKEN` line: the session token asked for.
   *
   * @param m The line.
   */
  tokenReceived(m: IrcMessage): void {
    const token = m.params[0];
    // `TOKEN REVOKED` answers a logout: no token there.
    if (!token || m.params.length !== 1 || token === "REVOKED") return;
    this.credentials = { kind: "token", token };
    this.#link.token(token);
  }

  /**
   * Logs out: the session token (if any) is revoked on the server.
   *
   * @returns The lines to send before quitting.
   */
  logout(): string[] {
    const lines = this.credentials.kind === "token" ? ["TOKEN REVOKE"] : [];
    this.credentials = { kind: "guest" };
    return lines;
  }

  #generateToken(): void {
    if (this.account === undefined || !this.#tokenAcked) return;
    if (this.credentials.kind === "token") return;
    this.#link.send("TOKEN GENERATE");
  }
}
