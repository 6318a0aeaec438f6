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
  [name: string]: number;
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
}

export interface AudioOutFormat {
  enabled?: boolean;
  sample_rate?: number;
  channels?: 1 | 2;
}

export interface VadParams {
  enabled?: boolean;
  aggressiveness?: 0 | 1 | 2 | 3;
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

/** Request type -> [params, result]. Requests not listed still work through `request()`. */
export interface RequestMap {
  join: [JoinParams & { room_url: string }, JoinedData];
  leave: [Record<string, never>, Record<string, never>];
  observe: [ObserveParams & { room_url: string }, ObserveResult];
  'list-rooms': [{ backend?: 'local' | 'daily' }, { rooms: RoomInfo[] }];
  'send-app-message': [SendAppMessageParams, Record<string, never>];
  'get-participants': [Record<string, never>, { participants: Record<string, Participant> }];
  'get-stats': [Record<string, never>, Record<string, unknown>];
  ping: [Record<string, never>, { time_ms: number }];
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
}

export type RequestType = keyof RequestMap;
export type ParamsOf<T extends string> = T extends RequestType ? RequestMap[T][0] : Record<string, unknown>;
export type ResultOf<T extends string> = T extends RequestType ? RequestMap[T][1] : Record<string, unknown>;

/** Requests this SDK has typed helpers for (the gateway's hello lists what it serves). */
export const KNOWN_REQUESTS: readonly string[] = [
  'capture-participant-video', 'clear-audio', 'get-audio-buffer', 'get-participants', 'get-stats', 'join',
  'leave', 'list-rooms', 'mark-audio', 'observe', 'ping', 'request-video-frame', 'send-app-message',
  'start-recording', 'start-transcription', 'stop-capture-participant-video', 'stop-recording',
  'stop-transcription',
];

// ---------------------------------------------------------------- events

export interface TrackInfo {
  track: number;
  participant_id: string;
  kind: 'audio' | 'video';
  source: 'microphone' | 'camera' | 'screenVideo' | 'screenAudio';
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
  left: { reason?: 'left' | 'ejected' | 'error' | 'shutdown' | 'disconnected' };
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
}

export type ServerEventName = keyof ServerEventMap;

/** The protocol's events this SDK types (the gateway's hello lists what it may send). */
export const KNOWN_EVENTS: readonly string[] = [
  'active-speaker-changed', 'app-message', 'audio-levels', 'call-state-updated', 'error',
  'first-participant-joined', 'joined', 'left', 'participant-joined', 'participant-left',
  'participant-updated', 'speech-started', 'speech-stopped', 'track-started', 'track-stopped',
  'transcription-message', 'transcription-started', 'transcription-stopped', 'transcription-error',
  'recording-started', 'recording-stopped', 'recording-error', 'playout-started', 'playout-idle',
  'playout-mark', 'playout-buffer-high', 'playout-buffer-low',
];
