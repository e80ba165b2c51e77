/**
 * Text from other people, made safe to print on a terminal. A chat message, a nick or a
 * room name can carry bytes a terminal obeys instead of showing: ESC and CSI sequences
 * that clear the screen, move the cursor, retitle the window or (on some terminals) write
 * to the clipboard; a CR that makes a line overwrite its own start; bidirectional
 * overrides that make a line read differently from what it holds. Every place shmooze
 * prints such text on a terminal (the operator console, `shmooze local`, `shmooze client`
 * and its menu, `shmooze status`, `shmooze ipc ls`) passes it through {@link escapeControls},
 * so those characters are shown, visibly escaped, and never obeyed.
 *
 * What is escaped, and how it reads:
 * - C0 controls U+0000–U+001F and DEL U+007F in caret notation, as `cat -v` shows them:
 *   ESC is `^[`, BEL `^G`, CR `^M`, DEL `^?`. Tab and line feed too: every sink prints one
 *   line per event, and a tab or line break inside one is text, not layout.
 * - C1 controls U+0080–U+009F as `\u009b`: in UTF-8 terminals that honour them, U+009B is
 *   a one-character CSI, as dangerous as ESC `[`.
 * - The bidirectional embeddings and overrides U+202A–U+202E and isolates U+2066–U+2069 as
 *   `\u202e`: on a terminal that does bidi they reorder what follows, so a line can show
 *   text in an order that is not the order it was written. Right-to-left text needs none
 *   of them (the Unicode bidi algorithm orders Arabic and Hebrew by itself), so escaping
 *   them costs real text nothing. The marks U+200E/U+200F/U+061C change no order beyond
 *   their neighbours and are left alone.
 *
 * @module
 */

// deno-lint-ignore no-control-regex
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;
// JSON.stringify already escapes C0 controls; these are the ones it leaves raw.
const UNSAFE_IN_JSON = /[\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;

function unicodeEscape(char: string): string {
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

/**
 * Shows every control character, C1 control and bidirectional override in `text` visibly
 * escaped, so the text cannot drive the terminal it is printed on.
 *
 * @param text Text from someone else: a message, a nick, a channel or room name.
 * @returns The text with C0 controls and DEL in caret notation (`^[`, `^?`), C1 controls
 * and bidi overrides as `\uXXXX`; everything else unchanged.
 *
 * @example An escape sequence is shown, not obeyed
 * ```ts
 * import assert from "node:assert/strict";
 * import { escapeControls } from "./terminal_text.ts";
 *
 * assert.equal(escapeControls("\x1b]0;owned\x07hi\u009b2J"), "^[]0;owned^Ghi\\u009b2J");
 * assert.equal(escapeControls("café ☕"), "café ☕");
 * ```
 */
export function escapeControls(text: string): string {
  return text.replace(UNSAFE, (char) => {
    const code = char.charCodeAt(0);
    if (code < 0x20) return `^${String.fromCharCode(code + 0x40)}`;
    if (code === 0x7f) return "^?";
    return unicodeEscape(char);
  });
}

/**
 * `JSON.stringify` for a terminal: the same JSON (the same values once parsed), with the
 * characters it would leave raw (DEL, C1 controls, bidi overrides) written as `\uXXXX`.
 *
 * @param value What to print.
 * @param space Indentation, as for `JSON.stringify`.
 * @returns The JSON text; no character in it is a terminal control.
 *
 * @example The same value, nothing a terminal obeys
 * ```ts
 * import assert from "node:assert/strict";
 * import { terminalJson } from "./terminal_text.ts";
 *
 * const json = terminalJson({ text: "\x1b[2J\u009b2J" });
 * assert.equal(json, '{"text":"\\u001b[2J\\u009b2J"}');
 * assert.deepEqual(JSON.parse(json), { text: "\x1b[2J\u009b2J" });
 * ```
 */
export function terminalJson(value: unknown, space?: number): string {
  return JSON.stringify(value, null, space).replace(UNSAFE_IN_JSON, unicodeEscape);
}
