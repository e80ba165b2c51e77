/**
 * What an uploaded file is, decided from its bytes alone: the client's Content-Type and the
 * file's name are never trusted, since whoever uploads chooses both. A short allow-list is
 * recognised (PNG, JPEG, GIF and WebP images, PDF, UTF-8 plain text); anything else is
 * `application/octet-stream`, which is only ever served as a download.
 *
 * @module
 */

/** The types an upload can be stored as. */
export type FileType =
  | "image/png"
  | "image/jpeg"
  | "image/gif"
  | "image/webp"
  | "application/pdf"
  | "text/plain"
  | "application/octet-stream";

/** The binary types of the allow-list, each recognised by its first bytes (its magic). */
const MAGIC: readonly { type: FileType; test: (head: Uint8Array) => boolean }[] = [
  {
    type: "image/png",
    test: (h) => startsWith(h, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  },
  { type: "image/jpeg", test: (h) => startsWith(h, [0xff, 0xd8, 0xff]) },
  { type: "image/gif", test: (h) => ascii(h, 0, "GIF87a") || ascii(h, 0, "GIF89a") },
  { type: "image/webp", test: (h) => ascii(h, 0, "RIFF") && ascii(h, 8, "WEBP") },
  { type: "application/pdf", test: (h) => ascii(h, 0, "%PDF-") },
];

/** The most leading bytes {@link FileTypeSniffer} keeps to recognise a magic. */
const MAGIC_BYTES = 12;

/** The extensions a file of each type may be served with, the usual one first. */
const EXTENSIONS: Record<FileType, readonly string[]> = {
  "image/png": [".png"],
  "image/jpeg": [".jpg", ".jpeg"],
  "image/gif": [".gif"],
  "image/webp": [".webp"],
  "application/pdf": [".pdf"],
  "text/plain": [".txt", ".text", ".log", ".md"],
  "application/octet-stream": [],
};

function startsWith(bytes: Uint8Array, magic: readonly number[]): boolean {
  return bytes.length >= magic.length && magic.every((byte, i) => bytes[i] === byte);
}

function ascii(bytes: Uint8Array, at: number, text: string): boolean {
  return bytes.length >= at + text.length &&
    [...text].every((char, i) => bytes[at + i] === char.charCodeAt(0));
}

/**
 * C0 controls other than tab, line feed, form feed and carriage return, and DEL: a file that
 * holds one is not plain text (NUL above all: that is how binary files look).
 */
// deno-lint-ignore no-control-regex
const NOT_TEXT = /[\x00-\x08\x0b\x0e-\x1f\x7f]/;

/**
 * Decides a file's type from its bytes as they stream past, holding only its first few bytes:
 * a magic of the allow-list makes it that type; otherwise it is plain text when every byte
 * is valid UTF-8 with no control characters but whitespace, else `application/octet-stream`.
 *
 * @example A PNG by its signature, text by its bytes, whatever the name says
 * ```ts
 * import assert from "node:assert/strict";
 * import { FileTypeSniffer } from "./file_type.ts";
 *
 * const png = new FileTypeSniffer();
 * png.push(new Uint8Array([0x89, 0x50, 0x4e, 0x47]));
 * png.push(new Uint8Array([0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]));
 * assert.equal(png.finish(), "image/png");
 *
 * const text = new FileTypeSniffer();
 * text.push(new TextEncoder().encode("<svg onload=alert(1)>\n"));
 * assert.equal(text.finish(), "text/plain");
 *
 * const binary = new FileTypeSniffer();
 * binary.push(new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x00]));
 * assert.equal(binary.finish(), "application/octet-stream");
 * ```
 */
export class FileTypeSniffer {
  #head = new Uint8Array(MAGIC_BYTES);
  #headLength = 0;
  #text = true;
  #decoder = new TextDecoder("utf-8", { fatal: true });

  /**
   * Looks at the next bytes of the file.
   *
   * @param chunk The bytes, in order; they are not kept.
   */
  push(chunk: Uint8Array): void {
    const take = Math.min(chunk.length, MAGIC_BYTES - this.#headLength);
    this.#head.set(chunk.subarray(0, take), this.#headLength);
    this.#headLength += take;
    if (!this.#text) return;
    try {
      this.#text = !NOT_TEXT.test(this.#decoder.decode(chunk, { stream: true }));
    } catch {
      this.#text = false;
    }
  }

  /**
   * The type of the bytes pushed so far, taken as the whole file.
   *
   * @returns The type.
   */
  finish(): FileType {
    const head = this.#head.subarray(0, this.#headLength);
    const magic = MAGIC.find(({ test }) => test(head));
    if (magic !== undefined) return magic.type;
    if (this.#text) {
      try {
        this.#decoder.decode();
      } catch {
        // A multi-byte character cut off at the end of the file.
        this.#text = false;
      }
    }
    return this.#text && this.#headLength > 0 ? "text/plain" : "application/octet-stream";
  }
}

/**
 * Whether a file of this type may be shown in the browser (`Content-Disposition: inline`):
 * only the allow-list's images. Everything else, text and PDF included, is served as an
 * attachment, so a browser never renders an upload as a document of this server's origin.
 *
 * @param type The type.
 * @returns True for PNG, JPEG, GIF and WebP.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isInlineType } from "./file_type.ts";
 *
 * assert.ok(isInlineType("image/png"));
 * assert.ok(!isInlineType("text/plain"));
 * assert.ok(!isInlineType("application/pdf"));
 * ```
 */
export function isInlineType(type: FileType): boolean {
  return type.startsWith("image/");
}

/**
 * The `Content-Type` a file of this type is served with (text says it is UTF-8, which the
 * sniffer checked, so no browser guesses another encoding).
 *
 * @param type The type.
 * @returns The header's value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { contentTypeOf } from "./file_type.ts";
 *
 * assert.equal(contentTypeOf("text/plain"), "text/plain; charset=utf-8");
 * assert.equal(contentTypeOf("image/gif"), "image/gif");
 * ```
 */
export function contentTypeOf(type: FileType): string {
  return type === "text/plain" ? "text/plain; charset=utf-8" : type;
}

/**
 * Whether a stored type string is one of {@link FileType}'s (a row written by another version
 * could hold something else, which is then served as `application/octet-stream`).
 *
 * @param type The string.
 * @returns True when it is a known type.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isFileType } from "./file_type.ts";
 *
 * assert.ok(isFileType("image/webp"));
 * assert.ok(!isFileType("text/html"));
 * ```
 */
export function isFileType(type: string): type is FileType {
  return Object.hasOwn(EXTENSIONS, type);
}

/**
 * A file name whose extension agrees with the type it is served as: a text file uploaded as
 * `page.html` is served as `page.html.txt`, so saving and opening it never makes a browser
 * render it as HTML. `application/octet-stream` keeps its name: it is never anything a
 * browser runs by itself.
 *
 * @param name The file's name.
 * @param type Its sniffed type.
 * @returns The name, with the type's usual extension added when it has none of the type's.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nameForType } from "./file_type.ts";
 *
 * assert.equal(nameForType("cat.JPEG", "image/jpeg"), "cat.JPEG");
 * assert.equal(nameForType("page.html", "text/plain"), "page.html.txt");
 * assert.equal(nameForType("cat.png", "image/gif"), "cat.png.gif");
 * assert.equal(nameForType("tool.zip", "application/octet-stream"), "tool.zip");
 * ```
 */
export function nameForType(name: string, type: FileType): string {
  const extensions = EXTENSIONS[type];
  if (extensions.length === 0) return name;
  const lower = name.toLowerCase();
  return extensions.some((extension) => lower.endsWith(extension))
    ? name
    : `${name}${extensions[0]}`;
}
