/**
 * The browser code is TypeScript in src/web/client, bundled by `deno task build` into
 * src/web/_bundle, which is committed and embedded in the server: the committed bundles must
 * be what the sources give, and each must be safe to inline in its page.
 */
import assert from "node:assert/strict";
import { bundle, BUNDLE_DIR, BUNDLES } from "../scripts/build_web.ts";
import { page } from "../src/web/_page.ts";
import { ROOT } from "./_helpers.ts";

for (const [name, entry] of Object.entries(BUNDLES)) {
  Deno.test(`the committed ${BUNDLE_DIR}/${name} is what ${entry} bundles to`, async () => {
    const committed = await Deno.readTextFile(`${ROOT}${BUNDLE_DIR}/${name}`);
    const built = await bundle(entry);
    assert.ok(
      committed === built,
      `${BUNDLE_DIR}/${name} differs from what ${entry} gives: run \`deno task build\``,
    );
  });
}

Deno.test("page() refuses a script or style that would end its own element early", () => {
  const parts = { title: "t", css: "", body: "<p>hi</p>", script: "" };
  assert.throws(
    () => page({ ...parts, script: `console.log("</SCRIPT>")` }),
    /Cannot inline the script or style of "t": it holds its end tag/,
  );
  assert.throws(() => page({ ...parts, css: "/* </style> */" }), /holds its end tag/);
  assert.match(page(parts).html, /<body>\n<p>hi<\/p>\n<script type="module"><\/script>/);
});
