/**
 * Uploading files from the page: a file pasted into the message box, dropped on the
 * conversation or picked with the upload button goes to the server's upload URL
 * (`draft/FILEHOST`, `POST` with the account's session token as `Authorization: Bearer`), one
 * at a time, with its progress shown under the conversation; once stored, its link is posted
 * into the conversation it was meant for. Guests cannot upload (the server takes uploads from
 * accounts only), and the page says so instead of trying. What the server refuses is told in
 * its own words (413 too large, 429 too many, 507 no room …).
 *
 * @module
 */
import type { Conversation, Conversations } from "./_conversations.ts";
import { byId } from "./_dom.ts";

/** What uploading needs from the client. */
export interface UploadLink {
  /** Where to upload; undefined when the server takes no uploads. */
  endpoint(): string | undefined;
  /** The account logged in, if any. */
  account(): string | undefined;
  /** The account's session token, if the server gave one. */
  token(): string | undefined;
  /**
   * Posts a stored file's link into a conversation.
   *
   * @param conversation Where the file was dropped.
   * @param url The file's address.
   */
  post(conversation: Conversation, url: string): void;
}

/** A file waiting to go, and where its link goes. */
interface Job {
  file: File;
  conversation: Conversation;
}

/** The `Content-Disposition` of an upload: its name, in UTF-8 (RFC 8187). */
function disposition(name: string): string {
  const exact = encodeURIComponent(name).replace(
    /['()*]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename*=UTF-8''${exact}`;
}

/** A size for people: `812 B`, `45 KB`, `3.2 MB`. */
function size(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1_000_000) return `${Math.round(bytes / 1000)} KB`;
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}

/** The page's uploads: a queue, the one under way, and its progress bar. */
export class Uploads {
  readonly #conversations: Conversations;
  readonly #link: UploadLink;
  readonly #queue: Job[] = [];
  #request: XMLHttpRequest | undefined;

  /**
   * Takes over the upload bar under the conversation.
   *
   * @param conversations The page's conversations.
   * @param link The client.
   */
  constructor(conversations: Conversations, link: UploadLink) {
    this.#conversations = conversations;
    this.#link = link;
    byId("upload-cancel").addEventListener("click", () => this.#request?.abort());
  }

  /**
   * Why the user cannot upload now, if they cannot.
   *
   * @returns What to tell them; undefined when uploading is possible.
   */
  refusal(): string | undefined {
    if (this.#link.account() === undefined) {
      return "Guests cannot upload files: log in to an account to share one";
    }
    if (this.#link.endpoint() === undefined) return "This server does not take uploads";
    if (this.#link.token() === undefined) {
      return "This server gave no session token to upload with: log out and in again";
    }
    const current = this.#conversations.current;
    if (!current || current.kind === "server") return "Pick a channel or a person first";
    return undefined;
  }

  /**
   * Uploads files into the conversation shown, after those already waiting; when uploading
   * is not possible, says why in the conversation.
   *
   * @param files The files (pasted, dropped or picked).
   */
  add(files: File[]): void {
    if (files.length === 0) return;
    const refusal = this.refusal();
    if (refusal !== undefined) {
      this.#conversations.system(this.#conversations.current, refusal, "error");
      return;
    }
    const conversation = this.#conversations.current!;
    for (const file of files) this.#queue.push({ file, conversation });
    if (this.#request === undefined) this.#next();
  }

  #next(): void {
    const job = this.#queue.shift();
    const bar = byId("upload-bar");
    if (job === undefined) {
      // Its Cancel button goes with it: the focus goes back to the message box.
      if (bar.contains(document.activeElement)) byId("message").focus();
      bar.hidden = true;
      return;
    }
    const { file } = job;
    const endpoint = this.#link.endpoint();
    const token = this.#link.token();
    if (endpoint === undefined || token === undefined) {
      // Logged out, or reconnected to a server without uploads, while it waited.
      this.#failed(job, this.refusal() ?? "uploads are off");
      this.#next();
      return;
    }
    const request = new XMLHttpRequest();
    this.#request = request;
    const progress = byId<HTMLProgressElement>("upload-progress");
    const waiting = this.#queue.length ? ` (${this.#queue.length} more waiting)` : "";
    byId("upload-text").textContent = `Uploading ${file.name || "a file"}, ${
      size(file.size)
    }${waiting}`;
    progress.value = 0;
    bar.hidden = false;
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) progress.value = event.loaded / event.total;
    });
    let cancelled = false;
    request.addEventListener("abort", () => cancelled = true);
    request.addEventListener("loadend", () => {
      this.#request = undefined;
      if (cancelled) this.#failed(job, "cancelled");
      else this.#finished(job, request);
      this.#next();
    });
    request.open("POST", endpoint);
    request.setRequestHeader("Authorization", `Bearer ${token}`);
    request.setRequestHeader("Content-Disposition", disposition(file.name || "file"));
    request.send(file);
  }

  #finished(job: Job, request: XMLHttpRequest): void {
    if (request.status === 201) {
      let url: unknown;
      try {
        url = JSON.parse(request.responseText).url;
      } catch { /* told below */ }
      if (typeof url === "string") this.#link.post(job.conversation, url);
      else this.#failed(job, "the server's answer held no link");
      return;
    }
    if (request.status === 0) {
      this.#failed(job, "the connection to the server failed");
      return;
    }
    const said = request.responseText.trim() || request.statusText;
    const why = request.status === 401 ? `${said}: log out and in again` : said;
    this.#failed(job, `${why} (HTTP ${request.status})`);
    // Refused for the account (its login, rate or room), not for the file: the files waiting
    // would be refused the same way.
    if ([401, 429, 507].includes(request.status) && this.#queue.length > 0) {
      const left = this.#queue.splice(0);
      this.#conversations.system(
        job.conversation,
        `${left.length} more file${left.length === 1 ? " was" : "s were"} not uploaded`,
        "error",
      );
    }
  }

  #failed(job: Job, why: string): void {
    this.#conversations.system(
      job.conversation,
      `The upload of ${job.file.name || "a file"} failed: ${why}`,
      "error",
    );
  }
}
