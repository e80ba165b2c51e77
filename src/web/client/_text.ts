/**
 * What the chat page reads in a message's text: the links it may turn into anchors, and
 * whether it names us. Plain functions of strings, with no DOM, so tests run them directly
 * (tests/web_text_test.ts).
 *
 * @module
 */
import { foldCase } from "../../chat/casemap.ts";

/** A run of a message's text: plain, or a link with the address it opens. */
export interface TextPart {
  text: string;
  /** The address to open; absent for plain text. Always `http:` or `https:`. */
  href?: string;
}

/**
 * Something that looks like a web address: a scheme we open, or a `www.` host. Anything
 * else (`javascript:`, `data:`, `file:` …) stays text, whatever it looks like.
 */
const CANDIDATE = /\b(?:https?:\/\/|www\.)[^\s<>"]+/gi;
/** Punctuation that ends a sentence rather than an address. */
const TRAILING = /[.,;:!?'"*_]$/;
/** Characters of a nick (CASEMAPPING=ascii: a fold keeps them apart from the rest). */
const NICK_CHAR = /[a-z0-9[\]\\`_^{|}-]/;

function count(text: string, char: string): number {
  return text.split(char).length - 1;
}

/**
 * Where an address ends: without the sentence's punctuation after it, and without a closing
 * bracket that closes a bracket opened before the address (`(see https://x.example/a)`).
 */
function trimAddress(candidate: string): string {
  let url = candidate;
  while (url.length > 0) {
    const last = url.at(-1)!;
    if (TRAILING.test(last)) url = url.slice(0, -1);
    else if (last === ")" && count(url, "(") < count(url, ")")) url = url.slice(0, -1);
    else if (last === "]" && count(url, "[") < count(url, "]")) url = url.slice(0, -1);
    else break;
  }
  return url;
}

/** The address a candidate opens, when it is a well-formed http(s) URL. */
function safeHref(url: string): string | undefined {
  const href = /^www\./i.test(url) ? `https://${url}` : url;
  try {
    const parsed = new URL(href);
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return undefined;
    if (parsed.hostname === "") return undefined;
    return parsed.href;
  } catch {
    return undefined;
  }
}

/**
 * Cuts a message's text into plain runs and links. Only `http:` and `https:` addresses
 * (and `www.` hosts, opened as `https:`) become links, so no text can make the page run a
 * `javascript:` or `data:` URL when clicked.
 *
 * @param text The message's text.
 * @returns Its runs, in order; joined, their texts give the text back.
 */
export function linkParts(text: string): TextPart[] {
  const parts: TextPart[] = [];
  let plain = "";
  let at = 0;
  for (const match of text.matchAll(CANDIDATE)) {
    const url = trimAddress(match[0]);
    const href = safeHref(url);
    if (href === undefined) continue;
    plain += text.slice(at, match.index);
    if (plain) parts.push({ text: plain });
    parts.push({ text: url, href });
    plain = "";
    at = match.index + url.length;
  }
  plain += text.slice(at);
  if (plain) parts.push({ text: plain });
  return parts;
}

/**
 * Whether a message's text names a nick as a word of its own: `ann:` and `hi ann!` do,
 * `annie` and `joanna` do not. Case does not matter (CASEMAPPING=ascii).
 *
 * @param text The message's text.
 * @param nick The nick.
 * @returns True when the text mentions the nick.
 */
export function mentions(text: string, nick: string): boolean {
  if (!nick) return false;
  const folded = foldCase(text);
  const wanted = foldCase(nick);
  for (let at = folded.indexOf(wanted); at >= 0; at = folded.indexOf(wanted, at + 1)) {
    const before = folded[at - 1] ?? " ";
    const after = folded[at + wanted.length] ?? " ";
    if (!NICK_CHAR.test(before) && !NICK_CHAR.test(after)) return true;
  }
  return false;
}
