/**
 * irssi's notify list against a real `shmooze serve`, driven through tmux. irssi 1.4 polls
 * with ISON (it has no MONITOR); set to poll every second, it reports a watched nick coming
 * and going.
 */
import { IrcTestClient, startServe } from "./_irc.ts";
import { Irssi, irssiAvailable } from "./_irssi.ts";

Deno.test({
  name: "irssi's notify list shows a watched nick joining and leaving IRC",
  ignore: !irssiAvailable,
  async fn() {
    await using serve = await startServe();
    await using irssi = await Irssi.connect(serve.port, "ann");
    await irssi.type("/set notify_check_time 1s");
    await irssi.type("/notify bob");
    await using bob = await IrcTestClient.register(serve.port, "bob", { user: "robert" });
    await irssi.waitFor(/bob \[robert@127\.0\.0\.1\].*has joined to IRC/);
    await bob.send("QUIT :later");
    await bob.closed;
    await irssi.waitFor(/bob has left IRC/);
    await irssi.type("/quit");
  },
});
