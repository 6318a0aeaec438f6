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
  TurnData,
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
/** `observe`'s parameters without its target (`room_url` or `session_id`, the first argument of `observe()` / `watchSession()`). */
export type ObserveOptions = Omit<ObserveParams, 'room_url' | 'session_id'>;
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
  /** Observing through a session (`session_id` given, or a Daily room): the session watched... */
  session_id?: string;
  /** ...and its participant in the room (`info.isLocal` is true for it in `participants`). */
  participant_id?: string | null;
}

/** One of the gateway's sessions in a room (a bot), as `list-rooms` lists it: `watchSession()` takes its id. */
export interface SessionInfo {
  session_id: string;
  /** Its participant in the room. */
  participant_id: string | null;
  user_name: string;
  /** Its client's connection dropped; it stays in the room, resumable. */
  detached: boolean;
  /** Sessions watching it (`observe {session_id}`). */
  watchers: number;
  /** Unix seconds. */
  started_at: number;
}

/** One room of `list-rooms`. */
export interface RoomInfo {
  room_url: string;
  backend: string;
  participants: Record<string, Participant>;
  /** The gateway's sessions in the room (bots), oldest first. */
  sessions?: SessionInfo[];
  /** Sessions observing it, or watching one of its sessions. */
  observers?: number;
  /** Local rooms: the active speaker's participant id, or null. */
  active_speaker?: string | null;
  /** Unix seconds (Daily rooms: when the gateway started). */
  created_at?: number;
  /** Local rooms: the recordings running now. */
  recordings?: { stream_id: string; recording_id: string; path: string }[];
  /** Local rooms: the transcription instances running now (instance ids). */
  transcriptions?: string[];
}

/** Gaps or overlaps summed up (`get-turn-stats`, PROTOCOL.md 5.12): nearest-rank percentiles, null when `count` is 0. */
export interface TurnSummary {
  count: number;
  p50_ms: number | null;
  p95_ms: number | null;
  max_ms: number | null;
  /** Overlaps only: the barge-ins that took the turn (the interrupted speaker stopped first). */
  yielded?: number;
}

/** Response gaps and overlaps of a room, or of one participant who took the turn. */
export interface TurnTotals {
  responses: TurnSummary;
  overlaps: TurnSummary;
}

/** `get-turn-stats`: the turns this session has seen in its room (PROTOCOL.md 5.12). */
export interface TurnStats extends TurnTotals {
  room_url: string;
  /** When the count began (Unix seconds). */
  since: number;
  /** By the participant id of who took the turn. */
  by_participant: Record<string, TurnTotals>;
  /** The latest turns, newest last (each a `turn` event's data). */
  recent: TurnData[];
}

/** One session kept in the gateway's history (`list-history`, `get-history`; PROTOCOL.md 5.13). */
export interface HistorySession {
  session_id: string;
  room_url: string;
  backend: string;
  role: 'participant' | 'observer';
  participant_id: string | null;
  user_name: string | null;
  /** `key:<id>`, `token:<sub>`, or null on an open gateway. */
  principal: string | null;
  /** Unix seconds. */
  started_at: number;
  /** Unix seconds; null while the session runs. */
  ended_at: number | null;
  /** The `left` reason, or `disconnected`; null while it runs. */
  end_cause: string | null;
  /** Entries kept... */
  events: number;
  /** ...and those over `history_max_events`, not kept. */
  dropped_events: number;
  turns: TurnTotals;
}

/** One room of `list-history`: its sessions listed and their time span. */
export interface HistoryRoom {
  room_url: string;
  backend: string;
  sessions: number;
  started_at: number;
  ended_at: number | null;
}

/** One entry of a session's log: a protocol event's name and data (or `request-failed`, `observing`). */
export interface HistoryEntry {
  /** Unix seconds. */
  at: number;
  event: string;
  data: Record<string, unknown>;
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
  'get-history': { session: HistorySession; events: HistoryEntry[]; total: number };
  'get-turn-stats': TurnStats;
  join: JoinedData;
  leave: NoResult;
  'list-history': { sessions: HistorySession[]; rooms: HistoryRoom[] };
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
