/**
 * What the chat page reads in a message's text (src/web/client/_text.ts): which runs become
 * links, and whether it mentions a nick; which links are previewed and where files are
 * uploaded (_file_links.ts); what a push notification says (_push_message.ts). The browser
 * tests (tests/web_features_test.ts, web_uploads_test.ts, web_push_test.ts) check the same on
 * the page.
 */
import assert from "node:assert/strict";
import { imagePreview, uploadEndpoint } from "../src/web/client/_file_links.ts";
import { pushNotice } from "../src/web/client/_push_message.ts";
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

const ID = "Em9cX1LqE4HGAUx6biC9NoF9";

Deno.test("uploadEndpoint uses draft/FILEHOST on the page's origin, else the page's own upload", () => {
  const page = "http://localhost:54080/";
  assert.equal(uploadEndpoint(undefined, page), undefined);
  assert.equal(
    uploadEndpoint("http://localhost:54080/upload", page),
    "http://localhost:54080/upload",
  );
  // The same server by another name: the page's own name for it (CSP connect-src 'self').
  assert.equal(
    uploadEndpoint("http://127.0.0.1:54080/upload", page),
    "http://localhost:54080/upload",
  );
  assert.equal(
    uploadEndpoint("https://chat.example.com/chat/upload", "https://chat.example.com/chat/"),
    "https://chat.example.com/chat/upload",
  );
  assert.equal(uploadEndpoint("javascript:alert(1)", page), undefined);
});

Deno.test("imagePreview previews images under this server's files/, and nothing of other sites", () => {
  const page = "http://localhost:54080/";
  const fileHost = "http://127.0.0.1:54080/upload";
  const own = `http://localhost:54080/files/${ID}/cat.png`;
  assert.equal(imagePreview(own, page, fileHost), own);
  // Named by draft/FILEHOST's host: loaded from the page's origin all the same.
  assert.equal(imagePreview(`http://127.0.0.1:54080/files/${ID}/cat.png`, page, fileHost), own);
  assert.equal(
    imagePreview(`http://localhost:54080/files/${ID}/caf%C3%A9.JPEG`, page, fileHost),
    `http://localhost:54080/files/${ID}/caf%C3%A9.JPEG`,
  );
  for (
    const href of [
      `https://example.com/files/${ID}/cat.png`, // another site, same path
      `http://localhost:54081/files/${ID}/cat.png`, // another port is another origin
      `http://localhost:54080/files/${ID}/notes.txt`, // not an image
      `http://localhost:54080/files/${ID}/cat.png?x=1`,
      `http://localhost:54080/files/short/cat.png`,
      `http://localhost:54080/files/${ID}/a/cat.png`,
      `http://localhost:54080/other/${ID}/cat.png`,
      `http://localhost:54080/files/${ID}/%E0%A4%A.png`, // not UTF-8 percent-encoding
    ]
  ) {
    assert.equal(imagePreview(href, page, fileHost), undefined, href);
  }
  // Behind a reverse proxy at /chat/: files are under /chat/files/.
  const proxied = `https://example.com/chat/files/${ID}/cat.webp`;
  assert.equal(
    imagePreview(proxied, "https://example.com/chat/", "https://example.com/chat/upload"),
    proxied,
  );
  assert.equal(
    imagePreview(
      `https://example.com/files/${ID}/cat.webp`,
      "https://example.com/chat/",
      undefined,
    ),
    undefined,
  );
});

Deno.test("pushNotice shows who wrote, where and what, from the pushed IRC line", () => {
  assert.deepEqual(
    pushNotice("@time=2025-01-02T03:04:05.678Z;msgid=x :bob!bob@host PRIVMSG #team :ann: lunch?"),
    { title: "bob in #team", body: "ann: lunch?", conversation: "#team" },
  );
  assert.deepEqual(pushNotice(":bob!bob@host PRIVMSG ann :are you there?"), {
    title: "bob",
    body: "are you there?",
    conversation: "bob",
  });
  assert.deepEqual(pushNotice(":bob!bob@host NOTICE ann :\x01ACTION waves\x01"), {
    title: "bob",
    body: "* bob waves",
    conversation: "bob",
  });
  assert.equal(pushNotice(`:bob!b@h PRIVMSG ann :${"x".repeat(400)}`).body.length, 300);
  assert.deepEqual(pushNotice("not an irc line at all"), {
    title: "shmooze",
    body: "not an irc line at all",
    conversation: "",
  });
});
