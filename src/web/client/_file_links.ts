/**
 * Where the page uploads files, and which links in messages are images uploaded to this
 * server, shown as previews. Plain functions of URLs, with no DOM, so tests run them directly
 * (tests/web_text_test.ts).
 *
 * The page sends uploads and loads previews only on its own origin: its Content-Security-Policy
 * allows nothing else (`connect-src 'self'`, `img-src 'self' data:`), and the server takes
 * uploads only from its own pages. The server that serves the page is the one that takes the
 * uploads, so when `draft/FILEHOST` names it by another name (`127.0.0.1` for a page opened
 * at `localhost`), the page uses its own name for it. A link to any other site is never
 * loaded by the page: opening it is the reader's choice, and a preview would tell that site
 * who reads the conversation and when.
 *
 * @module
 */

/** A stored file's path under the upload URL's folder: `files/<24-character id>/<name>`. */
const FILE_PATH = /^files\/[A-Za-z0-9_-]{24}\/([^/]+)$/;
/** The names the server gives images it serves inline (it adds the type's extension). */
const IMAGE_NAME = /\.(?:png|jpe?g|gif|webp)$/i;

/** A URL, or undefined when the text is not an http(s) URL. */
function httpUrl(text: string, base?: string): URL | undefined {
  try {
    const url = new URL(text, base);
    return url.protocol === "http:" || url.protocol === "https:" ? url : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The URL the page sends uploads to: the server's `draft/FILEHOST` URL when it is on the
 * page's origin, else the page's own `upload` beside it (the same server under the name the
 * browser knows it by).
 *
 * @param fileHost The `draft/FILEHOST` value; undefined when the server takes no uploads.
 * @param page The page's URL (`location.href`).
 * @returns The URL, or undefined when the server takes no uploads.
 */
export function uploadEndpoint(fileHost: string | undefined, page: string): string | undefined {
  if (fileHost === undefined) return undefined;
  const advertised = httpUrl(fileHost, page);
  if (advertised === undefined) return undefined;
  const pageUrl = new URL(page);
  if (advertised.origin === pageUrl.origin) return advertised.href;
  return new URL("upload", pageUrl).href;
}

/** The folder that holds the upload URL, where `files/` is: `https://x.example/chat/`. */
function folderOf(url: URL): string {
  return url.origin + url.pathname.slice(0, url.pathname.lastIndexOf("/") + 1);
}

/**
 * The address to preview a link from, when it is an image uploaded to this server: a link
 * under the `files/` of the page's server (by the page's origin or the one `draft/FILEHOST`
 * names) whose name is an image's. The preview is loaded from the page's own origin.
 *
 * @param href The link's address.
 * @param page The page's URL (`location.href`).
 * @param fileHost The `draft/FILEHOST` value, if any.
 * @returns The address of the image on the page's origin, or undefined for any other link.
 */
export function imagePreview(
  href: string,
  page: string,
  fileHost: string | undefined,
): string | undefined {
  const link = httpUrl(href);
  if (link === undefined || link.search !== "" || link.hash !== "") return undefined;
  const pageUrl = new URL(page);
  const folders = [folderOf(pageUrl)];
  const advertised = fileHost === undefined ? undefined : httpUrl(fileHost, page);
  if (advertised) folders.push(folderOf(advertised));
  const address = link.origin + link.pathname;
  for (const folder of folders) {
    if (!address.startsWith(folder)) continue;
    const rest = address.slice(folder.length);
    const match = FILE_PATH.exec(rest);
    if (!match) continue;
    let name: string;
    try {
      name = decodeURIComponent(match[1]);
    } catch {
      return undefined;
    }
    if (!IMAGE_NAME.test(name)) return undefined;
    return folderOf(pageUrl) + rest;
  }
  return undefined;
}
