import { NICK_LENGTH } from "../chat/names.ts";
import CHAT_JS from "./_bundle/chat.js" with { type: "text" };
import { page, type WebPage } from "./_page.ts";

/**
 * The chat page served at `/`: one self-contained document (no external scripts, fonts or
 * images) whose script, `src/web/client/chat.ts` bundled, speaks IRC over a WebSocket. This
 * file holds its style and markup; the script finds its elements by the ids here.
 */
export const CHAT_PAGE: WebPage = page({
  title: "shmooze chat",
  css: String.raw`
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
  body: `
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
    <input id="nick" name="nick" required maxlength="${NICK_LENGTH}" autocomplete="nickname"
      autofocus>
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
`,
  script: CHAT_JS,
});
