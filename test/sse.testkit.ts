/**
 * A small Server-Sent Events client for tests: a parser for the text/event-stream format (WHATWG
 * HTML, "Server-sent events") and a reader over any stream of chunks (a fetch body, a node:https
 * response). Not a test file itself.
 */

/** One block of the stream as sent: its fields, or a comment line (`: heartbeat`). */
export interface SseMessage {
  event?: string;
  id?: string;
  /** The `data:` lines, joined with "\n"; empty when the block had none. */
  data: string;
  retry?: number;
  /** The text of a comment line (after the colon and one space). */
  comment?: string;
}

/** Turns text as it arrives into messages; a block is complete at its blank line. */
export class SseParser {
  private pending = '';
  private current: { message: Omit<SseMessage, 'data'>; data: string[] } | undefined;

  feed(text: string): SseMessage[] {
    this.pending += text;
    const lines = this.pending.split(/\r\n|\r|\n/);
    // The last piece has no line end yet.
    this.pending = lines.pop() ?? '';
    const messages: SseMessage[] = [];
    for (const line of lines) this.line(line, messages);
    return messages;
  }

  private line(line: string, messages: SseMessage[]): void {
    if (line === '') {
      if (this.current) messages.push({ ...this.current.message, data: this.current.data.join('\n') });
      this.current = undefined;
      return;
    }
    if (line.startsWith(':')) {
      messages.push({ data: '', comment: line.slice(1).replace(/^ /, '') });
      return;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    const block = (this.current ??= { message: {}, data: [] });
    if (field === 'data') block.data.push(value);
    if (field === 'event') block.message.event = value;
    if (field === 'id') block.message.id = value;
    if (field === 'retry' && /^\d+$/.test(value)) block.message.retry = Number(value);
  }
}

/** Messages from a stream of chunks, one at a time, each waited for up to a timeout. */
export class SseReader {
  private readonly parser = new SseParser();
  private readonly decoder = new TextDecoder();
  private readonly queue: SseMessage[] = [];
  private reading: Promise<IteratorResult<Uint8Array | string>> | undefined;
  private ended = false;

  constructor(
    private readonly chunks: AsyncIterator<Uint8Array | string>,
    private readonly disconnect: () => void,
  ) {}

  /** The next message, or undefined once the server ended the stream; throws after `timeoutMs` of silence. */
  async next(timeoutMs = 10_000): Promise<SseMessage | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length === 0 && !this.ended) {
      this.reading ??= this.chunks.next();
      const result = await withDeadline(this.reading, deadline);
      if (!result) throw new Error(`no server-sent message within ${timeoutMs} ms`);
      this.reading = undefined;
      if (result.done) this.ended = true;
      else this.queue.push(...this.parser.feed(typeof result.value === 'string' ? result.value : this.decoder.decode(result.value, { stream: true })));
    }
    return this.queue.shift();
  }

  /** The client goes away (closes its connection). */
  close(): void {
    this.ended = true;
    // A read still waiting fails once the connection is gone; nobody waits for it any more.
    this.reading?.catch(() => undefined);
    this.disconnect();
  }
}

async function withDeadline<T>(promise: Promise<T>, deadline: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), Math.max(0, deadline - Date.now()))));
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** An answer to a request for a stream: its status and headers, the reader when it is a stream, else its body. */
export interface SseAnswer {
  status: number;
  headers: Headers;
  reader: SseReader | undefined;
  // `any` on purpose: a problem document, read loosely by each assertion.
  body: any;
}

/** GET `url` as an EventSource would (Accept: text/event-stream), with fetch. */
export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseAnswer> {
  const abort = new AbortController();
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
  if (!response.headers.get('content-type')?.startsWith('text/event-stream') || !response.body) {
    const text = await response.text();
    return { status: response.status, headers: response.headers, reader: undefined, body: text ? JSON.parse(text) : null };
  }
  const chunks = response.body[Symbol.asyncIterator]();
  const reader = new SseReader(chunks, () => abort.abort());
  return { status: response.status, headers: response.headers, reader, body: undefined };
}
