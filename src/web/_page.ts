/**
 * How a page is put together: one document with its style sheet and its script inline, so
 * the pages need no other request and the binary needs no files. Both pages share the head
 * and the base style sheet (colours for light and dark, type, cards, the screen-reader-only
 * helper); each script is a bundle of `src/web/client` (`deno task build`).
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

/** A page: its document, and the one inline script and style in it, which its CSP allows. */
export interface WebPage {
  /** The whole document. */
  readonly html: string;
  /** The text of its `<script type="module">`. */
  readonly script: string;
  /** The text of its `<style>`: the base sheet and the page's own rules. */
  readonly style: string;
}

/** What makes a page. */
export interface PageParts {
  /** The page title. */
  title: string;
  /** The page's own style rules, after the base sheet. */
  css: string;
  /** The document's body, without its script. */
  body: string;
  /** The page's script: a bundle of `src/web/client`. */
  script: string;
}

/**
 * Puts a page together. No favicon request: the icon is an empty data URL.
 *
 * @param parts The title, style, body and script.
 * @returns The page.
 * @throws {Error} When the script or style holds its own end tag, which would end it early.
 *
 * @example A page and what its CSP must allow
 * ```ts
 * import assert from "node:assert/strict";
 * import { page } from "./_page.ts";
 *
 * const hello = page({ title: "hi", css: "p { color: red }", body: "<p>hi</p>", script: "1" });
 * assert.ok(hello.html.includes(`<script type="module">1</script>`));
 * assert.ok(hello.html.includes(`<style>${hello.style}</style>`));
 * assert.ok(hello.style.endsWith("p { color: red }"));
 * ```
 */
export function page(parts: PageParts): WebPage {
  const style = BASE_CSS + parts.css;
  if (/<\/script/i.test(parts.script) || /<\/style/i.test(style)) {
    throw new Error(`Cannot inline the script or style of "${parts.title}": it holds its end tag`);
  }
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${parts.title}</title>
<link rel="icon" href="data:,">
<style>${style}</style>
</head>
<body>
${parts.body.trim()}
<script type="module">${parts.script}</script>
</body>
</html>
`;
  return { html, script: parts.script, style };
}
