/**
 * {@link SignalConnection}: one WebSocket to the gateway, from its hello to its close.
 *
 * It opens the socket (subprotocol, credential), waits for the hello, writes requests and
 * media, reads every frame, settles the replies of {@link Requests} and hands the rest
 * (events, errors, media frames, the close) to its listener. It knows nothing of rooms,
 * reconnecting or resuming: the session above it decides what a close means.
 */

import { decodeFrame, decodeServerMessage, type EventMessage, type Hello, type MediaFrame } from './codec.js';
import { ClientErrorCode, type CodecError, ConnectionError, type GatewayError, ProtocolError } from './errors.js';
import type { PendingRequest, Requests } from './requests.js';
import { openSocket, type SocketOptions, type WebSocketLike } from './socket.js';

/** What a connection hands up once it is open. */
export interface SignalListener {
  /** A protocol event. */
  onEvent(message: EventMessage): void;
  /** An error not tied to a request of ours: an `error` message, an unmatched failure, bytes we cannot read. */
  onError(error: GatewayError): void;
  /** A binary media frame. */
  onMedia(frame: MediaFrame): void;
  /** Any text frame was read (after it was handled): its seq. */
  onSeq(seq: number): void;
  /** The socket closed (by either side, or dropped: 1006). */
  onClose(code: number, reason: string): void;
}

export interface SignalOptions extends SocketOptions {
  /** Give up (socket open + hello) after this long. */
  connectTimeoutMs: number;
  /** Abort opening. */
  signal?: AbortSignal;
}

/** One open connection that said hello. */
export class SignalConnection {
  /** This connection's hello. */
  readonly hello: Hello;
  /** Seq of the last text frame read on this connection (the resumed session's numbering after a resume). */
  lastSeq: number;
  private listener: SignalListener | null = null;
  private closed = false;

  private constructor(
    private readonly socket: WebSocketLike,
    hello: Hello,
    private readonly requests: Requests,
    private readonly debug?: (line: string) => void,
  ) {
    this.hello = hello;
    this.lastSeq = hello.seq;
  }

  /**
   * Open a socket and resolve once the gateway said hello; reject with `connect_failed`
   * (its close code and reason when the gateway refused us), or the abort signal's reason.
   */
  static open(options: SignalOptions, requests: Requests): Promise<SignalConnection> {
    return new Promise<SignalConnection>((resolve, reject) => {
      if (options.signal?.aborted) {
        reject(options.signal.reason);
        return;
      }
      let socket: WebSocketLike;
      try {
        socket = openSocket(options);
      } catch (err) {
        reject(err);
        return;
      }
      socket.binaryType = 'arraybuffer';
      let settled = false;
      const finish = (error: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        socket.onmessage = socket.onclose = null;
        try {
          socket.close();
        } catch {
          /* already closed */
        }
        reject(error);
      };
      const onAbort = () => finish(options.signal!.reason);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      const timer = setTimeout(
        () => finish(new ConnectionError(ClientErrorCode.CONNECT_FAILED, `no hello from ${options.url} within ${options.connectTimeoutMs} ms`)),
        options.connectTimeoutMs,
      );
      socket.onerror = () => {
        /* the close event that follows carries the code */
      };
      socket.onclose = (event) =>
        finish(new ConnectionError(
          ClientErrorCode.CONNECT_FAILED,
          `connection to ${options.url} closed before hello (${event.code}${event.reason ? ` ${event.reason}` : ''})`,
          { closeCode: event.code, closeReason: event.reason },
        ));
      socket.onmessage = (event) => {
        if (typeof event.data !== 'string') {
          finish(new ConnectionError(ClientErrorCode.CONNECT_FAILED, 'the gateway sent media before hello'));
          return;
        }
        let message;
        try {
          message = decodeServerMessage(event.data);
        } catch (err) {
          finish(new ConnectionError(ClientErrorCode.CONNECT_FAILED, `unreadable hello: ${(err as Error).message}`, { cause: err }));
          return;
        }
        if (message.type !== 'hello') {
          finish(new ConnectionError(ClientErrorCode.CONNECT_FAILED, `expected hello, got ${message.type}`));
          return;
        }
        settled = true;
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        options.debug?.(`< hello ${message.session_id} ${message.protocol}`);
        resolve(new SignalConnection(socket, message, requests, options.debug));
      };
    });
  }

  /** Start handing frames to `listener` (frames read before this are not lost: none can come between). */
  attach(listener: SignalListener): void {
    this.listener = listener;
    this.socket.onmessage = (event) => this.onMessage(event.data);
    this.socket.onclose = (event) => {
      if (this.closed) return;
      this.closed = true;
      this.listener?.onClose(event.code, event.reason);
    };
  }

  /** Bytes queued in the socket, not yet sent (back-pressure for audio). */
  get bufferedAmount(): number {
    return this.socket.bufferedAmount;
  }

  /** Open, and not closed by either side. */
  get open(): boolean {
    return !this.closed && this.socket.readyState === 1;
  }

  /** The underlying socket (tests drop it to simulate a network failure). */
  get rawSocket(): WebSocketLike {
    return this.socket;
  }

  /** Write a request; rejects it with `connection_closed` if the socket refuses. */
  sendRequest(request: PendingRequest): boolean {
    this.debug?.(`> ${request.type} ${request.id}`);
    try {
      this.socket.send(request.text);
    } catch (err) {
      this.requests.rejectWhere(
        new ConnectionError(ClientErrorCode.CONNECTION_CLOSED, `${request.type}: send failed: ${err}`, { cause: err }),
        (r) => r.id === request.id,
      );
      return false;
    }
    this.requests.markSent(request);
    return true;
  }

  /** Write a binary frame or raw text (media, tests of bad input). */
  sendRaw(data: string | Uint8Array): void {
    this.socket.send(data);
  }

  /** Close with `code`; resolves once closed (or after 2 s). The listener hears nothing more. */
  async close(code: number, reason: string): Promise<{ code: number; reason: string } | null> {
    if (this.closed) return null;
    this.closed = true;
    const socket = this.socket;
    if (socket.readyState > 1) return null;
    const done = new Promise<{ code: number; reason: string } | null>((resolve) => {
      const timer = setTimeout(() => resolve(null), 2000);
      socket.onclose = (event) => {
        clearTimeout(timer);
        resolve({ code: event.code, reason: event.reason });
      };
    });
    socket.close(code, reason);
    return done;
  }

  /** Close at once without waiting (process exit: only synchronous work runs). */
  closeNow(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.socket.close(code, reason);
    } catch {
      /* already closed */
    }
  }

  private onMessage(data: unknown): void {
    const listener = this.listener!;
    if (typeof data !== 'string') {
      let frame;
      try {
        frame = decodeFrame(data instanceof ArrayBuffer || ArrayBuffer.isView(data) ? data : new Uint8Array(0));
      } catch (err) {
        listener.onError(err as CodecError);
        return;
      }
      listener.onMedia(frame);
      return;
    }
    let message;
    try {
      message = decodeServerMessage(data);
    } catch (err) {
      listener.onError(err as CodecError);
      return;
    }
    this.lastSeq = message.seq;
    switch (message.type) {
      case 'reply':
        this.debug?.(`< reply ${message.id} ${message.ok ? 'ok' : message.error?.code}`);
        if (!this.requests.settle(message) && !message.ok) listener.onError(new ProtocolError(message.error!, message.id));
        break;
      case 'event':
        this.debug?.(`< event ${message.event}`);
        listener.onEvent(message);
        break;
      case 'error':
        this.debug?.(`< error ${message.error.code}`);
        listener.onError(new ProtocolError(message.error));
        break;
      default:
        break;
    }
    listener.onSeq(message.seq);
  }
}
