/**
 * irssi as a channel operator against a real `shmooze serve`, driven through tmux: the
 * commands a moderator types (/op, /deop, /mode +t, /topic, /ban, /kick, /invite) reach a
 * raw IRC client as the server should relay them.
 */
import assert from "node:assert/strict";
import { IrcTestClient, startServe } from "./_irc.ts";
import { Irssi, irssiAvailable } from "./_irssi.ts";

Deno.test({
  name: "irssi creates a channel and moderates it: op, deop, topic lock, ban, kick and invite",
  ignore: !irssiAvailable,
  async fn() {
    await using serve = await startServe();
    await using irssi = await Irssi.connect(serve.port, "ann");
    await irssi.type("/join #team");
    // irssi shows who is in a channel it joins, with their prefixes.
    await irssi.waitFor("@ann");
    await using bob = await IrcTestClient.register(serve.port, "bob");
    await bob.join("#team");
    const fromAnn = (command: string, params: string) =>
      bob.waitFor((m) =>
        m.source?.startsWith("ann!") === true && m.command === command &&
        m.params.join(" ") === params
      );

    await irssi.type("/op bob");
    await fromAnn("MODE", "#team +o bob");
    await irssi.waitFor("mode/#team [+o bob] by ann");
    await irssi.type("/deop bob");
    await fromAnn("MODE", "#team -o bob");
    await irssi.waitFor("mode/#team [-o bob] by ann");

    // A new channel is +nt: only operators set its topic.
    const locked = await bob.reply("TOPIC #team :bob's topic");
    assert.deepEqual(locked.map((m) => m.command), ["482"]);
    await irssi.type("/mode #team -t");
    await fromAnn("MODE", "#team -t");
    await bob.send("TOPIC #team :bob's topic");
    await irssi.waitFor("bob changed the topic of #team to: bob's topic");
    await irssi.type("/mode #team +t");
    await fromAnn("MODE", "#team +t");
    await irssi.type("/topic plans for friday");
    await fromAnn("TOPIC", "#team plans for friday");

    await irssi.type("/ban bob");
    const ban = await bob.waitFor((m) => m.command === "MODE" && m.params[1] === "+b");
    await irssi.type("/kick bob off topic");
    await fromAnn("KICK", "#team bob off topic");
    await irssi.waitFor("bob was kicked from #team by ann [off topic]");
    const banned = await bob.reply("JOIN #team");
    assert.deepEqual(banned.map((m) => m.command), ["474"], `banned by ${ban.params[2]}`);

    await irssi.type("/invite bob");
    await fromAnn("INVITE", "bob #team");
    await bob.join("#team");
    await irssi.waitFor(/was kicked from #team[^]*bob .*has joined #team/);
  },
});
