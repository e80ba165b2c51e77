/**
 * IRCv3 `draft/read-marker`: `MARKREAD <target> [timestamp=…]` sets or asks where the user
 * has read up to in a conversation (a channel or a nick); the server answers `MARKREAD
 * <target> timestamp=…` (or `*` when none is set), and tells the user's other devices (those
 * that enabled the capability) when a marker moves. A marker only moves forward, and never
 * past the present. After a JOIN, a client with the capability gets the channel's marker
 * before the end of NAMES.
 *
 * An account's markers are kept in the accounts database, so every device and the next
 * connection see them; a guest's last as long as its connection.
 *
 * @module
 */
import { foldCase } from "../../chat/casemap.ts";
import { isChannelName, nickProblem } from "../../chat/names.ts";
import { parseAnchor } from "../chathistory.ts";
import type { IrcMessage } from "../message.ts";
import type { IrcSession } from "../session.ts";
import type { Handler } from "./handler.ts";

/**
 * The capability that brings MARKREAD after JOIN and from the user's other devices.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { READ_MARKER_CAP } from "./markread.ts";
 *
 * assert.equal(READ_MARKER_CAP, "draft/read-marker");
 * ```
 */
export const READ_MARKER_CAP = "draft/read-marker";

/**
 * Where the client's user has read up to in a conversation.
 *
 * @param session The client.
 * @param target A channel or a nick.
 * @returns Ms since the epoch, or undefined when no marker is set.
 * @throws Error when the accounts database cannot be read.
 */
export function readMarker(session: IrcSession, target: string): number | undefined {
  const { account } = session;
  const accounts = session.context.accounts;
  if (account !== undefined && accounts !== undefined) {
    return accounts.readMarkers.get(account, target);
  }
  return session.member.readMarkers.get(foldCase(target));
}

/**
 * Sends the client its marker for a conversation (`MARKREAD <target> timestamp=…|*`), if it
 * enabled the capability: what a JOIN is followed by.
 *
 * @param session The client.
 * @param target The channel, as its name is spelled.
 */
export function sendReadMarker(session: IrcSession, target: string): void {
  if (session.hasCap(READ_MARKER_CAP)) answerMarker(session, target);
}

/** Sends the client its marker for a conversation (or says it could not be read). */
function answerMarker(session: IrcSession, target: string): void {
  let time: number | undefined;
  try {
    time = readMarker(session, target);
  } catch {
    return session.fail(
      "MARKREAD",
      "INTERNAL_ERROR",
      target,
      "The read timestamp could not be read",
    );
  }
  sendMarker([session], target, time);
}

function markread(session: IrcSession, message: IrcMessage): Promise<void> | void {
  const [target, value] = message.params;
  if (target === undefined || target === "") {
    return session.fail("MARKREAD", "NEED_MORE_PARAMS", "Missing parameters");
  }
  if (!isChannelName(target) && nickProblem(target, Infinity) !== undefined) {
    return session.fail("MARKREAD", "INVALID_PARAMS", target, "Invalid target");
  }
  if (value === undefined) return answerMarker(session, target);
  const anchor = parseAnchor(value);
  if (anchor === undefined || !("time" in anchor)) {
    return session.fail(
      "MARKREAD",
      "INVALID_PARAMS",
      target,
      "A read marker is timestamp=YYYY-MM-DDThh:mm:ss.sssZ",
    );
  }
  // Never past the present: a client's clock ahead of ours must not hide messages to come.
  const time = Math.min(anchor.time, Date.now());
  const { cluster } = session.context;
  if (cluster !== undefined && session.account !== undefined && session.context.accounts) {
    return markThroughLog(session, target, time);
  }
  let before: number | undefined;
  let after: number;
  try {
    before = readMarker(session, target);
    after = moveMarker(session, target, time);
  } catch {
    return session.fail(
      "MARKREAD",
      "INTERNAL_ERROR",
      target,
      "The read timestamp could not be set",
    );
  }
  markerMoved(session, target, before, after);
}

/** Tells the client where its marker is, and its other devices when it moved. */
function markerMoved(
  session: IrcSession,
  target: string,
  before: number | undefined,
  after: number,
): void {
  sendMarker([session], target, after);
  if (after === before) return;
  const others = session.devices().filter((other) =>
    other !== session && other.hasCap(READ_MARKER_CAP)
  );
  sendMarker(others, target, after);
}

/** MARKREAD of an account in a cluster: the marker moves in every node's store. */
async function markThroughLog(session: IrcSession, target: string, time: number): Promise<void> {
  let before: number | undefined;
  try {
    before = readMarker(session, target);
  } catch {
    before = undefined;
  }
  const after = await session.context.cluster!.markRead(session.account!, target, time);
  if (after === "unavailable") {
    return session.fail(
      "MARKREAD",
      "INTERNAL_ERROR",
      target,
      "The read timestamp could not be set",
    );
  }
  markerMoved(session, target, before, after);
}

/** Moves the marker forward to `time`; returns where it is now. */
function moveMarker(session: IrcSession, target: string, time: number): number {
  const { account } = session;
  const accounts = session.context.accounts;
  if (account !== undefined && accounts !== undefined) {
    return accounts.readMarkers.set(account, target, time);
  }
  const markers = session.member.readMarkers;
  const key = foldCase(target);
  const now = Math.max(markers.get(key) ?? time, time);
  markers.set(key, now);
  return now;
}

function sendMarker(sessions: IrcSession[], target: string, time: number | undefined): void {
  for (const session of sessions) {
    session.send({ command: "MARKREAD", params: [target, formatMarker(time)] });
  }
}

function formatMarker(time: number | undefined): string {
  return time === undefined ? "*" : `timestamp=${new Date(time).toISOString()}`;
}

/** The MARKREAD command. */
export const MARKREAD_COMMANDS: Record<string, Handler> = { MARKREAD: markread };
