/**
 * irssi, Debian's terminal IRC client, against a real `shmooze serve`: driven through tmux,
 * it registers, joins #lobby and talks with a raw IRC client both ways.
 */
import assert from "node:assert/strict";
import { IrcTestClient, startServe } from "./_irc.ts";
import { Irssi, irssiAvailable } from "./_irssi.ts";

Deno.test({
  name: "irssi registers with serve, joins #lobby and chats with another client both ways",
  ignore: !irssiAvailable,
  async fn() {
    await using serve = await startServe();
    await using bob = await IrcTestClient.register(serve.port, "bob");
    await bob.join("#lobby");
    await using irssi = await Irssi.connect(serve.port, "ann");
    await irssi.type("/join #lobby");
    await bob.waitFor((m) => m.command === "JOIN" && m.source?.startsWith("ann!") === true);
    await irssi.waitFor(/bob/);

    await irssi.type("hello from irssi");
    const said = await bob.waitFor((m) => m.command === "PRIVMSG");
    assert.equal(said.source?.split("!")[0], "ann");
    assert.deepEqual(said.params, ["#lobby", "hello from irssi"]);

    await bob.send("PRIVMSG #lobby :hello irssi, from bob");
    await irssi.waitFor("hello irssi, from bob");

    await irssi.type("/quit bye");
    await bob.waitFor((m) => m.command === "QUIT" && m.source?.startsWith("ann!") === true);
  },
});
