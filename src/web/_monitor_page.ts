import { pageHead } from "./_style.ts";

/**
 * The live dashboard served at `/monitor`: one self-contained document that listens to
 * `/monitor/events` (Server-Sent Events, one snapshot a second) and draws clients by
 * transport, a messages-per-second chart (inline SVG), channels with their members, the
 * last messages and, when the server bridges a local room, that room's ring occupancy.
 */
export const MONITOR_HTML: string = pageHead(
  "shmooze monitor",
  String.raw`
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
`,
) + String.raw`
<body>
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
</main>
<script>
"use strict";
(function () {
  var $ = function (id) { return document.getElementById(id); };
  var SVG = "http://www.w3.org/2000/svg";
  var KEEP_SECONDS = 300;
  var series = new Map();

  function text(id, value) { $(id).textContent = String(value); }

  function duration(ms) {
    var s = Math.floor(ms / 1000);
    var d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
    if (d) return d + "d " + h + "h";
    if (h) return h + "h " + m + "m";
    if (m) return m + "m " + (s % 60) + "s";
    return (s % 60) + "s";
  }

  function el(name, attrs, parent) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, String(attrs[k])); });
    parent.appendChild(node);
    return node;
  }

  // The server sends its last minute; the page keeps what it has seen, so a dashboard left
  // open shows several minutes.
  function mergeRate(snapshot) {
    var last = Math.floor(snapshot.time / 1000);
    var rate = snapshot.messagesPerSecond;
    // Seconds before the server started are not history; the window is still a minute wide.
    var oldest = Math.max(last - KEEP_SECONDS + 1, Math.min(last - 59, Math.floor(snapshot.startedAt / 1000)));
    for (var i = 0; i < rate.length; i++) series.set(last - (rate.length - 1 - i), rate[i]);
    series.forEach(function (_, second) { if (second < oldest) series.delete(second); });
    return last;
  }

  function niceMax(value) {
    var steps = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000];
    for (var i = 0; i < steps.length; i++) if (value <= steps[i]) return steps[i];
    return Math.ceil(value / 100000) * 100000;
  }

  function drawChart(last) {
    var svg = $("chart");
    svg.textContent = "";
    var first = Math.min.apply(null, Array.from(series.keys()).concat([last - 59]));
    var span = last - first;
    var values = [];
    for (var s = first; s <= last; s++) values.push(series.get(s) || 0);
    var peak = Math.max.apply(null, values.concat([0]));
    var top = niceMax(Math.max(peak, 1));
    // Drawn in the element's own pixels, so the axis labels are never stretched.
    var W = Math.max(200, Math.round(svg.getBoundingClientRect().width) || 800), H = 190;
    var L = 40, R = 8, T = 8, B = 22;
    svg.setAttribute("viewBox", "0 0 " + W + " " + H);
    var x = function (i) { return L + (W - L - R) * (span ? i / span : 1); };
    var y = function (v) { return T + (H - T - B) * (1 - v / top); };
    [0, 0.5, 1].forEach(function (f) {
      el("line", { x1: L, x2: W - R, y1: y(top * f), y2: y(top * f), class: "grid" }, svg);
      el("text", { x: L - 6, y: y(top * f) + 4, "text-anchor": "end", class: "axis" }, svg)
        .textContent = String(top * f);
    });
    var minutes = Math.round(span / 60);
    el("text", { x: L, y: H - 5, class: "axis" }, svg).textContent =
      minutes >= 2 ? minutes + " min ago" : span + " s ago";
    el("text", { x: W - R, y: H - 5, "text-anchor": "end", class: "axis" }, svg).textContent = "now";
    var points = values.map(function (v, i) { return x(i).toFixed(1) + "," + y(v).toFixed(1); });
    el("path", { d: "M" + x(0) + "," + y(0) + " L" + points.join(" L") + " L" + x(span) + "," + y(0) + " Z", class: "area" }, svg);
    el("polyline", { points: points.join(" "), class: "line" }, svg);
    svg.setAttribute("aria-label", "Messages per second over the last " + (minutes >= 2 ? minutes + " minutes" : span + " seconds") +
      ": now " + values[values.length - 1] + ", peak " + peak);
    text("chart-span", minutes >= 2 ? minutes + " minutes" : "minute");
    text("rate-peak", peak);
  }

  function node(tag, cls, text, parent) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined) n.textContent = String(text);
    parent.appendChild(n);
    return n;
  }

  function drawChannels(channels) {
    var body = $("channels");
    body.textContent = "";
    if (!channels.length) {
      node("td", "empty", "No channels yet", node("tr", "", undefined, body)).colSpan = 3;
      return;
    }
    channels.forEach(function (c) {
      var row = node("tr", "", undefined, body);
      row.dataset.channel = c.name;
      node("th", "", c.name, row).scope = "row";
      node("td", "num", c.members.length, row);
      node("td", "members", c.members.join(", "), row);
    });
  }

  function drawRecent(recent) {
    var list = $("recent");
    list.textContent = "";
    if (!recent.length) {
      node("li", "empty", "No messages yet", list);
      return;
    }
    recent.slice().reverse().forEach(function (m) {
      var li = node("li", "", undefined, list);
      var when = new Date(m.time);
      node("time", "", when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" }), li)
        .dateTime = when.toISOString();
      var action = /^\x01ACTION (.*?)\x01?$/.exec(m.text);
      node("span", "who", (action ? "* " : "") + m.sender, li);
      node("span", "to", "→ " + m.target, li);
      node("span", "", (action ? action[1] : m.text).replace(/[\x00-\x1f]/g, ""), li);
    });
  }

  function drawRoom(room) {
    $("local-room").hidden = !room;
    if (!room) return;
    text("room-name", room.room + (room.channel ? " ↔ " + room.channel : ""));
    text("room-used", room.used);
    text("room-capacity", room.capacity);
    text("room-seq", room.writeSeq);
    text("room-participants", room.participants.length + " participant" + (room.participants.length === 1 ? "" : "s") +
      (room.participants.length ? ": " + room.participants.join(", ") : ""));
    var meter = $("room-meter");
    meter.setAttribute("aria-valuemax", String(room.capacity));
    meter.setAttribute("aria-valuenow", String(room.used));
    $("room-fill").style.width = (room.capacity ? 100 * room.used / room.capacity : 0) + "%";
  }

  function render(snapshot) {
    var by = snapshot.clientsByTransport || {};
    text("count-total", snapshot.clients);
    text("count-tcp", by.tcp || 0);
    text("count-websocket", by.websocket || 0);
    text("count-local", by.local || 0);
    text("count-other", Object.keys(by).filter(function (k) { return ["tcp", "websocket", "local"].indexOf(k) < 0; })
      .map(function (k) { return k + " " + by[k]; }).join(" · "));
    text("total-messages", snapshot.totalMessages);
    text("rate-now", snapshot.messagesPerSecond[snapshot.messagesPerSecond.length - 1] || 0);
    text("channel-count", snapshot.channels.length);
    text("uptime", duration(snapshot.uptimeMs));
    drawChart(mergeRate(snapshot));
    drawChannels(snapshot.channels);
    drawRecent(snapshot.recent);
    drawRoom(snapshot.localRoom);
    document.body.dataset.updated = String(snapshot.time);
  }

  function setLive(label, cls) {
    var pill = $("live");
    pill.textContent = label;
    pill.className = "pill " + cls;
  }

  var source = new EventSource("/monitor/events");
  source.addEventListener("stats", function (event) {
    setLive("live", "ok");
    render(JSON.parse(event.data));
  });
  source.onerror = function () { setLive("reconnecting…", "warn"); };
})();
</script>
</body>
</html>
`;
