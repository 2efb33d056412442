/**
 * Clients for the loopback NGINX: HTTPS requests that trust only the test CA (node:https, since
 * undici is not a dependency), raw TLS handshakes, HTTP/2 and plain HTTP.
 */
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import tls from 'node:tls';
import { gunzipSync } from 'node:zlib';
import { SseReader } from '../sse.testkit.js';

export const SERVER_NAME = 'localhost';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  // `any` on purpose: bodies are read loosely, and each assertion says what it expects.
  body: any;
}

export interface CallOptions {
  body?: unknown;
  rawBody?: string | Buffer;
  token?: string;
  cookie?: string;
  headers?: Record<string, string>;
}

function parseBody(buffer: Buffer, headers: http.IncomingHttpHeaders): { text: string; body: unknown } {
  const raw = headers['content-encoding'] === 'gzip' ? gunzipSync(buffer) : buffer;
  const text = raw.toString('utf8');
  try {
    return { text, body: text ? JSON.parse(text) : null };
  } catch {
    return { text, body: text };
  }
}

/**
 * An HTTPS client for https://localhost:<port> that trusts `ca` and nothing else. `keepAlive: false`
 * opens a connection per request (for load through an nginx that the loopback stack reloads: a
 * reload closes idle client connections, which Swarm's nginx never sees).
 */
export function httpsClient(port: number, ca: string, options: { keepAlive?: boolean; timeoutMs?: number } = {}) {
  const agent = new https.Agent({ ca, keepAlive: options.keepAlive ?? true, maxSockets: 32, servername: SERVER_NAME });
  const timeoutMs = options.timeoutMs ?? 20_000;
  const call = (method: string, path: string, options: CallOptions = {}): Promise<Reply> => {
    const headers: Record<string, string> = { host: `${SERVER_NAME}:${port}`, ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.cookie) headers.cookie = options.cookie;
    let body = options.rawBody;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    return new Promise((resolve, reject) => {
      const request = https.request({ host: '127.0.0.1', port, servername: SERVER_NAME, method, path, headers, agent }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, ...parseBody(Buffer.concat(chunks), response.headers) }));
        response.on('error', reject);
      });
      request.on('error', reject);
      request.setTimeout(timeoutMs, () => request.destroy(new Error(`${method} ${path}: timed out`)));
      request.end(body);
    });
  };
  return Object.assign(call, { close: () => agent.destroy() });
}
export type HttpsClient = ReturnType<typeof httpsClient>;

/** A plain-HTTP request (for the redirect). */
export function plainHttp(port: number, path: string): Promise<{ status: number; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port, path, headers: { host: `${SERVER_NAME}:${port}` }, agent: false }, (response) => {
      response.resume();
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers }));
    });
    request.on('error', reject);
    request.end();
  });
}

export type Handshake =
  | { ok: true; protocol: string | null; cipher: string; alpn: string | false | null }
  | { ok: false; code: string; message: string };

/** One TLS handshake with the given client settings; reports what was negotiated or why it failed. */
export function handshake(port: number, ca: string, options: tls.ConnectionOptions = {}): Promise<Handshake> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: SERVER_NAME, ca, ...options });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ ok: false, code: 'TIMEOUT', message: 'handshake timed out' });
    }, 5000);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      resolve({ ok: true, protocol: socket.getProtocol(), cipher: socket.getCipher().name, alpn: socket.alpnProtocol });
      socket.end();
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ ok: false, code: error.code ?? 'ERROR', message: error.message });
      socket.destroy();
    });
  });
}

/** One request over HTTP/2 (ALPN h2), with the same trust. */
export function http2Request(
  port: number,
  ca: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<{ status: number; headers: http2.IncomingHttpHeaders; text: string; alpn: string | false | undefined }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`https://${SERVER_NAME}:${port}`, {
      createConnection: () => tls.connect({ host: '127.0.0.1', port, servername: SERVER_NAME, ca, ALPNProtocols: ['h2'] }),
    });
    session.on('error', reject);
    const stream = session.request({ ':method': method, ':path': path, ...headers, ...(body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) }) });
    const chunks: Buffer[] = [];
    let responseHeaders: http2.IncomingHttpHeaders = {};
    stream.on('response', (received) => (responseHeaders = received));
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      const alpn = session.alpnProtocol;
      session.close();
      resolve({ status: Number(responseHeaders[':status']), headers: responseHeaders, text: Buffer.concat(chunks).toString('utf8'), alpn });
    });
    stream.on('error', reject);
    stream.end(body);
  });
}

/** An answer to a request for an event stream: the reader when it is one, else the body's text. */
export interface EventStreamReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  reader: SseReader | undefined;
  text: string;
}

/**
 * GET an event stream (text/event-stream) over HTTPS on a connection of its own, as a browser's
 * EventSource would; `reader.close()` closes that connection, as a client that goes away.
 */
export function httpsEventStream(port: number, ca: string, path: string, headers: Record<string, string> = {}): Promise<EventStreamReply> {
  return new Promise((resolve, reject) => {
    const request = https.request(
      { host: '127.0.0.1', port, servername: SERVER_NAME, ca, method: 'GET', path, agent: false, headers: { host: `${SERVER_NAME}:${port}`, accept: 'text/event-stream', ...headers } },
      (response) => {
        const status = response.statusCode ?? 0;
        if (!String(response.headers['content-type']).startsWith('text/event-stream')) {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => resolve({ status, headers: response.headers, reader: undefined, text: parseBody(Buffer.concat(chunks), response.headers).text }));
          return;
        }
        const chunks = response[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
        resolve({ status, headers: response.headers, reader: new SseReader(chunks, () => request.destroy()), text: '' });
      },
    );
    request.on('error', reject);
    request.end();
  });
}
