import assert from "node:assert/strict";
import { privmsgBudget, splitWords } from "../src/chat/split_text.ts";

const bytes = (text: string) => new TextEncoder().encode(text).length;

/** A small deterministic generator (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

Deno.test("splitWords keeps every piece within the limit, loses nothing and cuts words only when it must", () => {
  const alphabet = ["a", "b", "é", "€", "😀", " ", " ", "\t"];
  for (let seed = 1; seed <= 2000; seed++) {
    const next = random(seed);
    const length = Math.floor(next() * 300);
    const text = Array.from({ length }, () => alphabet[Math.floor(next() * alphabet.length)])
      .join("");
    const limit = 4 + Math.floor(next() * 60);
    const pieces = splitWords(text, limit);
    const context = `seed ${seed}, limit ${limit}, text ${JSON.stringify(text)}`;
    for (const piece of pieces) assert.ok(bytes(piece) <= limit, context);
    // The pieces are the text in order, less the spaces and tabs where it was cut; each
    // is as long as it can be: cut inside a word only when no space follows a word in it,
    // and between words only when the next word would not fit.
    let at = 0;
    for (const [n, piece] of pieces.entries()) {
      assert.equal(text.slice(at, at + piece.length), piece, context);
      at += piece.length;
      if (n === pieces.length - 1) break;
      const gap = /^[ \t]*/.exec(text.slice(at))![0];
      const nextWord = /^[^ \t]*/.exec(text.slice(at + gap.length))![0];
      if (gap === "") {
        assert.doesNotMatch(piece, /[^ \t][ \t]/, `cut inside a word needlessly: ${context}`);
        assert.ok(bytes(piece + [...nextWord][0]) > limit, context);
      } else {
        assert.ok(bytes(piece + gap + nextWord) > limit, `cut too early: ${context}`);
      }
      at += gap.length;
    }
    // Spaces after the last piece go only where the last cut was made.
    assert.match(text.slice(at), /^[ \t]*$/, context);
    if (at < text.length) assert.ok(bytes(pieces.at(-1) + text.slice(at)) > limit, context);
  }
});

Deno.test("splitWords leaves text that fits as it is and refuses a limit below 4 bytes", () => {
  assert.deepEqual(splitWords("", 10), [""]);
  assert.deepEqual(splitWords("  padded  ", 10), ["  padded  "]);
  assert.deepEqual(splitWords("😀😀", 4), ["😀", "😀"]);
  assert.deepEqual(splitWords("one  two", 5), ["one", "two"]);
  assert.throws(() => splitWords("text", 3), RangeError);
});

Deno.test("privmsgBudget leaves room for the prefix the server adds when it relays", () => {
  const mask = "ann!~ann@host.example";
  const target = "#lobby";
  const budget = privmsgBudget(512, mask, target);
  assert.equal(bytes(`:${mask} PRIVMSG ${target} :${"x".repeat(budget)}\r\n`), 512);
  assert.equal(privmsgBudget(64, "x".repeat(100), target), 16);
});
