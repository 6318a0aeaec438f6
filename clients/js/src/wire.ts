/**
 * Wire types of daily-gateway.v1, generated from the protocol's JSON Schemas
 * (protocol/schema/) by scripts/generate-wire.mjs with json-schema-to-typescript.
 *
 * DO NOT EDIT: change the schema, then run `make js-types` (or `npm run generate` in
 * clients/js). `make test` fails while this file is not what the schemas give.
 * Field names are the wire's: what PROTOCOL.md says is what you type.
 */

/* eslint-disable */

/**
 * Request type -> its parameters (the request without `type` and `id`).
 */
export interface RequestParamsMap {
  'answer-call': AnswerCallParams;
  'capture-participant-transcription': CaptureParticipantTranscriptionParams;
  'capture-participant-video': CaptureParticipantVideoParams;
  'clear-audio': ClearAudioParams;
  'create-meeting-token': CreateMeetingTokenParams;
  'create-room': CreateRoomParams;
  'delete-room': DeleteRoomParams;
  dial: DialParams;
  'eject-remote-participants': EjectRemoteParticipantsParams;
  'get-active-speaker': GetActiveSpeakerParams;
  'get-audio-buffer': GetAudioBufferParams;
  'get-history': GetHistoryParams;
  'get-network-stats': GetNetworkStatsParams;
  'get-participant-counts': GetParticipantCountsParams;
  'get-participants': GetParticipantsParams;
  'get-room': GetRoomParams;
  'get-stats': GetStatsParams;
  'get-turn-stats': GetTurnStatsParams;
  join: JoinParams;
  leave: LeaveParams;
  'list-history': ListHistoryParams;
  'list-rooms': ListRoomsParams;
  'mark-audio': MarkAudioParams;
  'mint-token': MintTokenParams;
  observe: ObserveParams;
  ping: PingParams;
  'register-phone': RegisterPhoneParams;
  'reject-call': RejectCallParams;
  'request-video-frame': RequestVideoFrameParams;
  resume: ResumeParams;
  'send-app-message': SendAppMessageParams;
  'send-dtmf': SendDtmfParams;
  'send-prebuilt-chat-message': SendPrebuiltChatMessageParams;
  'sip-call-transfer': SipCallTransferParams;
  'sip-refer': SipReferParams;
  'start-dialout': StartDialoutParams;
  'start-recording': StartRecordingParams;
  'start-transcription': StartTranscriptionParams;
  'stop-capture-participant-video': StopCaptureParticipantVideoParams;
  'stop-dialout': StopDialoutParams;
  'stop-recording': StopRecordingParams;
  'stop-transcription': StopTranscriptionParams;
  'update-inputs': UpdateInputsParams;
  'update-publishing': UpdatePublishingParams;
  'update-recording': UpdateRecordingParams;
  'update-remote-participants': UpdateRemoteParticipantsParams;
  'update-subscription-profiles': UpdateSubscriptionProfilesParams;
  'update-subscriptions': UpdateSubscriptionsParams;
  'update-transcription': UpdateTranscriptionParams;
}
/**
 * Answer a ringing call (phone sessions): the phone joins the call's room as a participant; the result is join's, plus call_id.
 */
export interface AnswerCallParams {
  call_id: string;
}
/**
 * Add one participant to the set this session has transcribed (the reference DailyTransport's capture_participant_transcription): applied at once with update-transcription when transcription runs, else when this session starts it. not_found for a participant not in the room.
 */
export interface CaptureParticipantTranscriptionParams {
  participant_id: string;
  /**
   * Transcription instance to update. Omitted: Daily's default instance.
   */
  instance_id?: string;
}
/**
 * Receive a participant's video as binary video frames on a new track, announced by track-started (kind video). Frames come at most framerate per second, the latest frame winning; framerate 0 sends frames only on request-video-frame. Capturing the same participant and source again replaces the capture (its old track stops).
 */
export interface CaptureParticipantVideoParams {
  participant_id: string;
  /**
   * Most frames per second sent; 0: only on request-video-frame.
   */
  framerate?: number;
  /**
   * Which of the participant's videos.
   */
  video_source?: 'camera' | 'screenVideo';
  /**
   * Pixel format of the frames sent (converted by the gateway).
   */
  color_format?: 'RGB' | 'RGBA' | 'BGRA' | 'ARGB' | 'ABGR' | 'BGR' | 'I420';
}
/**
 * Barge-in: drop all published audio buffered and not yet played, at once. The track plays none of it from the next frame on. Pending marks come back as playout-mark with status cleared; a playing span ends with playout-idle (reason cleared). Result: dropped_ms, dropped_samples, cleared_marks (names, in order).
 */
export type ClearAudioParams = Record<string, never>;
/**
 * Create a Daily meeting token (POST /meeting-tokens) with the gateway's API key.
 */
export interface CreateMeetingTokenParams {
  /**
   * Daily's meeting-token properties, passed as is (room_name, is_owner, exp, eject_at_token_exp, user_name, permissions, start_cloud_recording, ...). Without exp the token expires expiry_s from now.
   */
  properties: {
    [k: string]: unknown;
  };
  /**
   * Lifetime in seconds when properties.exp is absent.
   */
  expiry_s?: number;
  /**
   * Milliseconds the gateway waits for Daily's answer before timeout.
   */
  timeout_ms?: number;
}
/**
 * Create a Daily room through Daily's REST API (POST /rooms) with the gateway's API key; needs no joined session (PROTOCOL.md, "Daily REST").
 */
export interface CreateRoomParams {
  /**
   * Room name; absent: Daily picks one.
   */
  name?: string;
  privacy?: 'public' | 'private';
  /**
   * Daily's room properties, passed as is (exp, enable_dialout, enable_recording, max_participants, sip, start_video_off, ...).
   */
  properties?: {
    [k: string]: unknown;
  };
  /**
   * Milliseconds the gateway waits for Daily's answer before timeout.
   */
  timeout_ms?: number;
}
/**
 * Delete a Daily room (DELETE /rooms/{name}); a room that does not exist counts as deleted (deleted: false).
 */
export interface DeleteRoomParams {
  /**
   * Daily room name: letters, digits, '-' and '_'.
   */
  name: string;
  /**
   * Milliseconds the gateway waits for Daily's answer before timeout.
   */
  timeout_ms?: number;
}
/**
 * Call a local room's dial-in endpoint (phone sessions): answered at once when a participant of that room joined with dialin_settings; the result is join's, plus call_id.
 */
export interface DialParams {
  /**
   * sip:<room>@sip.local.gateway (dialin-ready's sip_endpoint) or local://<room>.
   */
  to: string;
  /**
   * Local test hook: "warning" (a codec fallback: dialin-warning after dialin-connected) or "error" (the call fails: dialin-error to the room, backend_error to the phone).
   */
  simulate?: 'warning' | 'error';
}
/**
 * Remove participants from the room (daily-python eject_remote_participants(ids)). Needs admin rights.
 */
export interface EjectRemoteParticipantsParams {
  /**
   * At least 1 items.
   */
  ids: string[];
}
/**
 * The room's active speaker, or null (daily-python active_speaker()).
 */
export type GetActiveSpeakerParams = Record<string, never>;
/**
 * The playout buffer of the audio this session publishes: buffered ms, playing, pending marks, totals played and dropped, and the settings in force.
 */
export type GetAudioBufferParams = Record<string, never>;
/**
 * One session's log from the history (PROTOCOL.md 5.12), as JSON to keep or export: the session and its events in order (joins, leaves, errors, telephony, recordings, transcripts, turns, network stats samples). A session whose room the credential does not cover is not_found, as one that does not exist.
 */
export interface GetHistoryParams {
  /**
   * list-history's sessions[].session_id (or a live session's hello session_id).
   */
  session_id: string;
  /**
   * Skip this many events (paging through a long log).
   */
  offset?: number;
  /**
   * At most this many events.
   */
  limit?: number;
}
/**
 * This participant's network statistics in Daily's shape (daily-python get_network_stats()).
 */
export type GetNetworkStatsParams = Record<string, never>;
/**
 * How many participants the room has, present and hidden (daily-python participant_counts()).
 */
export type GetParticipantCountsParams = Record<string, never>;
/**
 * The room's participants, keyed by id ('local' is not used: the session's own id is in joined).
 */
export type GetParticipantsParams = Record<string, never>;
/**
 * Daily's room object (GET /rooms/{name}); not_found if it does not exist.
 */
export interface GetRoomParams {
  /**
   * Daily room name: letters, digits, '-' and '_'.
   */
  name: string;
  /**
   * Milliseconds the gateway waits for Daily's answer before timeout.
   */
  timeout_ms?: number;
}
/**
 * Counters of this session: frames and bytes in and out, media dropped, playout buffer.
 */
export type GetStatsParams = Record<string, never>;
/**
 * The turns of the room as this session has seen them since it joined or observed (PROTOCOL.md 9.5): response gaps and overlaps counted, with p50 / p95 / max, overall and per participant who took the turn, and the latest turns.
 */
export interface GetTurnStatsParams {
  /**
   * How many of the latest turns to include in 'recent' (newest last); 0: none.
   */
  recent?: number;
}
/**
 * Place a participant in a room. Exactly one join per session.
 */
export interface JoinParams {
  room_url: string;
  /**
   * Backend to use; by default the one serving the room URL's scheme (local:// -> local, https:// -> daily). Must be in hello.capabilities.backends.
   */
  backend?: string;
  token?: string;
  user_name?: string;
  /**
   * Any JSON value, shown to others as participant.info.userData.
   */
  user_data?: unknown;
  audio_in?: AudioInFormat;
  audio_out?: AudioOutFormat;
  vad?: VadParams;
  /**
   * Period of audio-levels events; 0 turns them off.
   */
  levels_interval_ms?: number;
  /**
   * Daily's dial-in settings {call_id, call_domain}: the room takes dial-in calls, dialin-ready follows the join. Local rooms: phones reach it with dial (PROTOCOL.md, Telephony). Keys: call_id, call_domain (strings).
   */
  dialin_settings?: {
    [k: string]: unknown;
  };
  /**
   * Receiving participant video (Daily: capture-participant-video may subscribe it; video is received only while captured; false: captures are wrong_state. Local rooms ignore it: capture-participant-video decides).
   */
  video_in?: {
    enabled?: boolean;
  };
  /**
   * The video this participant publishes (binary frames on tracks 2 and 3). Daily only: the custom camera track made at join; local rooms take any frame size and format and ignore these.
   */
  video_out?: {
    enabled?: boolean;
    is_live?: boolean;
    width?: number;
    height?: number;
    framerate?: number;
    /**
     * Bits per second: caps the published camera to one encoding at this bitrate (and framerate). Absent: Daily's adaptive layers. Ignored when send_settings is given.
     */
    bitrate?: number;
    color_format?: 'RGB' | 'RGBA' | 'BGRA' | 'ARGB' | 'ABGR' | 'I420';
    /**
     * Daily's camera sendSettings (maxQuality, encodings, preferredCodec...), passed to Daily unchanged.
     */
    send_settings?: {
      [k: string]: unknown;
    };
    /**
     * Preferred video codec of the published camera (Daily's sendSettings.preferredCodec).
     */
    codec?: 'VP8' | 'VP9' | 'H264' | 'H265';
  };
  /**
   * Start transcription once joined (as start-transcription with these settings). A failure to start is an error event, not a failed join.
   */
  transcription?: {
    enabled?: boolean;
    /**
     * Daily's TranscriptionSettings (as start-transcription.settings).
     */
    settings?: {
      [k: string]: unknown;
    };
  };
  /**
   * Daily REST API base URL for this join (Daily only; dial-in routing). Needs api_key: the gateway's own key is never sent to a URL a client chose.
   */
  api_url?: string;
  /**
   * Daily REST API key for this join (Daily only); never echoed or logged.
   */
  api_key?: string;
}
/**
 * Audio the gateway sends to this client: every other participant's track, resampled to this format and cut into frames of frame_ms.
 */
export interface AudioInFormat {
  enabled?: boolean;
  sample_rate?: number;
  channels?: 1 | 2;
  frame_ms?: number;
  filter?: AudioFilter;
  /**
   * join on Daily only: one track (participant_id "*", source mixed) carrying the room's mix from daily-python's virtual speaker, instead of one track per participant and source. One such session per gateway process, and no other Daily session beside it (limit_reached). Local rooms: not_supported. Ignored by observe and register-phone.
   */
  mixed?: boolean;
}
/**
 * Filter applied to each received participant track before the client and VAD get it (PROTOCOL.md, "Input filters"). noisereduce needs the gateway's noisereduce extra; krisp is accepted for parity with Daily's transport but this gateway has no Krisp SDK (not_supported).
 */
export interface AudioFilter {
  type?: 'none' | 'noisereduce' | 'krisp';
  /**
   * Per filter. noisereduce: block_ms (20-1000, default 100), context_ms (0-2000, default 400), prop_decrease (0-1, default 1.0), noise_window_ms (500-10000, default 2000). Adds block_ms + about 32 ms of latency.
   */
  options?: {
    [k: string]: unknown;
  };
}
/**
 * Audio this client publishes into the room (binary frames on track 1). Frames must carry this sample rate and channel count.
 */
export interface AudioOutFormat {
  enabled?: boolean;
  sample_rate?: number;
  channels?: 1 | 2;
  /**
   * Most published audio the gateway buffers for this session; beyond it a frame is refused with buffer_full. At most hello.limits.max_playout_buffer_ms (more: invalid_params). Default (x-default): that limit.
   */
  max_buffer_ms?: number;
  /**
   * playout-buffer-high when a frame takes the buffer to this many ms or more (pause your TTS); 0 turns watermark events off. Must not exceed max_buffer_ms. Default (x-default): 10000, or max_buffer_ms / 2 (rounded down) when that is smaller.
   */
  high_watermark_ms?: number;
  /**
   * playout-buffer-low when, after a playout-buffer-high, the buffer falls to this many ms or below, or is cleared (resume your TTS). Must be below high_watermark_ms. Default (x-default): 2000, or high_watermark_ms / 5 (rounded down) when that is smaller.
   */
  low_watermark_ms?: number;
  /**
   * When the buffer runs dry, the track plays silence this long before playout-idle, so a sender streaming at real time does not flap idle/started.
   */
  idle_grace_ms?: number;
  /**
   * When audio starts after idle, wait until this much is buffered (or this long has passed) before playing: a jitter allowance for real-time senders. 0 plays at once.
   */
  prebuffer_ms?: number;
  /**
   * Opus bitrate of the published microphone in bits per second (Daily only; local rooms carry PCM and ignore it).
   */
  bitrate?: number;
  /**
   * Daily's live mode for the published audio (Daily only).
   */
  is_live?: boolean;
  /**
   * Daily only: daily-python's custom audio source sends silence while nothing is written (true, the default), or nothing (false). Local rooms ignore it.
   */
  auto_silence?: boolean;
}
/**
 * Voice activity detection on each received participant track (an analyzer with start/stop hysteresis).
 */
export interface VadParams {
  enabled?: boolean;
  /**
   * webrtc: webrtcvad; native: daily-python's built-in VAD (Daily.create_native_vad); silero: Silero VAD (the gateway's silero extra).
   */
  analyzer?: 'webrtc' | 'native' | 'silero';
  aggressiveness?: number;
  /**
   * Speech probability at or above which a frame counts as voiced (native and silero analyzers).
   */
  confidence?: number;
  start_ms?: number;
  stop_ms?: number;
  min_level?: number;
}
/**
 * Leave the room. The session stays open and may not join again.
 */
export type LeaveParams = Record<string, never>;
/**
 * Sessions this gateway kept in its history (PROTOCOL.md 5.12), newest first, with the rooms they were in: those that ended and those still running. Only the rooms the credential covers.
 */
export interface ListHistoryParams {
  /**
   * Only this room's sessions (a room outside the credential's rooms is unauthorized).
   */
  room_url?: string;
  /**
   * Only sessions that started before this time (Unix seconds): the 'started_at' of the last one of the previous page.
   */
  before?: number;
  /**
   * At most this many sessions.
   */
  limit?: number;
}
/**
 * The live rooms this gateway is in, on every enabled backend (or one), with their participants. Valid in any session state; needs no room.
 */
export interface ListRoomsParams {
  /**
   * Only this backend's rooms. Must be in hello.capabilities.backends (unknown_backend otherwise).
   */
  backend?: string;
}
/**
 * Place a named mark after all audio published before this request. A playout-mark event follows: status played once that audio has been played into the room, or cleared (with the ms of its segment actually played) if clear-audio dropped it first. With nothing buffered it is played at once. Result: name, buffered_ms (audio queued ahead of the mark).
 */
export interface MarkAudioParams {
  /**
   * Any name; echoed in the playout-mark event. Names need not be unique.
   */
  name: string;
}
/**
 * Sign a short-lived access token for another client (admin role only; PROTOCOL.md section 13). The token grants no more than the requesting credential: same or weaker role, a room inside its room scope, commands among its own, an expiry no later than its own. Result: token, claims (sub, room, role, cmd, iat, exp, jti, kid), expires_at (Unix seconds).
 */
export interface MintTokenParams {
  /**
   * The room the token is for: an exact room URL, a prefix ending in * (local://team-*), or * for any room.
   */
  room: string;
  /**
   * observer: observe and read; bot: everything but admin requests; admin: everything.
   */
  role?: 'observer' | 'bot' | 'admin';
  /**
   * Who the token is for; appears in the gateway's logs and as the session's principal (token:<sub>). Default: a unique minted-<jti>, so that no two tokens minted without one share a principal.
   */
  sub?: string;
  /**
   * Request types the token allows, narrowing the role's defaults (never widening them). Default: the role's.
   *
   * At most 100 items.
   */
  commands?: string[];
  /**
   * Lifetime in seconds, at most 7 days; a token minted by a token expires no later than that token, whatever ttl_s asks.
   */
  ttl_s?: number;
}
/**
 * Attach read-only, without being a participant, to a room (room_url) or to one of the gateway's sessions in a room (session_id: a bot's transport, seeing the room as that bot does): receive its events and, per 'audio', each participant's VAD, levels and audio. Exactly one of room_url and session_id. A session either joins or observes, once.
 */
export interface ObserveParams {
  /**
   * The room to observe. A local room need not have participants yet; a room of a backend that cannot observe rooms by itself (daily) is observed through one of the gateway's sessions in it (not_found when there is none).
   */
  room_url?: string;
  /**
   * A session of this gateway in a room (list-rooms' sessions[].session_id): receive what its transport receives. Allowed to admins and to credentials whose rooms cover that session's room; anything else is not_found, as for a session that does not exist.
   */
  session_id?: string;
  /**
   * Must be in hello.capabilities.backends (unknown_backend otherwise).
   */
  backend?: string;
  /**
   * none: room events only. analysis: also track-started/-stopped, speech-started/-stopped and audio-levels for each participant, but no media frames. frames: analysis plus every participant's audio as binary frames in audio_in format.
   */
  audio?: 'none' | 'analysis' | 'frames';
  /**
   * Format of the analysed (and, with audio=frames, sent) audio.
   */
  audio_in?: {
    sample_rate?: number;
    channels?: 1 | 2;
    frame_ms?: number;
  };
  vad?: VadParams;
  /**
   * Period of audio-levels events; 0 turns them off.
   */
  levels_interval_ms?: number;
}
/**
 * Round trip check; the result carries the gateway's clock.
 */
export type PingParams = Record<string, never>;
/**
 * Make this session a simulated phone with a number (local rooms only): it is rung by dial-outs to that number and may dial rooms.
 */
export interface RegisterPhoneParams {
  number: string;
  audio_in?: AudioInFormat;
  audio_out?: AudioOutFormat;
  vad?: VadParams;
}
/**
 * Decline a ringing call (phone sessions): the dialer gets dialout-error.
 */
export interface RejectCallParams {
  call_id: string;
}
/**
 * Send one frame of a captured video now: the latest, or the next to arrive (Daily's framerate 0 + image request). not_found if it is not captured.
 */
export interface RequestVideoFrameParams {
  participant_id: string;
  /**
   * Which of the participant's videos.
   */
  video_source?: 'camera' | 'screenVideo';
}
/**
 * Continue a session whose connection dropped (PROTOCOL.md, Resume): the first request of a new connection. The reply comes on this connection's numbering; then the frames with seq > last_seq, then live.
 */
export interface ResumeParams {
  /**
   * The hello's resume_token of the session to continue.
   */
  resume_token: string;
  /**
   * The seq of the last text frame the client received from that session.
   */
  last_seq: number;
}
/**
 * Send an app message to everyone (no participant_id) or to one participant.
 */
export interface SendAppMessageParams {
  /**
   * Any JSON value but null (Daily refuses a null message), at most limits.max_app_message_bytes once serialized.
   */
  message:
    | {
        [k: string]: unknown;
      }
    | unknown[]
    | string
    | number
    | boolean;
  participant_id?: string;
  urgent?: boolean;
}
/**
 * Send DTMF tones (daily-python send_dtmf(settings)). From a bot: to the phone of settings.sessionId. From a simulated phone in a call: its keypad, heard by the room as dtmf-event.
 */
export interface SendDtmfParams {
  settings: {
    /**
     * The call's session id (from dialout-connected / dialin-connected). Omitted: the latest connected call of this session.
     */
    sessionId?: string;
    /**
     * 1-20 of 0-9, A-D, * and #.
     */
    tones: string;
    digitDurationMs?: number;
    method?: 'sip-info' | 'telephone-event' | 'auto';
  };
}
/**
 * Post to Daily Prebuilt's chat (daily-python send_prebuilt_chat_message(message, user_name)). Local rooms deliver it as an app message in Prebuilt's chat shape.
 */
export interface SendPrebuiltChatMessageParams {
  message: string;
  /**
   * Name shown in the chat (default: this participant's user name).
   */
  user_name?: string;
}
/**
 * Move a phone call to another endpoint (daily-python sip_call_transfer(settings)). Local rooms: toEndPoint is another local room's dial-in endpoint (sip:<room>@sip.local.gateway or local://<room>).
 */
export interface SipCallTransferParams {
  settings: {
    /**
     * The call's session id (from dialout-connected / dialin-connected). Omitted: the latest connected call of this session.
     */
    sessionId?: string;
    toEndPoint: string;
    [k: string]: unknown;
  };
}
/**
 * Move a phone call to another endpoint (daily-python sip_refer(settings)). Local rooms: toEndPoint is another local room's dial-in endpoint (sip:<room>@sip.local.gateway or local://<room>).
 */
export interface SipReferParams {
  settings: {
    /**
     * The call's session id (from dialout-connected / dialin-connected). Omitted: the latest connected call of this session.
     */
    sessionId?: string;
    toEndPoint: string;
    [k: string]: unknown;
  };
}
/**
 * Call a phone number or SIP URI into the room (daily-python start_dialout(settings)). Local rooms: a simulation (PROTOCOL.md, Telephony).
 */
export interface StartDialoutParams {
  /**
   * Daily's dial-out settings: phoneNumber or sipUri, and optionally displayName, userId, callerId, video, codecs...
   */
  settings: {
    [k: string]: unknown;
  } & {
    phoneNumber?: string;
    sipUri?: string;
    displayName?: string;
    userId?: string;
    callerId?: string;
    [k: string]: unknown;
  };
  /**
   * Local rooms only (Daily has no ring timeout setting; ignored there): seconds the call may ring before dialout-error. Default 30.
   */
  ring_timeout_s?: number;
}
/**
 * Start recording the room (daily-python start_recording(streaming_settings, stream_id, force_new)). Everyone in the room gets recording-started. The local backend writes WAV files (PROTOCOL.md, "Recording").
 */
export interface StartRecordingParams {
  /**
   * Daily's streaming settings, passed to Daily as is. The local backend reads type (cloud, cloud-audio-only: the room mix; raw-tracks: the mix and one WAV per participant), layout (kept in the manifest) and maxDuration (seconds).
   */
  streaming_settings?: {
    [k: string]: unknown;
  };
  /**
   * Recording instance (Daily's stream id). Omitted: Daily's default instance, 00000000-0000-4000-8000-000000000000.
   */
  stream_id?: string;
  /**
   * If this stream id is already recording, stop that recording and start a new one instead of failing with wrong_state.
   */
  force_new?: boolean;
}
/**
 * Start transcribing the room (daily-python start_transcription(settings)). Everyone gets transcription-started, then transcription-message events. The local backend runs an offline recogniser (PROTOCOL.md, "Transcription").
 */
export interface StartTranscriptionParams {
  /**
   * Daily's transcription settings, passed to Daily as is. The local backend reads language (en only), participants (ids; everyone if absent), instanceId, and extra.interim_results (interim messages, off by default as with Daily).
   */
  settings?: {
    [k: string]: unknown;
  };
}
/**
 * Stop receiving a participant's video; its track stops (track-stopped). not_found if it is not captured.
 */
export interface StopCaptureParticipantVideoParams {
  participant_id: string;
  /**
   * Which of the participant's videos.
   */
  video_source?: 'camera' | 'screenVideo';
}
/**
 * Hang up a dial-out call (daily-python stop_dialout(participant_id)).
 */
export interface StopDialoutParams {
  /**
   * The call's session id (the phone participant's id).
   */
  participant_id: string;
}
/**
 * Stop a recording (daily-python stop_recording(stream_id)); not_found if it is not running. Everyone gets recording-stopped.
 */
export interface StopRecordingParams {
  /**
   * Recording instance (Daily's stream id). Omitted: Daily's default instance, 00000000-0000-4000-8000-000000000000.
   */
  stream_id?: string;
}
/**
 * Stop a transcription instance (daily-python stop_transcription()); not_found if it is not running. The last final messages come first, then transcription-stopped.
 */
export interface StopTranscriptionParams {
  /**
   * Transcription instance. Omitted: Daily's default instance, 00000000-0000-4000-8000-000000000000.
   */
  instance_id?: string;
}
/**
 * Turn this participant's microphone or camera on or off (daily-python update_inputs(input_settings)). Off: the room hears / sees nothing of it.
 */
export interface UpdateInputsParams {
  /**
   * Daily's input settings: {microphone: {isEnabled}, camera: {isEnabled}} (other keys of each, e.g. settings, are ignored by local rooms).
   */
  input_settings: {
    microphone?: {
      isEnabled: boolean;
      [k: string]: unknown;
    };
    camera?: {
      isEnabled: boolean;
      [k: string]: unknown;
    };
  };
}
/**
 * Start or stop publishing this participant's microphone or camera (daily-python update_publishing(publishing_settings)).
 */
export interface UpdatePublishingParams {
  /**
   * Daily's publishing settings: {microphone: {isPublishing}, camera: {isPublishing}} (sendSettings ignored by local rooms).
   */
  publishing_settings: {
    microphone?: {
      isPublishing: boolean;
      [k: string]: unknown;
    };
    camera?: {
      isPublishing: boolean;
      [k: string]: unknown;
    };
  };
}
/**
 * Change a running recording's settings, e.g. its layout (daily-python update_recording(update_settings, stream_id)); not_found if it is not running.
 */
export interface UpdateRecordingParams {
  /**
   * Daily's update settings, e.g. {"layout": {"preset": "single-participant", "session_id": "..."}}.
   */
  update_settings: {
    [k: string]: unknown;
  };
  /**
   * Recording instance (Daily's stream id). Omitted: Daily's default instance, 00000000-0000-4000-8000-000000000000.
   */
  stream_id?: string;
}
/**
 * Change other participants' permissions and inputs (daily-python update_remote_participants(remote_participants)). Needs admin rights (owner, or canAdmin).
 */
export interface UpdateRemoteParticipantsParams {
  /**
   * Participant id -> {permissions, inputsEnabled}.
   */
  remote_participants: {
    [k: string]: {
      /**
       * Daily's participant permissions in daily-python's names; the keys given replace the old values.
       */
      permissions?: {
        /**
         * false: the others neither see (participant-left, reason hidden) nor hear the participant.
         */
        hasPresence?: boolean;
        /**
         * The sources it may send (daily-python's names), or true (all) / false (none): the gateway sends Daily the list.
         */
        canSend?: boolean | ('microphone' | 'camera' | 'screenVideo' | 'screenAudio' | 'customVideo' | 'customAudio')[];
        /**
         * Daily's admin kinds (participants grants remote control), or true (all) / false (none): the gateway sends Daily the list.
         */
        canAdmin?: boolean | ('participants' | 'streaming' | 'transcription')[];
        /**
         * Daily's receive permissions: base, then byUserId, then byParticipantId (most specific wins). Local rooms apply base and byParticipantId to microphone, camera, screenVideo and screenAudio and keep the rest.
         */
        canReceive?: {
          /**
           * One canReceive level: true, false, or media -> allowed in daily-python's names (camera, microphone, screenVideo, screenAudio; customVideo / customAudio: true, false or Daily's {track name or *: allowed}). A medium left out is allowed.
           */
          base?:
            | boolean
            | {
                camera?: boolean;
                microphone?: boolean;
                screenVideo?: boolean;
                screenAudio?: boolean;
                customVideo?:
                  | boolean
                  | {
                      [k: string]: boolean;
                    };
                customAudio?:
                  | boolean
                  | {
                      [k: string]: boolean;
                    };
              };
          byUserId?: {
            /**
             * One canReceive level: true, false, or media -> allowed in daily-python's names (camera, microphone, screenVideo, screenAudio; customVideo / customAudio: true, false or Daily's {track name or *: allowed}). A medium left out is allowed.
             */
            [k: string]:
              | boolean
              | {
                  camera?: boolean;
                  microphone?: boolean;
                  screenVideo?: boolean;
                  screenAudio?: boolean;
                  customVideo?:
                    | boolean
                    | {
                        [k: string]: boolean;
                      };
                  customAudio?:
                    | boolean
                    | {
                        [k: string]: boolean;
                      };
                };
          };
          byParticipantId?: {
            /**
             * One canReceive level: true, false, or media -> allowed in daily-python's names (camera, microphone, screenVideo, screenAudio; customVideo / customAudio: true, false or Daily's {track name or *: allowed}). A medium left out is allowed.
             */
            [k: string]:
              | boolean
              | {
                  camera?: boolean;
                  microphone?: boolean;
                  screenVideo?: boolean;
                  screenAudio?: boolean;
                  customVideo?:
                    | boolean
                    | {
                        [k: string]: boolean;
                      };
                  customAudio?:
                    | boolean
                    | {
                        [k: string]: boolean;
                      };
                };
          };
        };
      };
      /**
       * Turn the participant's inputs on (true) or off (false).
       */
      inputsEnabled?: {
        microphone?: boolean;
        camera?: boolean;
      };
    };
  };
}
/**
 * Define or change subscription profiles (daily-python update_subscription_profiles(profile_settings)): profile name -> source -> state. A new name makes a profile that update-subscriptions can give participants. Local rooms: the base profile only.
 */
export interface UpdateSubscriptionProfilesParams {
  /**
   * Profile name -> source -> state (Daily's shorthand).
   */
  profile_settings: {
    [k: string]: {
      /**
       * Daily's track subscription state: only subscribed delivers media.
       */
      microphone?: 'subscribed' | 'unsubscribed' | 'staged';
      /**
       * Daily's track subscription state: only subscribed delivers media.
       */
      camera?: 'subscribed' | 'unsubscribed' | 'staged';
      /**
       * Daily's track subscription state: only subscribed delivers media.
       */
      screenVideo?: 'subscribed' | 'unsubscribed' | 'staged';
      /**
       * Daily's track subscription state: only subscribed delivers media.
       */
      screenAudio?: 'subscribed' | 'unsubscribed' | 'staged';
    };
  };
}
/**
 * Change what this participant receives (daily-python update_subscriptions(participant_settings, profile_settings)), in Daily's shapes. Only subscribed sources are delivered.
 */
export interface UpdateSubscriptionsParams {
  /**
   * Participant id -> {profile?, media?}: the participant's profile (local rooms: base only), and media that override it.
   */
  participant_settings?: {
    [k: string]: {
      /**
       * A profile name (base, or one made by update-subscription-profiles).
       */
      profile?: string;
      /**
       * Daily's media subscription value: one state for every source, or source -> state.
       */
      media?:
        | ('subscribed' | 'unsubscribed' | 'staged')
        | {
            /**
             * Daily's track subscription state: only subscribed delivers media.
             */
            microphone?: 'subscribed' | 'unsubscribed' | 'staged';
            /**
             * Daily's track subscription state: only subscribed delivers media.
             */
            camera?: 'subscribed' | 'unsubscribed' | 'staged';
            /**
             * Daily's track subscription state: only subscribed delivers media.
             */
            screenVideo?: 'subscribed' | 'unsubscribed' | 'staged';
            /**
             * Daily's track subscription state: only subscribed delivers media.
             */
            screenAudio?: 'subscribed' | 'unsubscribed' | 'staged';
          };
    };
  };
  /**
   * Profile name -> {media}: overrides for every participant subscribed through that profile (Daily's shape; local rooms: base, which applies to everyone). The profile must exist: base, or one made by update-subscription-profiles.
   */
  profile_settings?: {
    [k: string]: {
      /**
       * Daily's media subscription value: one state for every source, or source -> state.
       */
      media:
        | ('subscribed' | 'unsubscribed' | 'staged')
        | {
            /**
             * Daily's track subscription state: only subscribed delivers media.
             */
            microphone?: 'subscribed' | 'unsubscribed' | 'staged';
            /**
             * Daily's track subscription state: only subscribed delivers media.
             */
            camera?: 'subscribed' | 'unsubscribed' | 'staged';
            /**
             * Daily's track subscription state: only subscribed delivers media.
             */
            screenVideo?: 'subscribed' | 'unsubscribed' | 'staged';
            /**
             * Daily's track subscription state: only subscribed delivers media.
             */
            screenAudio?: 'subscribed' | 'unsubscribed' | 'staged';
          };
    };
  };
}
/**
 * Transcribe only these participants from now on (daily-python update_transcription(participants, instance_id)); not_found if the instance is not running or a participant is not in the room.
 */
export interface UpdateTranscriptionParams {
  /**
   * Participant ids; omitted: everyone.
   *
   * At most 1000 items.
   */
  participants?: string[];
  /**
   * Transcription instance. Omitted: Daily's default instance, 00000000-0000-4000-8000-000000000000.
   */
  instance_id?: string;
}
/**
 * An error (PROTOCOL.md section 10). Clients MUST ignore fields they do not know and treat a code they do not know as a generic failure; x-strict (the gateway's own tests) closes both.
 */
export interface ErrorObject {
  /**
   * Stable code. This version defines error_code; a later one may add codes.
   */
  code: string;
  message: string;
  details?: {
    [k: string]: unknown;
  };
  fatal?: boolean;
  [k: string]: unknown;
}
/**
 * Daily's participant object (passed through from daily-python; built the same way by the local backend).
 */
export interface Participant {
  id: string;
  info?: {
    userName?: string;
    isLocal?: boolean;
    isOwner?: boolean;
    joinedAt?: string;
    userData?: unknown;
    permissions?: {
      [k: string]: unknown;
    };
    [k: string]: unknown;
  };
  media?: {
    [k: string]: unknown;
  };
  [k: string]: unknown;
}
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
  resume_grace_ms: number;
  replay_buffer_events: number;
  replay_buffer_bytes: number;
  max_pending_events: number;
  [k: string]: number;
}
export interface Capabilities {
  backends: string[];
  requests: string[];
  events: string[];
  audio: {
    [k: string]: unknown;
  };
  video?: {
    [k: string]: unknown;
  };
  [k: string]: unknown;
}
export interface ServerInfo {
  name: string;
  version: string;
  [k: string]: unknown;
}
export interface ActiveSpeakerChangedData {
  participant: Participant | null;
  [k: string]: unknown;
}
export interface AppMessageData {
  message: unknown;
  sender: string;
  /**
   * Only in an observer's copy of a targeted message: the recipient's participant id.
   */
  to?: string;
  [k: string]: unknown;
}
export interface AudioLevelsData {
  levels: {
    track: number;
    participant_id: string;
    level: number;
    speaking: boolean;
    [k: string]: unknown;
  }[];
  [k: string]: unknown;
}
/**
 * The SDK's list of media devices changed (daily-python on_available_devices_updated(available_devices)); Daily only. The gateway's devices are virtual, so this is informational.
 */
export interface AvailableDevicesUpdatedData {
  /**
   * Daily's shape: audio, camera, microphone, speaker lists.
   */
  available_devices: {
    [k: string]: unknown;
  };
  [k: string]: unknown;
}
/**
 * A call of this simulated phone ended; if it was answered, left {reason: hangup} follows.
 */
export interface CallEndedData {
  call_id: string;
  reason: 'hangup' | 'stopped' | 'transferred' | 'ejected' | 'failed' | 'timeout';
  [k: string]: unknown;
}
export interface CallStateUpdatedData {
  state: 'initialized' | 'joining' | 'joined' | 'leaving' | 'left';
  [k: string]: unknown;
}
/**
 * A phone called in and joined (daily-python on_dialin_connected(data)).
 */
export interface DialinConnectedData {
  /**
   * Daily's event object: sessionId, and phoneNumber or sipUri (dial-out) / sipFrom, sipEndpoint (dial-in); errors add errorMsg.
   */
  data: {
    sessionId: string;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}
/**
 * A dial-in call failed (daily-python on_dialin_error(data)).
 */
export interface DialinErrorData {
  /**
   * Daily's event object (daily-js DailyEventObjectDialinError): sessionId, errorMsg, and phoneNumber or sipUri, userId (dial-out) / sipFrom, sipEndpoint (dial-in).
   */
  data: {
    /**
     * Absent when Daily fails before a telephony session exists; always present in local rooms.
     */
    sessionId?: string;
    /**
     * What went wrong (local rooms: see PROTOCOL.md 5.9, "Failures").
     */
    errorMsg: string;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}
/**
 * The room takes dial-in calls (daily-python on_dialin_ready(sip_endpoint)); after a join with dialin_settings.
 */
export interface DialinReadyData {
  sip_endpoint: string;
  [k: string]: unknown;
}
/**
 * A dial-in call ended (daily-python on_dialin_stopped(data)).
 */
export interface DialinStoppedData {
  /**
   * Daily's event object: sessionId, and phoneNumber or sipUri (dial-out) / sipFrom, sipEndpoint (dial-in); errors add errorMsg.
   */
  data: {
    sessionId: string;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}
/**
 * A non-fatal dial-in problem (daily-python on_dialin_warning(data)).
 */
export interface DialinWarningData {
  /**
   * Daily's event object (daily-js DailyEventObjectDialinWarning): sessionId, errorMsg, and phoneNumber or sipUri, userId (dial-out) / sipFrom, sipEndpoint (dial-in).
   */
  data: {
    /**
     * Absent when Daily fails before a telephony session exists; always present in local rooms.
     */
    sessionId?: string;
    /**
     * What went wrong (local rooms: see PROTOCOL.md 5.9, "Failures").
     */
    errorMsg: string;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}
/**
 * The phone answered and joined (daily-python on_dialout_answered(data)).
 */
export interface DialoutAnsweredData {
  /**
   * Daily's event object: sessionId, and phoneNumber or sipUri (dial-out) / sipFrom, sipEndpoint (dial-in); errors add errorMsg.
   */
  data: {
    sessionId: string;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}
/**
 * A dial-out call is set up (the phone rings) (daily-python on_dialout_connected(data)).
 */
export interface DialoutConnectedData {
  /**
   * Daily's event object: sessionId, and phoneNumber or sipUri (dial-out) / sipFrom, sipEndpoint (dial-in); errors add errorMsg.
   */
  data: {
    sessionId: string;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}
/**
 * A dial-out call failed (e.g. declined) (daily-python on_dialout_error(data)).
 */
export interface DialoutErrorData {
  /**
   * Daily's event object (daily-js DailyEventObjectDialOutError): sessionId, errorMsg, and phoneNumber or sipUri, userId (dial-out) / sipFrom, sipEndpoint (dial-in).
   */
  data: {
    /**
     * Absent when Daily fails before a telephony session exists; always present in local rooms.
     */
    sessionId?: string;
    /**
     * What went wrong (local rooms: see PROTOCOL.md 5.9, "Failures").
     */
    errorMsg: string;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}
/**
 * A dial-out call ended (stop-dialout, hang-up, transfer) (daily-python on_dialout_stopped(data)).
 */
export interface DialoutStoppedData {
  /**
   * Daily's event object: sessionId, and phoneNumber or sipUri (dial-out) / sipFrom, sipEndpoint (dial-in); errors add errorMsg.
   */
  data: {
    sessionId: string;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}
/**
 * A non-fatal dial-out problem (daily-python on_dialout_warning(data)).
 */
export interface DialoutWarningData {
  /**
   * Daily's event object (daily-js DailyEventObjectDialOutWarning): sessionId, errorMsg, and phoneNumber or sipUri, userId (dial-out) / sipFrom, sipEndpoint (dial-in).
   */
  data: {
    /**
     * Absent when Daily fails before a telephony session exists; always present in local rooms.
     */
    sessionId?: string;
    /**
     * What went wrong (local rooms: see PROTOCOL.md 5.9, "Failures").
     */
    errorMsg: string;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}
/**
 * A DTMF tone (daily-python on_dtmf_event(data)): from a phone's keypad to the room, or (simulated phones) from send-dtmf to the phone.
 */
export interface DtmfEventData {
  data: {
    sessionId: string;
    tone: string;
    digitDurationMs?: number;
    method?: string;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}
/**
 * The error object of PROTOCOL.md section 10 (common.json error_object).
 */
export interface ErrorData {
  /**
   * Stable code. This version defines error_code; a later one may add codes.
   */
  code: string;
  message: string;
  details?: {
    [k: string]: unknown;
  };
  fatal?: boolean;
  [k: string]: unknown;
}
export interface FirstParticipantJoinedData {
  participant: Participant;
  [k: string]: unknown;
}
/**
 * This participant's inputs changed (daily-python on_inputs_updated(input_settings)).
 */
export interface InputsUpdatedData {
  input_settings: {
    [k: string]: unknown;
  };
  [k: string]: unknown;
}
export interface JoinedData {
  participant_id: string;
  room_url: string;
  participant: Participant;
  participants: {
    [k: string]: Participant;
  };
  [k: string]: unknown;
}
export interface LeftData {
  reason?: 'left' | 'ejected' | 'error' | 'shutdown' | 'disconnected' | 'hangup';
  [k: string]: unknown;
}
/**
 * A live stream failed (daily-python on_live_stream_error(stream_id, message)); Daily only.
 */
export interface LiveStreamErrorData {
  stream_id: string;
  message: string;
  [k: string]: unknown;
}
/**
 * A live stream of the room started (daily-python on_live_stream_started(status)); Daily only.
 */
export interface LiveStreamStartedData {
  /**
   * Daily's live stream status (streamId, instanceId, layout, ...).
   */
  status: {
    [k: string]: unknown;
  };
  [k: string]: unknown;
}
/**
 * A live stream of the room stopped (daily-python on_live_stream_stopped(stream_id)); Daily only.
 */
export interface LiveStreamStoppedData {
  stream_id: string;
  [k: string]: unknown;
}
/**
 * A live stream's state changed (daily-python on_live_stream_updated(update)); Daily only.
 */
export interface LiveStreamUpdatedData {
  /**
   * Daily's update, passed through (an object, or a state string in older SDKs).
   */
  update: unknown;
  [k: string]: unknown;
}
/**
 * A non-fatal live stream problem (daily-python on_live_stream_warning(stream_id, message)); Daily only.
 */
export interface LiveStreamWarningData {
  stream_id: string;
  message: string;
  [k: string]: unknown;
}
/**
 * The gateway dropped media frames meant for this client: it read too slowly (reason slow: when dropping starts, then at most once a second) or was detached (reason detached: once, after a resume).
 */
export interface MediaDroppedData {
  /**
   * Frames dropped since the previous media-dropped event.
   */
  dropped: number;
  /**
   * Frames dropped for this session in all (get-stats media_dropped).
   */
  total: number;
  reason: 'slow' | 'detached';
  [k: string]: unknown;
}
/**
 * The connection to Daily's servers changed (daily-python on_network_connection_status_updated(status)); Daily only.
 */
export interface NetworkConnectionStatusUpdatedData {
  /**
   * Daily's status object (e.g. type, event).
   */
  status: {
    [k: string]: unknown;
  };
  [k: string]: unknown;
}
/**
 * New network statistics (daily-python on_network_stats_updated(stats)), the shape of get-network-stats; Daily only.
 */
export interface NetworkStatsUpdatedData {
  stats: {
    stats: {
      [k: string]: unknown;
    };
    threshold: string;
    quality: number;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}
/**
 * The room's participant counts changed (daily-python on_participant_counts_updated(counts)).
 */
export interface ParticipantCountsUpdatedData {
  /**
   * Daily's participant_counts(): participants with presence (this one included) and hidden ones.
   */
  counts: {
    present: number;
    hidden: number;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}
export interface ParticipantJoinedData {
  participant: Participant;
  [k: string]: unknown;
}
export interface ParticipantLeftData {
  participant: Participant;
  reason: 'leftCall' | 'hidden';
  cause?: 'left' | 'disconnected' | 'ejected' | 'shutdown';
  [k: string]: unknown;
}
export interface ParticipantUpdatedData {
  participant: Participant;
  [k: string]: unknown;
}
/**
 * A call rings this simulated phone (register-phone): answer-call or reject-call.
 */
export interface PhoneRingingData {
  call_id: string;
  direction?: 'incoming' | 'outgoing';
  from: string;
  to?: string;
  room_url: string;
  /**
   * Who calls, to show: the user name of the participant that dialed out (incoming), or the room's name (outgoing, the phone dials a room); null when unknown.
   */
  caller_name?: string | null;
  [k: string]: unknown;
}
/**
 * The playout buffer reached audio_out.high_watermark_ms: pause your TTS. Fires once, then not again until after playout-buffer-low.
 */
export interface PlayoutBufferHighData {
  buffered_ms: number;
  high_watermark_ms: number;
  [k: string]: unknown;
}
/**
 * After a playout-buffer-high, the buffer fell to audio_out.low_watermark_ms or below (played out or cleared): resume your TTS.
 */
export interface PlayoutBufferLowData {
  buffered_ms: number;
  low_watermark_ms: number;
  [k: string]: unknown;
}
/**
 * Published audio stopped playing (bot stopped speaking): the buffer stayed empty for idle_grace_ms (drained), clear-audio dropped it (cleared), or the session left the room (stopped).
 */
export interface PlayoutIdleData {
  reason: 'drained' | 'cleared' | 'stopped';
  played_ms: number;
  played_samples: number;
  [k: string]: unknown;
}
/**
 * A mark placed with mark-audio was reached. played: all audio before it was played into the room. cleared: clear-audio (or leaving) dropped some of its segment; played_ms says how much of the segment the room got. The segment of a mark is the audio published after the previous mark-audio or clear-audio (or the join) and before this mark.
 */
export interface PlayoutMarkData {
  name: string;
  status: 'played' | 'cleared';
  played_ms: number;
  audio_ms: number;
  played_samples: number;
  audio_samples: number;
  [k: string]: unknown;
}
/**
 * Published audio started playing into the room after idle (bot started speaking).
 */
export interface PlayoutStartedData {
  buffered_ms: number;
  [k: string]: unknown;
}
/**
 * This participant's publishing changed (daily-python on_publishing_updated(publishing_settings)).
 */
export interface PublishingUpdatedData {
  publishing_settings: {
    [k: string]: unknown;
  };
  [k: string]: unknown;
}
/**
 * A recording failed to start or to go on (daily-python on_recording_error(stream_id, message)). A running recording that fails is then stopped (recording-stopped).
 */
export interface RecordingErrorData {
  stream_id: string;
  message: string;
  [k: string]: unknown;
}
/**
 * A recording of the room started (daily-python on_recording_started(status)); sent to everyone in the room.
 */
export interface RecordingStartedData {
  /**
   * Daily's recording status. The local backend sets streamId, instanceId, recordingId, type, layout, startedBy, local (true) and path (the recording's folder, relative to the gateway's recordings_dir).
   */
  status: {
    streamId: string;
    instanceId?: string;
    recordingId?: string;
    type?: string;
    layout?: {
      [k: string]: unknown;
    };
    startedBy?: string | null;
    local?: boolean;
    path?: string;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}
/**
 * A recording ended: stop-recording, maxDuration, an error, the room emptying or the gateway stopping (daily-python on_recording_stopped(stream_id)). Local rooms add path (as recording-started's status.path) and url (where the gateway serves the finished mix, PROTOCOL.md 5.4).
 */
export interface RecordingStoppedData {
  stream_id: string;
  /**
   * Local rooms: the recording's folder under recordings_dir.
   */
  path?: string;
  /**
   * Local rooms: the finished mix.wav on the gateway's HTTP port (a path: /recordings/<path>/mix.wav).
   */
  url?: string;
  [k: string]: unknown;
}
export interface SpeechStartedData {
  participant_id: string;
  track: number;
  offset_ms?: number;
  [k: string]: unknown;
}
export interface SpeechStoppedData {
  participant_id: string;
  track: number;
  offset_ms?: number;
  [k: string]: unknown;
}
/**
 * This participant's subscription profiles changed (daily-python on_subscription_profiles_updated(subscription_profiles); local rooms: update-subscription-profiles of base).
 */
export interface SubscriptionProfilesUpdatedData {
  /**
   * Profile name -> media source -> settings, Daily's shape.
   */
  subscription_profiles: {
    [k: string]: unknown;
  };
  [k: string]: unknown;
}
/**
 * This participant's subscriptions changed (daily-python on_subscriptions_updated(subscriptions)): participant id -> {media: source -> state}.
 */
export interface SubscriptionsUpdatedData {
  subscriptions: {
    [k: string]: unknown;
  };
  [k: string]: unknown;
}
export interface TrackStartedData {
  track: number;
  participant_id: string;
  kind: 'audio' | 'video';
  /**
   * The participant's source; mixed: the room's mix (join.audio_in.mixed, participant_id "*").
   */
  source: 'microphone' | 'camera' | 'screenVideo' | 'screenAudio' | 'mixed';
  sample_rate?: number;
  channels?: number;
  frame_ms?: number;
  /**
   * Video tracks: pixel format of the frames (capture-participant-video).
   */
  color_format?: 'RGB' | 'RGBA' | 'BGRA' | 'ARGB' | 'ABGR' | 'BGR' | 'I420';
  /**
   * Video tracks: most frames per second sent; 0 for frames on request-video-frame only.
   */
  framerate?: number;
  [k: string]: unknown;
}
export interface TrackStoppedData {
  track: number;
  participant_id: string;
  kind: 'audio' | 'video';
  /**
   * The participant's source; mixed: the room's mix (join.audio_in.mixed, participant_id "*").
   */
  source: 'microphone' | 'camera' | 'screenVideo' | 'screenAudio' | 'mixed';
  sample_rate?: number;
  channels?: number;
  frame_ms?: number;
  [k: string]: unknown;
}
/**
 * Transcription failed to start or to go on (daily-python on_transcription_error(message)).
 */
export interface TranscriptionErrorData {
  message: string;
  [k: string]: unknown;
}
/**
 * One transcript of one participant's speech (daily-python on_transcription_message(message)): interim (rawResponse.is_final false) when asked for with extra.interim_results, then final.
 */
export interface TranscriptionMessageData {
  /**
   * Daily's transcription message.
   */
  message: {
    participantId: string;
    text: string;
    /**
     * ISO 8601 UTC time the speech started.
     */
    timestamp: string;
    trackType?: string;
    instanceId?: string;
    /**
     * The engine's result in Deepgram's shape: is_final, start and duration (s), channel.alternatives[0].{transcript, confidence, languages}.
     */
    rawResponse?: {
      is_final?: boolean;
      [k: string]: unknown;
    };
    [k: string]: unknown;
  };
  [k: string]: unknown;
}
/**
 * Transcription of the room started (daily-python on_transcription_started(status)); sent to everyone in the room.
 */
export interface TranscriptionStartedData {
  /**
   * Daily's transcription status: instanceId, transcriptId, language, model, startedBy, and the settings given (participants, extra, ...).
   */
  status: {
    instanceId?: string;
    transcriptId?: string;
    language?: string;
    model?: string;
    startedBy?: string | null;
    participants?: string[];
    [k: string]: unknown;
  };
  [k: string]: unknown;
}
/**
 * Transcription stopped (daily-python on_transcription_stopped(stopped_by, stopped_by_error)). The local backend adds instance_id.
 */
export interface TranscriptionStoppedData {
  /**
   * Participant who stopped it; empty when it ended by itself (room empty, shutdown).
   */
  stopped_by: string;
  stopped_by_error: boolean;
  instance_id?: string;
  [k: string]: unknown;
}
/**
 * A running transcription's settings changed, e.g. its participants (daily-python on_transcription_updated(update)); Daily only.
 */
export interface TranscriptionUpdatedData {
  /**
   * Daily's update (instanceId, participants, ...).
   */
  update: {
    [k: string]: unknown;
  };
  [k: string]: unknown;
}
/**
 * A change of speaker the session's voice activity detection saw (PROTOCOL.md 9.5). response: participant_id began speaking gap_ms after previous_participant_id stopped. overlap: participant_id began while previous_participant_id was still speaking; both spoke for overlap_ms, and yielded says whether the interrupted speaker stopped first (a barge-in that took the turn) or the interrupter did (it kept the turn).
 */
export interface TurnData {
  kind: 'response' | 'overlap';
  /**
   * Who took (or tried to take) the turn.
   */
  participant_id: string;
  /**
   * Who spoke before (response) or was interrupted (overlap).
   */
  previous_participant_id: string;
  /**
   * When participant_id's speech began (Unix seconds, ms precision; estimated: the VAD decision less vad.start_ms).
   */
  at: number;
  /**
   * response: silence between the previous speaker's end of speech and this one's first speech.
   */
  gap_ms?: number;
  /**
   * overlap: how long both spoke, until the first of them stopped.
   */
  overlap_ms?: number;
  /**
   * overlap: true when previous_participant_id stopped first (interrupted), false when participant_id did.
   */
  yielded?: boolean;
  [k: string]: unknown;
}

/** Protocol event name -> its `data` (PROTOCOL.md, "Events"). */
export interface ServerEventMap {
  'active-speaker-changed': ActiveSpeakerChangedData;
  'app-message': AppMessageData;
  'audio-levels': AudioLevelsData;
  /** The SDK's list of media devices changed (daily-python on_available_devices_updated(available_devices)); Daily only. The gateway's devices are virtual, so this is informational. */
  'available-devices-updated': AvailableDevicesUpdatedData;
  /** A call of this simulated phone ended; if it was answered, left {reason: hangup} follows. */
  'call-ended': CallEndedData;
  'call-state-updated': CallStateUpdatedData;
  /** A phone called in and joined (daily-python on_dialin_connected(data)). */
  'dialin-connected': DialinConnectedData;
  /** A dial-in call failed (daily-python on_dialin_error(data)). */
  'dialin-error': DialinErrorData;
  /** The room takes dial-in calls (daily-python on_dialin_ready(sip_endpoint)); after a join with dialin_settings. */
  'dialin-ready': DialinReadyData;
  /** A dial-in call ended (daily-python on_dialin_stopped(data)). */
  'dialin-stopped': DialinStoppedData;
  /** A non-fatal dial-in problem (daily-python on_dialin_warning(data)). */
  'dialin-warning': DialinWarningData;
  /** The phone answered and joined (daily-python on_dialout_answered(data)). */
  'dialout-answered': DialoutAnsweredData;
  /** A dial-out call is set up (the phone rings) (daily-python on_dialout_connected(data)). */
  'dialout-connected': DialoutConnectedData;
  /** A dial-out call failed (e.g. declined) (daily-python on_dialout_error(data)). */
  'dialout-error': DialoutErrorData;
  /** A dial-out call ended (stop-dialout, hang-up, transfer) (daily-python on_dialout_stopped(data)). */
  'dialout-stopped': DialoutStoppedData;
  /** A non-fatal dial-out problem (daily-python on_dialout_warning(data)). */
  'dialout-warning': DialoutWarningData;
  /** A DTMF tone (daily-python on_dtmf_event(data)): from a phone's keypad to the room, or (simulated phones) from send-dtmf to the phone. */
  'dtmf-event': DtmfEventData;
  /** The error object of PROTOCOL.md section 10 (common.json error_object). */
  error: ErrorData;
  'first-participant-joined': FirstParticipantJoinedData;
  /** This participant's inputs changed (daily-python on_inputs_updated(input_settings)). */
  'inputs-updated': InputsUpdatedData;
  joined: JoinedData;
  left: LeftData;
  /** A live stream failed (daily-python on_live_stream_error(stream_id, message)); Daily only. */
  'live-stream-error': LiveStreamErrorData;
  /** A live stream of the room started (daily-python on_live_stream_started(status)); Daily only. */
  'live-stream-started': LiveStreamStartedData;
  /** A live stream of the room stopped (daily-python on_live_stream_stopped(stream_id)); Daily only. */
  'live-stream-stopped': LiveStreamStoppedData;
  /** A live stream's state changed (daily-python on_live_stream_updated(update)); Daily only. */
  'live-stream-updated': LiveStreamUpdatedData;
  /** A non-fatal live stream problem (daily-python on_live_stream_warning(stream_id, message)); Daily only. */
  'live-stream-warning': LiveStreamWarningData;
  /** The gateway dropped media frames meant for this client: it read too slowly (reason slow: when dropping starts, then at most once a second) or was detached (reason detached: once, after a resume). */
  'media-dropped': MediaDroppedData;
  /** The connection to Daily's servers changed (daily-python on_network_connection_status_updated(status)); Daily only. */
  'network-connection-status-updated': NetworkConnectionStatusUpdatedData;
  /** New network statistics (daily-python on_network_stats_updated(stats)), the shape of get-network-stats; Daily only. */
  'network-stats-updated': NetworkStatsUpdatedData;
  /** The room's participant counts changed (daily-python on_participant_counts_updated(counts)). */
  'participant-counts-updated': ParticipantCountsUpdatedData;
  'participant-joined': ParticipantJoinedData;
  'participant-left': ParticipantLeftData;
  'participant-updated': ParticipantUpdatedData;
  /** A call rings this simulated phone (register-phone): answer-call or reject-call. */
  'phone-ringing': PhoneRingingData;
  /** The playout buffer reached audio_out.high_watermark_ms: pause your TTS. Fires once, then not again until after playout-buffer-low. */
  'playout-buffer-high': PlayoutBufferHighData;
  /** After a playout-buffer-high, the buffer fell to audio_out.low_watermark_ms or below (played out or cleared): resume your TTS. */
  'playout-buffer-low': PlayoutBufferLowData;
  /** Published audio stopped playing (bot stopped speaking): the buffer stayed empty for idle_grace_ms (drained), clear-audio dropped it (cleared), or the session left the room (stopped). */
  'playout-idle': PlayoutIdleData;
  /** A mark placed with mark-audio was reached. played: all audio before it was played into the room. cleared: clear-audio (or leaving) dropped some of its segment; played_ms says how much of the segment the room got. The segment of a mark is the audio published after the previous mark-audio or clear-audio (or the join) and before this mark. */
  'playout-mark': PlayoutMarkData;
  /** Published audio started playing into the room after idle (bot started speaking). */
  'playout-started': PlayoutStartedData;
  /** This participant's publishing changed (daily-python on_publishing_updated(publishing_settings)). */
  'publishing-updated': PublishingUpdatedData;
  /** A recording failed to start or to go on (daily-python on_recording_error(stream_id, message)). A running recording that fails is then stopped (recording-stopped). */
  'recording-error': RecordingErrorData;
  /** A recording of the room started (daily-python on_recording_started(status)); sent to everyone in the room. */
  'recording-started': RecordingStartedData;
  /** A recording ended: stop-recording, maxDuration, an error, the room emptying or the gateway stopping (daily-python on_recording_stopped(stream_id)). Local rooms add path (as recording-started's status.path) and url (where the gateway serves the finished mix, PROTOCOL.md 5.4). */
  'recording-stopped': RecordingStoppedData;
  'speech-started': SpeechStartedData;
  'speech-stopped': SpeechStoppedData;
  /** This participant's subscription profiles changed (daily-python on_subscription_profiles_updated(subscription_profiles); local rooms: update-subscription-profiles of base). */
  'subscription-profiles-updated': SubscriptionProfilesUpdatedData;
  /** This participant's subscriptions changed (daily-python on_subscriptions_updated(subscriptions)): participant id -> {media: source -> state}. */
  'subscriptions-updated': SubscriptionsUpdatedData;
  'track-started': TrackStartedData;
  'track-stopped': TrackStoppedData;
  /** Transcription failed to start or to go on (daily-python on_transcription_error(message)). */
  'transcription-error': TranscriptionErrorData;
  /** One transcript of one participant's speech (daily-python on_transcription_message(message)): interim (rawResponse.is_final false) when asked for with extra.interim_results, then final. */
  'transcription-message': TranscriptionMessageData;
  /** Transcription of the room started (daily-python on_transcription_started(status)); sent to everyone in the room. */
  'transcription-started': TranscriptionStartedData;
  /** Transcription stopped (daily-python on_transcription_stopped(stopped_by, stopped_by_error)). The local backend adds instance_id. */
  'transcription-stopped': TranscriptionStoppedData;
  /** A running transcription's settings changed, e.g. its participants (daily-python on_transcription_updated(update)); Daily only. */
  'transcription-updated': TranscriptionUpdatedData;
  /** A change of speaker the session's voice activity detection saw (PROTOCOL.md 9.5). response: participant_id began speaking gap_ms after previous_participant_id stopped. overlap: participant_id began while previous_participant_id was still speaking; both spoke for overlap_ms, and yielded says whether the interrupted speaker stopped first (a barge-in that took the turn) or the interrupter did (it kept the turn). */
  turn: TurnData;
}

/** A request type of the protocol (protocol/schema/requests/). */
export type RequestType = keyof RequestParamsMap;

/** A protocol event name (protocol/schema/events/). */
export type ServerEventName = keyof ServerEventMap;

/** Every request type of the protocol, sorted (the gateway's hello lists those it serves). */
export const KNOWN_REQUESTS: readonly RequestType[] = [
  'answer-call',
  'capture-participant-transcription',
  'capture-participant-video',
  'clear-audio',
  'create-meeting-token',
  'create-room',
  'delete-room',
  'dial',
  'eject-remote-participants',
  'get-active-speaker',
  'get-audio-buffer',
  'get-history',
  'get-network-stats',
  'get-participant-counts',
  'get-participants',
  'get-room',
  'get-stats',
  'get-turn-stats',
  'join',
  'leave',
  'list-history',
  'list-rooms',
  'mark-audio',
  'mint-token',
  'observe',
  'ping',
  'register-phone',
  'reject-call',
  'request-video-frame',
  'resume',
  'send-app-message',
  'send-dtmf',
  'send-prebuilt-chat-message',
  'sip-call-transfer',
  'sip-refer',
  'start-dialout',
  'start-recording',
  'start-transcription',
  'stop-capture-participant-video',
  'stop-dialout',
  'stop-recording',
  'stop-transcription',
  'update-inputs',
  'update-publishing',
  'update-recording',
  'update-remote-participants',
  'update-subscription-profiles',
  'update-subscriptions',
  'update-transcription'
];

/** Every event of the protocol, sorted (clients ignore events they do not know). */
export const KNOWN_EVENTS: readonly ServerEventName[] = [
  'active-speaker-changed',
  'app-message',
  'audio-levels',
  'available-devices-updated',
  'call-ended',
  'call-state-updated',
  'dialin-connected',
  'dialin-error',
  'dialin-ready',
  'dialin-stopped',
  'dialin-warning',
  'dialout-answered',
  'dialout-connected',
  'dialout-error',
  'dialout-stopped',
  'dialout-warning',
  'dtmf-event',
  'error',
  'first-participant-joined',
  'inputs-updated',
  'joined',
  'left',
  'live-stream-error',
  'live-stream-started',
  'live-stream-stopped',
  'live-stream-updated',
  'live-stream-warning',
  'media-dropped',
  'network-connection-status-updated',
  'network-stats-updated',
  'participant-counts-updated',
  'participant-joined',
  'participant-left',
  'participant-updated',
  'phone-ringing',
  'playout-buffer-high',
  'playout-buffer-low',
  'playout-idle',
  'playout-mark',
  'playout-started',
  'publishing-updated',
  'recording-error',
  'recording-started',
  'recording-stopped',
  'speech-started',
  'speech-stopped',
  'subscription-profiles-updated',
  'subscriptions-updated',
  'track-started',
  'track-stopped',
  'transcription-error',
  'transcription-message',
  'transcription-started',
  'transcription-stopped',
  'transcription-updated',
  'turn'
];
