/**
 * Case folding of nicks, channel names and account names: the one rule every layer uses
 * (the chat core's maps, the history and account stores' keys, the IRC commands, the
 * terminal client), so two spellings that are one name anywhere are one name everywhere.
 *
 * @module
 */

/**
 * Folds a nick, channel or account name to its comparison key. shmooze announces
 * CASEMAPPING=ascii; the fold is JavaScript's lower-casing, which agrees with it for every
 * name made of ASCII (all nicks and account names are) and also folds non-ASCII letters in
 * channel names.
 *
 * @param name A nick, channel or account name.
 * @returns Its lower-case key.
 *
 * @example Two spellings of one channel
 * ```ts
 * import assert from "node:assert/strict";
 * import { foldCase } from "./casemap.ts";
 *
 * assert.equal(foldCase("#Lobby"), foldCase("#LOBBY"));
 * assert.equal(foldCase("#Lobby"), "#lobby");
 * ```
 */
export function foldCase(name: string): string {
  return name.toLowerCase();
}
