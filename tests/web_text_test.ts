/**
 * What the chat page reads in a message's text (src/web/client/_text.ts): which runs become
 * links, and whether it mentions a nick. The browser tests (tests/web_features_test.ts) check
 * the same on the page.
 */
import assert from "node:assert/strict";
import { linkParts, mentions } from "../src/web/client/_text.ts";

Deno.test("linkParts makes http, https and www. addresses links and leaves the text whole", () => {
  const text = "see https://example.com/a?b=c#d, or www.example.org. And http://x.example";
  const parts = linkParts(text);
  assert.equal(parts.map((p) => p.text).join(""), text);
  assert.deepEqual(parts.filter((p) => p.href).map((p) => [p.text, p.href]), [
    ["https://example.com/a?b=c#d", "https://example.com/a?b=c#d"],
    ["www.example.org", "https://www.example.org/"],
    ["http://x.example", "http://x.example/"],
  ]);
});

Deno.test("linkParts never links javascript:, data: or file: addresses, whatever their case", () => {
  for (
    const text of [
      "javascript:alert(1)",
      "JavaScript:alert(document.cookie)",
      "click javascript://example.com/%0Aalert(1)",
      "data:text/html,<script>alert(1)</script>",
      "file:///etc/passwd",
      "vbscript:msgbox",
      "https://",
    ]
  ) {
    const parts = linkParts(text);
    assert.deepEqual(parts, [{ text }], text);
  }
});

Deno.test("linkParts leaves the sentence's punctuation and an enclosing bracket out of a link", () => {
  const hrefs = (text: string) => linkParts(text).filter((p) => p.href).map((p) => p.text);
  assert.deepEqual(hrefs("(see https://example.com/a)"), ["https://example.com/a"]);
  assert.deepEqual(hrefs("https://en.wikipedia.org/wiki/Fork_(software)."), [
    "https://en.wikipedia.org/wiki/Fork_(software)",
  ]);
  assert.deepEqual(hrefs("really? https://example.com!"), ["https://example.com"]);
  assert.deepEqual(hrefs(`"https://example.com/q"`), ["https://example.com/q"]);
  assert.deepEqual(hrefs("nohttps://example.com"), []);
});

Deno.test("mentions finds a nick as a word of its own, in any case, and not inside another", () => {
  assert.ok(mentions("ann: hello", "ann"));
  assert.ok(mentions("hi ANN!", "ann"));
  assert.ok(mentions("[bot] said so", "[bot]"));
  assert.ok(mentions("ping ann_, then annie", "ann_"));
  assert.ok(!mentions("annie and joanna", "ann"));
  assert.ok(!mentions("ann_ is here", "ann"));
  assert.ok(!mentions("anything", ""));
});
