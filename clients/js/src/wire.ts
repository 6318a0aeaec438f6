/**
 * Wire types of daily-gateway.v1, in one place (the JSON Schemas in `protocol/schema/`
 * are the source of truth; `test/unit.test.mjs` checks that the request and event
 * lists below match them). Field names are the wire's: what PROTOCOL.md says is what
 * you type.
 */

/** `hello.limits`. */
export interface Limits {
  max_message_bytes: number;
  max_frame_bytes: number;
  max_app_message_bytes: number;
  max_consecutive_errors: number;
  max_requests_per_second: number;
  max_playout_buffer_ms: number;
  idle_timeout_ms: number;
  ping_interval_ms: number;
  max_sessions_per_key: number;
  max_rooms: number;
  /** Resume (PROTOCOL.md, "Resume"): grace period, replay buffer, text bound before 4010. */
  resume_grace_ms?: number;
  replay_buffer_events?: number;
  replay_buffer_bytes?: number;
  max_pending_events?: number;
  [name: string]: number | undefined;
}

/** `hello.capabilities`. */
export interface Capabilities {
  backends: string[];
  requests: string[];
  events: string[];
  audio: Record<string, unknown>;
  video?: Record<string, unknown>;
}

/** Daily's participant object (the local backend builds the same shape). */
export interface Participant {
  id: string;
  info?: {
    userName?: string;
    isLocal?: boolean;
    isOwner?: boolean;
    joinedAt?: string;
    userData?: unknown;
    permissions?: Record<string, unknown>;
    [key: string]: unknown;
  };
  media?: Record<string, { state?: string; [key: string]: unknown }>;
  [key: string]: unknown;
}

export interface AudioInFormat {
  enabled?: boolean;
  sample_rate?: number;
  channels?: 1 | 2;
  frame_ms?: number;
  /** Input filter on each received track: noisereduce needs the gateway's extra; krisp is not_supported. */
  filter?: { type?: 'none' | 'noisereduce' | 'krisp'; options?: Record<string, unknown> };
  /** join on Daily only: one track of the room's mix (participant_id "*", source mixed); one per gateway process. */
  mixed?: boolean;
}

export interface AudioOutFormat {
  enabled?: boolean;
  sample_rate?: number;
  channels?: 1 | 2;
  /** Daily only: Opus bitrate in bits per second (96000). */
  bitrate?: number;
  /** Daily only: live mode. */
  is_live?: boolean;
  /** Daily only: the custom audio source sends silence while nothing is written (true). */
  auto_silence?: boolean;
  [extra: string]: unknown;
}

export interface VadParams {
  enabled?: boolean;
  /** webrtc (default), native (daily-python's VAD) or silero (the gateway's silero extra). */
  analyzer?: 'webrtc' | 'native' | 'silero';
  aggressiveness?: 0 | 1 | 2 | 3;
  /** Speech probability counted as voiced, native and silero (0.7). */
  confidence?: number;
  start_ms?: number;
  stop_ms?: number;
  min_level?: number;
}

// ---------------------------------------------------------------- requests

export interface JoinParams {
  backend?: 'local' | 'daily';
  token?: string;
  user_name?: string;
  user_data?: unknown;
  audio_in?: AudioInFormat;
  audio_out?: AudioOutFormat;
  vad?: VadParams;
  levels_interval_ms?: number;
  /** Daily's `{call_id, call_domain}`: take dial-in calls (`dialin-ready`, `dialin-connected`). */
  dialin_settings?: Record<string, unknown>;
  /** Daily only: allow video captures (true); video is received only while captured. */
  video_in?: { enabled?: boolean };
  /** Daily only: the published camera track (local rooms take any frame). */
  video_out?: {
    enabled?: boolean; is_live?: boolean; width?: number; height?: number; framerate?: number;
    /** Caps the camera to one encoding at this bitrate (absent: Daily's adaptive layers). */
    bitrate?: number;
    color_format?: 'RGB' | 'RGBA' | 'BGRA' | 'ARGB' | 'ABGR' | 'I420';
    /** Daily's camera sendSettings, passed unchanged. */
    send_settings?: Record<string, unknown>;
    codec?: 'VP8' | 'VP9' | 'H264' | 'H265';
  };
  /** Start transcription once joined; a failure is an `error` event, not a failed join. */
  transcription?: { enabled?: boolean; settings?: Record<string, unknown> };
  /** Daily only: REST API for this join; `api_url` requires `api_key`. */
  api_url?: string;
  api_key?: string;
  [extra: string]: unknown;
}

export interface ObserveParams {
  backend?: 'local' | 'daily';
  /** none: events only; analysis (default): plus tracks, VAD and levels; frames: plus audio frames. */
  audio?: 'none' | 'analysis' | 'frames';
  audio_in?: { sample_rate?: number; channels?: 1 | 2; frame_ms?: number };
  vad?: VadParams;
  levels_interval_ms?: number;
}

export interface SendAppMessageParams {
  /** Any JSON value but null. */
  message: unknown;
  participant_id?: string;
  urgent?: boolean;
}

export interface JoinedData {
  participant_id: string;
  room_url: string;
  participant: Participant;
  participants: Record<string, Participant>;
}

export interface ObserveResult {
  room_url: string;
  backend: string;
  participants: Record<string, Participant>;
}

export interface RoomInfo {
  room_url: string;
  backend: string;
  participants: Record<string, Participant>;
  observers?: number;
  active_speaker?: string | null;
  created_at?: number;
  [key: string]: unknown;
}

// Telephony (PROTOCOL.md 5.9): settings in Daily's shape.

/** `start-dialout.settings`: a phone number or a SIP URI to call. */
export interface DialoutSettings {
  phoneNumber?: string;
  sipUri?: string;
  displayName?: string;
  userId?: string;
  callerId?: string;
  [extra: string]: unknown;
}

/** `send-dtmf.settings`; `sessionId` left out: the session's latest connected call (a phone: its own call). */
export interface DtmfSettings {
  tones: string;
  sessionId?: string;
  /** 50-2000, default 500. */
  digitDurationMs?: number;
  method?: 'sip-info' | 'telephone-event' | 'auto';
}

/** `sip-call-transfer.settings` and `sip-refer.settings`. */
export interface SipTransferSettings {
  toEndPoint: string;
  sessionId?: string;
}

/** `register-phone`: the number, and the media every call of this phone uses (as in `join`). */
export interface RegisterPhoneParams {
  number: string;
  audio_in?: AudioInFormat;
  audio_out?: AudioOutFormat;
  vad?: VadParams;
}

/** The result of `answer-call` and `dial`: `join`'s, plus the call's id. */
export interface CallJoinedData extends JoinedData {
  call_id: string;
}

// Permissions, inputs, publishing, subscriptions (PROTOCOL.md 5.7, 5.8).

export type MediaSource = 'microphone' | 'camera' | 'screenVideo' | 'screenAudio';

/** daily-python's media names in permissions (not daily-js's audio / video). */
export type PermissionMedia = MediaSource | 'customVideo' | 'customAudio';

/** One `canReceive` level: true, false, or media -> allowed (left out: allowed). */
export type ReceiveMedia = boolean | Partial<Record<MediaSource, boolean>> & {
  customVideo?: boolean | Record<string, boolean>;
  customAudio?: boolean | Record<string, boolean>;
};

/** Daily's participant permissions in daily-python's names; the keys given replace the old values. */
export interface ParticipantPermissions {
  hasPresence?: boolean;
  /** The sources it may send, or true (all) / false (none). */
  canSend?: boolean | PermissionMedia[];
  canAdmin?: boolean | Array<'participants' | 'streaming' | 'transcription'>;
  canReceive?: { base?: ReceiveMedia; byUserId?: Record<string, ReceiveMedia>; byParticipantId?: Record<string, ReceiveMedia> };
}

/** `update-remote-participants.remote_participants`: participant id -> changes. */
export type RemoteParticipantUpdates = Record<
  string,
  { permissions?: ParticipantPermissions; inputsEnabled?: { microphone?: boolean; camera?: boolean; [extra: string]: unknown } }
>;

export interface InputSettings {
  microphone?: { isEnabled: boolean; [extra: string]: unknown };
  camera?: { isEnabled: boolean; [extra: string]: unknown };
}

export interface PublishingSettings {
  microphone?: { isPublishing: boolean; sendSettings?: unknown; [extra: string]: unknown };
  camera?: { isPublishing: boolean; sendSettings?: unknown; [extra: string]: unknown };
}

export type SubscriptionState = 'subscribed' | 'unsubscribed' | 'staged';

export type SubscriptionMedia = SubscriptionState | Partial<Record<MediaSource, SubscriptionState>>;

export interface SubscriptionParams {
  /** Participant id -> `{profile?, media?}`: one state for every source, or `{source: state}`. */
  participant_settings?: Record<string, { profile?: string; media?: SubscriptionMedia }>;
  /** Profile name -> `{media}`: overrides for the participants of that profile (local rooms: `base` only). */
  profile_settings?: Record<string, { media: SubscriptionMedia }>;
}

/** `update-subscription-profiles.profile_settings`: profile name -> source -> state. */
export type SubscriptionProfileSettings = Record<string, Partial<Record<MediaSource, SubscriptionState>>>;

/** Daily's `subscription_profiles()`: profile name -> source -> `{subscriptionState, ...}`. */
export type SubscriptionProfiles = Record<string, Record<string, { subscriptionState?: SubscriptionState; [extra: string]: unknown }>>;

/** Daily's `subscriptions()`: participant id -> `{media: {source: state}}`. */
export type Subscriptions = Record<string, { media: Partial<Record<MediaSource, SubscriptionState>> }>;

// Room state and network (PROTOCOL.md 5.10).

/** Daily's `participant_counts()`: participants with presence (you included) and hidden ones. */
export interface ParticipantCounts {
  present: number;
  hidden: number;
}

/**
 * Daily's `get_network_stats()`. Values Daily cannot determine are null; local rooms count
 * real (uncompressed) bytes and add `local`.
 */
export interface NetworkStats {
  stats: { latest?: Record<string, number | null>; worstVideoRecvPacketLoss?: number | null; worstVideoSendPacketLoss?: number | null; [key: string]: unknown };
  threshold: 'good' | 'low' | 'very-low' | string;
  quality: number;
  networkState?: 'good' | 'warning' | 'bad' | 'unknown' | string;
  networkStateReasons?: string[];
  local?: Record<string, number>;
  [key: string]: unknown;
}

type NoParams = Record<string, never>;
type NoResult = Record<string, never>;

/** Daily's room object, as its REST API returns it. */
export interface DailyRoom {
  name: string;
  url: string;
  privacy?: string;
  config?: Record<string, unknown>;
  [key: string]: unknown;
}

/** Request type -> [params, result]. Requests not listed still work through `request()`. */
export interface RequestMap {
  join: [JoinParams & { room_url: string }, JoinedData];
  leave: [NoParams, NoResult];
  observe: [ObserveParams & { room_url: string }, ObserveResult];
  'list-rooms': [{ backend?: 'local' | 'daily' }, { rooms: RoomInfo[] }];
  'send-app-message': [SendAppMessageParams, Record<string, never>];
  'get-participants': [Record<string, never>, { participants: Record<string, Participant> }];
  'get-stats': [Record<string, never>, Record<string, unknown>];
  ping: [Record<string, never>, { time_ms: number }];
  /** Continue a dropped session on a new connection (PROTOCOL.md, "Resume"); the SDK sends it itself. */
  resume: [{ resume_token: string; last_seq: number }, ResumeResult];
  'clear-audio': [Record<string, never>, { dropped_ms: number; dropped_samples: number; cleared_marks: string[] | number }];
  'mark-audio': [{ name: string }, { name: string; buffered_ms: number }];
  'get-audio-buffer': [Record<string, never>, Record<string, unknown>];
  'start-recording': [{ streaming_settings?: Record<string, unknown>; stream_id?: string; force_new?: boolean }, { stream_id: string; recording_id?: string; path?: string }];
  'stop-recording': [{ stream_id?: string }, Record<string, never>];
  'start-transcription': [{ settings?: Record<string, unknown> }, { instance_id?: string; transcript_id?: string }];
  'stop-transcription': [{ instance_id?: string }, Record<string, never>];
  'capture-participant-video': [
    { participant_id: string; framerate?: number; video_source?: 'camera' | 'screenVideo'; color_format?: string },
    { track: number },
  ];
  'stop-capture-participant-video': [{ participant_id: string; video_source?: 'camera' | 'screenVideo' }, { track: number }];
  'request-video-frame': [{ participant_id: string; video_source?: 'camera' | 'screenVideo' }, { track: number }];
  'update-recording': [{ update_settings: Record<string, unknown>; stream_id?: string }, NoResult];
  'update-transcription': [{ participants?: string[]; instance_id?: string }, NoResult];
  'capture-participant-transcription': [
    { participant_id: string; instance_id?: string },
    { participants: string[]; applied: boolean; reason?: string },
  ];
  'update-remote-participants': [{ remote_participants: RemoteParticipantUpdates }, NoResult];
  'eject-remote-participants': [{ ids: string[] }, NoResult];
  'send-prebuilt-chat-message': [{ message: string; user_name?: string }, NoResult];
  'update-inputs': [{ input_settings: InputSettings }, { input_settings: InputSettings }];
  'update-publishing': [{ publishing_settings: PublishingSettings }, { publishing_settings: PublishingSettings }];
  'update-subscriptions': [SubscriptionParams, { subscriptions: Subscriptions }];
  'update-subscription-profiles': [
    { profile_settings: SubscriptionProfileSettings },
    { subscription_profiles: SubscriptionProfiles },
  ];
  /** `ring_timeout_s`: local rooms only (default 30; Daily has no such setting). */
  'start-dialout': [{ settings: DialoutSettings; ring_timeout_s?: number }, { session_id: string }];
  'stop-dialout': [{ participant_id: string }, NoResult];
  'send-dtmf': [{ settings: DtmfSettings }, { session_id: string }];
  'sip-call-transfer': [{ settings: SipTransferSettings }, NoResult];
  'sip-refer': [{ settings: SipTransferSettings }, NoResult];
  'register-phone': [RegisterPhoneParams, { number: string }];
  'answer-call': [{ call_id: string }, CallJoinedData];
  'reject-call': [{ call_id: string }, NoResult];
  /** `simulate`: local test hook, `dialin-warning` or `dialin-error` (PROTOCOL.md 5.9, Failures). */
  dial: [{ to: string; simulate?: 'warning' | 'error' }, CallJoinedData];
  'get-participant-counts': [NoParams, ParticipantCounts];
  'get-active-speaker': [NoParams, { participant: Participant | null }];
  'get-network-stats': [NoParams, NetworkStats];
  /** Daily REST on the gateway's API key (PROTOCOL.md, "Daily REST"); no room needed. */
  'create-room': [
    { name?: string; privacy?: 'public' | 'private'; properties?: Record<string, unknown>; timeout_ms?: number },
    { room: DailyRoom },
  ];
  'get-room': [{ name: string; timeout_ms?: number }, { room: DailyRoom }];
  'delete-room': [{ name: string; timeout_ms?: number }, { name: string; deleted: boolean }];
  'create-meeting-token': [
    { properties: Record<string, unknown>; expiry_s?: number; timeout_ms?: number },
    { token: string },
  ];
  /** Admin only: sign a gateway access token (PROTOCOL.md, "Authentication"). */
  'mint-token': [
    { room: string; role?: 'observer' | 'bot' | 'admin'; sub?: string; commands?: string[]; ttl_s?: number },
    { token: string; claims: Record<string, unknown>; expires_at: number },
  ];
}

/** The `resume` result: the session continued, and how much was replayed. */
export interface ResumeResult {
  session_id: string;
  state: string;
  last_seq: number;
  replayed: number;
  media_dropped: number;
}

export type RequestType = keyof RequestMap;
export type ParamsOf<T extends string> = T extends RequestType ? RequestMap[T][0] : Record<string, unknown>;
export type ResultOf<T extends string> = T extends RequestType ? RequestMap[T][1] : Record<string, unknown>;

/**
 * Every request of {@link RequestMap}, as a record so that the compiler rejects a request
 * typed in the map but missing here, or listed here but not typed.
 */
const REQUESTS: { readonly [K in RequestType]: true } = {
  'answer-call': true, 'capture-participant-video': true, 'clear-audio': true, dial: true,
  'eject-remote-participants': true, 'get-audio-buffer': true, 'get-participants': true, 'get-stats': true,
  join: true, leave: true, 'list-rooms': true, 'mark-audio': true, observe: true, ping: true, resume: true,
  'register-phone': true, 'reject-call': true, 'request-video-frame': true, 'send-app-message': true,
  'send-dtmf': true, 'send-prebuilt-chat-message': true, 'sip-call-transfer': true, 'sip-refer': true,
  'start-dialout': true, 'start-recording': true, 'start-transcription': true,
  'stop-capture-participant-video': true, 'stop-dialout': true, 'stop-recording': true,
  'stop-transcription': true, 'update-inputs': true, 'update-publishing': true, 'update-recording': true,
  'update-remote-participants': true, 'update-subscriptions': true, 'update-subscription-profiles': true,
  'update-transcription': true,
  'capture-participant-transcription': true,
  'get-participant-counts': true, 'get-active-speaker': true, 'get-network-stats': true,
  'create-room': true, 'get-room': true, 'delete-room': true, 'create-meeting-token': true,
  'mint-token': true,
};

/**
 * The requests this SDK types ({@link RequestMap}); `test/unit.test.mjs` checks that they are
 * exactly the protocol's (`protocol/schema/requests/`). The gateway's hello lists what it serves.
 */
export const KNOWN_REQUESTS: readonly string[] = Object.keys(REQUESTS).sort();

// ---------------------------------------------------------------- events

export interface TrackInfo {
  track: number;
  participant_id: string;
  kind: 'audio' | 'video';
  /** mixed: the room's mix (join.audio_in.mixed on Daily; participant_id "*"). */
  source: 'microphone' | 'camera' | 'screenVideo' | 'screenAudio' | 'mixed';
  sample_rate?: number;
  channels?: number;
  frame_ms?: number;
}

export interface SpeechData {
  participant_id: string;
  track: number;
  offset_ms?: number;
}

export interface AudioLevel {
  track: number;
  participant_id: string;
  /** RMS level, 0..1. */
  level: number;
  speaking: boolean;
}

/** Protocol event name -> its `data` (PROTOCOL.md, "Events"). */
export interface ServerEventMap {
  /** You are in the room: your id, the room and who else is there. */
  joined: JoinedData;
  /** You left the room (or stopped observing), and why. */
  left: { reason?: 'left' | 'ejected' | 'error' | 'shutdown' | 'disconnected' | 'hangup' };
  /** The join's progress: initialized, joining, joined, leaving, left. */
  'call-state-updated': { state: 'initialized' | 'joining' | 'joined' | 'leaving' | 'left' };
  /** The first other participant arrived (bots start talking here). */
  'first-participant-joined': { participant: Participant };
  /** Someone joined the room. */
  'participant-joined': { participant: Participant };
  /** Someone's info or media changed. */
  'participant-updated': { participant: Participant };
  /** Someone left. */
  'participant-left': { participant: Participant; reason: 'leftCall' | 'hidden'; cause?: string };
  /** The loudest participant changed (null: nobody). */
  'active-speaker-changed': { participant: Participant | null };
  /** An app message; `to` is set only in an observer's copy of a targeted message. */
  'app-message': { message: unknown; sender: string; to?: string };
  /** A participant's audio now reaches you as binary frames on `track`. */
  'track-started': TrackInfo;
  /** That track ended. */
  'track-stopped': TrackInfo;
  /** Media meant for you was dropped: you read too slowly (`slow`), or the session was detached (`detached`). */
  'media-dropped': { dropped: number; total: number; reason: 'slow' | 'detached' };
  /** Voice activity started on a track. */
  'speech-started': SpeechData;
  /** Voice activity stopped on a track. */
  'speech-stopped': SpeechData;
  /** Periodic levels and speaking state of every track (`levels_interval_ms`). */
  'audio-levels': { levels: AudioLevel[] };
  /** An error in the room not caused by one request. */
  error: { code: string; message: string; details?: Record<string, unknown>; fatal?: boolean };
  /** A transcript of one participant's speech (Daily's transcription message); interim when `rawResponse.is_final` is false. */
  'transcription-message': {
    message: {
      participantId: string;
      text: string;
      timestamp: string;
      trackType?: string;
      instanceId?: string;
      rawResponse?: { is_final?: boolean; [key: string]: unknown };
    };
  };
  /** Transcription started in the room. */
  'transcription-started': { status: Record<string, unknown> };
  /** Transcription stopped. */
  'transcription-stopped': { stopped_by: string; stopped_by_error: boolean; instance_id?: string };
  /** Transcription failed. */
  'transcription-error': { message: string };
  /** A recording started (Daily's status object). */
  'recording-started': { status: Record<string, unknown> };
  /** A recording stopped. */
  'recording-stopped': { stream_id: string };
  /** A recording failed. */
  'recording-error': { stream_id: string; message: string };
  /** Your published audio started playing into the room. */
  'playout-started': { buffered_ms: number };
  /** Playout ran out of audio (or was stopped / cleared). */
  'playout-idle': { reason: string; played_ms: number; played_samples: number };
  /** A mark was reached (`played`) or dropped by a clear (`cleared`), with the audio actually played. */
  'playout-mark': { name: string; status: string; played_ms: number; audio_ms: number; played_samples: number; audio_samples: number };
  /** The playout buffer rose above its high watermark: slow down. */
  'playout-buffer-high': { buffered_ms: number; high_watermark_ms: number };
  /** The playout buffer fell below its low watermark: send more. */
  'playout-buffer-low': { buffered_ms: number; low_watermark_ms: number };
  /** This participant's inputs changed (`update-inputs`, or an admin's `update-remote-participants`). */
  'inputs-updated': { input_settings: InputSettings };
  /** This participant's publishing changed (`update-publishing`). */
  'publishing-updated': { publishing_settings: PublishingSettings };
  /** This participant's subscriptions changed (`update-subscriptions`). */
  'subscriptions-updated': { subscriptions: Subscriptions };
  /** The room takes dial-in calls (a join with `dialin_settings`) at this endpoint. */
  'dialin-ready': { sip_endpoint: string };
  /** A phone called in and joined. */
  'dialin-connected': { data: TelephonyEventData };
  /** A dial-in call ended. */
  'dialin-stopped': { data: TelephonyEventData };
  /** A dial-in call failed (`data.errorMsg`; local: `dial` with `simulate: 'error'`). */
  'dialin-error': { data: TelephonyEventData };
  /** A non-fatal dial-in problem, e.g. a codec fallback (`data.errorMsg`; local: `simulate: 'warning'`). */
  'dialin-warning': { data: TelephonyEventData };
  /** A dial-out call is set up and ringing. */
  'dialout-connected': { data: TelephonyEventData };
  /** The phone answered and joined. */
  'dialout-answered': { data: TelephonyEventData };
  /** A dial-out call ended (stop-dialout, hang-up, transfer). */
  'dialout-stopped': { data: TelephonyEventData };
  /** A dial-out call failed (busy, declined, ring timeout, hung up while ringing); `data.errorMsg` says why. */
  'dialout-error': { data: TelephonyEventData };
  /** A non-fatal dial-out problem, e.g. a codec fallback (`data.errorMsg`; local: `+15550002...`). */
  'dialout-warning': { data: TelephonyEventData };
  /** One DTMF tone from a phone's keypad (or, for a simulated phone, a tone sent to it). */
  'dtmf-event': { data: { sessionId: string; tone: string; digitDurationMs?: number; method?: string } };
  /** A call rings this simulated phone (`register-phone`): answer it or reject it by `call_id`. */
  'phone-ringing': { call_id: string; direction?: 'incoming' | 'outgoing'; from: string; to?: string; room_url: string };
  /** The room's participant counts changed (join, leave, hide, show). */
  'participant-counts-updated': { counts: ParticipantCounts };
  /** New network statistics, as `get-network-stats` returns them (Daily only; local rooms: poll). */
  'network-stats-updated': { stats: NetworkStats };
  /** The connection to Daily's servers changed (Daily only). */
  'network-connection-status-updated': { status: Record<string, unknown> };
  /** Daily only: this participant's subscription profiles (profile -> source -> settings). */
  'subscription-profiles-updated': { subscription_profiles: Record<string, unknown> };
  /** Daily only: a running transcription's settings changed. */
  'transcription-updated': { update: Record<string, unknown> };
  /** Daily only: live streaming of the room (daily-python's live stream callbacks). */
  'live-stream-started': { status: Record<string, unknown> };
  'live-stream-updated': { update: unknown };
  'live-stream-stopped': { stream_id: string };
  'live-stream-error': { stream_id: string; message: string };
  'live-stream-warning': { stream_id: string; message: string };
  /** Daily only: daily-python's device list changed (the gateway's devices are virtual). */
  'available-devices-updated': { available_devices: Record<string, unknown> };
  /** A call of this simulated phone ended. */
  'call-ended': { call_id: string; reason: 'hangup' | 'stopped' | 'transferred' | 'ejected' | 'failed' | 'timeout' };
}

/** Daily's telephony event object: `sessionId` (the phone participant's id), and the call's addresses. */
export interface TelephonyEventData {
  sessionId: string;
  phoneNumber?: string;
  sipUri?: string;
  sipFrom?: string;
  sipEndpoint?: string;
  userId?: string;
  /** Set on `*-error` and `*-warning` (Daily's `errorMsg`). */
  errorMsg?: string;
  [extra: string]: unknown;
}

export type ServerEventName = keyof ServerEventMap;

/** Every event of {@link ServerEventMap}, as a record: the compiler keeps the two in step. */
const EVENTS: { readonly [K in ServerEventName]: true } = {
  'active-speaker-changed': true, 'app-message': true, 'audio-levels': true, 'call-ended': true,
  'call-state-updated': true, 'dialin-connected': true, 'dialin-error': true, 'dialin-ready': true,
  'dialin-stopped': true, 'dialin-warning': true, 'dialout-answered': true, 'dialout-connected': true,
  'dialout-error': true, 'dialout-stopped': true, 'dialout-warning': true, 'dtmf-event': true, error: true,
  'first-participant-joined': true, 'inputs-updated': true, joined: true, left: true,
  'participant-joined': true, 'participant-left': true, 'participant-updated': true, 'phone-ringing': true,
  'playout-buffer-high': true, 'playout-buffer-low': true, 'playout-idle': true, 'playout-mark': true,
  'playout-started': true, 'publishing-updated': true, 'recording-error': true, 'recording-started': true,
  'recording-stopped': true, 'speech-started': true, 'speech-stopped': true, 'subscriptions-updated': true,
  'track-started': true, 'track-stopped': true, 'transcription-error': true, 'transcription-message': true,
  'transcription-started': true, 'transcription-stopped': true, 'participant-counts-updated': true,
  'network-stats-updated': true, 'network-connection-status-updated': true,
  'subscription-profiles-updated': true, 'transcription-updated': true, 'live-stream-started': true,
  'live-stream-updated': true, 'live-stream-stopped': true, 'live-stream-error': true, 'live-stream-warning': true,
  'available-devices-updated': true, 'media-dropped': true,
};

/**
 * The protocol's events this SDK types ({@link ServerEventMap}); `test/unit.test.mjs` checks that
 * they are exactly the protocol's (`protocol/schema/events/`). Clients ignore events they do not know.
 */
export const KNOWN_EVENTS: readonly string[] = Object.keys(EVENTS).sort();
