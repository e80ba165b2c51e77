/**
 * weechat's notify list against a real `shmooze serve`: shmooze advertises MONITOR, so
 * `/notify add` watches the nick with MONITOR (no ISON polling) and weechat reports it coming
 * and going as the server tells it.
 */
import assert from "node:assert/strict";
import { IrcTestClient, startServe } from "./_irc.ts";
import { IrcTap } from "./_terminal.ts";
import { SERVER, Weechat, weechatAvailable } from "./_weechat.ts";

Deno.test({
  name: "weechat's notify list shows a watched nick connecting and quitting through MONITOR",
  ignore: !weechatAvailable,
  async fn() {
    await using serve = await startServe();
    await using tap = IrcTap.start(serve.port);
    await using weechat = await Weechat.connect(tap.port, "ann");

    await weechat.type(`/notify add bob ${SERVER}`);
    await tap.waitForSent(/^MONITOR \+ bob$/);
    await weechat.waitFor("notify: bob is offline");

    await using bob = await IrcTestClient.register(serve.port, "bob", { user: "robert" });
    await tap.waitForReceived(/ 730 ann :?bob!robert@127\.0\.0\.1$/);
    await weechat.waitFor("notify: bob (robert@127.0.0.1) has connected");

    await bob.send("QUIT :later");
    await bob.closed;
    await tap.waitForReceived(/ 731 ann :?bob$/);
    await weechat.waitFor("notify: bob has quit");
    assert.deepEqual(tap.sent.filter((line) => line.startsWith("ISON")), []);
  },
});
