/// <reference lib="esnext.disposable" preserve="true" />
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
 * The client is a facade over three layers: {@link SignalConnection} (one socket: hello,
 * frames, replies), {@link Session} (the connection state machine: reconnect, resume,
 * requests across connections) and {@link RoomModel} (the session's state, participant id,
 * room, phone, tracks). Requests return promises of their result and reject with typed
 * errors ({@link ProtocolError} carries the protocol's code). When the connection drops, a
 * pluggable {@link ReconnectPolicy} decides whether and when to reconnect; a session that
 * was in a room is **resumed** (PROTOCOL.md, "Resume"): the gateway replays what was
 * missed, requests the gateway never got are sent again, and the others get their replies.
 * If the gateway cannot resume, the client joins (or observes) the same room again with the
 * same parameters; requests already sent then reject with `connection_closed`.
 */

import type { Hello, MediaFrame } from './codec.js';
import { CloseCode } from './constants.js';
import { TypedEmitter } from './emitter.js';
import { ConnectionError, ClientErrorCode, GatewayError } from './errors.js';
import {
  type ClientEvents,
  EventLog,
  type LoggedEvent,
  type SdkEvents,
  type ServerEvent,
  type UnknownServerEvent,
  type WaitOptions,
  waitWithTimeout,
} from './events.js';
import { AudioStream, type AudioStreamOptions, MediaSender, type ReceivedAudio, receivedFrame, type SendAudioOptions, type SendVideoOptions } from './media.js';
import { AsyncQueue } from './queue.js';
import { exponentialBackoff, type ReconnectPolicy } from './reconnect.js';
import { RoomModel, type SessionState } from './room.js';
import { ConnectionState, type Restored, Session } from './session.js';
import type { WebSocketConstructor } from './socket.js';
import type {
  AudioBufferState,
  CallJoinedData,
  DialoutSettings,
  DtmfSettings,
  HistoryEntry,
  HistoryRoom,
  HistorySession,
  InputSettings,
  JoinOptions,
  NetworkStats,
  ObserveOptions,
  ObserveResult,
  ParamsOf,
  ParticipantCounts,
  PhoneMediaOptions,
  PublishingSettings,
  RemoteParticipantUpdates,
  RequestArgs,
  RequestOptions,
  ResultOf,
  RoomInfo,
  SessionStats,
  SipTransferSettings,
  SubscriptionParams,
  SubscriptionProfileSettings,
  SubscriptionProfiles,
  Subscriptions,
  TrackInfo,
  TurnStats,
} from './types.js';
import { KNOWN_EVENTS, type JoinedData, type Participant, type PlayoutMarkData, type RequestType, type SendAppMessageParams, type ServerEventMap } from './wire.js';

export interface GatewayClientOptions {
  /** The gateway's WebSocket URL. Default `ws://127.0.0.1:8765/v1`. */
  url?: string;
  /** WebSocket class to use (injectable for tests); default: `ws` from the Node entry, else the global one. */
  WebSocket?: WebSocketConstructor;
  /**
   * Extra options for the WebSocket constructor (Node's `ws`). With a WebSocket that takes no
   * options (browsers, Node 22's global one), `{headers: {Authorization: 'Bearer <credential>'}}`
   * is sent as the `token` instead, and anything else fails `connect()` with `connect_failed`.
   */
  webSocketOptions?: unknown;
  /**
   * The credential of a gateway with authentication (PROTOCOL.md, "Authentication"): an access
   * token (`dgw1....`, from `daily-gateway mint-token` or the `mint-token` request) or an API
   * key's **secret** (the part after `id:` in the gateway's `api_keys`; `id:secret` is refused
   * as `unknown API key`). Offered as the subprotocol entry `daily-gateway.token.<credential>`
   * next to `daily-gateway.v1`, which every WebSocket can send.
   */
  token?: string;
  /** Reconnection policy; `false` never reconnects. Default {@link exponentialBackoff}(). */
  reconnect?: ReconnectPolicy | false;
  /** After reconnecting to a fresh session, join / observe the same room again. Default true. */
  restoreRoom?: boolean;
  /** Reject a request with no reply after this long. Default 30 000 ms. */
  requestTimeoutMs?: number;
  /** Give up connecting (socket open + hello) after this long. Default 10 000 ms. */
  connectTimeoutMs?: number;
  /** Most requests queued while (re)connecting. Default 100. */
  maxQueuedRequests?: number;
  /** Events kept in {@link GatewayClient.eventLog} (oldest dropped). Default 1000. */
  eventLogSize?: number;
  /** Audio frames (or events) buffered per iterator for a slow reader (oldest dropped). Default 1000. */
  maxBufferedFrames?: number;
  /**
   * Node only: close the connection when the process exits without `close()` (`beforeExit`,
   * `exit`), so the participant leaves the room at once instead of staying for the gateway's
   * resume grace (`hello.limits.resume_grace_ms`, 30 s by default). Default true.
   */
  closeOnExit?: boolean;
  /** Debug logger: lines prefixed `<` in, `>` out, `=` state. */
  debug?: (line: string) => void;
}

/** Counters of the client. */
export interface ClientStats {
  audioFramesSent: number;
  /** Audio frames dropped because they were sent while not connected (media is never queued). */
  audioFramesDropped: number;
  audioFramesReceived: number;
  readonly reconnects: number;
  readonly resumes: number;
  /** Requests sent again after a resume because the gateway never got them. */
  readonly resent: number;
}

/** Watches for process exit (set by the Node entry point): `track(client)` returns how to stop. */
type ExitWatcher = (close: () => void) => () => void;
let exitWatcher: ExitWatcher | null = null;

/** Called by the Node entry point: close open clients on process exit. */
export function setExitWatcher(watcher: ExitWatcher | null): void {
  exitWatcher = watcher;
}

// `await using client = ...` needs Symbol.asyncDispose; runtimes without it get the
// well-known fallback TypeScript's own helpers look for.
const symbols = Symbol as { asyncDispose?: symbol };
if (!symbols.asyncDispose) Object.defineProperty(Symbol, 'asyncDispose', { value: Symbol.for('Symbol.asyncDispose') });

const KNOWN = new Set<string>(KNOWN_EVENTS);

/** One connection to a gateway; one participant (join) or observer (observe) of one room. */
export class GatewayClient extends TypedEmitter<ClientEvents> {
  readonly url: string;
  /** The most recent protocol events, oldest first. */
  readonly eventLog: readonly LoggedEvent[];
  /** Counters: audio frames sent, dropped and received; reconnects, resumes, requests sent again. */
  readonly stats: ClientStats;

  private readonly session: Session;
  private readonly model: RoomModel;
  private readonly log: EventLog;
  private readonly media = new MediaSender();
  private readonly audioSinks = new Set<(frame: ReceivedAudio | null) => void>();
  private readonly restoreRoom: boolean;
  private readonly maxBufferedFrames: number;
  private readonly closeOnExit: boolean;
  private stopWatchingExit: (() => void) | null = null;
  private playoutMarks = 0;

  constructor(options: GatewayClientOptions = {}) {
    super();
    this.url = options.url ?? 'ws://127.0.0.1:8765/v1';
    this.restoreRoom = options.restoreRoom ?? true;
    this.maxBufferedFrames = options.maxBufferedFrames ?? 1000;
    this.closeOnExit = options.closeOnExit ?? true;
    this.log = new EventLog(options.eventLogSize ?? 1000);
    this.eventLog = this.log.entries;
    this.model = new RoomModel((state) => this.emit('session-state-changed', state));
    this.session = new Session(
      {
        url: this.url,
        WebSocket: options.WebSocket,
        webSocketOptions: options.webSocketOptions,
        token: options.token,
        debug: options.debug,
        reconnect: options.reconnect ?? exponentialBackoff(),
        requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
        connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
        maxQueuedRequests: options.maxQueuedRequests ?? 100,
      },
      this.sessionHost(),
    );
    const session = this.session;
    this.stats = {
      audioFramesSent: 0,
      audioFramesDropped: 0,
      audioFramesReceived: 0,
      get reconnects() {
        return session.stats.reconnects;
      },
      get resumes() {
        return session.stats.resumes;
      },
      get resent() {
        return session.stats.resent;
      },
    };
  }

  /** Connect and return a client in one step. */
  static async connect(url?: string, options: Omit<GatewayClientOptions, 'url'> = {}): Promise<GatewayClient> {
    const client = new GatewayClient({ ...options, url });
    await client.connect();
    return client;
  }

  // ---------------------------------------------------------------- state

  /** The connection's state. */
  get state(): ConnectionState {
    return this.session.state;
  }
  /** The session's state: `open`, `joined`, `observing` or `left` (a session joins once). */
  get sessionState(): SessionState {
    return this.model.state;
  }
  /** The last hello (null before the first connect). */
  get hello(): Hello | null {
    return this.session.hello;
  }
  /** The session's id (the same after a resume, a new one after a rejoin). */
  get sessionId(): string | null {
    return this.session.sessionId;
  }
  /** The session's `resume_token` (from its hello; kept across resumes). */
  get resumeToken(): string | null {
    return this.session.resumeToken;
  }
  /** Your participant id once joined. */
  get participantId(): string | null {
    return this.model.participantId;
  }
  /** The room joined or observed, and how (a phone in a call: joined). */
  get room(): { url: string; mode: 'joined' | 'observing' } | null {
    return this.model.room;
  }
  /** The number registered with `register-phone` (PROTOCOL.md 5.9), and the call under way. */
  get phone(): { number: string; callId: string | null } | null {
    return this.model.phone;
  }
  /** Tracks that currently reach this client, by track id. */
  get tracks(): ReadonlyMap<number, TrackInfo> {
    return this.model.tracks;
  }
  /** Sequence number of the last text frame from the gateway. */
  get lastSeq(): number {
    return this.session.lastSeq;
  }
  /** Close code of the last connection (null while open). */
  get closeCode(): number | null {
    return this.session.closeCode;
  }
  /** Close reason of the last connection. */
  get closeReason(): string {
    return this.session.closeReason;
  }
  /** Bytes queued in the WebSocket, not yet sent (back-pressure for audio). */
  get bufferedAmount(): number {
    return this.session.bufferedAmount;
  }

  // ---------------------------------------------------------------- connection

  /** Open the connection and wait for the gateway's hello. Initial failures reject (no retry). */
  async connect(options: { signal?: AbortSignal } = {}): Promise<Hello> {
    if (this.session.state === ConnectionState.DISCONNECTED) this.model.newSession();
    const hello = await this.session.connect(options);
    if (this.closeOnExit && exitWatcher && !this.stopWatchingExit) {
      this.stopWatchingExit = exitWatcher(() => this.session.closeNow(CloseCode.NORMAL, 'process exit'));
    }
    return hello;
  }

  /** Close the connection (the gateway ends the session: the participant leaves the room); no reconnect. */
  async close(code: number = CloseCode.NORMAL, reason = 'client closed'): Promise<void> {
    await this.session.close(code, reason);
  }

  /** `await using client = await GatewayClient.connect(url)`: closed when the scope ends. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ---------------------------------------------------------------- requests

  /**
   * Send a request and resolve with its result.
   *
   * While (re)connecting the request is queued (up to `maxQueuedRequests`) and sent once the
   * connection is back; while disconnected it rejects with `not_connected`.
   *
   * @throws ProtocolError the gateway's error reply (its `code` is an {@link ErrorCode}).
   * @throws ConnectionError not_connected, queue_full, connection_closed.
   * @throws TimeoutError request_timeout.
   */
  request<T extends RequestType>(type: T, ...[params, options = {}]: RequestArgs<T>): Promise<ResultOf<T>> {
    const body = { ...(params ?? {}) } as Record<string, unknown>;
    return this.session.request(type, body, {
      ...options,
      onResult: this.model.follow(type, body),
    }) as Promise<ResultOf<T>>;
  }

  /** A request this SDK version does not type (a newer gateway's): no compile-time checks. */
  requestUntyped(type: string, params: Record<string, unknown> = {}, options: RequestOptions = {}): Promise<Record<string, unknown>> {
    return this.session.request(type, { ...params }, options);
  }

  /**
   * Join a room as a participant. Resolves with the joined data (your id, who is there).
   * A session joins once: after `leave()` this rejects with `wrong_state` without asking
   * the gateway (connect a new client to join again).
   */
  join(roomUrl: string, options: JoinOptions = {}, requestOptions: RequestOptions = {}): Promise<JoinedData> {
    try {
      this.model.checkCanEnter('join');
    } catch (err) {
      return Promise.reject(err);
    }
    return this.request('join', { ...options, room_url: roomUrl }, requestOptions);
  }

  /**
   * Observe a room read-only: its events, and per `options.audio` VAD, levels and audio. A Daily
   * room is observed through one of the gateway's sessions in it (`not_found` when there is none).
   */
  observe(roomUrl: string, options: ObserveOptions = {}, requestOptions: RequestOptions = {}): Promise<ObserveResult> {
    try {
      this.model.checkCanEnter('observe');
    } catch (err) {
      return Promise.reject(err);
    }
    return this.request('observe', { ...options, room_url: roomUrl }, requestOptions);
  }

  /**
   * Watch one of the gateway's sessions (a bot; `listRooms()` lists them in `sessions`): receive
   * what its transport receives, read-only (`observe` with `session_id`). Admins may watch any
   * session, other credentials those in their rooms; anything else is `not_found`.
   */
  watchSession(sessionId: string, options: ObserveOptions = {}, requestOptions: RequestOptions = {}): Promise<ObserveResult> {
    try {
      this.model.checkCanEnter('observe');
    } catch (err) {
      return Promise.reject(err);
    }
    return this.request('observe', { ...options, session_id: sessionId }, requestOptions);
  }

  /**
   * Leave the room (or stop observing). The connection stays open for requests that need no
   * room (`list-rooms`, `ping`...), but the session is `left`: it cannot join again (a phone
   * only hangs up, and takes the next call).
   */
  async leave(): Promise<void> {
    await this.request('leave');
  }

  /** Live rooms of the gateway with their participants. */
  async listRooms(backend?: 'local' | 'daily'): Promise<RoomInfo[]> {
    return (await this.request('list-rooms', backend ? { backend } : {})).rooms;
  }

  /** The turns this session has seen in its room: response gaps and overlaps, p50 / p95, per participant, the latest `recent` (PROTOCOL.md 5.12). */
  turnStats(recent = 20): Promise<TurnStats> {
    return this.request('get-turn-stats', { recent });
  }

  /** Sessions the gateway's history keeps, newest first, and their rooms (PROTOCOL.md 5.13); `before` pages. */
  listHistory(options: { roomUrl?: string; before?: number; limit?: number } = {}): Promise<{ sessions: HistorySession[]; rooms: HistoryRoom[] }> {
    const params: { room_url?: string; before?: number; limit?: number } = {};
    if (options.roomUrl !== undefined) params.room_url = options.roomUrl;
    if (options.before !== undefined) params.before = options.before;
    if (options.limit !== undefined) params.limit = options.limit;
    return this.request('list-history', params);
  }

  /** One session's whole log from the history (every page of `get-history`), ready for `JSON.stringify`. */
  async exportHistory(sessionId: string): Promise<{ session: HistorySession; events: HistoryEntry[] }> {
    let page = await this.request('get-history', { session_id: sessionId, limit: 5000 });
    const events = [...page.events];
    while (events.length < page.total && page.events.length > 0) {
      page = await this.request('get-history', { session_id: sessionId, offset: events.length, limit: 5000 });
      events.push(...page.events);
    }
    return { session: page.session, events };
  }

  /** Send an app message (any JSON value but null) to everyone, or to one participant. */
  async sendAppMessage(message: SendAppMessageParams['message'], options: { participantId?: string; urgent?: boolean } = {}): Promise<void> {
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
  getStats(): Promise<SessionStats> {
    return this.request('get-stats');
  }

  /** The playout buffer of the audio you publish: buffered ms, marks, settings (PROTOCOL.md 8.4). */
  getAudioBuffer(): Promise<AudioBufferState> {
    return this.request('get-audio-buffer');
  }

  /** Drop the audio still buffered for playout (barge-in); resolves with what was dropped. */
  clearAudio(): Promise<ResultOf<'clear-audio'>> {
    return this.request('clear-audio');
  }

  /** Place a mark after the audio sent so far; a `playout-mark` event says when it played (or was cleared). */
  markAudio(name: string): Promise<ResultOf<'mark-audio'>> {
    return this.request('mark-audio', { name });
  }

  /**
   * Resolve once the audio sent so far has played into the room (or was cleared): a mark is
   * placed after it and its `playout-mark` awaited. `status` is `played` or `cleared`.
   */
  async waitForPlayout(options: WaitOptions = {}): Promise<PlayoutMarkData> {
    const name = `sdk-playout-${++this.playoutMarks}-${Date.now().toString(36)}`;
    const placed = await this.request('mark-audio', { name }, { signal: options.signal });
    // The mark plays after what is buffered: wait at least that long, plus the requested margin.
    const timeoutMs = (options.timeoutMs ?? 10_000) + placed.buffered_ms;
    return this.waitFor('playout-mark', (d) => d.name === name, { ...options, timeoutMs });
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
  async registerPhone(number: string, media: PhoneMediaOptions = {}): Promise<string> {
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
  sendAudio(pcm: Int16Array, options: SendAudioOptions = {}): boolean {
    const format = this.model.audioOut;
    if (this.session.state !== ConnectionState.CONNECTED) {
      this.stats.audioFramesDropped += this.media.audioFrameCount(pcm.length, format, options.chunkMs);
      return false;
    }
    for (const frame of this.media.audio(pcm, format, options)) {
      this.session.sendMedia(frame);
      this.stats.audioFramesSent += 1;
    }
    return true;
  }

  /**
   * Publish one raw video frame as `camera` (track 2) or `screenVideo` (track 3). Returns
   * false (dropped, not queued) when not connected.
   */
  sendVideo(pixels: Uint8Array, options: SendVideoOptions): boolean {
    if (this.session.state !== ConnectionState.CONNECTED) return false;
    return this.session.sendMedia(this.media.video(pixels, options));
  }

  /** Send a raw frame as is (for tests of bad input). */
  sendRaw(data: string | Uint8Array): void {
    const signal = this.session.signal;
    if (!signal) throw new ConnectionError(ClientErrorCode.NOT_CONNECTED, 'not connected');
    signal.sendRaw(data);
  }

  // ---------------------------------------------------------------- events and media in

  /**
   * The first event `name` (matching `predicate`) not returned by an earlier `waitFor`.
   * Protocol events are looked up among those already received too, so there is no race
   * with the request that causes them; the SDK's own events (`reconnected`, `resumed`...)
   * are the next one emitted.
   *
   * @throws TimeoutError wait_timeout after `timeoutMs` (default 10 s); the signal's reason on abort.
   */
  waitFor<K extends keyof ClientEvents>(name: K, predicate?: (data: ClientEvents[K]) => boolean, options: WaitOptions = {}): Promise<ClientEvents[K]> {
    if (KNOWN.has(name)) {
      return this.log.waitFor(name, predicate as (data: unknown) => boolean, options).then((event) => event.data as ClientEvents[K]);
    }
    return waitWithTimeout(String(name), options, (resolve) =>
      this.on(name, (data) => {
        if (!predicate || predicate(data)) resolve(data);
      }));
  }

  /** Like {@link waitFor} for a protocol event (any name, known or not), resolving with the logged event. */
  waitForEvent(name: string, predicate?: (data: Record<string, unknown>) => boolean, options: WaitOptions = {}): Promise<LoggedEvent> {
    return this.log.waitFor(name, predicate as (data: unknown) => boolean, options);
  }

  /**
   * Protocol events from now on, as an async iterator (`for await (const e of client.events())`),
   * narrowed on `e.event`. Bounded (`maxBufferedFrames`, oldest dropped); ends when the client
   * disconnects for good, when the reader stops, or when `signal` aborts. Events this SDK
   * version does not know are not in it (`unknown-event` has them).
   */
  events(options: { signal?: AbortSignal } = {}): AsyncIterableIterator<ServerEvent> {
    const offs: Array<() => void> = [];
    const onAbort = () => queue.end();
    const queue = new AsyncQueue<ServerEvent>(this.maxBufferedFrames, () => {
      for (const off of offs) off();
      options.signal?.removeEventListener('abort', onAbort);
    });
    offs.push(this.on('server-event', (e) => queue.push(e)));
    offs.push(this.on('disconnected', () => queue.end()));
    if (options.signal?.aborted) queue.end();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
    return queue;
  }

  /** Every received audio frame, oldest first, from now until the client disconnects (bounded buffer). */
  audio(): AsyncIterableIterator<ReceivedAudio> {
    return this.audioStream();
  }

  /** Received audio of one participant, track or source (or all), as an {@link AudioStream}. */
  audioStream(options: AudioStreamOptions = {}): AudioStream {
    return new AudioStream({ ...options, bufferFrames: options.bufferFrames ?? this.maxBufferedFrames }, (sink) => {
      this.audioSinks.add(sink);
      return () => this.audioSinks.delete(sink);
    });
  }

  /** Collect `ms` of wall time of received audio (one participant's, or everyone's), concatenated. */
  record(ms: number, options: { participantId?: string; signal?: AbortSignal } = {}): Promise<Int16Array> {
    const chunks: Int16Array[] = [];
    const off = this.on('audio', (frame) => {
      if (!options.participantId || frame.participantId === options.participantId) chunks.push(frame.pcm.slice());
    });
    return new Promise((resolve, reject) => {
      const finish = () => {
        off();
        options.signal?.removeEventListener('abort', onAbort);
        const out = new Int16Array(chunks.reduce((n, c) => n + c.length, 0));
        let offset = 0;
        for (const chunk of chunks) {
          out.set(chunk, offset);
          offset += chunk.length;
        }
        resolve(out);
      };
      const timer = setTimeout(finish, ms);
      const onAbort = () => {
        clearTimeout(timer);
        off();
        reject(options.signal!.reason);
      };
      if (options.signal?.aborted) onAbort();
      else options.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  // ---------------------------------------------------------------- what the session hands up

  private sessionHost() {
    return {
      onState: (state: ConnectionState) => this.emit('connection-state-changed', state),
      onHello: (hello: Hello) => this.emit('hello', hello),
      onEvent: ({ event, data, seq }: { event: string; data: Record<string, unknown>; seq: number }) => this.onServerEvent(event, data, seq),
      onError: (error: GatewayError) => this.emit('protocol-error', error),
      onMedia: (frame: MediaFrame) => this.onMedia(frame),
      onReconnecting: (info: SdkEvents['reconnecting']) => this.emit('reconnecting', info),
      onReconnected: (info: SdkEvents['reconnected']) => this.emit('reconnected', info),
      onResumed: (result: SdkEvents['resumed']) => this.emit('resumed', result),
      onDisconnected: (info: SdkEvents['disconnected']) => {
        this.stopWatchingExit?.();
        this.stopWatchingExit = null;
        this.emit('disconnected', info);
      },
      inRoom: () => this.model.room !== null,
      onSessionLost: () => this.model.newSession(),
      restore: () => this.restore(),
      onGiveUp: () => {
        this.model.forget();
        for (const sink of this.audioSinks) sink(null);
      },
    };
  }

  /** Join or observe again after a reconnect to a fresh session. */
  private async restore(): Promise<{ restored: Restored; error?: GatewayError }> {
    const plan = this.model.restorePlan;
    if (!plan || !this.restoreRoom) {
      this.model.forget();
      return { restored: null };
    }
    try {
      await this.session.requestNow(plan.type, plan.params, this.model.follow(plan.type, plan.params));
      // A phone registers its number again; the call it was in ended with the old session.
      return { restored: plan.type === 'join' ? 'joined' : plan.type === 'observe' ? 'observing' : 'phone' };
    } catch (err) {
      this.model.forget();
      const error = err instanceof GatewayError ? err : new GatewayError(ClientErrorCode.CONNECTION_CLOSED, String(err));
      this.emit('protocol-error', error);
      if (err instanceof ConnectionError) throw err;
      return { restored: null, error };
    }
  }

  private onServerEvent(event: string, data: Record<string, unknown>, seq: number): void {
    const known = KNOWN.has(event);
    if (known) this.model.onEvent(event as keyof ServerEventMap, data as never);
    const logged = this.log.add(event, data, seq);
    if (known) {
      this.emit('server-event', logged as ServerEvent);
      this.emit(event as keyof ServerEventMap, data as never);
      this.model.afterEvent(event as keyof ServerEventMap, data as never);
    } else {
      this.emit('unknown-event', logged as UnknownServerEvent);
    }
  }

  private onMedia(frame: MediaFrame): void {
    const received = receivedFrame(frame, this.model.tracks);
    if (frame.kind === 'audio') {
      this.stats.audioFramesReceived += 1;
      this.emit('audio', received as ReceivedAudio);
      for (const sink of this.audioSinks) sink(received as ReceivedAudio);
    } else {
      this.emit('video', received as SdkEvents['video']);
    }
  }
}

export { ConnectionState } from './session.js';
export { ClientEvent } from './events.js';
export type { ClientEvents, LoggedEvent, SdkEvents, ServerEvent, UnknownServerEvent, WaitOptions } from './events.js';
export type { ReceivedAudio, ReceivedVideo } from './media.js';
export type { WebSocketConstructor, WebSocketLike } from './socket.js';
export { setDefaultWebSocket } from './socket.js';
