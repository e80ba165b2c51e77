/**
 * weechat's nick list against a real `shmooze serve`: shmooze advertises WHOX, so on joining a
 * channel weechat asks `WHO #chan %cuhsnfdar` and learns from the 354 replies who is away,
 * which its nick list shows by colour (NAMES says nothing about it).
 */
import assert from "node:assert/strict";
import { IrcTestClient, startServe } from "./_irc.ts";
import { IrcTap } from "./_terminal.ts";
import { AWAY_COLOUR, Weechat, weechatAvailable } from "./_weechat.ts";

Deno.test({
  name: "weechat's nick list shows who is away from the WHOX replies to its WHO on joining",
  ignore: !weechatAvailable,
  async fn() {
    await using serve = await startServe();
    await using bob = await IrcTestClient.register(serve.port, "bob");
    await bob.reply("AWAY :lunch");
    await bob.join("#team");
    await using tap = IrcTap.start(serve.port);
    await using weechat = await Weechat.connect(tap.port, "ann");

    await weechat.type("/join #team");
    await tap.waitForSent(/^WHO #team %[a-z]+$/);
    const who = tap.sent.find((line) => line.startsWith("WHO #team"))!;
    assert.ok(who.includes("f"), `weechat asks for the flags: ${who}`);
    await tap.waitForReceived(/ 354 ann .* bob G@ /);
    await tap.waitForReceived(/ 315 ann #team /);
    await weechat.waitForNicklistColour("bob", AWAY_COLOUR);
    assert.notEqual(await weechat.nicklistColour("ann"), AWAY_COLOUR);

    // Back from lunch: away-notify tells weechat, and the nick list follows.
    await bob.reply("AWAY");
    await tap.waitForReceived(/^(@\S+ )?:bob!\S+ AWAY$/);
    await weechat.waitForNicklistColour("bob", "default");
  },
});
