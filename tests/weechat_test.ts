/**
 * weechat, Debian's other terminal IRC client, against a real `shmooze serve`: driven through
 * tmux, it registers, joins #lobby and talks with a raw IRC client both ways.
 */
import assert from "node:assert/strict";
import { IrcTestClient, startServe } from "./_irc.ts";
import { Weechat, weechatAvailable } from "./_weechat.ts";

Deno.test({
  name: "weechat registers with serve, joins #lobby and chats with another client both ways",
  ignore: !weechatAvailable,
  async fn() {
    await using serve = await startServe();
    await using bob = await IrcTestClient.register(serve.port, "bob");
    await bob.join("#lobby");
    await using weechat = await Weechat.connect(serve.port, "ann");
    await weechat.type("/join #lobby");
    await bob.waitFor((m) => m.command === "JOIN" && m.source?.startsWith("ann!") === true);
    await weechat.waitFor("Channel #lobby: 2 nicks");

    await weechat.type("hello from weechat");
    const said = await bob.waitFor("PRIVMSG");
    assert.equal(said.source, "ann!ann@127.0.0.1");
    assert.deepEqual(said.params, ["#lobby", "hello from weechat"]);

    await bob.send("PRIVMSG #lobby :hello weechat, from bob");
    await weechat.waitFor(/bob +\| hello weechat, from bob/);

    await weechat.type("/quit bye");
    const quit = await bob.waitFor("QUIT");
    assert.equal(quit.source, "ann!ann@127.0.0.1");
    assert.deepEqual(quit.params, ["Quit: bye"]);
  },
});
