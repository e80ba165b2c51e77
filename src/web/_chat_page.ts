import { privmsgBudget, splitWords } from "../chat/split_text.ts";
import { pageHead } from "./_style.ts";

/**
 * The chat page served at `/`: one self-contained document (no external scripts, fonts or
 * images) that speaks IRC over a WebSocket with subprotocol `text.ircv3.net`, one line per
 * text frame. It negotiates IRCv3 capabilities, loads history with `CHATHISTORY LATEST`
 * when the server offers `draft/chathistory`, and reconnects with backoff, rejoining its
 * channels, when the connection drops.
 *
 * What the user types is never shown as sent before it is. Each line is shown at once with
 * its state (`data-state` on its list item): `queued` while there is no connection (it is
 * sent after the reconnect, in the order typed), `sending` until the server's echo
 * (echo-message) comes back, then `sent`. A `PING` after each burst of lines marks where
 * the server's answers end: a line with no echo before its `PONG` was refused (`failed`).
 * A line in flight when the connection drops may or may not have arrived (`checking`):
 * after the reconnect the page looks for it in the channel's history (`CHATHISTORY
 * LATEST`), after the newest message it had shown when it sent the line, from the nick it
 * had then. Found, it is `sent`; not found while that anchor is in the history, it never
 * arrived and is sent again, once; otherwise (a private message, no history, more than a
 * history page since) it is `unconfirmed`, and the user decides. Long lines are cut between
 * words so that the line the server relays fits its `LINELEN`, by the same
 * `splitWords`/`privmsgBudget` the terminal client uses, embedded in the script.
 */
export const CHAT_HTML: string = pageHead(
  "shmooze chat",
  String.raw`
body { display: flex; flex-direction: column; }
#login-view { flex: 1; display: grid; place-items: center; padding: 16px; }
#login { width: min(380px, 100%); display: grid; gap: 8px; }
#login h2 { font-size: 20px; text-transform: none; letter-spacing: 0; color: var(--text); }
#login-error { color: var(--bad); min-height: 1.4em; margin: 0; }
#chat-view {
  flex: 1; min-height: 0; display: grid; grid-template-columns: 200px 1fr 180px;
  grid-template-areas: "nav main users";
}
#buffers { grid-area: nav; border-right: 1px solid var(--line); background: var(--panel);
  display: flex; flex-direction: column; min-height: 0; }
#buffer-list { list-style: none; margin: 0; padding: 8px; flex: 1; overflow: auto; }
#buffer-list li { display: flex; align-items: center; border-radius: 6px; }
#buffer-list li.current { background: var(--soft); }
#buffer-list .open { flex: 1; text-align: left; background: transparent; color: var(--text);
  overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
#buffer-list li.current .open { font-weight: 600; }
#buffer-list li.parted .open { color: var(--muted); font-style: italic; }
.unread { background: var(--accent); color: var(--accent-text); border-radius: 999px;
  font-size: 12px; padding: 0 7px; }
.unread:empty { display: none; }
#join-form { display: flex; gap: 6px; padding: 8px; border-top: 1px solid var(--line); }
#join-form input { flex: 1; width: 0; }
#conversation { grid-area: main; display: flex; flex-direction: column; min-height: 0; }
#conversation > header { padding: 8px 16px; border-bottom: 1px solid var(--line); }
#buffer-title { font-size: 17px; margin: 0; }
#topic { margin: 0; color: var(--muted); font-size: 13px; min-height: 1em; }
#logs { flex: 1; min-height: 0; position: relative; }
.log { position: absolute; inset: 0; overflow-y: auto; list-style: none; margin: 0;
  padding: 8px 16px; }
.log li { padding: 1px 0; overflow-wrap: anywhere; }
.log li.history { opacity: .75; }
.log li.system { color: var(--muted); font-size: 13px; }
.log li.error { color: var(--bad); }
.log li.action .text { font-style: italic; }
.log li.notice .text { color: var(--warn); }
.log li[data-state="queued"], .log li[data-state="sending"], .log li[data-state="checking"] {
  opacity: .6; }
.log li[data-state="failed"] .text, .log li[data-state="unconfirmed"] .text {
  text-decoration: underline dotted var(--bad); }
.log li .state { font-size: 12px; margin-left: 8px; color: var(--muted); }
.log li[data-state="failed"] .state, .log li[data-state="unconfirmed"] .state {
  color: var(--bad); }
.log time { font-size: 12px; margin-right: 8px; }
.nick { font-weight: 600; color: hsl(var(--h, 210) 65% var(--nick-l)); margin-right: 6px; }
:root { --nick-l: 38%; }
@media (prefers-color-scheme: dark) { :root { --nick-l: 70%; } }
#send-form { display: flex; gap: 8px; padding: 10px 16px; border-top: 1px solid var(--line);
  background: var(--panel); }
#message { flex: 1; }
#users { grid-area: users; border-left: 1px solid var(--line); background: var(--panel);
  padding: 8px; overflow: auto; }
#users h2 { font-size: 13px; color: var(--muted); text-transform: uppercase; margin: 4px 6px; }
#user-list { list-style: none; margin: 0; padding: 0; }
#user-list button { background: transparent; color: var(--text); width: 100%; text-align: left;
  padding: 2px 6px; }
#status.connected { color: var(--ok); } #status.down { color: var(--bad); }
@media (max-width: 720px) {
  #chat-view { grid-template-columns: 1fr; grid-template-rows: auto 1fr;
    grid-template-areas: "nav" "main"; }
  #buffers { border-right: 0; border-bottom: 1px solid var(--line); flex-direction: row; }
  #buffer-list { display: flex; overflow-x: auto; padding: 4px; }
  #join-form { border-top: 0; padding: 4px; }
  #join-form input { flex: none; width: 7.5em; }
  #users, #me { display: none; }
}
`,
) + String.raw`
<body>
<header class="bar">
  <h1>shmooze</h1>
  <span id="status" role="status" aria-live="polite">Not connected</span>
  <button id="reconnect" type="button" hidden>Reconnect now</button>
  <span class="spacer"></span>
  <span id="me" class="muted"></span>
  <a href="/monitor">Monitor</a>
</header>
<main id="login-view">
  <form id="login" class="card" novalidate>
    <h2>Join the chat</h2>
    <label for="nick">Nickname</label>
    <input id="nick" name="nick" required maxlength="30" autocomplete="nickname" autofocus>
    <label for="channels">Channels (separated by spaces)</label>
    <input id="channels" name="channels" value="#lobby">
    <p id="login-error" role="alert"></p>
    <button type="submit">Connect</button>
  </form>
</main>
<main id="chat-view" hidden>
  <nav id="buffers" aria-label="Conversations">
    <ul id="buffer-list"></ul>
    <form id="join-form">
      <label for="join-input" class="sr-only">Channel to join</label>
      <input id="join-input" placeholder="#channel" autocomplete="off">
      <button type="submit">Join</button>
    </form>
  </nav>
  <section id="conversation" aria-labelledby="buffer-title">
    <header><h2 id="buffer-title"></h2><p id="topic"></p></header>
    <div id="logs"></div>
    <form id="send-form">
      <label for="message" class="sr-only">Message</label>
      <input id="message" autocomplete="off" placeholder="Message (try /join, /msg, /me, /nick)">
      <button type="submit">Send</button>
    </form>
  </section>
  <aside id="users" aria-labelledby="users-title">
    <h2 id="users-title">Users</h2>
    <ul id="user-list"></ul>
  </aside>
</main>
<script>
"use strict";
(function () {
  var $ = function (id) { return document.getElementById(id); };
  var WANTED_CAPS = ["message-tags", "server-time", "batch", "draft/chathistory", "echo-message",
    "multi-prefix"];
  var SERVER = "";
  var HISTORY_LIMIT = 100;
  // Until the server says (LINELEN, and our nick!user@host in 001 or JOIN): RFC 1459's
  // line and the longest user (~ and USERLEN 10) and host (HOSTLEN 63) parts.
  var LINE_LIMIT = 512;
  var ASSUMED_USER_HOST = new Array(12).join("u") + "@" + new Array(64).join("h");
  var ACTION_BYTES = 9; // "ACTION " and ""
  var BARRIER = "shmooze-sent-";
  var STATE_TEXT = {
    queued: "queued: sent when the connection is back",
    sending: "sending…",
    checking: "checking whether it arrived…",
    failed: "not sent",
    unconfirmed: "not confirmed: the connection dropped before the server answered"
  };
  var st = {
    ws: null, nick: "", wanted: "", available: new Set(), acked: new Set(), registered: false,
    buffers: new Map(), current: SERVER, batches: new Map(), attempts: 0, timer: null,
    countdown: null, stopped: true, historyMax: HISTORY_LIMIT, lineLimit: LINE_LIMIT,
    userHost: "", outbox: [], barrier: 0
  };

  ${splitWords.toString()}
  ${privmsgBudget.toString()}

  function fold(name) { return name.toLowerCase(); }
  function isChannel(name) { return /^[#&]/.test(name); }
  function validNick(nick) { return /^[A-Za-z\[\]\\^_{|}\x60][A-Za-z0-9\[\]\\^_{|}\x60-]{0,29}$/.test(nick); }

  function parse(line) {
    var m = { tags: {}, source: "", command: "", params: [] };
    var rest = line;
    if (rest[0] === "@") {
      var sp = rest.indexOf(" ");
      rest.slice(1, sp).split(";").forEach(function (part) {
        if (!part) return;
        var eq = part.indexOf("=");
        if (eq < 0) m.tags[part] = "";
        else m.tags[part.slice(0, eq)] = part.slice(eq + 1).replace(/\\(.)/g, function (_, c) {
          return { ":": ";", s: " ", r: "\r", n: "\n" }[c] || c;
        });
      });
      rest = rest.slice(sp + 1).replace(/^ +/, "");
    }
    if (rest[0] === ":") {
      var end = rest.indexOf(" ");
      m.source = rest.slice(1, end);
      rest = rest.slice(end + 1).replace(/^ +/, "");
    }
    var trailing = rest.indexOf(" :");
    var head = trailing >= 0 ? rest.slice(0, trailing) : rest;
    var words = head.split(" ").filter(Boolean);
    m.command = (words.shift() || "").toUpperCase();
    m.params = words;
    if (trailing >= 0) m.params.push(rest.slice(trailing + 2));
    return m;
  }
  function nickOf(source) { var i = source.indexOf("!"); return i < 0 ? source : source.slice(0, i); }

  function send(line) {
    if (st.ws && st.ws.readyState === WebSocket.OPEN) st.ws.send(line);
  }

  function setStatus(text, cls) {
    var el = $("status");
    el.textContent = text;
    el.className = cls || "";
  }

  function buffer(name, kind) {
    var key = fold(name);
    var b = st.buffers.get(key);
    if (b) return b;
    var log = document.createElement("ol");
    log.className = "log";
    log.setAttribute("role", "log");
    log.setAttribute("aria-live", "polite");
    log.setAttribute("aria-label", "Messages in " + name);
    log.hidden = true;
    $("logs").appendChild(log);
    var item = document.createElement("li");
    var open = document.createElement("button");
    open.type = "button";
    open.className = "open";
    open.textContent = name === SERVER ? "server" : name;
    var badge = document.createElement("span");
    badge.className = "unread";
    badge.setAttribute("aria-label", "unread messages");
    open.appendChild(document.createTextNode(" "));
    open.appendChild(badge);
    open.addEventListener("click", function () { show(b.name); });
    item.appendChild(open);
    if (name !== SERVER) {
      var close = document.createElement("button");
      close.type = "button";
      close.className = "plain";
      close.textContent = "×";
      close.setAttribute("aria-label", (kind === "channel" ? "Leave " : "Close ") + name);
      close.addEventListener("click", function () { closeBuffer(b); });
      item.appendChild(close);
    }
    $("buffer-list").appendChild(item);
    b = { name: name, kind: kind, log: log, item: item, badge: badge, users: new Map(),
      names: null, seen: new Set(), unread: 0, joined: false, wanted: kind === "channel",
      topic: "" };
    st.buffers.set(key, b);
    return b;
  }

  function show(name) {
    var next = st.buffers.get(fold(name));
    if (!next) return;
    st.buffers.forEach(function (b) {
      b.log.hidden = b !== next;
      b.item.classList.toggle("current", b === next);
      b.item.firstChild.removeAttribute("aria-current");
    });
    next.item.firstChild.setAttribute("aria-current", "page");
    st.current = next.name;
    next.unread = 0;
    next.badge.textContent = "";
    $("buffer-title").textContent = next.name === SERVER ? "Server messages" : next.name;
    $("topic").textContent = next.topic;
    renderUsers();
    next.log.scrollTop = next.log.scrollHeight;
    $("message").focus();
  }

  function closeBuffer(b) {
    st.outbox.forEach(function (e) {
      if (fold(e.target) === fold(b.name) && !settled(e)) mark(e, "failed", "you left " + b.name);
    });
    prune();
    if (b.kind === "channel") {
      b.wanted = false;
      if (b.joined) send("PART " + b.name);
    }
    st.buffers.delete(fold(b.name));
    b.log.remove();
    b.item.remove();
    if (fold(st.current) === fold(b.name)) show(firstBufferName());
    saveChannels();
  }

  function firstBufferName() {
    var names = Array.from(st.buffers.values()).map(function (b) { return b.name; });
    return names.find(function (n) { return n !== SERVER; }) || SERVER;
  }

  function nickHue(nick) {
    var h = 0;
    for (var i = 0; i < nick.length; i++) h = (h * 31 + nick.charCodeAt(i)) >>> 0;
    return h % 360;
  }

  function clock(time) {
    return time.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  // One line in a conversation. History and live lines are ordered by server time, so a
  // history batch that arrives after a live message still lands above it.
  function addLine(b, opts) {
    if (opts.id) {
      if (b.seen.has(opts.id)) return;
      b.seen.add(opts.id);
    }
    var time = opts.time || new Date();
    var li = document.createElement("li");
    li.className = opts.cls || "";
    li.dataset.time = String(time.getTime());
    if (opts.msgid) li.dataset.msgid = opts.msgid;
    var t = document.createElement("time");
    t.dateTime = time.toISOString();
    t.textContent = clock(time);
    li.appendChild(t);
    if (opts.nick) {
      var n = document.createElement("span");
      n.className = "nick";
      n.style.setProperty("--h", String(nickHue(opts.nick)));
      n.textContent = opts.cls && opts.cls.indexOf("action") >= 0 ? "* " + opts.nick : opts.nick;
      li.appendChild(n);
    }
    var text = document.createElement("span");
    text.className = "text";
    text.textContent = opts.text;
    li.appendChild(text);
    var atBottom = b.log.scrollHeight - b.log.scrollTop - b.log.clientHeight < 40;
    var before = null;
    for (var node = b.log.lastElementChild; node; node = node.previousElementSibling) {
      if (Number(node.dataset.time) <= time.getTime()) break;
      before = node;
    }
    b.log.insertBefore(li, before);
    if (atBottom || opts.self) b.log.scrollTop = b.log.scrollHeight;
    if (fold(b.name) !== fold(st.current) && !opts.quiet) {
      b.unread++;
      b.badge.textContent = String(b.unread);
    }
    return li;
  }

  function system(b, text, cls) {
    addLine(b || buffer(SERVER, "server"), { text: text, cls: "system " + (cls || ""), quiet: true });
  }

  function renderUsers() {
    var list = $("user-list");
    list.textContent = "";
    var b = st.buffers.get(fold(st.current));
    var users = b && b.kind === "channel" ? Array.from(b.users.values()) : [];
    users.sort(function (x, y) {
      return (y.prefix ? 1 : 0) - (x.prefix ? 1 : 0) || fold(x.nick).localeCompare(fold(y.nick));
    });
    $("users-title").textContent = "Users" + (users.length ? " (" + users.length + ")" : "");
    users.forEach(function (u) {
      var li = document.createElement("li");
      var btn = document.createElement("button");
      btn.type = "button";
      btn.textContent = u.prefix + u.nick;
      btn.setAttribute("aria-label", "Private message " + u.nick);
      btn.addEventListener("click", function () {
        if (fold(u.nick) === fold(st.nick)) return;
        buffer(u.nick, "query");
        show(u.nick);
      });
      li.appendChild(btn);
      list.appendChild(li);
    });
  }

  function addUser(users, entry) {
    var m = /^([~&@%+]*)(.*)$/.exec(entry);
    users.set(fold(m[2]), { nick: m[2], prefix: m[1].slice(0, 1) });
  }

  function usersChanged(b) { if (b && fold(b.name) === fold(st.current)) renderUsers(); }

  function saveChannels() {
    var channels = Array.from(st.buffers.values())
      .filter(function (b) { return b.kind === "channel" && b.wanted; })
      .map(function (b) { return b.name; });
    try { localStorage.setItem("shmooze.channels", channels.join(" ")); } catch (_) { /* private mode */ }
  }

  function historyBatch(m) {
    var ref = m.tags.batch;
    return ref && st.batches.has(ref) ? st.batches.get(ref) : null;
  }

  function onMessage(m) {
    var from = nickOf(m.source);
    var self = fold(from) === fold(st.nick);
    var time = m.tags.time ? new Date(m.tags.time) : new Date();
    var b;
    switch (m.command) {
      case "PING": send("PONG :" + (m.params[0] || "")); break;
      case "PONG": onBarrier(m.params[m.params.length - 1] || ""); break;
      case "CAP": onCap(m); break;
      case "001":
        st.registered = true;
        st.nick = m.params[0];
        st.attempts = 0;
        // Most servers end the welcome with our mask: "Welcome to … ann!ann@127.0.0.1".
        learnUserHost((m.params[1] || "").split(" ").pop());
        $("me").textContent = "you are " + st.nick;
        setStatus("Connected", "connected");
        // Private messages have no history to check against (it needs an account).
        st.outbox.forEach(function (e) {
          if (e.state === "checking" && (!isChannel(e.target) || !st.acked.has("draft/chathistory"))) {
            mark(e, "unconfirmed");
          }
        });
        rejoin();
        flush();
        break;
      case "005":
        m.params.slice(1, -1).forEach(function (token) {
          var kv = token.split("=");
          if (kv[0] === "CHATHISTORY" && Number(kv[1]) > 0) st.historyMax = Number(kv[1]);
          if (kv[0] === "LINELEN" && Number(kv[1]) > 0) st.lineLimit = Number(kv[1]);
        });
        break;
      case "433":
        if (!st.registered) {
          st.wanted = st.wanted.slice(0, 28) + "_";
          send("NICK " + st.wanted);
        } else system(buffer(st.current), "Nickname " + m.params[1] + " is already in use", "error");
        break;
      case "432":
        if (!st.registered) { stop(); showLogin("The server refused that nickname: " + m.params.slice(-1)[0]); }
        else system(buffer(st.current), m.params.slice(-1)[0], "error");
        break;
      case "NICK":
        if (self) { st.nick = m.params[0]; $("me").textContent = "you are " + st.nick; }
        st.buffers.forEach(function (cb) {
          var u = cb.users.get(fold(from));
          if (!u) return;
          cb.users.delete(fold(from));
          cb.users.set(fold(m.params[0]), { nick: m.params[0], prefix: u.prefix });
          system(cb, from + " is now known as " + m.params[0]);
          usersChanged(cb);
        });
        break;
      case "JOIN":
        b = buffer(m.params[0], "channel");
        if (self) {
          learnUserHost(m.source);
          b.joined = true;
          b.wanted = true;
          b.item.classList.remove("parted");
          b.users.clear();
          saveChannels();
          if (st.acked.has("draft/chathistory")) {
            send("CHATHISTORY LATEST " + b.name + " * " + Math.min(HISTORY_LIMIT, st.historyMax));
          }
          if (fold(st.current) === fold(SERVER) || b.pendingShow) { b.pendingShow = false; show(b.name); }
          flush();
        } else {
          addUser(b.users, from);
          system(b, from + " joined", "");
          usersChanged(b);
        }
        break;
      case "PART": case "KICK":
        b = st.buffers.get(fold(m.params[0]));
        if (!b) break;
        var gone = m.command === "KICK" ? m.params[1] : from;
        if (fold(gone) === fold(st.nick)) {
          b.joined = false;
          b.item.classList.add("parted");
          system(b, m.command === "KICK" ? "You were kicked by " + from : "You left " + b.name);
        } else {
          b.users.delete(fold(gone));
          system(b, gone + " left" + (m.params[m.command === "KICK" ? 2 : 1] ? " (" + m.params[m.command === "KICK" ? 2 : 1] + ")" : ""));
        }
        usersChanged(b);
        break;
      case "QUIT":
        st.buffers.forEach(function (cb) {
          if (!cb.users.delete(fold(from))) return;
          system(cb, from + " quit" + (m.params[0] ? " (" + m.params[0] + ")" : ""));
          usersChanged(cb);
        });
        break;
      case "353":
        b = buffer(m.params[2], "channel");
        if (!b.names) b.names = new Map();
        m.params[3].split(" ").filter(Boolean).forEach(function (entry) { addUser(b.names, entry); });
        break;
      case "366":
        b = st.buffers.get(fold(m.params[1]));
        if (b) { b.users = b.names || new Map(); b.names = null; usersChanged(b); }
        break;
      case "332":
        b = buffer(m.params[1], "channel");
        b.topic = m.params[2] || "";
        if (fold(b.name) === fold(st.current)) $("topic").textContent = b.topic;
        break;
      case "TOPIC":
        b = buffer(m.params[0], "channel");
        b.topic = m.params[1] || "";
        system(b, from + " set the topic: " + b.topic);
        if (fold(b.name) === fold(st.current)) $("topic").textContent = b.topic;
        break;
      case "BATCH":
        var ref = m.params[0].slice(1);
        if (m.params[0][0] === "+" && m.params[1] === "chathistory") {
          st.batches.set(ref, { target: m.params[2], messages: [] });
        } else if (m.params[0][0] === "-" && st.batches.has(ref)) {
          var batch = st.batches.get(ref);
          st.batches.delete(ref);
          b = st.buffers.get(fold(batch.target));
          if (b) b.historyLoaded = true;
          reconcile(batch.target, batch.messages);
          flush();
        }
        break;
      case "FAIL":
        if (m.params[0] === "CHATHISTORY") {
          st.outbox.forEach(function (e) { if (e.state === "checking") mark(e, "unconfirmed"); });
          flush();
        }
        system(st.buffers.get(fold(st.current)), m.params.slice(-1)[0], "error");
        break;
      case "PRIVMSG": case "NOTICE":
        onChat(m, from, self, time);
        break;
      case "ERROR":
        system(null, "Server closed the connection: " + (m.params[0] || ""), "error");
        break;
      default:
        if (/^[45]\d\d$/.test(m.command)) {
          system(st.buffers.get(fold(st.current)), m.params.slice(1).join(" "), "error");
        } else if (/^\d\d\d$/.test(m.command)) {
          system(null, m.params.slice(1).join(" "));
        }
    }
  }

  function onChat(m, from, self, time) {
    var target = m.params[0];
    var text = m.params[1] || "";
    var history = historyBatch(m);
    if (history) history.messages.push({ msgid: m.tags.msgid || "", nick: from, text: text });
    if (self && !history && m.command === "PRIVMSG" && confirmEcho(target, text, m.tags.msgid, time)) return;
    if (!m.source || (from.indexOf(".") >= 0 && !isChannel(target) && !st.registered)) {
      system(null, text);
      return;
    }
    var name = isChannel(target) ? target : self ? target : from;
    var b = buffer(name, isChannel(name) ? "channel" : "query");
    var cls = history ? "history" : "";
    var action = /^\x01ACTION (.*)\x01?$/.exec(text);
    if (action) { text = action[1].replace(/\x01$/, ""); cls += " action"; }
    else if (text[0] === "\x01") return;
    if (m.command === "NOTICE") cls += " notice";
    addLine(b, { id: m.tags.msgid || (history ? time.getTime() + from + text : ""), time: time,
      msgid: m.tags.msgid, nick: from, text: text, cls: cls, quiet: !!history || self, self: self });
  }

  function onCap(m) {
    var sub = m.params[1];
    var more = m.params[2] === "*";
    var list = m.params[more ? 3 : 2] || "";
    if (sub === "LS") {
      list.split(" ").filter(Boolean).forEach(function (c) { st.available.add(c.split("=")[0]); });
      if (more) return;
      var want = WANTED_CAPS.filter(function (c) { return st.available.has(c); });
      if (want.length) send("CAP REQ :" + want.join(" "));
      else send("CAP END");
    } else if (sub === "ACK") {
      list.split(" ").filter(Boolean).forEach(function (c) { st.acked.add(c.replace(/^-/, "")); });
      if (!more) send("CAP END");
    } else if (sub === "NAK") {
      send("CAP END");
    }
  }

  function rejoin() {
    var channels = Array.from(st.buffers.values())
      .filter(function (b) { return b.kind === "channel" && b.wanted; })
      .map(function (b) { return b.name; });
    if (channels.length) send("JOIN " + channels.join(","));
  }

  function connect() {
    clearTimeout(st.timer);
    clearInterval(st.countdown);
    $("reconnect").hidden = true;
    st.stopped = false;
    st.registered = false;
    st.available = new Set();
    st.acked = new Set();
    st.batches = new Map();
    setStatus(st.attempts ? "Reconnecting…" : "Connecting…", "");
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/irc";
    var ws;
    try { ws = new WebSocket(url, "text.ircv3.net"); } catch (e) { scheduleReconnect(); return; }
    st.ws = ws;
    ws.onopen = function () {
      send("CAP LS 302");
      send("NICK " + st.wanted);
      send("USER " + st.wanted + " 0 * :shmooze web");
    };
    ws.onmessage = function (event) {
      if (ws !== st.ws || typeof event.data !== "string") return;
      event.data.split(/\r?\n/).filter(Boolean).forEach(function (line) { onMessage(parse(line)); });
    };
    ws.onclose = function () {
      if (ws !== st.ws) return;
      st.ws = null;
      st.registered = false;
      st.outbox.forEach(function (e) { if (e.state === "sending") mark(e, "checking"); });
      st.buffers.forEach(function (b) { b.joined = false; b.users.clear(); });
      renderUsers();
      if (!st.stopped) scheduleReconnect();
    };
  }

  // Exponential backoff with jitter (1 s, 2 s, 4 s … at most 30 s), so a restarted server is
  // not hit by every browser at the same instant.
  function scheduleReconnect() {
    var delay = Math.min(30000, 1000 * Math.pow(2, st.attempts)) * (0.75 + Math.random() * 0.5);
    st.attempts++;
    var due = Date.now() + delay;
    var tick = function () {
      setStatus("Disconnected — reconnecting in " + Math.max(1, Math.ceil((due - Date.now()) / 1000)) + " s", "down");
    };
    tick();
    st.countdown = setInterval(tick, 1000);
    st.timer = setTimeout(connect, delay);
    $("reconnect").hidden = false;
  }

  function stop() {
    st.stopped = true;
    clearTimeout(st.timer);
    clearInterval(st.countdown);
    if (st.ws) { var ws = st.ws; st.ws = null; ws.close(); }
  }

  function showLogin(error) {
    $("chat-view").hidden = true;
    $("login-view").hidden = false;
    $("login-error").textContent = error || "";
    setStatus("Not connected", "");
    $("nick").focus();
  }

  function learnUserHost(mask) {
    var match = /^([^!@\s]+)!([^!@\s]+@[^!@\s]+)$/.exec(mask || "");
    if (match && fold(match[1]) === fold(st.nick)) st.userHost = match[2];
  }

  // Shows each piece of the line at once, in its state, and sends what can be sent.
  function say(target, text, action) {
    var b = buffer(target, isChannel(target) ? "channel" : "query");
    var mask = st.nick + "!" + (st.userHost || ASSUMED_USER_HOST);
    var budget = privmsgBudget(st.lineLimit, mask, target) - (action ? ACTION_BYTES : 0);
    splitWords(text, budget).forEach(function (piece) {
      var entry = { target: target, text: piece, action: action, nick: st.nick, state: "",
        after: null, barrier: 0 };
      entry.body = action ? "\x01ACTION " + piece + "\x01" : piece;
      entry.li = addLine(b, { nick: st.nick, text: piece, cls: action ? "action" : "", self: true,
        quiet: true });
      st.outbox.push(entry);
      mark(entry, "queued");
    });
    flush();
  }

  function settled(e) { return e.state === "sent" || e.state === "failed" || e.state === "unconfirmed"; }

  function mark(e, state, why) {
    e.state = state;
    e.li.dataset.state = state;
    var label = e.li.querySelector(".state");
    if (state === "sent") { if (label) label.remove(); return; }
    if (!label) {
      label = document.createElement("span");
      label.className = "state";
      e.li.appendChild(label);
    }
    label.textContent = STATE_TEXT[state] + (why ? " (" + why + ")" : "");
  }

  function prune() { st.outbox = st.outbox.filter(function (e) { return !settled(e); }); }

  // Sends the queued lines in the order typed. A line waits while its channel is not joined
  // yet, and so does everything after it, as do all lines after one whose fate is checked.
  function flush() {
    if (!st.ws || !st.registered) return;
    var any = false;
    for (var i = 0; i < st.outbox.length; i++) {
      var e = st.outbox[i];
      if (e.state === "checking") break;
      if (e.state !== "queued") continue;
      var b = st.buffers.get(fold(e.target));
      if (isChannel(e.target) && !(b && b.joined)) break;
      e.after = b && b.historyLoaded && st.acked.has("message-tags") ? newestMsgid(e.li) : null;
      e.barrier = st.barrier + 1;
      send("PRIVMSG " + e.target + " :" + e.body);
      mark(e, "sending");
      any = true;
    }
    // The server answers in order: its PONG comes after the echo of every line before it.
    if (any) send("PING :" + BARRIER + ++st.barrier);
    prune();
  }

  // The msgid of the newest message shown before this line, which it follows in history;
  // "" when there is none (the channel's history was empty).
  function newestMsgid(li) {
    for (var node = li.previousElementSibling; node; node = node.previousElementSibling) {
      if (node.dataset.msgid) return node.dataset.msgid;
    }
    return "";
  }

  // The echo of a line we sent (echo-message): it has arrived.
  function confirmEcho(target, body, msgid, time) {
    var e = st.outbox.find(function (x) {
      return x.state === "sending" && fold(x.target) === fold(target) && x.body === body;
    });
    if (!e) return false;
    markSent(e, msgid, time);
    prune();
    return true;
  }

  function markSent(e, msgid, time) {
    var b = st.buffers.get(fold(e.target));
    if (msgid && b) {
      // Found in history, the line is shown twice: keep the history's, in its place.
      var shown = b.log.querySelector('li[data-msgid="' + CSS.escape(msgid) + '"]');
      if (shown && shown !== e.li) { e.li.remove(); e.li = shown; }
      e.li.dataset.msgid = msgid;
      b.seen.add(msgid);
    }
    if (time) {
      e.li.dataset.time = String(time.getTime());
      var t = e.li.querySelector("time");
      t.dateTime = time.toISOString();
      t.textContent = clock(time);
    }
    mark(e, "sent");
  }

  // Every line sent before this PONG that has no echo was refused (the server said why);
  // without echo-message, the PONG is all the confirmation there is.
  function onBarrier(token) {
    if (token.indexOf(BARRIER) !== 0) return;
    var n = Number(token.slice(BARRIER.length));
    st.outbox.forEach(function (e) {
      if (e.state !== "sending" || e.barrier > n) return;
      if (st.acked.has("echo-message")) mark(e, "failed", "the server refused it");
      else mark(e, "sent");
    });
    prune();
  }

  // After a reconnect: which of the lines in flight when the connection dropped are in the
  // channel's history? The same nick, the same text, after the message each followed.
  function reconcile(target, messages) {
    var used = new Set();
    st.outbox.forEach(function (e) {
      if (e.state !== "checking" || fold(e.target) !== fold(target)) return;
      if (e.after === null) { mark(e, "unconfirmed"); return; }
      var start = 0;
      if (e.after) {
        start = messages.findIndex(function (m) { return m.msgid === e.after; }) + 1;
        if (start === 0) { mark(e, "unconfirmed"); return; }
      }
      for (var i = start; i < messages.length; i++) {
        var m = messages[i];
        if (!used.has(i) && fold(m.nick) === fold(e.nick) && m.text === e.body) {
          used.add(i);
          markSent(e, m.msgid, null);
          return;
        }
      }
      mark(e, "queued"); // not in history: it never arrived
    });
    prune();
  }

  function joinChannel(name) {
    if (!name) return;
    if (!isChannel(name)) name = "#" + name;
    var b = buffer(name, "channel");
    b.wanted = true;
    b.pendingShow = true;
    send("JOIN " + name);
  }

  function command(text) {
    var cur = st.buffers.get(fold(st.current));
    var sp = text.indexOf(" ");
    var cmd = (sp < 0 ? text.slice(1) : text.slice(1, sp)).toLowerCase();
    var arg = sp < 0 ? "" : text.slice(sp + 1).trim();
    var words = arg.split(/\s+/);
    switch (cmd) {
      case "join": case "j": joinChannel(words[0]); break;
      case "part": case "leave":
        if (cur && cur.kind === "channel") closeBuffer(cur);
        break;
      case "msg": case "query":
        if (!words[0]) break;
        buffer(words[0], isChannel(words[0]) ? "channel" : "query");
        show(words[0]);
        var rest = arg.slice(words[0].length).trim();
        if (rest) say(words[0], rest, false);
        break;
      case "me":
        if (cur && cur.name !== SERVER && arg) say(cur.name, arg, true);
        break;
      case "nick": if (words[0]) send("NICK " + words[0]); break;
      case "topic": if (cur && cur.kind === "channel") send("TOPIC " + cur.name + (arg ? " :" + arg : "")); break;
      case "quote": case "raw": if (arg) send(arg); break;
      default: system(cur, "Unknown command /" + cmd + " (try /join, /part, /msg, /me, /nick, /topic)", "error");
    }
  }

  $("login").addEventListener("submit", function (event) {
    event.preventDefault();
    var nick = $("nick").value.trim();
    if (!validNick(nick)) {
      $("login-error").textContent = "A nickname is 1 to 30 letters, digits or [ ] \\ ^ _ { | } -, and does not start with a digit or -";
      return;
    }
    st.wanted = nick;
    st.nick = nick;
    try {
      localStorage.setItem("shmooze.nick", nick);
    } catch (_) { /* private mode */ }
    $("channels").value.split(/[\s,]+/).filter(Boolean).forEach(function (name) {
      buffer(isChannel(name) ? name : "#" + name, "channel");
    });
    saveChannels();
    buffer(SERVER, "server");
    $("login-view").hidden = true;
    $("chat-view").hidden = false;
    show(firstBufferName());
    st.attempts = 0;
    connect();
  });
  $("send-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var input = $("message");
    var text = input.value;
    if (!text.trim()) return;
    input.value = "";
    if (text[0] === "/" && text[1] !== "/") { command(text); return; }
    if (text[0] === "/") text = text.slice(1);
    if (st.current === SERVER) { system(null, "Pick a channel or a person first", "error"); return; }
    say(st.current, text, false);
  });
  $("join-form").addEventListener("submit", function (event) {
    event.preventDefault();
    joinChannel($("join-input").value.trim());
    $("join-input").value = "";
  });
  $("reconnect").addEventListener("click", function () { st.attempts = 0; connect(); });

  try {
    $("nick").value = localStorage.getItem("shmooze.nick") || "";
    $("channels").value = localStorage.getItem("shmooze.channels") || "#lobby";
  } catch (_) { /* private mode */ }
})();
</script>
</body>
</html>
`;
