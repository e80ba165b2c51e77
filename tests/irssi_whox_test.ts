/**
 * irssi's nick list against a real `shmooze serve`, driven through tmux. shmooze advertises
 * WHOX, so irssi 1.4 syncs a channel it joins with `WHO #chan %tcuhnfdar,743`; it asks for no
 * `userhost-in-names` and NAMES gives it bare nicks, so the user and host it then bans by come
 * from the 354 replies alone.
 */
import assert from "node:assert/strict";
import { IrcTestClient, startServe } from "./_irc.ts";
import { Irssi, irssiAvailable } from "./_irssi.ts";
import { IrcTap } from "./_terminal.ts";

Deno.test({
  name: "irssi syncs a channel's nick list through WHOX and bans by the user and host it learned",
  ignore: !irssiAvailable,
  async fn() {
    await using serve = await startServe();
    await using bob = await IrcTestClient.register(serve.port, "bob", { user: "robert" });
    await bob.join("#team");
    await using tap = IrcTap.start(serve.port);
    await using irssi = await Irssi.connect(tap.port, "ann");
    const requested = await tap.waitForSent(/^CAP REQ /);
    assert.ok(!requested.includes("userhost-in-names"), requested);
    await irssi.type("/join #team");
    await tap.waitForReceived(/ 353 ann = #team :@bob ann$/);
    await tap.waitForSent(/^WHO #team %[a-z]+,\d+$/);
    await tap.waitForReceived(/ 354 ann \d+ #team robert 127\.0\.0\.1 bob H@ /);
    await irssi.waitFor(/Join to #team was synced in \d+ secs/);

    await bob.send("MODE #team +o ann");
    await irssi.waitFor("mode/#team [+o ann] by bob");
    await irssi.type("/ban bob");
    const ban = await bob.waitFor((m) => m.command === "MODE" && m.params[1] === "+b");
    assert.deepEqual(ban.params, ["#team", "+b", "*!*robert@127.0.0.*"]);
    await irssi.waitFor("mode/#team [+b *!*robert@127.0.0.*] by ann");
  },
});
