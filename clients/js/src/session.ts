/**
 * {@link Session}: the client's side of one gateway session, across connections. It owns
 * the connection state machine (ConnectionState), the reconnect policy, resume
 * (PROTOCOL.md, "Resume") and the requests awaiting replies.
 *
 * ```
 *  DISCONNECTED ──connect()──▶ CONNECTING ──hello──▶ CONNECTED ──drop──▶ RECONNECTING ──▶ CONNECTED
 *       ▲                         │ fails                │ close()             │ policy gives up
 *       └─────────────────────────┴──────────────────────┴─────────────────────┘
 * ```
 *
 * After a drop it opens a new connection per the policy; a session that was in a room is
 * resumed there (same session, every missed frame replayed), and the requests the gateway
 * never received are sent again with their ids. When the session cannot be resumed, the
 * requests already sent reject with `connection_closed` (their outcome is unknown) and its
 * host (the client) restores the room on the fresh session. Requests made meanwhile wait
 * unsent and go out once connected.
 */

import { CloseCode } from './constants.js';
import type { EventMessage, Hello, MediaFrame } from './codec.js';
import { ClientErrorCode, ConnectionError, GatewayError } from './errors.js';
import type { ReconnectPolicy } from './reconnect.js';
import { type PendingRequest, Requests } from './requests.js';
import { SignalConnection, type SignalListener } from './signal.js';
import type { SocketOptions } from './socket.js';
import type { ResumeResult } from './types.js';

/** The connection's state. */
export const ConnectionState = {
  /** Not connected: before `connect()`, after `close()`, or after reconnecting gave up. */
  DISCONNECTED: 'disconnected',
  /** `connect()` is opening the WebSocket and waiting for the gateway's hello. */
  CONNECTING: 'connecting',
  /** Connected; requests are sent at once. */
  CONNECTED: 'connected',
  /** The connection dropped; the client retries per its policy and queues requests. */
  RECONNECTING: 'reconnecting',
} as const;
export type ConnectionState = (typeof ConnectionState)[keyof typeof ConnectionState];

/** How a reconnect restored the room: resumed the session, joined / observed / registered again, or nothing. */
export type Restored = 'resumed' | 'joined' | 'observing' | 'phone' | null;

/** What the session needs from the client above it. */
export interface SessionHost extends Omit<SignalListener, 'onClose' | 'onSeq'> {
  onState(state: ConnectionState): void;
  onHello(hello: Hello): void;
  onReconnecting(info: { attempt: number; delayMs: number; closeCode: number | null }): void;
  onReconnected(info: { hello: Hello; restored: Restored; error?: GatewayError }): void;
  onResumed(result: ResumeResult): void;
  onDisconnected(info: { closeCode: number | null; closeReason: string; error?: GatewayError }): void;
  /** Whether the session has something worth resuming (a room joined or observed). */
  inRoom(): boolean;
  /** The session is gone (not resumed): forget what belonged to it (participant id, tracks, a call). */
  onSessionLost(): void;
  /** On a fresh session after a reconnect: join / observe / register again; resolves with what it did. */
  restore(): Promise<{ restored: Restored; error?: GatewayError }>;
  /** The client gave up for good: forget the room. */
  onGiveUp(): void;
}

export interface SessionOptions extends SocketOptions {
  reconnect: ReconnectPolicy | false;
  requestTimeoutMs: number;
  connectTimeoutMs: number;
  maxQueuedRequests: number;
}

/** Close codes after which the session is gone (or moved on): reconnecting rejoins, it does not resume. */
const NOT_RESUMABLE: ReadonlySet<number> = new Set([
  CloseCode.NORMAL, CloseCode.GOING_AWAY, CloseCode.PROTOCOL_VIOLATION, CloseCode.IDLE_TIMEOUT,
  CloseCode.REPLACED, CloseCode.ROOM_CLOSED,
]);

const now = () => globalThis.performance?.now() ?? Date.now();

/** The reconnect/resume state machine and the requests of one client. */
export class Session {
  state: ConnectionState = ConnectionState.DISCONNECTED;
  /** The last hello (null before the first connect). */
  hello: Hello | null = null;
  /** The session's id (the same after a resume, a new one after a rejoin). */
  sessionId: string | null = null;
  /** The session's `resume_token` (from its hello; kept across resumes). */
  resumeToken: string | null = null;
  /** Close code and reason of the last connection. */
  closeCode: number | null = null;
  closeReason = '';
  readonly stats = { reconnects: 0, resumes: 0, resent: 0 };
  readonly requests = new Requests();
  /** The connection in use (null while not connected). */
  signal: SignalConnection | null = null;

  private userClosed = false;
  private connecting: Promise<Hello> | null = null;
  private cancelSleep: (() => void) | null = null;
  /** Aborts the connection being opened (close() during connect or a reconnect attempt). */
  private opening: AbortController | null = null;
  /** Set when a drop may be resumed: the session's token and the last seq read from it. */
  private resumeFrom: { token: string; lastSeq: number; graceMs: number } | null = null;
  /**
   * After a resume: once the replay is read (frames numbered after `after`, up to `seq`),
   * send `ids` again.
   */
  private resendAt: { after: number; seq: number; ids: Set<string> } | null = null;

  constructor(
    private readonly options: SessionOptions,
    private readonly host: SessionHost,
  ) {}

  /** Seq of the last text frame read from the gateway. */
  get lastSeq(): number {
    return this.signal?.lastSeq ?? this.resumeFrom?.lastSeq ?? 0;
  }

  get url(): string {
    return this.options.url;
  }

  /** Open the connection and wait for the gateway's hello. Initial failures reject (no retry). */
  async connect(options: { signal?: AbortSignal } = {}): Promise<Hello> {
    if (this.state === ConnectionState.CONNECTED && this.hello) return this.hello;
    if (this.connecting) return this.connecting;
    this.userClosed = false;
    this.setState(ConnectionState.CONNECTING);
    this.connecting = this.open(options.signal);
    try {
      const hello = await this.connecting;
      this.setState(ConnectionState.CONNECTED);
      this.flush(); // requests made while connecting
      return hello;
    } catch (err) {
      this.requests.rejectWhere(err instanceof GatewayError ? err : new ConnectionError(ClientErrorCode.CONNECT_FAILED, String(err)));
      this.setState(ConnectionState.DISCONNECTED);
      throw err;
    } finally {
      this.connecting = null;
    }
  }

  /** Close the connection (the gateway ends the session); no reconnect. */
  async close(code: number = CloseCode.NORMAL, reason = 'client closed'): Promise<void> {
    this.userClosed = true;
    this.cancelSleep?.();
    this.opening?.abort(new ConnectionError(ClientErrorCode.CONNECT_FAILED, 'the client was closed while connecting'));
    this.requests.rejectWhere(new ConnectionError(ClientErrorCode.NOT_CONNECTED, 'the client was closed'), (r) => !r.sent);
    const signal = this.signal;
    this.signal = null;
    if (signal) {
      const closed = await signal.close(code, reason);
      this.closeCode = closed?.code ?? code;
      this.closeReason = closed?.reason ?? reason;
    }
    this.finish(new ConnectionError(ClientErrorCode.CONNECTION_CLOSED, 'the client was closed'));
  }

  /** Close at once, synchronously (Node's process exit): a close frame goes out, nothing is awaited. */
  closeNow(code: number, reason: string): void {
    this.userClosed = true;
    this.cancelSleep?.();
    this.opening?.abort(new ConnectionError(ClientErrorCode.CONNECT_FAILED, 'the client was closed while connecting'));
    this.signal?.closeNow(code, reason);
    this.signal = null;
  }

  /**
   * Send a request and resolve with its result. Connected: sent at once. Connecting or
   * reconnecting: kept (up to `maxQueuedRequests`) and sent once connected. Disconnected:
   * rejects with `not_connected`.
   */
  request(
    type: string,
    params: Record<string, unknown>,
    options: { timeoutMs?: number; signal?: AbortSignal; onResult?: (result: Record<string, unknown>) => void } = {},
  ): Promise<Record<string, unknown>> {
    if (this.state === ConnectionState.DISCONNECTED) {
      return Promise.reject(new ConnectionError(ClientErrorCode.NOT_CONNECTED, `${type}: not connected (call connect())`));
    }
    const waiting = this.state !== ConnectionState.CONNECTED;
    if (waiting && this.requests.unsent().length >= this.options.maxQueuedRequests) {
      return Promise.reject(new ConnectionError(ClientErrorCode.QUEUE_FULL, `${this.requests.unsent().length} requests are already queued`));
    }
    const { request, promise } = this.requests.add(type, params, {
      timeoutMs: options.timeoutMs ?? this.options.requestTimeoutMs,
      signal: options.signal,
      onResult: options.onResult,
    });
    if (!waiting && this.signal) this.signal.sendRequest(request);
    return promise;
  }

  /** Write a binary frame; false when not connected (media is never queued). */
  sendMedia(bytes: Uint8Array): boolean {
    if (!this.signal || this.state !== ConnectionState.CONNECTED) return false;
    this.signal.sendRaw(bytes);
    return true;
  }

  /** Bytes queued in the WebSocket, not yet sent (back-pressure for audio). */
  get bufferedAmount(): number {
    return this.signal?.bufferedAmount ?? 0;
  }

  // ---------------------------------------------------------------- connections

  private setState(state: ConnectionState): void {
    if (state === this.state) return;
    this.state = state;
    this.options.debug?.(`= state ${state}`);
    this.host.onState(state);
  }

  /** Open one connection; once it said hello, its frames drive the session. */
  private async open(abort?: AbortSignal): Promise<Hello> {
    let signal: SignalConnection;
    const opening = new AbortController();
    const onAbort = () => opening.abort(abort!.reason);
    if (abort?.aborted) onAbort();
    else abort?.addEventListener('abort', onAbort, { once: true });
    this.opening = opening;
    try {
      signal = await SignalConnection.open({ ...this.options, signal: opening.signal }, this.requests);
    } catch (err) {
      if (err instanceof ConnectionError && err.closeCode !== null) {
        this.closeCode = err.closeCode;
        this.closeReason = err.closeReason;
      }
      throw err;
    } finally {
      abort?.removeEventListener('abort', onAbort);
      if (this.opening === opening) this.opening = null;
    }
    if (opening.signal.aborted) {
      signal.closeNow(CloseCode.NORMAL, 'client closed');
      throw opening.signal.reason;
    }
    const { hello } = signal;
    this.signal = signal;
    this.hello = hello;
    this.sessionId = hello.session_id;
    this.resumeToken = hello.resume_token || null;
    this.closeCode = null;
    this.closeReason = '';
    signal.attach({
      onEvent: (message: EventMessage) => this.host.onEvent(message),
      onError: (error) => this.host.onError(error),
      onMedia: (frame: MediaFrame) => this.host.onMedia(frame),
      onSeq: (seq) => this.afterFrame(seq),
      onClose: (code, reason) => {
        if (this.signal === signal) this.onClosed(code, reason);
      },
    });
    this.host.onHello(hello);
    return hello;
  }

  private onClosed(code: number, reason: string): void {
    const lastSeq = this.signal?.lastSeq ?? 0;
    this.signal = null;
    this.closeCode = code;
    this.closeReason = reason;
    this.options.debug?.(`= closed ${code} ${reason}`);
    const lost = new ConnectionError(ClientErrorCode.CONNECTION_CLOSED, `connection closed (${code}${reason ? ` ${reason}` : ''})`, {
      closeCode: code,
      closeReason: reason,
    });
    const policy = this.options.reconnect;
    const resumable = !this.userClosed && policy !== false && this.resumeToken !== null && this.host.inRoom() && !NOT_RESUMABLE.has(code);
    this.resumeFrom = resumable ? { token: this.resumeToken!, lastSeq, graceMs: Number(this.hello?.limits.resume_grace_ms ?? 0) } : null;
    this.resendAt = null;
    if (!resumable) this.dropSession(lost);
    const delay = this.userClosed || policy === false ? null : policy.nextDelayMs({ attempt: 1, elapsedMs: 0, closeCode: code });
    if (delay == null) {
      this.giveUp(lost);
      return;
    }
    this.setState(ConnectionState.RECONNECTING);
    void this.reconnectLoop(policy as ReconnectPolicy, delay, code);
  }

  /** The session is gone (not resumable, or the resume failed): replies to requests sent will not come. */
  private dropSession(error: GatewayError): void {
    this.requests.rejectWhere(error, (r) => r.sent);
    this.host.onSessionLost();
  }

  private giveUp(error: GatewayError): void {
    this.resumeFrom = null;
    this.dropSession(error);
    this.finish(error);
  }

  /** Everything settled: no connection, no request left, DISCONNECTED (once). */
  private finish(error: GatewayError): void {
    this.requests.rejectWhere(error);
    this.host.onGiveUp();
    if (this.state !== ConnectionState.DISCONNECTED) {
      this.setState(ConnectionState.DISCONNECTED);
      this.host.onDisconnected({ closeCode: this.closeCode, closeReason: this.closeReason, error });
    }
  }

  private sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.cancelSleep = null;
        resolve(true);
      }, ms);
      this.cancelSleep = () => {
        clearTimeout(timer);
        this.cancelSleep = null;
        resolve(false);
      };
    });
  }

  private async reconnectLoop(policy: ReconnectPolicy, firstDelay: number, firstCode: number | null): Promise<void> {
    const droppedAt = now();
    let attempt = 1;
    let delay: number | null = firstDelay;
    let closeCode = firstCode;
    while (delay != null) {
      this.options.debug?.(`= reconnecting in ${delay} ms (attempt ${attempt})`);
      this.host.onReconnecting({ attempt, delayMs: delay, closeCode });
      if (!(await this.sleep(delay)) || this.userClosed) return;
      try {
        const hello = await this.open();
        this.stats.reconnects += 1;
        let restored: { restored: Restored; error?: GatewayError };
        if (await this.resume(droppedAt)) {
          restored = { restored: 'resumed' };
        } else {
          this.dropSession(new ConnectionError(ClientErrorCode.CONNECTION_CLOSED, 'the session could not be resumed'));
          restored = await this.host.restore();
        }
        this.setState(ConnectionState.CONNECTED);
        this.flush();
        this.host.onReconnected({ hello, ...restored });
        return;
      } catch (err) {
        if (this.userClosed) return;
        closeCode = err instanceof ConnectionError ? err.closeCode : null;
        attempt += 1;
        delay = policy.nextDelayMs({ attempt, elapsedMs: now() - droppedAt, closeCode });
      }
    }
    this.giveUp(new ConnectionError(ClientErrorCode.CONNECTION_CLOSED, `reconnecting to ${this.options.url} failed after ${attempt - 1} attempts`, {
      closeCode,
    }));
  }

  /**
   * Continue the dropped session on the connection just opened; true if resumed. A
   * `resume_failed` leaves this connection as a fresh session (false); a connection
   * error throws (the caller retries).
   */
  private async resume(droppedAt: number): Promise<boolean> {
    const from = this.resumeFrom;
    if (!from) return false;
    if (now() - droppedAt > from.graceMs) {
      this.resumeFrom = null;
      return false;
    }
    const fresh = { sessionId: this.sessionId, token: this.resumeToken };
    const inFlight = this.requests.inFlight().map((r) => r.id);
    try {
      // Frames after the reply carry the session's numbering again, from lastSeq + 1.
      const result = (await this.requestNow('resume', { resume_token: from.token, last_seq: from.lastSeq })) as unknown as ResumeResult;
      this.sessionId = result.session_id;
      this.resumeToken = from.token;
      this.resumeFrom = null;
      this.stats.resumes += 1;
      this.options.debug?.(`= resumed ${result.session_id} from seq ${from.lastSeq} (${result.replayed} replayed)`);
      // Requests sent before the drop: replies to those the gateway got are replayed or
      // follow (`running`); the others were lost with the connection: send them again.
      if (Array.isArray(result.running) && inFlight.length) {
        const running = new Set(result.running);
        this.resendAt = { after: result.last_seq, seq: result.last_seq + result.replayed, ids: new Set(inFlight.filter((id) => !running.has(id))) };
        this.afterFrame(this.signal?.lastSeq ?? 0);
      }
      this.host.onResumed(result);
      return true;
    } catch (err) {
      if (err instanceof ConnectionError) throw err;
      if (err instanceof GatewayError && err.code === 'unavailable') {
        // A cluster that cannot place the session yet (PROTOCOL.md 16.5): drop this connection, try again later.
        const signal = this.signal;
        this.signal = null;
        await signal?.close(CloseCode.NORMAL, 'resume unavailable: trying again');
        throw new ConnectionError(ClientErrorCode.CONNECTION_CLOSED, `resume: ${err.message}`, { cause: err });
      }
      this.options.debug?.(`= resume failed: ${(err as Error).message}`);
      this.resumeFrom = null;
      this.sessionId = fresh.sessionId;
      this.resumeToken = fresh.token;
      if (err instanceof GatewayError) this.host.onError(err);
      return false;
    }
  }

  /** A request on the connection just opened, before the queued ones (resume, restore). */
  requestNow(type: string, params: Record<string, unknown>, onResult?: (result: Record<string, unknown>) => void): Promise<Record<string, unknown>> {
    const signal = this.signal;
    if (!signal) return Promise.reject(new ConnectionError(ClientErrorCode.NOT_CONNECTED, `${type}: not connected`));
    const { request, promise } = this.requests.add(type, params, { timeoutMs: this.options.requestTimeoutMs, onResult });
    signal.sendRequest(request);
    return promise;
  }

  /** After each text frame: once the resume's replay is read, send again what the gateway never got. */
  private afterFrame(seq: number): void {
    const resend = this.resendAt;
    if (!resend || !this.signal) return;
    // The reply to `resume` is on the new connection's numbering; the replay follows on the
    // session's, from `after` + 1. With nothing replayed there is nothing to wait for.
    const replayRead = resend.seq === resend.after || (seq > resend.after && seq >= resend.seq);
    if (!replayRead) return;
    this.resendAt = null;
    for (const request of this.requests.inFlight()) {
      if (!resend.ids.has(request.id)) continue;
      this.options.debug?.(`= ${request.type} ${request.id} was lost with the connection: sending it again`);
      this.stats.resent += 1;
      this.signal.sendRequest(request);
    }
  }

  /** Send the requests that waited for a connection, in order. */
  private flush(): void {
    const signal = this.signal;
    if (!signal) return;
    for (const request of this.requests.unsent()) signal.sendRequest(request as PendingRequest);
  }
}
