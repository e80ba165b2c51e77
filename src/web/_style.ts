/**
 * What both pages share: the document head and the base style sheet (colours for light and
 * dark, type, cards, the screen-reader-only helper). Strings, so the binary needs no files.
 *
 * @module
 */

const BASE_CSS = String.raw`
:root {
  color-scheme: light dark;
  --bg: #f6f7f9; --panel: #ffffff; --text: #1d2330; --muted: #5b6475; --line: #dfe3ea;
  --accent: #2563eb; --accent-text: #ffffff; --soft: #eef2fb; --warn: #b45309; --bad: #b91c1c;
  --ok: #15803d; --mono: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #11151c; --panel: #171c25; --text: #e6e9ef; --muted: #9aa3b5; --line: #2a3140;
    --accent: #6ea0ff; --accent-text: #0b1020; --soft: #1e2635; --warn: #f59e0b;
    --bad: #f87171; --ok: #4ade80;
  }
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
html, body { height: 100%; margin: 0; }
body {
  background: var(--bg); color: var(--text);
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
}
a { color: var(--accent); }
button, input { font: inherit; color: inherit; }
input {
  background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 6px 9px;
  min-width: 0;
}
button {
  background: var(--accent); color: var(--accent-text); border: 0; border-radius: 6px;
  padding: 6px 12px; cursor: pointer;
}
button.plain { background: transparent; color: var(--text); padding: 2px 6px; }
:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
.sr-only {
  position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; border: 0;
}
.bar {
  display: flex; align-items: center; gap: 12px; padding: 8px 16px; background: var(--panel);
  border-bottom: 1px solid var(--line);
}
.bar h1 { font-size: 18px; margin: 0; letter-spacing: .02em; }
.bar .spacer { flex: 1; }
.card {
  background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 14px 16px;
}
.card h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted);
  margin: 0 0 8px; }
.muted { color: var(--muted); }
.pill {
  display: inline-block; border-radius: 999px; padding: 1px 8px; font-size: 12px;
  background: var(--soft); color: var(--muted);
}
.pill.ok { color: var(--ok); } .pill.warn { color: var(--warn); } .pill.bad { color: var(--bad); }
time { color: var(--muted); font-variant-numeric: tabular-nums; }
`;

/**
 * The start of a page up to `</head>`: its one `<style>` holds the base sheet and the
 * page's own rules. No favicon request: the icon is an empty data URL.
 *
 * @param title The page title.
 * @param css The page's own style rules.
 * @returns The HTML.
 */
export function pageHead(title: string, css: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="icon" href="data:,">
<style>${BASE_CSS}${css}</style>
</head>`;
}
