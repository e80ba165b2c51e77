import assert from "node:assert/strict";
import { formatMessage, parseMessage } from "../src/irc/message.ts";

Deno.test("parseMessage reads tags, source, command and a trailing parameter", () => {
  const m = parseMessage(
    "@time=2026-11-22T10:00:00.000Z;msgid=a\\sb;+draft/x :ann!a@h privmsg #lobby :hi :)",
  );
  assert.deepEqual(m, {
    tags: { time: "2026-11-22T10:00:00.000Z", msgid: "a b", "+draft/x": "" },
    source: "ann!a@h",
    command: "PRIVMSG",
    params: ["#lobby", "hi :)"],
  });
});

Deno.test("parseMessage handles middle parameters, extra spaces and empty lines", () => {
  assert.deepEqual(parseMessage("USER  ann 0 *  :Ann Example")?.params, [
    "ann",
    "0",
    "*",
    "Ann Example",
  ]);
  assert.equal(parseMessage(""), undefined);
  assert.equal(parseMessage("@a=b"), undefined);
});

Deno.test("formatMessage and parseMessage round-trip escaped tags and trailing colons", () => {
  const message = {
    tags: { msgid: "x;y z\\", time: "t" },
    source: "srv",
    command: "NOTICE",
    params: ["*", ":starts with a colon"],
  };
  const line = formatMessage(message);
  assert.equal(line, "@msgid=x\\:y\\sz\\\\;time=t :srv NOTICE * ::starts with a colon");
  assert.deepEqual(parseMessage(line), message);
});
