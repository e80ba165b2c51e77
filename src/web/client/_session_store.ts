/**
 * What the page keeps in the browser's storage (`localStorage`), so that a reload, or the
 * browser's next start, takes the user back where they were: the nick, the channels and
 * private chats, and for an account its name and a session token (`TOKEN GENERATE`), which
 * the server can revoke and which expires unused. Never the password: it is sent to the
 * server once, over the socket, and forgotten. Logging out removes all of it.
 *
 * @module
 */

/** The key of the saved session. */
const KEY = "shmooze.session";

/** A session the page can resume. */
export interface SavedSession {
  /** The nick to ask for. */
  nick: string;
  /** The account logged in to; absent for a guest. */
  account?: string;
  /** The account's session token (SASL `IRCV3BEARER`); absent until the server gave one. */
  token?: string;
  /** The channels to be in. */
  channels: string[];
  /** The private chats open, by nick. */
  queries: string[];
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

/**
 * The saved session, if there is one and it is readable.
 *
 * @returns The session, or undefined.
 */
export function loadSession(): SavedSession | undefined {
  let text: string | null;
  try {
    text = localStorage.getItem(KEY);
  } catch {
    return undefined; // storage refused (a private window may)
  }
  if (!text) return undefined;
  try {
    const saved = JSON.parse(text);
    if (typeof saved?.nick !== "string" || saved.nick === "") return undefined;
    return {
      nick: saved.nick,
      account: typeof saved.account === "string" ? saved.account : undefined,
      token: typeof saved.token === "string" ? saved.token : undefined,
      channels: strings(saved.channels),
      queries: strings(saved.queries),
    };
  } catch {
    return undefined;
  }
}

/**
 * Saves a session, replacing the one saved.
 *
 * @param session The session.
 */
export function saveSession(session: SavedSession): void {
  try {
    localStorage.setItem(KEY, JSON.stringify(session));
  } catch { /* storage refused: the session lasts as long as the page */ }
}

/** Forgets the saved session. */
export function clearSession(): void {
  try {
    localStorage.removeItem(KEY);
  } catch { /* nothing was saved */ }
}
