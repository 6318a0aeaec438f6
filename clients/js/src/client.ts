/**
 * {@link GatewayClient}: one connection to a daily-ws-gateway, in browsers and Node.
 *
 * ```js
 * const client = new GatewayClient({ url: 'ws://127.0.0.1:8765/v1' });
 * client.on('participant-joined', ({ participant }) => console.log(participant.info?.userName));
 * client.on('audio', (frame) => play(frame.pcm));
 * await client.connect();
 * await client.join('local://demo', { audio_in: { sample_rate: 16000 } });
 * ```
 *
 * Requests return promises of their result and reject with typed errors
 * ({@link ProtocolError} carries the protocol's code). The connection has an explicit
 * {@link ConnectionState}; when it drops, a pluggable {@link ReconnectPolicy} decides
 * whether and when to reconnect. A session that was in a room is first **resumed**
 * (PROTOCOL.md, "Resume"): the client sends `resume` with the hello's `resume_token` and
 * the last `seq` it read, and the gateway replays what was missed, so no event is lost and
 * requests already sent get their replies (`resumed` event). If the gateway cannot resume
 * (`resume_failed`: grace period over, replay buffer exceeded), or the drop was not
 * resumable, the client joins (or observes) the same room again with the same parameters;
 * requests already sent then reject with `connection_closed` (their outcome is unknown).
 * Either way the requests queued meanwhile are sent afterwards.
 */

import { CloseCode, ColorFormat, OutboundTrack, SUBPROTOCOL, TOKEN_SUBPROTOCOL_PREFIX } from './constants.js';
import {
  type AudioFrame,
  decodeFrame,
  decodeServerMessage,
  encodeAudioFrame,
  encodeRequest,
  encodeVideoFrame,
  type EventMessage,
  type Hello,
  pcm16Samples,
  type VideoFrame,
} from './codec.js';
import { TypedEmitter } from './emitter.js';
import {
  ClientErrorCode,
  CodecError,
  ConnectionError,
  GatewayError,
  ProtocolError,
  TimeoutError,
} from './errors.js';
import { exponentialBackoff, type ReconnectPolicy } from './reconnect.js';
import type {
  CallJoinedData,
  DialoutSettings,
  DtmfSettings,
  InputSettings,
  JoinedData,
  JoinParams,
  NetworkStats,
  ObserveParams,
  ObserveResult,
  ParamsOf,
  Participant,
  ParticipantCounts,
  PublishingSettings,
  RegisterPhoneParams,
  RemoteParticipantUpdates,
  ResultOf,
  ResumeResult,
  RoomInfo,
  SendAppMessageParams,
  ServerEventMap,
  SipTransferSettings,
  SubscriptionParams,
  SubscriptionProfileSettings,
  SubscriptionProfiles,
  Subscriptions,
  TrackInfo,
} from './wire.js';

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

/** The SDK's own events (protocol events use their protocol names, see {@link ServerEventMap}). */
export const ClientEvent = {
  /** The connection state changed; payload: the new {@link ConnectionState}. */
  ConnectionStateChanged: 'connection-state-changed',
  /** The gateway said hello (on connect and on every reconnect). */
  Hello: 'hello',
  /** Every protocol event, typed or not: `{event, data, seq}`. */
  ServerEvent: 'server-event',
  /** One frame of a participant's audio ({@link ReceivedAudio}). */
  Audio: 'audio',
  /** One video frame ({@link ReceivedVideo}). */
  Video: 'video',
  /** An error not tied to a request of ours (bad frame we sent, unreadable message). */
  ProtocolError: 'protocol-error',
  /** The connection dropped and a retry is scheduled. */
  Reconnecting: 'reconnecting',
  /** A retry succeeded; the session was resumed, or the room joined (or observed) again if it had been. */
  Reconnected: 'reconnected',
  /** A retry resumed the same session: missed events were replayed ({@link ResumeResult}). */
  Resumed: 'resumed',
  /** The connection is gone for good (closed by us, by the gateway, or retries exhausted). */
  Disconnected: 'disconnected',
} as const;

/** One audio frame of a participant's track. */
export interface ReceivedAudio {
  participantId: string;
  source: string;
  track: number;
  seq: number;
  timestampUs: number;
  sampleRate: number;
  channels: number;
  /** PCM16 samples, interleaved (a view into the received message). */
  pcm: Int16Array;
  /** `performance.now()` (or Date.now()) when it arrived. */
  receivedAt: number;
}

export interface ReceivedVideo extends Omit<VideoFrame, 'kind'> {
  participantId: string;
  source: string;
  receivedAt: number;
}

/** A protocol event as logged by the client. */
export interface LoggedEvent {
  event: string;
  data: Record<string, unknown>;
  /** The gateway's sequence number (restarts at 1 on each connection). */
  seq: number;
  /** Position in this client's log, never reused (unlike seq across reconnects). */
  index: number;
}

export interface ClientEvents extends ServerEventMap {
  'connection-state-changed': ConnectionState;
  hello: Hello;
  'server-event': LoggedEvent;
  audio: ReceivedAudio;
  video: ReceivedVideo;
  'protocol-error': GatewayError;
  reconnecting: { attempt: number; delayMs: number; closeCode: number | null };
  reconnected: { hello: Hello; restored: 'resumed' | 'joined' | 'observing' | 'phone' | null; error?: GatewayError };
  resumed: ResumeResult;
  disconnected: { closeCode: number | null; closeReason: string; error?: GatewayError };
}

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

export interface GatewayClientOptions {
  /** The gateway's WebSocket URL. Default `ws://127.0.0.1:8765/v1`. */
  url?: string;
  /** WebSocket class to use (injectable for tests); default: the global one, or `ws` in Node. */
  WebSocket?: WebSocketConstructor;
  /** Extra options for the WebSocket constructor (Node's `ws`: `{headers: {Authorization: 'Bearer <api key>'}}`). */
  webSocketOptions?: unknown;
  /**
   * Gateway access token (`daily-gateway mint-token`, or the `mint-token` request): offered as the
   * subprotocol entry `daily-gateway.token.<token>` next to `daily-gateway.v1`, which works in
   * browsers (they cannot set headers) and in Node (PROTOCOL.md, "Authentication").
   */
  token?: string;
  /** Reconnection policy; `false` never reconnects. Default {@link exponentialBackoff}(). */
  reconnect?: ReconnectPolicy | false;
  /** After reconnecting, join / observe the same room again. Default true. */
  restoreRoom?: boolean;
  /** Reject a request with no reply after this long. Default 30 000 ms. */
  requestTimeoutMs?: number;
  /** Give up connecting (socket open + hello) after this long. Default 10 000 ms. */
  connectTimeoutMs?: number;
  /** Most requests queued while reconnecting. Default 100. */
  maxQueuedRequests?: number;
  /** Events kept in {@link GatewayClient.eventLog} (oldest dropped). Default 1000. */
  eventLogSize?: number;
  /** Audio frames buffered for {@link GatewayClient.audio} iterators (oldest dropped). Default 1000. */
  maxBufferedFrames?: number;
  /** Debug logger: lines prefixed `<` in, `>` out, `=` state. */
  debug?: (line: string) => void;
}

interface Pending {
  type: string;
  resolve: (value: Record<string, unknown>) => void;
  reject: (error: GatewayError) => void;
  timer: ReturnType<typeof setTimeout> | null;
}

interface Queued extends Pending {
  params: Record<string, unknown>;
}

interface Waiter {
  name: string;
  predicate?: (data: Record<string, unknown>) => boolean;
  resolve: (event: LoggedEvent) => void;
}

/** Close codes after which the session is gone (or moved on): reconnecting rejoins, it does not resume. */
const NOT_RESUMABLE: ReadonlySet<number> = new Set([
  CloseCode.NORMAL, CloseCode.GOING_AWAY, CloseCode.PROTOCOL_VIOLATION, CloseCode.IDLE_TIMEOUT,
  CloseCode.REPLACED, CloseCode.ROOM_CLOSED,
]);

const now = () => globalThis.performance?.now() ?? Date.now();

/** One connection to a gateway; one participant (join) or observer (observe) of one room. */
export class GatewayClient extends TypedEmitter<ClientEvents> {
  /** The connection's state. */
  state: ConnectionState = ConnectionState.DISCONNECTED;
  /** The last hello (null before the first connect). */
  hello: Hello | null = null;
  /** The session's id (the same after a resume, a new one after a rejoin). */
  sessionId: string | null = null;
  /** The session's `resume_token` (from its hello; kept across resumes). */
  resumeToken: string | null = null;
  /** Your participant id once joined. */
  participantId: string | null = null;
  /** The room joined or observed, and how (a phone in a call: joined). */
  room: { url: string; mode: 'joined' | 'observing' } | null = null;
  /** The number registered with `register-phone` (PROTOCOL.md 5.9), and the call under way. */
  phone: { number: string; callId: string | null } | null = null;
  /** Tracks that currently reach this client, by track id. */
  readonly tracks = new Map<number, TrackInfo>();
  /** The most recent events, oldest first. */
  readonly eventLog: LoggedEvent[] = [];
  /** Sequence number of the last text frame from the gateway. */
  lastSeq = 0;
  /** Close code and reason of the last connection. */
  closeCode: number | null = null;
  closeReason = '';
  /** Counters: audio frames sent and dropped (sent while not connected). */
  readonly stats = { audioFramesSent: 0, audioFramesDropped: 0, audioFramesReceived: 0, reconnects: 0, resumes: 0 };

  readonly url: string;
  private readonly options: Required<Omit<GatewayClientOptions, 'WebSocket' | 'webSocketOptions' | 'debug' | 'url' | 'token'>> &
    Pick<GatewayClientOptions, 'WebSocket' | 'webSocketOptions' | 'debug' | 'token'>;
  private ws: WebSocketLike | null = null;
  private nextId = 1;
  private pending = new Map<string, Pending>();
  private queue: Queued[] = [];
  private waiters: Waiter[] = [];
  private claimed = new Set<number>();
  private logIndex = 0;
  private outSeq = 0;
  private videoSeq = 0;
  private audioOut = { sampleRate: 24000, channels: 1 };
  /** What to restore after a reconnect: the room joined or observed, or the phone registered. */
  private roomParams: { type: 'join' | 'observe' | 'register-phone'; params: Record<string, unknown> } | null = null;
  private userClosed = false;
  private connecting: Promise<Hello> | null = null;
  private cancelSleep: (() => void) | null = null;
  private audioSinks = new Set<(frame: ReceivedAudio | null) => void>();
  /** Set when a drop may be resumed: the session's token and the last seq read from it. */
  private resumeFrom: { token: string; lastSeq: number; sessionId: string | null; graceMs: number } | null = null;

  constructor(options: GatewayClientOptions = {}) {
    super();
    this.url = options.url ?? 'ws://127.0.0.1:8765/v1';
    this.options = {
      reconnect: options.reconnect ?? exponentialBackoff(),
      restoreRoom: options.restoreRoom ?? true,
      requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      maxQueuedRequests: options.maxQueuedRequests ?? 100,
      eventLogSize: options.eventLogSize ?? 1000,
      maxBufferedFrames: options.maxBufferedFrames ?? 1000,
      WebSocket: options.WebSocket,
      webSocketOptions: options.webSocketOptions,
      debug: options.debug,
      token: options.token,
    };
  }

  /** Connect and return a client in one step. */
  static async connect(url?: string, options: Omit<GatewayClientOptions, 'url'> = {}): Promise<GatewayClient> {
    const client = new GatewayClient({ ...options, url });
    await client.connect();
    return client;
  }

  // ---------------------------------------------------------------- connection

  /** Open the connection and wait for the gateway's hello. Initial failures reject (no retry). */
  async connect(): Promise<Hello> {
    if (this.state === ConnectionState.CONNECTED && this.hello) return this.hello;
    if (this.connecting) return this.connecting;
    this.userClosed = false;
    this.setState(ConnectionState.CONNECTING);
    this.connecting = this.open();
    try {
      const hello = await this.connecting;
      this.setState(ConnectionState.CONNECTED);
      this.flushQueue(); // requests made while connecting
      return hello;
    } catch (err) {
      this.rejectQueued(err as GatewayError);
      this.setState(ConnectionState.DISCONNECTED);
      throw err;
    } finally {
      this.connecting = null;
    }
  }

  /** Close the connection (the gateway leaves the room); no reconnect. */
  async close(code: number = CloseCode.NORMAL, reason = 'client closed'): Promise<void> {
    this.userClosed = true;
    this.cancelSleep?.();
    const ws = this.ws;
    this.rejectQueued(new ConnectionError(ClientErrorCode.NOT_CONNECTED, 'the client was closed'));
    if (ws && ws.readyState <= 1) {
      const closed = new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 2000);
        const previous = ws.onclose;
        ws.onclose = (event) => {
          clearTimeout(timer);
          previous?.(event);
          resolve();
        };
      });
      ws.close(code, reason);
      await closed;
    }
    if (this.state !== ConnectionState.DISCONNECTED) {
      this.setState(ConnectionState.DISCONNECTED);
      this.emit('disconnected', { closeCode: this.closeCode, closeReason: this.closeReason });
    }
  }

  /** Bytes queued in the WebSocket, not yet sent (back-pressure for audio). */
  get bufferedAmount(): number {
    return this.ws?.bufferedAmount ?? 0;
  }

  private setState(state: ConnectionState): void {
    if (state === this.state) return;
    this.state = state;
    this.log(`= state ${state}`);
    this.emit('connection-state-changed', state);
  }

  private log(line: string): void {
    this.options.debug?.(line);
  }

  private webSocketClass(): WebSocketConstructor {
    const ctor = this.options.WebSocket ?? defaultWebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!ctor) {
      throw new ConnectionError(
        ClientErrorCode.CONNECT_FAILED,
        'no WebSocket implementation: pass options.WebSocket, or import the package from Node (it uses `ws`)',
      );
    }
    return ctor;
  }

  /** Open one socket and resolve with its hello; afterwards the socket's events drive the client. */
  private open(): Promise<Hello> {
    return new Promise<Hello>((resolve, reject) => {
      let ws: WebSocketLike;
      try {
        const Ctor = this.webSocketClass();
        const protocols = this.options.token ? [SUBPROTOCOL, `${TOKEN_SUBPROTOCOL_PREFIX}${this.options.token}`] : [SUBPROTOCOL];
        ws = this.options.webSocketOptions !== undefined
          ? new Ctor(this.url, protocols, this.options.webSocketOptions)
          : new Ctor(this.url, protocols);
      } catch (err) {
        reject(err instanceof GatewayError ? err : new ConnectionError(ClientErrorCode.CONNECT_FAILED, `cannot open ${this.url}: ${err}`, { cause: err }));
        return;
      }
      ws.binaryType = 'arraybuffer';
      this.ws = ws;
      let greeted = false;
      const fail = (error: ConnectionError) => {
        clearTimeout(timer);
        if (this.ws === ws) this.ws = null;
        try {
          ws.close();
        } catch {
          /* already closed */
        }
        reject(error);
      };
      const timer = setTimeout(
        () => fail(new ConnectionError(ClientErrorCode.CONNECT_FAILED, `no hello from ${this.url} within ${this.options.connectTimeoutMs} ms`)),
        this.options.connectTimeoutMs,
      );
      ws.onerror = () => {
        /* the close event that follows carries the code */
      };
      ws.onclose = (event) => {
        if (!greeted) {
          clearTimeout(timer);
          if (this.ws === ws) this.ws = null;
          this.closeCode = event.code;
          this.closeReason = event.reason;
          reject(new ConnectionError(
            ClientErrorCode.CONNECT_FAILED,
            `connection to ${this.url} closed before hello (${event.code}${event.reason ? ` ${event.reason}` : ''})`,
            { closeCode: event.code, closeReason: event.reason },
          ));
          return;
        }
        if (this.ws === ws) this.onClosed(event.code, event.reason);
      };
      ws.onmessage = (event) => {
        if (greeted) {
          this.onMessage(event.data);
          return;
        }
        if (typeof event.data !== 'string') {
          fail(new ConnectionError(ClientErrorCode.CONNECT_FAILED, 'the gateway sent media before hello'));
          return;
        }
        let message;
        try {
          message = decodeServerMessage(event.data);
        } catch (err) {
          fail(new ConnectionError(ClientErrorCode.CONNECT_FAILED, `unreadable hello: ${(err as Error).message}`, { cause: err }));
          return;
        }
        if (message.type !== 'hello') {
          fail(new ConnectionError(ClientErrorCode.CONNECT_FAILED, `expected hello, got ${message.type}`));
          return;
        }
        greeted = true;
        clearTimeout(timer);
        this.hello = message;
        this.sessionId = message.session_id;
        this.resumeToken = typeof message.extra.resume_token === 'string' ? message.extra.resume_token : null;
        this.lastSeq = message.seq;
        this.closeCode = null;
        this.closeReason = '';
        this.log(`< hello ${message.session_id} ${message.protocol}`);
        this.emit('hello', message);
        resolve(message);
      };
    });
  }

  private onClosed(code: number, reason: string): void {
    this.ws = null;
    this.closeCode = code;
    this.closeReason = reason;
    this.log(`= closed ${code} ${reason}`);
    const lost = new ConnectionError(ClientErrorCode.CONNECTION_CLOSED, `connection closed (${code}${reason ? ` ${reason}` : ''})`, {
      closeCode: code,
      closeReason: reason,
    });
    const resumable = !this.userClosed && this.options.reconnect !== false && this.resumeToken !== null
      && this.room !== null && !NOT_RESUMABLE.has(code);
    this.resumeFrom = resumable
      ? { token: this.resumeToken!, lastSeq: this.lastSeq, sessionId: this.sessionId, graceMs: Number(this.hello?.limits.resume_grace_ms ?? 0) }
      : null;
    if (!resumable) this.dropSession(lost);
    if (this.userClosed || this.options.reconnect === false) {
      this.giveUp(lost);
      return;
    }
    const delay = this.options.reconnect.nextDelayMs({ attempt: 1, elapsedMs: 0, closeCode: code });
    if (delay == null) {
      this.giveUp(lost);
      return;
    }
    this.setState(ConnectionState.RECONNECTING);
    void this.reconnectLoop(delay, code);
  }

  /** The session is gone (not resumable, or the resume failed): pending replies will not come. */
  private dropSession(error: GatewayError): void {
    for (const [id, pending] of this.pending) {
      if (pending.timer) clearTimeout(pending.timer);
      pending.reject(error);
      this.pending.delete(id);
    }
    this.tracks.clear();
    this.participantId = null;
    if (this.phone) this.phone.callId = null;
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
    // Frames after the reply carry the session's numbering again, from lastSeq + 1.
    try {
      const result = (await this.send('resume', { resume_token: from.token, last_seq: from.lastSeq }, this.options.requestTimeoutMs)) as unknown as ResumeResult;
      this.sessionId = result.session_id;
      this.resumeToken = from.token;
      this.resumeFrom = null;
      this.stats.resumes += 1;
      this.log(`= resumed ${result.session_id} from seq ${from.lastSeq} (${result.replayed} replayed)`);
      this.emit('resumed', result);
      return true;
    } catch (err) {
      if (err instanceof ConnectionError) throw err;
      this.log(`= resume failed: ${(err as Error).message}`);
      this.resumeFrom = null;
      this.sessionId = fresh.sessionId;
      this.resumeToken = fresh.token;
      if (err instanceof GatewayError) this.emit('protocol-error', err);
      return false;
    }
  }

  private giveUp(error: GatewayError): void {
    this.resumeFrom = null;
    this.dropSession(error);
    this.rejectQueued(error);
    this.room = null;
    this.roomParams = null;
    this.phone = null;
    if (this.state !== ConnectionState.DISCONNECTED) {
      this.setState(ConnectionState.DISCONNECTED);
      this.emit('disconnected', { closeCode: this.closeCode, closeReason: this.closeReason, error });
    }
    for (const sink of this.audioSinks) sink(null);
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

  private async reconnectLoop(firstDelay: number, firstCode: number | null): Promise<void> {
    const policy = this.options.reconnect as ReconnectPolicy;
    const droppedAt = now();
    let attempt = 1;
    let delay: number | null = firstDelay;
    let closeCode = firstCode;
    while (delay != null) {
      this.log(`= reconnecting in ${delay} ms (attempt ${attempt})`);
      this.emit('reconnecting', { attempt, delayMs: delay, closeCode });
      if (!(await this.sleep(delay)) || this.userClosed) return;
      try {
        const hello = await this.open();
        this.stats.reconnects += 1;
        let restored: { restored: 'resumed' | 'joined' | 'observing' | 'phone' | null; error?: GatewayError };
        if (await this.resume(droppedAt)) {
          restored = { restored: 'resumed' };
        } else {
          this.dropSession(new ConnectionError(ClientErrorCode.CONNECTION_CLOSED, 'the session could not be resumed'));
          restored = await this.restore();
        }
        this.setState(ConnectionState.CONNECTED);
        this.flushQueue();
        this.emit('reconnected', { hello, ...restored });
        return;
      } catch (err) {
        if (this.userClosed) return;
        closeCode = err instanceof ConnectionError ? err.closeCode : null;
        attempt += 1;
        delay = policy.nextDelayMs({ attempt, elapsedMs: now() - droppedAt, closeCode });
      }
    }
    this.giveUp(new ConnectionError(ClientErrorCode.CONNECTION_CLOSED, `reconnecting to ${this.url} failed after ${attempt - 1} attempts`, {
      closeCode,
    }));
  }

  /** Join or observe again after a reconnect (a new session on the gateway). */
  private async restore(): Promise<{ restored: 'joined' | 'observing' | 'phone' | null; error?: GatewayError }> {
    const saved = this.roomParams;
    if (!saved || !this.options.restoreRoom) {
      this.room = null;
      this.roomParams = null;
      return { restored: null };
    }
    try {
      await this.send(saved.type, saved.params, this.options.requestTimeoutMs);
      // A phone registers its number again; the call it was in ended with the old session.
      return { restored: saved.type === 'join' ? 'joined' : saved.type === 'observe' ? 'observing' : 'phone' };
    } catch (err) {
      this.room = null;
      this.roomParams = null;
      const error = err instanceof GatewayError ? err : new GatewayError(ClientErrorCode.CONNECTION_CLOSED, String(err));
      this.emit('protocol-error', error);
      if (err instanceof ConnectionError) throw err;
      return { restored: null, error };
    }
  }

  // ---------------------------------------------------------------- requests

  /**
   * Send a request and resolve with its result.
   *
   * While reconnecting the request is queued (up to `maxQueuedRequests`) and sent once
   * the connection is back; while disconnected it rejects with `not_connected`.
   *
   * @throws ProtocolError the gateway's error reply (its `code` is an {@link ErrorCode}).
   * @throws ConnectionError not_connected, queue_full, connection_closed.
   * @throws TimeoutError request_timeout.
   */
  request<T extends string>(type: T, params?: ParamsOf<T>, options: { timeoutMs?: number } = {}): Promise<ResultOf<T>> {
    const timeoutMs = options.timeoutMs ?? this.options.requestTimeoutMs;
    const body = (params ?? {}) as Record<string, unknown>;
    if (this.state === ConnectionState.CONNECTED) {
      return this.send(type, body, timeoutMs) as Promise<ResultOf<T>>;
    }
    if (this.state === ConnectionState.RECONNECTING || this.state === ConnectionState.CONNECTING) {
      if (this.queue.length >= this.options.maxQueuedRequests) {
        return Promise.reject(new ConnectionError(ClientErrorCode.QUEUE_FULL, `${this.queue.length} requests are already queued`));
      }
      return new Promise<ResultOf<T>>((resolve, reject) => {
        const entry: Queued = {
          type,
          params: body,
          resolve: resolve as (value: Record<string, unknown>) => void,
          reject,
          timer: setTimeout(() => {
            this.queue = this.queue.filter((q) => q !== entry);
            reject(new TimeoutError(ClientErrorCode.REQUEST_TIMEOUT, `${type}: not sent within ${timeoutMs} ms (still ${this.state})`));
          }, timeoutMs),
        };
        this.queue.push(entry);
      });
    }
    return Promise.reject(new ConnectionError(ClientErrorCode.NOT_CONNECTED, `${type}: not connected (call connect())`));
  }

  private send(type: string, params: Record<string, unknown>, timeoutMs: number): Promise<Record<string, unknown>> {
    const ws = this.ws;
    if (!ws) return Promise.reject(new ConnectionError(ClientErrorCode.NOT_CONNECTED, `${type}: not connected`));
    const id = `r${this.nextId++}`;
    return new Promise((resolve, reject) => {
      const pending: Pending = {
        type,
        resolve: (result) => {
          this.afterResult(type, params, result);
          resolve(result);
        },
        reject,
        timer: setTimeout(() => {
          this.pending.delete(id);
          reject(new TimeoutError(ClientErrorCode.REQUEST_TIMEOUT, `${type}: no reply within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.pending.set(id, pending);
      this.log(`> ${type} ${id}`);
      try {
        ws.send(encodeRequest(type, id, params));
      } catch (err) {
        clearTimeout(pending.timer!);
        this.pending.delete(id);
        reject(new ConnectionError(ClientErrorCode.CONNECTION_CLOSED, `${type}: send failed: ${err}`, { cause: err }));
      }
    });
  }

  private afterResult(type: string, params: Record<string, unknown>, result: Record<string, unknown>): void {
    if (type === 'join') {
      this.participantId = String(result.participant_id ?? '');
      this.room = { url: String(result.room_url ?? params.room_url), mode: 'joined' };
      this.roomParams = { type: 'join', params };
      this.setAudioOut(params);
    } else if (type === 'observe') {
      this.room = { url: String(result.room_url ?? params.room_url), mode: 'observing' };
      this.roomParams = { type: 'observe', params };
    } else if (type === 'register-phone') {
      this.phone = { number: String(result.number ?? params.number), callId: null };
      this.roomParams = { type: 'register-phone', params };
      this.setAudioOut(params);
    } else if (type === 'answer-call' || type === 'dial') {
      // In a call a phone is a participant like any other, with register-phone's media.
      this.participantId = String(result.participant_id ?? '');
      this.room = { url: String(result.room_url ?? ''), mode: 'joined' };
      if (this.phone) this.phone.callId = String(result.call_id ?? params.call_id ?? '');
    } else if (type === 'leave') {
      this.room = null;
      // A phone's leave hangs up; the number stays registered for the next call.
      if (this.phone) this.phone.callId = null;
      else this.roomParams = null;
    }
  }

  private setAudioOut(params: Record<string, unknown>): void {
    const out = (params.audio_out ?? {}) as { sample_rate?: number; channels?: number };
    this.audioOut = { sampleRate: out.sample_rate ?? 24000, channels: out.channels ?? 1 };
  }

  private flushQueue(): void {
    const queued = this.queue;
    this.queue = [];
    for (const entry of queued) {
      if (entry.timer) clearTimeout(entry.timer);
      this.send(entry.type, entry.params, this.options.requestTimeoutMs).then(entry.resolve, entry.reject);
    }
  }

  private rejectQueued(error: GatewayError): void {
    const queued = this.queue;
    this.queue = [];
    for (const entry of queued) {
      if (entry.timer) clearTimeout(entry.timer);
      entry.reject(error);
    }
  }

  /** Join a room as a participant. Resolves with the joined data (your id, who is there). */
  join(roomUrl: string, params: JoinParams = {}): Promise<JoinedData> {
    return this.request('join', { ...params, room_url: roomUrl });
  }

  /** Observe a room read-only: its events, and per `params.audio` VAD, levels and audio. */
  observe(roomUrl: string, params: ObserveParams = {}): Promise<ObserveResult> {
    return this.request('observe', { ...params, room_url: roomUrl });
  }

  /** Leave the room (or stop observing). The connection stays open. */
  async leave(): Promise<void> {
    await this.request('leave');
  }

  /** Live rooms of the gateway with their participants. */
  async listRooms(backend?: 'local' | 'daily'): Promise<RoomInfo[]> {
    return (await this.request('list-rooms', backend ? { backend } : {})).rooms;
  }

  /** Send an app message to everyone, or to one participant. */
  async sendAppMessage(message: unknown, options: { participantId?: string; urgent?: boolean } = {}): Promise<void> {
    const params: SendAppMessageParams = { message };
    if (options.participantId) params.participant_id = options.participantId;
    if (options.urgent) params.urgent = true;
    await this.request('send-app-message', params);
  }

  /** Everyone in the room, by id. */
  async getParticipants(): Promise<Record<string, Participant>> {
    return (await this.request('get-participants')).participants;
  }

  /** How many participants the room has: `present` (you included) and `hidden`. */
  getParticipantCounts(): Promise<ParticipantCounts> {
    return this.request('get-participant-counts');
  }

  /** The room's active speaker, or null. */
  async getActiveSpeaker(): Promise<Participant | null> {
    return (await this.request('get-active-speaker')).participant;
  }

  /** Your network statistics in Daily's shape (local rooms: real byte counts, no loss). */
  getNetworkStats(): Promise<NetworkStats> {
    return this.request('get-network-stats');
  }

  /** The session's counters. */
  getStats(): Promise<Record<string, unknown>> {
    return this.request('get-stats');
  }

  /** Drop the audio still buffered for playout (barge-in); resolves with what was dropped. */
  clearAudio(): Promise<ResultOf<'clear-audio'>> {
    return this.request('clear-audio');
  }

  /** Place a mark after the audio sent so far; a `playout-mark` event says when it played (or was cleared). */
  markAudio(name: string): Promise<ResultOf<'mark-audio'>> {
    return this.request('mark-audio', { name });
  }

  /** Start transcribing the room (Daily's settings; the local backend recognises offline). */
  startTranscription(settings?: Record<string, unknown>): Promise<ResultOf<'start-transcription'>> {
    return this.request('start-transcription', settings ? { settings } : {});
  }

  /** Stop transcribing. */
  async stopTranscription(instanceId?: string): Promise<void> {
    await this.request('stop-transcription', instanceId ? { instance_id: instanceId } : {});
  }

  /** Start recording the room. */
  startRecording(params: ParamsOf<'start-recording'> = {}): Promise<ResultOf<'start-recording'>> {
    return this.request('start-recording', params);
  }

  /** Stop a recording. */
  async stopRecording(streamId?: string): Promise<void> {
    await this.request('stop-recording', streamId ? { stream_id: streamId } : {});
  }

  /** Change a recording's settings (Daily's `update_settings`, e.g. its layout). */
  async updateRecording(updateSettings: Record<string, unknown>, streamId?: string): Promise<void> {
    await this.request('update-recording', streamId ? { update_settings: updateSettings, stream_id: streamId } : { update_settings: updateSettings });
  }

  // Permissions and remote control (PROTOCOL.md 5.7): admin rights needed.

  /** Change other participants' permissions and inputs (participant id -> changes). */
  async updateRemoteParticipants(remoteParticipants: RemoteParticipantUpdates): Promise<void> {
    await this.request('update-remote-participants', { remote_participants: remoteParticipants });
  }

  /** Remove participants from the room. */
  async ejectRemoteParticipants(ids: string[]): Promise<void> {
    await this.request('eject-remote-participants', { ids });
  }

  /** Post to Daily Prebuilt's chat (local rooms: an `app-message` in Prebuilt's chat shape). */
  async sendPrebuiltChatMessage(message: string, userName?: string): Promise<void> {
    await this.request('send-prebuilt-chat-message', userName ? { message, user_name: userName } : { message });
  }

  // What this participant sends and receives (PROTOCOL.md 5.8).

  /** Turn the microphone or camera input on or off; resolves with the resulting settings. */
  async updateInputs(inputSettings: InputSettings): Promise<InputSettings> {
    return (await this.request('update-inputs', { input_settings: inputSettings })).input_settings;
  }

  /** Start or stop publishing a source; resolves with the resulting settings. */
  async updatePublishing(publishingSettings: PublishingSettings): Promise<PublishingSettings> {
    return (await this.request('update-publishing', { publishing_settings: publishingSettings })).publishing_settings;
  }

  /** Subscribe to, stage or unsubscribe from participants' sources; resolves with Daily's `subscriptions()`. */
  async updateSubscriptions(params: SubscriptionParams): Promise<Subscriptions> {
    return (await this.request('update-subscriptions', params)).subscriptions;
  }

  /** Define or change subscription profiles (local rooms: `base` only); resolves with every profile. */
  async updateSubscriptionProfiles(profileSettings: SubscriptionProfileSettings): Promise<SubscriptionProfiles> {
    return (await this.request('update-subscription-profiles', { profile_settings: profileSettings })).subscription_profiles;
  }

  // Telephony (PROTOCOL.md 5.9): the bot's side.

  /** Call a phone number or SIP URI into the room; resolves with the call's session id (`dialout-*` events follow). */
  async startDialout(settings: DialoutSettings): Promise<string> {
    return (await this.request('start-dialout', { settings })).session_id;
  }

  /** Hang up a dial-out call (its session id is the phone participant's id). */
  async stopDialout(sessionId: string): Promise<void> {
    await this.request('stop-dialout', { participant_id: sessionId });
  }

  /**
   * Send DTMF tones (`0-9`, `A-D`, `*`, `#`, 1 to 20 of them). A bot sends them to a call
   * (its latest connected one unless `sessionId` is given); a phone (`registerPhone`) sends
   * them from its keypad to everyone in its call. Resolves with the call's session id.
   */
  async sendDtmf(tones: string | DtmfSettings, options: Omit<DtmfSettings, 'tones'> = {}): Promise<string> {
    const settings = typeof tones === 'string' ? { ...options, tones } : tones;
    return (await this.request('send-dtmf', { settings })).session_id;
  }

  /** Move an answered call to another endpoint (SIP transfer). */
  async sipCallTransfer(settings: SipTransferSettings): Promise<void> {
    await this.request('sip-call-transfer', { settings });
  }

  /** Refer an answered call to another endpoint (SIP REFER). */
  async sipRefer(settings: SipTransferSettings): Promise<void> {
    await this.request('sip-refer', { settings });
  }

  // Telephony: the phone's side (a simulated phone of local rooms).

  /**
   * Make this connection a phone with `number` (only on a fresh connection): calls to it
   * ring as `phone-ringing`. `media` (as in `join`) applies to every call. After a
   * reconnect the number is registered again.
   */
  async registerPhone(number: string, media: Omit<RegisterPhoneParams, 'number'> = {}): Promise<string> {
    return (await this.request('register-phone', { ...media, number })).number;
  }

  /** Answer a ringing call: the phone joins its room; resolves as `join` does, plus `call_id`. */
  answerCall(callId: string): Promise<CallJoinedData> {
    return this.request('answer-call', { call_id: callId });
  }

  /** Decline a ringing call (the dialer gets `dialout-error`). */
  async rejectCall(callId: string): Promise<void> {
    await this.request('reject-call', { call_id: callId });
  }

  /** Call into a room that takes dial-in (`sip:<room>@sip.local.gateway` or `local://<room>`); hang up with `leave()`. */
  dial(to: string): Promise<CallJoinedData> {
    return this.request('dial', { to });
  }

  /** Round trip; resolves with the gateway's clock in ms. */
  async ping(): Promise<number> {
    return (await this.request('ping')).time_ms;
  }

  // ---------------------------------------------------------------- media out

  /**
   * Publish PCM16 audio in the format negotiated at join (`audio_out`), as frames of at
   * most `chunkMs`. The gateway paces it into the room, so bursts are fine. Returns
   * false (and counts the frames as dropped) when not connected: live audio is never queued.
   */
  sendAudio(pcm: Int16Array, options: { chunkMs?: number; timestampUs?: number } = {}): boolean {
    const ws = this.ws;
    const { sampleRate, channels } = this.audioOut;
    const step = Math.max(channels, Math.floor((sampleRate * channels * (options.chunkMs ?? 100)) / 1000));
    const frames = Math.ceil(pcm.length / step);
    if (!ws || this.state !== ConnectionState.CONNECTED) {
      this.stats.audioFramesDropped += frames;
      return false;
    }
    for (let offset = 0; offset < pcm.length; offset += step) {
      this.outSeq = (this.outSeq + 1) >>> 0;
      ws.send(
        encodeAudioFrame({
          track: OutboundTrack.MICROPHONE,
          seq: this.outSeq,
          timestampUs: options.timestampUs,
          sampleRate,
          channels,
          payload: pcm.subarray(offset, Math.min(pcm.length, offset + step)),
        }),
      );
      this.stats.audioFramesSent += 1;
    }
    return true;
  }

  /**
   * Publish one raw video frame as `camera` (track 2) or `screenVideo` (track 3). Returns
   * false (dropped, not queued) when not connected.
   */
  sendVideo(
    pixels: Uint8Array,
    options: { width: number; height: number; colorFormat?: keyof typeof ColorFormat; source?: 'camera' | 'screenVideo'; timestampUs?: number },
  ): boolean {
    const ws = this.ws;
    if (!ws || this.state !== ConnectionState.CONNECTED) return false;
    this.videoSeq = (this.videoSeq + 1) >>> 0;
    ws.send(
      encodeVideoFrame({
        track: options.source === 'screenVideo' ? OutboundTrack.SCREEN_VIDEO : OutboundTrack.CAMERA,
        seq: this.videoSeq,
        timestampUs: options.timestampUs,
        width: options.width,
        height: options.height,
        colorFormat: ColorFormat[options.colorFormat ?? 'RGB'],
        payload: pixels,
      }),
    );
    return true;
  }

  /** Send a raw frame as is (for tests of bad input). */
  sendRaw(data: string | Uint8Array): void {
    if (!this.ws) throw new ConnectionError(ClientErrorCode.NOT_CONNECTED, 'not connected');
    this.ws.send(data);
  }

  // ---------------------------------------------------------------- events and media in

  /**
   * The first event `name` (matching `predicate`) not returned by an earlier `waitFor`,
   * looking at events already received too, so there is no race with the request that
   * causes it.
   */
  waitFor<K extends keyof ServerEventMap>(
    name: K,
    predicate?: (data: ServerEventMap[K]) => boolean,
    options: { timeoutMs?: number } = {},
  ): Promise<ServerEventMap[K]> {
    return this.waitForEvent(name, predicate as ((data: Record<string, unknown>) => boolean) | undefined, options).then(
      (event) => event.data as unknown as ServerEventMap[K],
    );
  }

  /** Like {@link waitFor}, resolving with the logged event (name, data, seq, index). */
  waitForEvent(name: string, predicate?: (data: Record<string, unknown>) => boolean, options: { timeoutMs?: number } = {}): Promise<LoggedEvent> {
    for (const event of this.eventLog) {
      if (event.event === name && !this.claimed.has(event.index) && (!predicate || predicate(event.data))) {
        this.claimed.add(event.index);
        return Promise.resolve(event);
      }
    }
    const timeoutMs = options.timeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        name,
        predicate,
        resolve: (event) => {
          clearTimeout(timer);
          resolve(event);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new TimeoutError(ClientErrorCode.WAIT_TIMEOUT, `no ${name} event within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Received audio frames, oldest first, from now until the client disconnects (bounded buffer). */
  async *audio(): AsyncIterableIterator<ReceivedAudio> {
    const buffer: ReceivedAudio[] = [];
    let wake: (() => void) | null = null;
    let done = false;
    const sink = (frame: ReceivedAudio | null) => {
      if (frame === null) done = true;
      else {
        buffer.push(frame);
        if (buffer.length > this.options.maxBufferedFrames) buffer.shift();
      }
      wake?.();
    };
    this.audioSinks.add(sink);
    try {
      while (true) {
        while (buffer.length) yield buffer.shift()!;
        if (done) return;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = null;
      }
    } finally {
      this.audioSinks.delete(sink);
    }
  }

  /** Collect `ms` of wall time of received audio (one participant's, or everyone's), concatenated. */
  record(ms: number, options: { participantId?: string } = {}): Promise<Int16Array> {
    const chunks: Int16Array[] = [];
    const off = this.on('audio', (frame) => {
      if (!options.participantId || frame.participantId === options.participantId) chunks.push(frame.pcm.slice());
    });
    return new Promise((resolve) =>
      setTimeout(() => {
        off();
        const out = new Int16Array(chunks.reduce((n, c) => n + c.length, 0));
        let offset = 0;
        for (const chunk of chunks) {
          out.set(chunk, offset);
          offset += chunk.length;
        }
        resolve(out);
      }, ms),
    );
  }

  private onMessage(data: unknown): void {
    if (typeof data === 'string') this.onText(data);
    else if (data instanceof ArrayBuffer) this.onBinary(data);
    else if (ArrayBuffer.isView(data)) this.onBinary(data);
  }

  private onText(text: string): void {
    let message;
    try {
      message = decodeServerMessage(text);
    } catch (err) {
      this.emit('protocol-error', err as CodecError);
      return;
    }
    this.lastSeq = message.seq;
    switch (message.type) {
      case 'reply': {
        const pending = message.id ? this.pending.get(message.id) : undefined;
        if (pending) {
          this.pending.delete(message.id!);
          if (pending.timer) clearTimeout(pending.timer);
          this.log(`< reply ${message.id} ${message.ok ? 'ok' : message.error?.code}`);
          if (message.ok) pending.resolve(message.result ?? {});
          else pending.reject(new ProtocolError(message.error!, message.id));
        } else if (!message.ok) {
          this.emit('protocol-error', new ProtocolError(message.error!, message.id));
        }
        break;
      }
      case 'event':
        this.onEvent(message);
        break;
      case 'error':
        this.log(`< error ${message.error.code}`);
        this.emit('protocol-error', new ProtocolError(message.error));
        break;
      default:
        break;
    }
  }

  private onEvent(message: EventMessage): void {
    const { event, data, seq } = message;
    this.log(`< event ${event}`);
    if (event === 'track-started') this.tracks.set(data.track as number, data as unknown as TrackInfo);
    else if (event === 'joined') this.participantId = String(data.participant_id ?? this.participantId);
    else if (event === 'left') {
      this.room = null;
      // The gateway shutting down (or failing) is no reason to stay out: reconnecting
      // restores the room. Leaving or being ejected is.
      const reason = (data as { reason?: string }).reason;
      if ((reason === 'left' || reason === 'ejected') && !this.phone) this.roomParams = null;
    } else if (event === 'call-ended' && this.phone && this.phone.callId === data.call_id) this.phone.callId = null;
    const logged: LoggedEvent = { event, data, seq, index: ++this.logIndex };
    this.eventLog.push(logged);
    if (this.eventLog.length > this.options.eventLogSize) {
      const dropped = this.eventLog.shift()!;
      this.claimed.delete(dropped.index);
    }
    for (const waiter of this.waiters) {
      if (waiter.name === event && (!waiter.predicate || waiter.predicate(data))) {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        this.claimed.add(logged.index);
        waiter.resolve(logged);
        break;
      }
    }
    this.emit('server-event', logged);
    this.emit(event as keyof ServerEventMap, data as never);
    if (event === 'track-stopped') this.tracks.delete(data.track as number);
  }

  private onBinary(data: ArrayBuffer | ArrayBufferView): void {
    let frame;
    try {
      frame = decodeFrame(data);
    } catch (err) {
      this.emit('protocol-error', err as CodecError);
      return;
    }
    const info = this.tracks.get(frame.track);
    const receivedAt = now();
    if (frame.kind === 'audio') {
      this.stats.audioFramesReceived += 1;
      const received: ReceivedAudio = {
        participantId: info?.participant_id ?? '',
        source: info?.source ?? '',
        track: frame.track,
        seq: frame.seq,
        timestampUs: frame.timestampUs,
        sampleRate: frame.sampleRate,
        channels: frame.channels,
        pcm: pcm16Samples(frame as AudioFrame),
        receivedAt,
      };
      this.emit('audio', received);
      for (const sink of this.audioSinks) sink(received);
    } else {
      const { kind: _kind, ...rest } = frame;
      this.emit('video', { ...rest, participantId: info?.participant_id ?? '', source: info?.source ?? '', receivedAt });
    }
  }
}
