/**
 * Request results and the names the SDK's methods use. The request parameters and event
 * data are generated from the schemas (`wire.ts`); the schemas describe requests, not their
 * results, so results are typed here by hand from PROTOCOL.md (each request's reply example).
 * The type test (`test/types/`) fails when a request of the protocol has no result here.
 */

import type {
  JoinedData,
  JoinParams,
  NetworkStatsUpdatedData,
  ObserveParams,
  Participant,
  ParticipantCountsUpdatedData,
  RegisterPhoneParams,
  RequestParamsMap,
  RequestType,
  SendDtmfParams,
  SipCallTransferParams,
  StartDialoutParams,
  SubscriptionsUpdatedData,
  TrackStartedData,
  UpdateInputsParams,
  UpdatePublishingParams,
  UpdateRemoteParticipantsParams,
  UpdateSubscriptionProfilesParams,
  UpdateSubscriptionsParams,
} from './wire.js';

// ---------------------------------------------------------------- names for method signatures

/** `join`'s parameters without `room_url` (the first argument of `join()`). */
export type JoinOptions = Omit<JoinParams, 'room_url'>;
/** `observe`'s parameters without `room_url`. */
export type ObserveOptions = Omit<ObserveParams, 'room_url'>;
/** `register-phone`'s media settings (everything but the number). */
export type PhoneMediaOptions = Omit<RegisterPhoneParams, 'number'>;
/** `start-dialout.settings`: a phone number or a SIP URI to call. */
export type DialoutSettings = StartDialoutParams['settings'];
/** `send-dtmf.settings`. */
export type DtmfSettings = SendDtmfParams['settings'];
/** `sip-call-transfer.settings` and `sip-refer.settings`. */
export type SipTransferSettings = SipCallTransferParams['settings'];
/** `update-remote-participants.remote_participants`: participant id -> changes. */
export type RemoteParticipantUpdates = UpdateRemoteParticipantsParams['remote_participants'];
/** `update-inputs.input_settings`. */
export type InputSettings = UpdateInputsParams['input_settings'];
/** `update-publishing.publishing_settings`. */
export type PublishingSettings = UpdatePublishingParams['publishing_settings'];
/** `update-subscription-profiles`' settings: profile name -> source -> state. */
export type SubscriptionProfileSettings = UpdateSubscriptionProfilesParams['profile_settings'];
/** Daily's `subscription_profiles()`: profile name -> source -> `{subscriptionState, ...}`. */
export type SubscriptionProfiles = Record<string, Record<string, { subscriptionState?: string; [extra: string]: unknown }>>;

/** `update-subscriptions`' parameters. */
export type SubscriptionParams = UpdateSubscriptionsParams;
/** Daily's `subscriptions()`: participant id -> `{media: {source: state}}`. */
export type Subscriptions = SubscriptionsUpdatedData['subscriptions'];
/** Daily's `participant_counts()`: participants with presence (you included) and hidden ones. */
export type ParticipantCounts = ParticipantCountsUpdatedData['counts'];
/** Daily's `get_network_stats()` (local rooms count real bytes and add `local`). */
export type NetworkStats = NetworkStatsUpdatedData['stats'];
/** A track that reaches this client (`track-started` data). */
export type TrackInfo = TrackStartedData;

// ---------------------------------------------------------------- results

/** Where nothing comes back but success. */
export type NoResult = Record<string, never>;

/** The result of `answer-call` and `dial`: `join`'s, plus the call's id. */
export interface CallJoinedData extends JoinedData {
  call_id: string;
}

/** `observe`'s result: the room and who is in it. */
export interface ObserveResult {
  room_url: string;
  backend: string;
  participants: Record<string, Participant>;
}

/** One room of `list-rooms`. */
export interface RoomInfo {
  room_url: string;
  backend: string;
  participants: Record<string, Participant>;
  /** Local rooms: observers watching it. */
  observers?: number;
  /** Local rooms: the active speaker's participant id, or null. */
  active_speaker?: string | null;
  /** Local rooms: Unix seconds. */
  created_at?: number;
}

/** The `resume` result (PROTOCOL.md, "Resume"): the session continued, and how much was replayed. */
export interface ResumeResult {
  session_id: string;
  state: string;
  last_seq: number;
  replayed: number;
  media_dropped: number;
  /** Ids of the requests of the session still running: their replies follow. */
  running?: string[];
  /** True when a cluster joined the room again for the session (its node was lost or drained; PROTOCOL.md 16.3):
   * rebuild the room from the `joined` event that follows, and send again requests without a reply. */
  rejoined?: boolean;
  /** Why it was re-joined: `node_lost` or `drained`. */
  reason?: string;
}

/** `get-audio-buffer`: the playout of the audio this session publishes (PROTOCOL.md 8.4). */
export interface AudioBufferState {
  buffered_ms: number;
  buffered_samples: number;
  playing: boolean;
  above_high_watermark: boolean;
  pending_marks: number;
  played_ms: number;
  dropped_ms: number;
  sample_rate: number;
  channels: number;
  frame_ms: number;
  max_buffer_ms: number;
  high_watermark_ms: number;
  low_watermark_ms: number;
  idle_grace_ms: number;
  prebuffer_ms: number;
  late_frames: number;
}

/** `get-stats`: this session's counters (PROTOCOL.md, "get-stats"). */
export interface SessionStats {
  session_id: string;
  /** `open`, `joining`, `joined`, `observing`, `leaving`, `left` or `closed`. */
  state: string;
  uptime_s: number;
  /** Requests accepted (valid). */
  requests: number;
  frames_in: number;
  bytes_in: number;
  text_sent: number;
  media_sent: number;
  media_bytes_sent: number;
  /** Binary frames dropped because the client read too slowly. */
  media_dropped: number;
  media_queued: number;
  text_queued: number;
  replay_buffered: number;
  resumes: number;
  playout_buffered_ms: number;
  /** The `track-started` data of every open track (video tracks add frame counters). */
  tracks: Array<TrackStartedData & { frames_sent?: number; frames_skipped?: number; filter_latency_ms?: number; filter_dropped_ms?: number }>;
  /** Daily rooms only: drops between daily-python and the gateway, and the call state. */
  backend_stats?: Record<string, number | string>;
}

/** Daily's room object, as its REST API returns it. */
export interface DailyRoom {
  name: string;
  url: string;
  privacy?: string;
  config?: Record<string, unknown>;
  [key: string]: unknown;
}

/** Request type -> the `result` of its reply. */
export interface ResultMap {
  'answer-call': CallJoinedData;
  'capture-participant-transcription': { participants: string[]; applied: boolean; reason?: string };
  'capture-participant-video': { track: number };
  'clear-audio': { dropped_ms: number; dropped_samples: number; cleared_marks: string[] };
  'create-meeting-token': { token: string };
  'create-room': { room: DailyRoom };
  'delete-room': { name: string; deleted: boolean };
  dial: CallJoinedData;
  'eject-remote-participants': NoResult;
  'get-active-speaker': { participant: Participant | null };
  'get-audio-buffer': AudioBufferState;
  'get-network-stats': NetworkStats;
  'get-participant-counts': ParticipantCounts;
  'get-participants': { participants: Record<string, Participant> };
  'get-room': { room: DailyRoom };
  'get-stats': SessionStats;
  join: JoinedData;
  leave: NoResult;
  'list-rooms': { rooms: RoomInfo[] };
  'mark-audio': { name: string; buffered_ms: number };
  'mint-token': { token: string; claims: Record<string, unknown>; expires_at: number };
  observe: ObserveResult;
  ping: { time_ms: number };
  'register-phone': { number: string };
  'reject-call': NoResult;
  'request-video-frame': { track: number };
  resume: ResumeResult;
  'send-app-message': NoResult;
  'send-dtmf': { session_id: string };
  'send-prebuilt-chat-message': NoResult;
  'sip-call-transfer': NoResult;
  'sip-refer': NoResult;
  'start-dialout': { session_id: string };
  'start-recording': { stream_id: string; recording_id?: string; path?: string };
  'start-transcription': { instance_id?: string; transcript_id?: string };
  'stop-capture-participant-video': { track: number };
  'stop-dialout': NoResult;
  'stop-recording': NoResult;
  'stop-transcription': NoResult;
  'update-inputs': { input_settings: InputSettings };
  'update-publishing': { publishing_settings: PublishingSettings };
  'update-recording': NoResult;
  'update-remote-participants': NoResult;
  'update-subscription-profiles': { subscription_profiles: SubscriptionProfiles };
  'update-subscriptions': { subscriptions: Subscriptions };
  'update-transcription': NoResult;
}

/** The parameters of request `T`. */
export type ParamsOf<T extends RequestType> = RequestParamsMap[T];
/**
 * The result of request `T`; a request the protocol added after this file was written
 * resolves with a plain object until it is typed here (the type test says which).
 */
export type ResultOf<T extends RequestType> = T extends keyof ResultMap ? ResultMap[T] : Record<string, unknown>;

/** Per-request options. */
export interface RequestOptions {
  /** Reject with `request_timeout` after this long without a reply (default: the client's `requestTimeoutMs`). */
  timeoutMs?: number;
  /** Abort waiting: the promise rejects with the signal's reason (the gateway may still act on the request). */
  signal?: AbortSignal;
}

/**
 * The arguments after the request type: parameters may be left out when the request has no
 * required one (`ping`, `leave`, `get-stats`...).
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export type RequestArgs<T extends RequestType> = {} extends ParamsOf<T>
  ? [params?: ParamsOf<T>, options?: RequestOptions]
  : [params: ParamsOf<T>, options?: RequestOptions];
