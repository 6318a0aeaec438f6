/**
 * The WebSocket the client opens: which class (injected, the Node entry's `ws`, or the
 * global one), which subprotocols, and how the credential travels.
 *
 * A credential goes as the subprotocol entry `daily-gateway.token.<credential>` (PROTOCOL.md,
 * "Authentication"), which every WebSocket can send. `Authorization` headers need a class that
 * takes headers (Node's `ws`); with one that cannot (browsers, Node 22's global WebSocket), a
 * `Bearer` header is sent as that subprotocol entry instead, and any other header is refused
 * loudly rather than dropped.
 */

import { SUBPROTOCOL, TOKEN_SUBPROTOCOL_PREFIX } from './constants.js';
import { ClientErrorCode, ConnectionError } from './errors.js';

/** The parts of the WebSocket API the client uses (browser WebSocket, Node 22's, or `ws`). */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  readonly protocol: string;
  readonly bufferedAmount: number;
  send(data: string | ArrayBufferView | ArrayBuffer): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

export type WebSocketConstructor = new (url: string, protocols?: string | string[], options?: unknown) => WebSocketLike;

let defaultWebSocket: WebSocketConstructor | undefined;

/** Set the WebSocket class used when none is passed in the options (the Node entry point sets `ws`). */
export function setDefaultWebSocket(ctor: WebSocketConstructor | undefined): void {
  defaultWebSocket = ctor;
}

const globalWebSocket = (): WebSocketConstructor | undefined => (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;

/** How to open sockets: resolved once per connection attempt from the client's options. */
export interface SocketOptions {
  url: string;
  WebSocket?: WebSocketConstructor;
  webSocketOptions?: unknown;
  token?: string;
  debug?: (line: string) => void;
}

/** Open a WebSocket to the gateway with the subprotocol and credential set; throws ConnectionError. */
export function openSocket(options: SocketOptions): WebSocketLike {
  const Ctor = options.WebSocket ?? defaultWebSocket ?? globalWebSocket();
  if (!Ctor) {
    throw new ConnectionError(
      ClientErrorCode.CONNECT_FAILED,
      'no WebSocket implementation: pass options.WebSocket, or import the package from Node (it uses `ws`)',
    );
  }
  let token = options.token;
  let extra = options.webSocketOptions;
  // The global WebSocket (browsers, Node 22+, Deno, Bun) takes no options: headers would be lost.
  if (extra !== undefined && Ctor === globalWebSocket()) {
    const { bearer, rest } = splitHeaders(extra);
    if (rest.length) {
      throw new ConnectionError(
        ClientErrorCode.CONNECT_FAILED,
        `this runtime's WebSocket cannot send headers or options (${rest.join(', ')}): `
          + 'pass the credential as `token`, or use the Node entry point (it uses `ws`)',
      );
    }
    if (bearer !== null) {
      if (token !== undefined && token !== bearer) {
        throw new ConnectionError(ClientErrorCode.CONNECT_FAILED, 'two different credentials: `token` and an Authorization header');
      }
      options.debug?.('= the WebSocket cannot send headers: the Bearer credential goes as a subprotocol entry');
      token = bearer;
    }
    extra = undefined;
  }
  if (token !== undefined) checkCredential(token);
  const protocols = token ? [SUBPROTOCOL, `${TOKEN_SUBPROTOCOL_PREFIX}${token}`] : [SUBPROTOCOL];
  try {
    return extra !== undefined ? new Ctor(options.url, protocols, extra) : new Ctor(options.url, protocols);
  } catch (err) {
    throw new ConnectionError(ClientErrorCode.CONNECT_FAILED, `cannot open ${options.url}: ${err}`, { cause: err });
  }
}

/** Characters of an HTTP token (RFC 9110), what a subprotocol entry may hold. */
const TOKEN_CHARS = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** A credential must fit in a subprotocol entry; `id:secret` is the gateway's config form, not a credential. */
function checkCredential(token: string): void {
  if (TOKEN_CHARS.test(token)) return;
  const hint = token.includes(':')
    ? 'an API key is presented as its secret alone (the part after `id:` in the gateway\'s api_keys), not as id:secret'
    : 'a credential is an access token (dgw1....) or an API key\'s secret, made of letters, digits and -._~+!#$%&\'*^`|';
  throw new ConnectionError(ClientErrorCode.CONNECT_FAILED, `the credential cannot be sent: ${hint}`);
}

/** An `Authorization: Bearer <credential>` header, and the names of every other option given. */
function splitHeaders(options: unknown): { bearer: string | null; rest: string[] } {
  if (typeof options !== 'object' || options === null) return { bearer: null, rest: [String(options)] };
  let bearer: string | null = null;
  const rest: string[] = [];
  for (const [key, value] of Object.entries(options)) {
    if (key !== 'headers' || typeof value !== 'object' || value === null) {
      rest.push(key);
      continue;
    }
    for (const [name, header] of Object.entries(value as Record<string, unknown>)) {
      const match = name.toLowerCase() === 'authorization' && typeof header === 'string' ? /^\s*bearer\s+(\S+)\s*$/i.exec(header) : null;
      if (match) bearer = match[1]!;
      else rest.push(`headers.${name}`);
    }
  }
  return { bearer, rest };
}
