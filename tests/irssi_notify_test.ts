/**
 * irssi's notify list against a real `shmooze serve`, driven through tmux. irssi 1.4 polls
 * with ISON (it has no MONITOR); set to poll every second, it reports a watched nick coming
 * and going.
 */
import { IrcTestClient, startServe } from "./_irc.ts";
import { Terminal, tmuxAvailable } from "./_terminal.ts";

const irssiAvailable = (() => {
  try {
    return new Deno.Command("irssi", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "irssi's notify list shows a watched nick joining and leaving IRC",
  ignore: !irssiAvailable || !tmuxAvailable,
  async fn() {
    await using serve = await startServe();
    const home = await Deno.makeTempDir({ prefix: "shmooze-irssi-notify-" });
    try {
      await using irssi = await Terminal.run(
        ["irssi", "--home", home, "-c", "127.0.0.1", "-p", String(serve.port), "-n", "ann"],
        { TERM: "xterm" },
      );
      await irssi.waitFor("Welcome to the shmooze IRC network", 20_000);
      await irssi.type("/set notify_check_time 1s");
      await irssi.type("/notify bob");
      await using bob = await IrcTestClient.register(serve.port, "bob", { user: "robert" });
      await irssi.waitFor(/bob \[robert@127\.0\.0\.1\].*has joined to IRC/);
      await bob.send("QUIT :later");
      await bob.closed;
      await irssi.waitFor(/bob has left IRC/);
      await irssi.type("/quit");
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  },
});
