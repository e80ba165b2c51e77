import MONITOR_JS from "./_bundle/monitor.js" with { type: "text" };
import { page, type WebPage } from "./_page.ts";

/**
 * The live dashboard served at `/monitor`: one self-contained document whose script,
 * `src/web/client/monitor.ts` bundled, listens to `/monitor/events` and draws what the server
 * sends. This file holds its style and markup; the script finds its elements by the ids here.
 */
export const MONITOR_PAGE: WebPage = page({
  title: "shmooze monitor",
  css: String.raw`
main { padding: 16px; display: grid; gap: 14px; grid-template-columns: repeat(12, 1fr);
  max-width: 1200px; margin: 0 auto; }
.span-3 { grid-column: span 3; } .span-4 { grid-column: span 4; } .span-6 { grid-column: span 6; }
.span-8 { grid-column: span 8; } .span-12 { grid-column: span 12; }
@media (max-width: 900px) { .span-3, .span-4 { grid-column: span 6; } .span-6, .span-8 { grid-column: span 12; } }
@media (max-width: 520px) { main { grid-template-columns: 1fr; } main > * { grid-column: 1 / -1 !important; } }
.big { font-size: 34px; font-weight: 650; font-variant-numeric: tabular-nums; line-height: 1.1; }
.transports { display: flex; gap: 14px; flex-wrap: wrap; margin-top: 6px; font-size: 14px; }
.transports b { font-variant-numeric: tabular-nums; }
#chart { width: 100%; height: 190px; display: block; }
#chart .grid { stroke: var(--line); stroke-width: 1; }
#chart .axis { fill: var(--muted); font-size: 11px; }
#chart .area { fill: var(--accent); opacity: .18; }
#chart .line { fill: none; stroke: var(--accent); stroke-width: 2; stroke-linejoin: round; }
table { width: 100%; border-collapse: collapse; font-size: 14px; }
thead th { text-align: left; color: var(--muted); font-weight: 500; font-size: 12px;
  text-transform: uppercase; letter-spacing: .05em; }
tbody th { text-align: left; font-weight: 600; white-space: nowrap; }
.card h2 .name { text-transform: none; letter-spacing: 0; color: var(--text); }
th, td { padding: 5px 6px; border-bottom: 1px solid var(--line); vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; width: 5em; }
.members { color: var(--muted); overflow-wrap: anywhere; }
#recent { list-style: none; margin: 0; padding: 0; font-size: 14px; max-height: 320px; overflow: auto; }
#recent li { padding: 3px 0; border-bottom: 1px solid var(--line); overflow-wrap: anywhere; }
#recent time { margin-right: 8px; font-size: 12px; }
#recent .who { font-weight: 600; } #recent .to { color: var(--muted); margin: 0 6px; }
.meter { height: 14px; background: var(--soft); border-radius: 7px; overflow: hidden; margin: 8px 0; }
.meter > div { height: 100%; background: var(--accent); width: 0; transition: width .3s; }
.empty { color: var(--muted); font-style: italic; }
#cluster .pill { margin: 0 2px; } #cluster thead th.num { text-align: right; }
#cluster-nodes tr.this th::after { content: " (this node)"; color: var(--muted); font-weight: 400; }
#cluster-nodes td.late { color: var(--warn); }
`,
  body: `
<header class="bar">
  <h1>shmooze monitor</h1>
  <span id="live" class="pill" role="status" aria-live="polite">connecting…</span>
  <span class="spacer"></span>
  <span class="muted">up <span id="uptime">–</span></span>
  <a href="/">Chat</a>
</header>
<main>
  <section class="card span-4" aria-labelledby="clients-title">
    <h2 id="clients-title">Connected clients</h2>
    <div class="big" id="count-total">–</div>
    <div class="transports">
      <span>TCP <b id="count-tcp">0</b></span>
      <span>WebSocket <b id="count-websocket">0</b></span>
      <span>Local shm <b id="count-local">0</b></span>
      <span id="count-other"></span>
    </div>
  </section>
  <section class="card span-4" aria-labelledby="messages-title">
    <h2 id="messages-title">Messages</h2>
    <div class="big" id="total-messages">–</div>
    <div class="muted">since start · <b id="rate-now">0</b> msg/s now · peak <b id="rate-peak">0</b></div>
  </section>
  <section class="card span-4" aria-labelledby="channels-count-title">
    <h2 id="channels-count-title">Channels</h2>
    <div class="big" id="channel-count">–</div>
    <div class="muted">open now, #lobby included</div>
  </section>
  <section class="card span-12" aria-labelledby="chart-title">
    <h2 id="chart-title">Messages per second, last <span id="chart-span">minute</span></h2>
    <svg id="chart" viewBox="0 0 800 190" role="img"
      aria-label="Messages per second chart"></svg>
  </section>
  <section class="card span-6" aria-labelledby="channels-title">
    <h2 id="channels-title">Channels and members</h2>
    <table>
      <thead><tr><th scope="col">Channel</th><th scope="col" class="num">Users</th><th scope="col">Members</th></tr></thead>
      <tbody id="channels"></tbody>
    </table>
  </section>
  <section class="card span-6" aria-labelledby="recent-title">
    <h2 id="recent-title">Last messages</h2>
    <ol id="recent" aria-live="off"></ol>
  </section>
  <section class="card span-12" id="local-room" aria-labelledby="room-title" hidden>
    <h2 id="room-title">Local room <span id="room-name" class="name"></span> · shared memory ring</h2>
    <div class="meter" role="meter" id="room-meter" aria-valuemin="0"><div id="room-fill"></div></div>
    <div class="muted"><b id="room-used">0</b> of <b id="room-capacity">0</b> slots in use ·
      write sequence <b id="room-seq">0</b> · <span id="room-participants"></span></div>
  </section>
  <section class="card span-12" id="cluster" aria-labelledby="cluster-title" hidden>
    <h2 id="cluster-title">Cluster <span id="cluster-name" class="name"></span></h2>
    <div class="muted">bus <span id="cluster-bus" class="pill">–</span> · log at
      <b id="cluster-head">0</b> · refused <b id="cluster-refused">0</b> · NATS traffic
      <span id="cluster-traffic">–</span></div>
    <table>
      <thead><tr><th scope="col">Node</th><th scope="col" class="num">Users</th>
        <th scope="col" class="num">Applied</th><th scope="col" class="num">Lag</th>
        <th scope="col" class="num">Heard</th></tr></thead>
      <tbody id="cluster-nodes"></tbody>
    </table>
  </section>
</main>
`,
  script: MONITOR_JS,
});
