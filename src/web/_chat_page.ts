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
.bar { flex-wrap: wrap; }
#session { display: flex; align-items: center; gap: 8px; }
#session .toggle { border-radius: 999px; white-space: nowrap; }
#session .toggle[aria-pressed="true"] { background: var(--soft); color: var(--accent);
  font-weight: 600; box-shadow: inset 0 0 0 1px var(--accent); }
#login-view { flex: 1; display: grid; place-items: center; padding: 16px; overflow: auto; }
#login { width: min(400px, 100%); display: grid; gap: 8px; }
#login h2 { font-size: 20px; text-transform: none; letter-spacing: 0; color: var(--text); }
#login .check { display: flex; gap: 8px; align-items: center; }
#login-error { color: var(--bad); min-height: 1.4em; margin: 0; }
#login-note { margin: 0; font-size: 13px; }
#chat-view {
  flex: 1; min-height: 0; display: grid; grid-template-columns: 210px minmax(0, 1fr) 190px;
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
.unread { background: var(--muted); color: var(--panel); border-radius: 999px;
  font-size: 12px; padding: 0 7px; font-weight: 600; }
.unread.mention { background: var(--bad); color: #fff; }
.unread:empty { display: none; }
#join-form { display: flex; gap: 6px; padding: 8px; border-top: 1px solid var(--line); }
#join-form input { flex: 1; width: 0; }
#conversation { grid-area: main; display: flex; flex-direction: column; min-height: 0; }
#conversation > header { padding: 8px 16px; border-bottom: 1px solid var(--line); }
.title-row { display: flex; align-items: center; gap: 8px; }
#buffer-title { font-size: 17px; margin: 0; flex: 1; }
#users-toggle { display: none; }
#topic { margin: 0; color: var(--muted); font-size: 13px; min-height: 1em; }
#search-panel { flex: none; max-height: 45%; overflow: auto; padding: 8px 16px;
  border-bottom: 1px solid var(--line); background: var(--panel); }
#search-form { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
#search-input { flex: 1; min-width: 10em; }
#search-form .check { display: flex; gap: 4px; align-items: center; font-size: 13px;
  color: var(--muted); }
#search-status, #search-note { margin: 6px 0 0; font-size: 13px; color: var(--muted); }
#search-status.error { color: var(--bad); }
#search-status:empty, #search-note:empty { display: none; }
#search-results { list-style: none; margin: 6px 0 0; padding: 0; display: grid; gap: 2px; }
#search-results .result { width: 100%; text-align: left; display: grid; gap: 1px;
  padding: 4px 8px; border-radius: 6px; }
#search-results .result:hover { background: var(--soft); }
.result-head { display: flex; gap: 8px; align-items: baseline; font-size: 12px; }
.result-head .where { font-weight: 600; }
.result-text { overflow-wrap: anywhere; }
mark { background: var(--mention); color: inherit; font-weight: 600; border-radius: 2px; }
.log li.found { box-shadow: inset 3px 0 var(--accent); background: var(--soft); }
.log li.gap { text-align: center; padding: 6px; }
#logs { flex: 1; min-height: 0; position: relative; }
.log { position: absolute; inset: 0; overflow-y: auto; list-style: none; margin: 0;
  padding: 8px 12px; }
.log > li { padding: 1px 4px; overflow-wrap: anywhere; }
.log li.msg, .log li.system { display: grid; grid-template-columns: 64px minmax(0, 1fr);
  column-gap: 8px; align-items: baseline; }
.log li.msg > :not(time), .log li.system > :not(time) { grid-column: 2; }
.log li.msg { position: relative; padding: 3px 76px 3px 6px; margin-top: 6px; border-radius: 6px; }
.log li.msg.continued { margin-top: 0; }
.log li.msg.continued .nick { position: absolute; width: 1px; height: 1px; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; }
.log li.msg.continued > time { visibility: hidden; }
.log li.msg:hover, .log li.msg:focus-within { background: var(--soft); }
.log li.msg:hover > time, .log li.msg:focus-within > time { visibility: visible; }
.log li.msg:focus-visible { outline-offset: -2px; }
.log li.mention { box-shadow: inset 3px 0 var(--warn); background: var(--mention); }
.log li.history { opacity: .8; }
.log li.system { color: var(--muted); font-size: 13px; padding-left: 6px; }
.log li.error { color: var(--bad); }
.log li.action .text { font-style: italic; }
.log li.notice .text { color: var(--warn); }
.log li.day, .log li.new-divider { display: flex; align-items: center; gap: 10px; margin: 12px 0 4px;
  font-size: 12px; font-weight: 600; color: var(--muted); }
.log li.day::before, .log li.day::after, .log li.new-divider::after {
  content: ""; flex: 1; border-top: 1px solid var(--line); }
.log li.new-divider { color: var(--bad); }
.log li.new-divider::after { border-color: var(--bad); }
.log li.more { text-align: center; padding: 6px; }
.log li.more.start { font-size: 12px; }
.log li[data-state="queued"], .log li[data-state="sending"], .log li[data-state="checking"] {
  opacity: .6; }
.log li[data-state="failed"] .text, .log li[data-state="unconfirmed"] .text {
  text-decoration: underline dotted var(--bad); }
.log li .state { font-size: 12px; margin-left: 8px; color: var(--muted); }
.log li[data-state="failed"] .state, .log li[data-state="unconfirmed"] .state {
  color: var(--bad); }
.log time { font-size: 12px; grid-column: 1; white-space: nowrap; }
.log .quote { font-size: 13px; color: var(--muted); border-left: 2px solid var(--line);
  padding-left: 8px; margin: 0 0 2px; overflow: hidden; text-overflow: ellipsis;
  white-space: nowrap; }
.log li.msg > .actions { grid-column: auto; }
.log .quote-nick { font-weight: 600; }
.log .text a { color: var(--accent); text-decoration: underline; }
.log .actions { position: absolute; right: 4px; top: 2px; display: none; gap: 2px; }
.log li.msg:hover .actions, .log li.msg:focus-within .actions { display: flex; }
.log .actions button { font-size: 15px; padding: 0 7px; border: 1px solid var(--line);
  background: var(--panel); }
.log li.deleted .text { color: var(--muted); font-style: italic; }
.log li.deleting { opacity: .5; }
.log:not(.moderator) li.msg:not(.self) .delete-button { display: none; }
.reactions, .picker { display: flex; flex-wrap: wrap; gap: 4px; margin-top: 3px; }
.reaction { background: var(--panel); color: var(--text); border: 1px solid var(--line);
  border-radius: 999px; padding: 0 8px; font-size: 13px; }
.reaction[aria-pressed="true"] { border-color: var(--accent); background: var(--soft); }
.picker button { font-size: 18px; padding: 0 6px; }
.nick { font-weight: 600; color: hsl(var(--h, 210) 65% var(--nick-l)); margin-right: 6px; }
:root { --nick-l: 38%; --mention: #fff7e6; }
@media (prefers-color-scheme: dark) { :root { --nick-l: 70%; --mention: #2b2414; } }
#typing { margin: 0; padding: 0 16px; min-height: 1.5em; font-size: 13px; color: var(--muted);
  font-style: italic; }
#reply-bar { display: flex; align-items: center; gap: 8px; padding: 4px 16px; font-size: 13px;
  background: var(--soft); border-top: 1px solid var(--line); }
#reply-to { flex: 1; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
#send-form { display: flex; gap: 8px; padding: 10px 16px; border-top: 1px solid var(--line);
  background: var(--panel); }
#attach { font-size: 18px; padding: 2px 8px; }
#upload-bar { display: flex; align-items: center; gap: 8px; padding: 4px 16px; font-size: 13px;
  background: var(--soft); border-top: 1px solid var(--line); }
#upload-text { flex: 1; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
#upload-progress { width: min(160px, 30%); }
#conversation.dropping { outline: 3px dashed var(--accent); outline-offset: -6px; }
.log .previews { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 4px; }
.log img.preview { display: block; height: 180px; width: auto; max-width: 100%;
  object-fit: scale-down; border: 1px solid var(--line); border-radius: 6px; background: var(--soft); }
#message { flex: 1; }
#users { grid-area: users; border-left: 1px solid var(--line); background: var(--panel);
  padding: 8px; overflow: auto; }
#users h2 { font-size: 13px; color: var(--muted); text-transform: uppercase; margin: 4px 6px; }
#user-list { list-style: none; margin: 0; padding: 0; }
#user-list button { background: transparent; color: var(--text); width: 100%; text-align: left;
  padding: 2px 6px; }
#status.connected { color: var(--ok); } #status.down { color: var(--bad); }
@media (max-width: 720px) {
  .bar { gap: 8px; padding: 6px 10px; flex-wrap: nowrap; }
  .bar h1 { font-size: 16px; }
  #status { font-size: 13px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
  #me, .bar a { display: none; }
  #session button { padding: 4px 8px; font-size: 13px; }
  #session .toggle .label { position: absolute; width: 1px; height: 1px; overflow: hidden;
    clip: rect(0 0 0 0); white-space: nowrap; }
  #chat-view { grid-template-columns: minmax(0, 1fr); grid-template-rows: auto minmax(0, 1fr);
    grid-template-areas: "nav" "main"; }
  #buffers { border-right: 0; border-bottom: 1px solid var(--line); flex-direction: row; }
  #buffer-list { display: flex; overflow-x: auto; padding: 4px; }
  #join-form { border-top: 0; padding: 4px; }
  #join-form input { flex: none; width: 6em; }
  #join-form button { padding: 4px 8px; }
  #users-toggle { display: inline-block; font-size: 13px; padding: 4px 10px; }
  #users { display: none; position: fixed; top: 0; right: 0; bottom: 0; z-index: 10;
    width: min(280px, 85vw); box-shadow: -8px 0 24px rgb(0 0 0 / .25); }
  #users.open { display: block; }
  .log li.msg { padding-right: 6px; }
  .log .actions { top: -14px; }
}
@media (prefers-reduced-motion: reduce) {
  *, *::before, *::after { animation: none !important; transition: none !important;
    scroll-behavior: auto !important; }
}
`,
  body: `
<header class="bar">
  <h1>shmooze</h1>
  <span id="status" role="status" aria-live="polite">Not connected</span>
  <button id="reconnect" type="button" hidden>Reconnect now</button>
  <span class="spacer"></span>
  <span id="session" hidden>
    <span id="me" class="muted"></span>
    <button id="notify" type="button" class="plain toggle" aria-pressed="false"
      title="Desktop notifications of mentions while this page is open"><span
      aria-hidden="true">🔔</span> <span class="label">Notifications</span></button>
    <button id="push" type="button" class="plain toggle" aria-pressed="false"
      title="Push notifications while no page of yours is open (Web Push)"><span
      aria-hidden="true">📲</span> <span class="label">Push</span></button>
    <button id="logout" type="button" class="plain">Log out</button>
  </span>
  <a href="/monitor">Monitor</a>
</header>
<main id="login-view" hidden>
  <form id="login" class="card" novalidate>
    <h2>Join the chat</h2>
    <label for="nick">Nickname (your account's name, if you have one)</label>
    <input id="nick" name="nick" required maxlength="${NICK_LENGTH}" autocomplete="username"
      autocapitalize="none" spellcheck="false">
    <label for="password">Password (none to chat as a guest)</label>
    <input id="password" name="password" type="password" autocomplete="current-password">
    <label class="check"><input id="create-account" type="checkbox"> Create this account</label>
    <label for="channels">Channels (separated by spaces)</label>
    <input id="channels" name="channels" value="#lobby">
    <p id="login-error" role="alert"></p>
    <button id="login-submit" type="submit">Continue as a guest</button>
    <p id="login-note" class="muted">Your password goes to the server once; this browser keeps
      only a session token, which logging out revokes.</p>
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
    <header>
      <div class="title-row">
        <h2 id="buffer-title"></h2>
        <button id="search-toggle" type="button" class="plain" aria-controls="search-panel"
          aria-expanded="false" hidden>Search</button>
        <button id="users-toggle" type="button" class="plain" aria-controls="users"
          aria-expanded="false">Users</button>
      </div>
      <p id="topic"></p>
    </header>
    <section id="search-panel" aria-label="Search messages" hidden>
      <form id="search-form" role="search">
        <label for="search-input" class="sr-only">Words to search for</label>
        <input id="search-input" type="search" maxlength="300" autocomplete="off"
          placeholder="Search messages (every word; word* for a prefix)">
        <label id="search-here-label" class="check"><input id="search-here" type="checkbox">
          only in <span id="search-here-name"></span></label>
        <button type="submit">Search</button>
        <button id="search-close" type="button" class="plain" aria-label="Close the search">×</button>
      </form>
      <p id="search-status" role="status"></p>
      <p id="search-note"></p>
      <ol id="search-results" aria-label="Messages found"></ol>
    </section>
    <div id="logs"></div>
    <p id="typing"></p>
    <div id="reply-bar" hidden>
      <span id="reply-to"></span>
      <button id="reply-cancel" type="button" class="plain" aria-label="Cancel the reply">×</button>
    </div>
    <div id="upload-bar" role="status" hidden>
      <span id="upload-text"></span>
      <progress id="upload-progress" max="1" value="0"></progress>
      <button id="upload-cancel" type="button" class="plain">Cancel</button>
    </div>
    <form id="send-form">
      <button id="attach" type="button" class="plain" aria-label="Upload a file"
        title="Upload a file (or paste one, or drop it on the conversation)">📎</button>
      <input id="file-input" type="file" multiple hidden>
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
