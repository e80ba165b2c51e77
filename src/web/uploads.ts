/**
 * File and image upload over HTTP, for logged-in accounts, and the files served back.
 *
 * | Request                          | What                                                          |
 * | -------------------------------- | ------------------------------------------------------------- |
 * | `POST /upload`                   | the file as the body; `201` with `Location` and JSON          |
 * | `OPTIONS /upload`                | `204`, `Allow: POST, OPTIONS` (the soju.im/FILEHOST spec)      |
 * | `GET`/`HEAD /files/<id>[/<name>]` | the file, with headers that keep it from running as a page    |
 *
 * An upload is judged from its head before a byte of its body is read: its size (413), the
 * account (401, 403, 429), then the account's and the server's limits (429, 507). Its type is
 * sniffed from its bytes, never taken from the client's Content-Type or name; its name comes
 * from `Content-Disposition` and is cleaned. Files are served to anyone who has the link (ids
 * are 144 random bits), with `X-Content-Type-Options: nosniff`, `Content-Security-Policy:
 * default-src 'none'; sandbox` (an uploaded HTML or SVG page, opened, runs nothing and reaches
 * nothing of this origin), and `Content-Disposition: inline` only for the allow-list's
 * images, `attachment` for everything else.
 *
 * @module
 */
import { type FileStore, isFileId, type StoredFile } from "../chat/file_store.ts";
import { contentTypeOf, isInlineType } from "../chat/file_type.ts";
import type { HttpRequest } from "./_http_connection.ts";
import { HttpError } from "./_http_request.ts";
import { type HttpReply, textReply } from "./_http_response.ts";
import type { Authenticator } from "./http_auth.ts";
import { originAllowed } from "./origin_policy.ts";

/** The path uploads are sent to. */
export const UPLOAD_PATH = "/upload";
/** The path files are served under. */
export const FILES_PATH = "/files/";

/** Options for {@link Uploads}. */
export interface UploadsOptions {
  /** Where files are kept, with the limits. */
  store: FileStore;
  /** Who may upload. */
  authenticator: Authenticator;
  /**
   * The web side's address as its users reach it (behind a reverse proxy), from
   * {@link parsePublicUrl}; file links are made from it. Without it, from the request's Host.
   */
  publicUrl?: URL;
  /** Origins besides the server's own whose pages may upload (normalised). @default {[]} */
  allowedOrigins?: readonly string[];
}

/** The largest file chunk read at once when serving. */
const READ_CHUNK_BYTES = 64 * 1024;
/**
 * The longest name part of a file's path that is accepted: a cleaned name of 100 characters
 * percent-encoded as UTF-8 fits in 1200.
 */
const MAX_NAME_SEGMENT = 1200;
/** Files never change under their id: caches may keep them; shared caches may not (privacy). */
const CACHE_CONTROL = "private, max-age=31536000, immutable";

/**
 * Checks the web side's public URL (`serve --http-public-url`): an `http:` or `https:` URL
 * with no user, query or fragment. Its path is where a reverse proxy mounts the server.
 *
 * @param text The URL.
 * @returns The URL, its path ending with `/`.
 * @throws Error naming what is wrong.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parsePublicUrl } from "./uploads.ts";
 *
 * assert.equal(parsePublicUrl("https://chat.example.com").href, "https://chat.example.com/");
 * assert.equal(parsePublicUrl("https://example.com/chat").href, "https://example.com/chat/");
 * assert.throws(() => parsePublicUrl("ftp://example.com"), /must be an http: or https: URL/);
 * assert.throws(() => parsePublicUrl("example.com"), /is not a URL/);
 * ```
 */
export function parsePublicUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`Public URL "${text}" is not a URL (such as https://chat.example.com)`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new Error(`Public URL "${text}" must be an http: or https: URL`);
  }
  if (url.username !== "" || url.password !== "" || url.search !== "" || url.hash !== "") {
    throw new Error(`Public URL "${text}" must have no user, query or fragment`);
  }
  if (!url.pathname.endsWith("/")) url.pathname += "/";
  return url;
}

/**
 * The upload URL to advertise to IRC clients (`draft/FILEHOST`): from the public URL when
 * there is one, else from the address the web side listens on — unless that is a wildcard
 * (`0.0.0.0`, `::`), which names no host a client could reach.
 *
 * @param publicUrl The public URL, if any.
 * @param listening Where the web side listens, and whether with TLS.
 * @returns The URL, or undefined when none can be told.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parsePublicUrl, uploadUrl } from "./uploads.ts";
 *
 * const listening = { hostname: "127.0.0.1", port: 8080, secure: false };
 * assert.equal(uploadUrl(undefined, listening), "http://127.0.0.1:8080/upload");
 * assert.equal(uploadUrl(undefined, { ...listening, hostname: "::1" }), "http://[::1]:8080/upload");
 * assert.equal(uploadUrl(undefined, { ...listening, hostname: "0.0.0.0" }), undefined);
 * assert.equal(
 *   uploadUrl(parsePublicUrl("https://example.com/chat"), listening),
 *   "https://example.com/chat/upload",
 * );
 * ```
 */
export function uploadUrl(
  publicUrl: URL | undefined,
  listening: { hostname: string; port: number; secure: boolean },
): string | undefined {
  if (publicUrl !== undefined) return new URL(UPLOAD_PATH.slice(1), publicUrl).href;
  const { hostname, port, secure } = listening;
  if (hostname === "0.0.0.0" || hostname === "::" || hostname === "[::]") return undefined;
  const host = hostname.includes(":") && !hostname.startsWith("[") ? `[${hostname}]` : hostname;
  return `${secure ? "https" : "http"}://${host}:${port}${UPLOAD_PATH}`;
}

/**
 * The file name a `Content-Disposition` field gives: `filename*` (RFC 8187, UTF-8) first,
 * else `filename` (a quoted string or a token; raw UTF-8 bytes in it are read as UTF-8).
 *
 * @param value The field's value, as received (each byte one character).
 * @returns The name, not yet cleaned; undefined when there is none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dispositionFileName } from "./uploads.ts";
 *
 * assert.equal(dispositionFileName(`attachment; filename="cat.png"`), "cat.png");
 * assert.equal(dispositionFileName(`inline; filename*=UTF-8''caf%C3%A9.png`), "café.png");
 * assert.equal(dispositionFileName(`attachment; filename="a\\"b"`), `a"b`);
 * assert.equal(dispositionFileName("attachment; filename=caf\u00c3\u00a9.txt"), "café.txt");
 * assert.equal(dispositionFileName("attachment"), undefined);
 * ```
 */
export function dispositionFileName(value: string | null): string | undefined {
  if (value === null) return undefined;
  const extended = /(?:^|;)\s*filename\*\s*=\s*([^;]*)/i.exec(value);
  if (extended) {
    const match = /^utf-8'[^']*'(.*)$/i.exec(extended[1].trim());
    if (match) {
      try {
        return decodeURIComponent(match[1]);
      } catch { /* malformed: try the plain parameter */ }
    }
  }
  const plain = /(?:^|;)\s*filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))/i.exec(value);
  if (!plain) return undefined;
  const name = plain[1] !== undefined ? plain[1].replace(/\\(.)/g, "$1") : plain[2];
  try {
    const bytes = Uint8Array.from(name, (char) => char.charCodeAt(0));
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return name;
  }
}

/** A `Content-Disposition` value for serving a file: an ASCII `filename` and the exact `filename*`. */
function disposition(file: StoredFile): string {
  const kind = isInlineType(file.type) ? "inline" : "attachment";
  const ascii = file.name.replace(/[^\x20-\x7e]|["\\%]/g, "_");
  const exact = encodeURIComponent(file.name).replace(
    /['()*]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${exact}`;
}

/** One byte range of a file, from a `Range: bytes=…` field. */
interface ByteRange {
  start: number;
  length: number;
}

/**
 * The single range a `Range` field asks for: undefined to serve the whole file (no field, a
 * unit other than bytes, several ranges), `unsatisfiable` when it starts past the end.
 */
function requestedRange(
  value: string | null,
  size: number,
): ByteRange | "unsatisfiable" | undefined {
  const match = value === null ? null : /^bytes=(\d*)-(\d*)$/.exec(value.trim());
  if (match === null || (match[1] === "" && match[2] === "")) return undefined;
  if (match[1] === "") {
    const suffix = Math.min(Number(match[2]), size);
    return suffix === 0 ? "unsatisfiable" : { start: size - suffix, length: suffix };
  }
  const start = Number(match[1]);
  const end = match[2] === "" ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start >= size) return "unsatisfiable";
  if (end < start) return undefined;
  return { start, length: end - start + 1 };
}

/** A stream of `length` bytes of a file from `start`; the file is closed when it ends or is cancelled. */
function fileStream(file: Deno.FsFile, start: number, length: number): ReadableStream<Uint8Array> {
  let left = length;
  let positioned = false;
  const close = () => {
    try {
      file.close();
    } catch { /* already closed */ }
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        if (!positioned) {
          await file.seek(start, Deno.SeekMode.Start);
          positioned = true;
        }
        const buffer = new Uint8Array(Math.min(READ_CHUNK_BYTES, left));
        const count = left === 0 ? null : await file.read(buffer);
        if (count === null) {
          close();
          controller.close();
          return;
        }
        left -= count;
        controller.enqueue(buffer.subarray(0, count));
      } catch (error) {
        close();
        controller.error(error);
      }
    },
    cancel: close,
  });
}

function withHeaders(reply: HttpReply, headers: Record<string, string>): HttpReply {
  return { ...reply, headers: { ...reply.headers, ...headers } };
}

/**
 * The upload and file routes of the web server.
 *
 * @example See tests/uploads_test.ts, which runs them in a real server with real HTTP.
 * ```ts ignore
 * const uploads = new Uploads({ store, authenticator: accountAuthenticator(accounts) });
 * const reply = await uploads.upload(request);
 * ```
 */
export class Uploads {
  readonly #store: FileStore;
  readonly #authenticator: Authenticator;
  readonly #publicUrl: URL | undefined;
  readonly #allowedOrigins: readonly string[];

  /**
   * @param options The store, who may upload, the public URL, the allowed origins.
   */
  constructor(options: UploadsOptions) {
    this.#store = options.store;
    this.#authenticator = options.authenticator;
    this.#publicUrl = options.publicUrl;
    this.#allowedOrigins = options.allowedOrigins ?? [];
  }

  /** The largest file accepted, in bytes (the web server reads no larger body). */
  get maxFileBytes(): number {
    return this.#store.maxFileBytes;
  }

  /**
   * Answers a request to {@link UPLOAD_PATH}.
   *
   * @param request The request; its body is read only once the file is accepted.
   * @returns The reply: 201 with the file's URL, or what was wrong.
   */
  async upload(request: HttpRequest): Promise<HttpReply> {
    if (request.method === "OPTIONS") {
      return { status: 204, headers: { allow: "POST, OPTIONS", "accept-post": "*/*" } };
    }
    if (request.method !== "POST") {
      return withHeaders(textReply(405, "Upload with POST\n"), { allow: "POST, OPTIONS" });
    }
    // A page of another site may not make a visitor's browser upload with its credentials.
    if (!originAllowed(request.headers, this.#allowedOrigins)) {
      return textReply(
        403,
        `Uploads from pages of ${request.headers.get("origin")} are not allowed\n`,
      );
    }
    const body = request.body;
    if (body === undefined) {
      return textReply(411, "Send the file as the request body, with a Content-Length\n");
    }
    if (body.length === 0) return textReply(400, "The file is empty\n");
    if (body.length > this.#store.maxFileBytes) {
      return textReply(
        413,
        `The file is ${body.length} bytes; at most ${this.#store.maxFileBytes} are accepted\n`,
      );
    }
    const auth = await this.#authenticator.authenticate(request);
    if (!auth.ok) {
      const reply = textReply(auth.status, `${auth.message}\n`);
      if (auth.challenge) return withHeaders(reply, { "www-authenticate": auth.challenge });
      if (auth.retryAfterSeconds) {
        return withHeaders(reply, { "retry-after": String(auth.retryAfterSeconds) });
      }
      return reply;
    }
    const start = await this.#store.begin(auth.account, body.length);
    if (!start.ok) {
      const status = start.reason === "too-large" ? 413 : start.reason === "rate" ? 429 : 507;
      const reply = textReply(status, `${start.message}\n`);
      return start.retryAfterMs > 0
        ? withHeaders(reply, { "retry-after": String(Math.ceil(start.retryAfterMs / 1000)) })
        : reply;
    }
    const { upload } = start;
    try {
      for await (const chunk of body.chunks()) await upload.write(chunk);
    } catch (error) {
      await upload.abort();
      if (error instanceof HttpError) return textReply(error.status, `${error.message}\n`);
      const full = error instanceof Error && /ENOSPC|No space left/i.test(error.message);
      return full
        ? textReply(507, "The server's disk is full: the file was not stored\n")
        : textReply(500, "The file could not be stored\n");
    }
    const stored = await upload.commit(
      dispositionFileName(request.headers.get("content-disposition")),
    );
    const url = this.#fileUrl(request, stored);
    return {
      status: 201,
      headers: {
        location: url,
        "content-type": "application/json",
        "cache-control": "no-store",
      },
      body: JSON.stringify({ url, name: stored.name, type: stored.type, size: stored.size }),
    };
  }

  /**
   * Answers a request under {@link FILES_PATH}: `/files/<id>` or `/files/<id>/<name>` (the
   * name is for people and ignored, but at most 1200 characters). Anything else, or an
   * unknown id, is 404 without a look at the file system.
   *
   * @param request The request.
   * @returns The file (200, or 206 for a range), 304, 404, 405 or 416.
   */
  async serve(request: HttpRequest): Promise<HttpReply> {
    if (request.method !== "GET" && request.method !== "HEAD") {
      return withHeaders(textReply(405, "Method not allowed\n"), { allow: "GET, HEAD" });
    }
    const segments = request.path.slice(FILES_PATH.length).split("/");
    const wellFormed = segments.length <= 2 && isFileId(segments[0]) &&
      (segments[1] ?? "").length <= MAX_NAME_SEGMENT;
    const stored = wellFormed ? this.#store.find(segments[0]) : undefined;
    if (stored === undefined) return textReply(404, "No such file\n");
    let file: Deno.FsFile;
    try {
      file = await Deno.open(this.#store.pathOf(stored.id), { read: true });
    } catch {
      return textReply(404, "No such file\n");
    }
    const etag = `"${stored.id}"`;
    const headers: Record<string, string> = {
      "content-type": contentTypeOf(stored.type),
      "content-disposition": disposition(stored),
      "x-content-type-options": "nosniff",
      "content-security-policy": "default-src 'none'; sandbox",
      "referrer-policy": "no-referrer",
      "cache-control": CACHE_CONTROL,
      "last-modified": new Date(stored.createdAt).toUTCString(),
      etag,
      "accept-ranges": "bytes",
    };
    const size = stored.size;
    if (request.headers.get("if-none-match")?.split(",").some((tag) => tag.trim() === etag)) {
      file.close();
      return { status: 304, headers };
    }
    const ifRange = request.headers.get("if-range");
    const range = ifRange === null || ifRange === etag
      ? requestedRange(request.headers.get("range"), size)
      : undefined;
    if (range === "unsatisfiable") {
      file.close();
      return withHeaders(textReply(416, "The range is past the end of the file\n"), {
        "content-range": `bytes */${size}`,
      });
    }
    const { start, length } = range ?? { start: 0, length: size };
    if (range !== undefined) {
      headers["content-range"] = `bytes ${start}-${start + length - 1}/${size}`;
    }
    return {
      status: range === undefined ? 200 : 206,
      headers,
      stream: fileStream(file, start, length),
      length,
    };
  }

  #fileUrl(request: HttpRequest, stored: StoredFile): string {
    const path = `${FILES_PATH.slice(1)}${stored.id}/${encodeURIComponent(stored.name)}`;
    if (this.#publicUrl !== undefined) return new URL(path, this.#publicUrl).href;
    const host = request.headers.get("host");
    return host === null ? `/${path}` : `${request.secure ? "https" : "http"}://${host}/${path}`;
  }
}
