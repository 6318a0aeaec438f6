/**
 * {@link RoomModel}: what the client knows of its place in a room, kept from request results
 * and events: the session's state (PROTOCOL.md section 2, session states), the participant id, the room, a simulated phone and its call, the tracks that
 * reach the client, and what a reconnect restores.
 *
 * Which results it follows is declared here, per request type, in {@link RoomModel.follow}:
 * the request path above it stays generic.
 */

import { ErrorCode, GatewayError } from './errors.js';
import type { ResultMap, TrackInfo } from './types.js';
import type { RequestParamsMap, ServerEventMap } from './wire.js';

/** The session's state as the client sees it (a subset of the gateway's, section 2). */
export const SessionState = {
  /** No room yet (a fresh session, or a phone between calls). */
  OPEN: 'open',
  /** A participant of a room (a join, or a phone in a call). */
  JOINED: 'joined',
  /** Observing a room read-only. */
  OBSERVING: 'observing',
  /** Left its room: a session joins once, so `join()` and `observe()` are refused; open a new connection. */
  LEFT: 'left',
} as const;
export type SessionState = (typeof SessionState)[keyof typeof SessionState];

/** The request to make again on a fresh session after a reconnect, to be back where we were. */
export interface RestorePlan {
  type: 'join' | 'observe' | 'register-phone';
  params: Record<string, unknown>;
}

/** Request results the room model follows: request type -> what its result changes. */
type Followers = { [K in keyof ResultMap & keyof RequestParamsMap]?: (params: RequestParamsMap[K], result: ResultMap[K]) => void };

export class RoomModel {
  /** The session's state. */
  state: SessionState = SessionState.OPEN;
  /** Your participant id once joined. */
  participantId: string | null = null;
  /** The room joined or observed, and how (a phone in a call: joined). */
  room: { url: string; mode: 'joined' | 'observing' } | null = null;
  /** The number registered with `register-phone` (PROTOCOL.md 5.9), and the call under way. */
  phone: { number: string; callId: string | null } | null = null;
  /** Tracks that currently reach this client, by track id. */
  readonly tracks = new Map<number, TrackInfo>();
  /** What a reconnect restores on a fresh session. */
  restorePlan: RestorePlan | null = null;
  /** The format negotiated for published audio (`audio_out` of the join or phone registration). */
  audioOut = { sampleRate: 24000, channels: 1 };

  constructor(private readonly onState: (state: SessionState) => void) {}

  private readonly followers: Followers = {
    join: (params, result) => {
      this.participantId = String(result.participant_id ?? '');
      this.room = { url: String(result.room_url ?? params.room_url), mode: 'joined' };
      this.restorePlan = { type: 'join', params: { ...params } };
      this.setAudioOut(params.audio_out);
      this.setState(SessionState.JOINED);
    },
    observe: (params, result) => {
      this.room = { url: String(result.room_url ?? params.room_url ?? ''), mode: 'observing' };
      this.restorePlan = { type: 'observe', params: { ...params } };
      this.setState(SessionState.OBSERVING);
    },
    'register-phone': (params, result) => {
      this.phone = { number: String(result.number ?? params.number), callId: null };
      this.restorePlan = { type: 'register-phone', params: { ...params } };
      this.setAudioOut(params.audio_out);
    },
    'answer-call': (params, result) => this.callJoined(result.room_url, result.participant_id, result.call_id ?? params.call_id),
    dial: (_params, result) => this.callJoined(result.room_url, result.participant_id, result.call_id),
    leave: () => {
      this.room = null;
      // A phone's leave hangs up; the number stays registered for the next call.
      if (this.phone) this.phone.callId = null;
      else this.restorePlan = null;
      this.setState(this.phone ? SessionState.OPEN : SessionState.LEFT);
    },
  };

  /** What the result of request `type` with `params` changes here (undefined: nothing). */
  follow(type: string, params: Record<string, unknown>): ((result: Record<string, unknown>) => void) | undefined {
    const follower = this.followers[type as keyof Followers] as ((p: unknown, r: unknown) => void) | undefined;
    return follower && ((result) => follower(params, result));
  }

  /** Refuse locally what the gateway would refuse: a session joins (or observes) once. */
  checkCanEnter(type: 'join' | 'observe'): void {
    if (this.state === SessionState.LEFT) {
      throw new GatewayError(
        ErrorCode.WRONG_STATE,
        `${type}: this session already left its room, and a session joins once (PROTOCOL.md, "Connection life cycle and session states"); `
          + 'close() and connect() again, or use a new GatewayClient',
      );
    }
  }

  /** Follow an event (before listeners see it). */
  onEvent<K extends keyof ServerEventMap>(name: K, data: ServerEventMap[K]): void {
    if (name === 'track-started') {
      const track = data as ServerEventMap['track-started'];
      this.tracks.set(track.track, track);
    } else if (name === 'joined') {
      this.participantId = String((data as ServerEventMap['joined']).participant_id ?? this.participantId);
    } else if (name === 'left') {
      this.room = null;
      // The gateway shutting down (or failing) is no reason to stay out: reconnecting
      // restores the room. Leaving or being ejected is.
      const reason = (data as ServerEventMap['left']).reason;
      if ((reason === 'left' || reason === 'ejected') && !this.phone) this.restorePlan = null;
      if (reason !== 'shutdown' && reason !== 'disconnected') this.setState(this.phone ? SessionState.OPEN : SessionState.LEFT);
    } else if (name === 'call-ended' && this.phone && this.phone.callId === (data as ServerEventMap['call-ended']).call_id) {
      this.phone.callId = null;
    }
  }

  /** After listeners saw an event. */
  afterEvent<K extends keyof ServerEventMap>(name: K, data: ServerEventMap[K]): void {
    if (name === 'track-stopped') this.tracks.delete((data as ServerEventMap['track-stopped']).track);
  }

  /** A new session (connect, or a reconnect that could not resume): nothing of the old one is ours. */
  newSession(): void {
    this.tracks.clear();
    this.participantId = null;
    if (this.phone) this.phone.callId = null;
    this.setState(SessionState.OPEN);
  }

  /** The client gave up or was closed: nothing to restore. */
  forget(): void {
    this.room = null;
    this.restorePlan = null;
    this.phone = null;
  }

  private callJoined(roomUrl: unknown, participantId: unknown, callId: unknown): void {
    // In a call a phone is a participant like any other, with register-phone's media.
    this.participantId = String(participantId ?? '');
    this.room = { url: String(roomUrl ?? ''), mode: 'joined' };
    if (this.phone) this.phone.callId = String(callId ?? '');
    this.setState(SessionState.JOINED);
  }

  private setAudioOut(out: { sample_rate?: number; channels?: number } | undefined): void {
    this.audioOut = { sampleRate: out?.sample_rate ?? 24000, channels: out?.channels ?? 1 };
  }

  private setState(state: SessionState): void {
    if (state === this.state) return;
    this.state = state;
    this.onState(state);
  }
}
