/**
 * The client's events: the protocol's (by their protocol names, data typed from the schemas)
 * and the SDK's own, the {@link ServerEvent} union, and the {@link EventLog} that lets
 * `waitFor` find an event that arrived before it was asked for.
 */

import type { Hello } from './codec.js';
import { ClientErrorCode, type GatewayError, TimeoutError } from './errors.js';
import type { ReceivedAudio, ReceivedVideo } from './media.js';
import type { SessionState } from './room.js';
import type { ConnectionState, Restored } from './session.js';
import type { ResumeResult } from './types.js';
import type { ServerEventMap, ServerEventName } from './wire.js';

/** The SDK's own events (protocol events use their protocol names, see {@link ServerEventMap}). */
export const ClientEvent = {
  /** The connection state changed; payload: the new {@link ConnectionState}. */
  ConnectionStateChanged: 'connection-state-changed',
  /** The session's state changed (joined, observing, left...); payload: the new {@link SessionState}. */
  SessionStateChanged: 'session-state-changed',
  /** The gateway said hello (on connect and on every reconnect). */
  Hello: 'hello',
  /** Every protocol event this SDK knows, as a {@link ServerEvent}: narrow it on `event`. */
  ServerEvent: 'server-event',
  /** A protocol event this SDK version does not know (a newer gateway's), as an {@link UnknownServerEvent}. */
  UnknownEvent: 'unknown-event',
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

/** A protocol event the client received: `event` is the discriminant, `data` its typed payload. */
export type ServerEvent = {
  [K in ServerEventName]: {
    event: K;
    data: ServerEventMap[K];
    /** The gateway's sequence number (restarts at 1 on each new session). */
    seq: number;
    /** Position in this client's log, never reused (unlike seq across sessions). */
    index: number;
  };
}[ServerEventName];

/** A protocol event this SDK version does not type (clients ignore events they do not know). */
export interface UnknownServerEvent {
  event: string;
  data: Record<string, unknown>;
  seq: number;
  index: number;
}

/** An entry of the client's event log. */
export type LoggedEvent = ServerEvent | UnknownServerEvent;

/** The SDK's own events and their payloads. */
export interface SdkEvents {
  'connection-state-changed': ConnectionState;
  'session-state-changed': SessionState;
  hello: Hello;
  'server-event': ServerEvent;
  'unknown-event': UnknownServerEvent;
  audio: ReceivedAudio;
  video: ReceivedVideo;
  'protocol-error': GatewayError;
  reconnecting: { attempt: number; delayMs: number; closeCode: number | null };
  reconnected: { hello: Hello; restored: Restored; error?: GatewayError };
  resumed: ResumeResult;
  disconnected: { closeCode: number | null; closeReason: string; error?: GatewayError };
}

/** Every event a client emits: the protocol's by name, and the SDK's. */
export interface ClientEvents extends ServerEventMap, SdkEvents {}

/** Options of a wait. */
export interface WaitOptions {
  /** Reject with `wait_timeout` after this long (default 10 000 ms). */
  timeoutMs?: number;
  /** Stop waiting: the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

interface Waiter {
  name: string;
  predicate?: (data: unknown) => boolean;
  resolve: (event: LoggedEvent) => void;
}

/**
 * The last `size` protocol events, and waits on them. An event handed to one wait is
 * claimed: a later wait for the same name gets the next one, so two `waitFor` calls in a
 * row see two events, never the same one twice.
 */
export class EventLog {
  readonly entries: LoggedEvent[] = [];
  private readonly claimed = new Set<number>();
  private waiters: Waiter[] = [];
  private index = 0;

  constructor(private readonly size: number) {}

  /** Log an event and hand it to the first wait it matches; returns the entry. */
  add(event: string, data: Record<string, unknown>, seq: number): LoggedEvent {
    const logged = { event, data, seq, index: ++this.index } as LoggedEvent;
    this.entries.push(logged);
    if (this.entries.length > this.size) this.claimed.delete(this.entries.shift()!.index);
    const waiter = this.waiters.find((w) => w.name === event && (!w.predicate || w.predicate(data)));
    if (waiter) {
      this.waiters = this.waiters.filter((w) => w !== waiter);
      this.claimed.add(logged.index);
      waiter.resolve(logged);
    }
    return logged;
  }

  /** The first unclaimed event `name` matching `predicate`, logged already or still to come. */
  waitFor(name: string, predicate: ((data: unknown) => boolean) | undefined, options: WaitOptions = {}): Promise<LoggedEvent> {
    for (const event of this.entries) {
      if (event.event === name && !this.claimed.has(event.index) && (!predicate || predicate(event.data))) {
        this.claimed.add(event.index);
        return Promise.resolve(event);
      }
    }
    return waitWithTimeout(name, options, (resolve) => {
      const waiter: Waiter = { name, predicate, resolve };
      this.waiters.push(waiter);
      return () => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
      };
    });
  }
}

/**
 * A promise that `start` resolves (it returns how to stop listening), or that rejects with
 * `wait_timeout` after `options.timeoutMs` or with the abort signal's reason.
 */
export function waitWithTimeout<T>(name: string, options: WaitOptions, start: (resolve: (value: T) => void) => () => void): Promise<T> {
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(signal.reason);
  const timeoutMs = options.timeoutMs ?? 10_000;
  return new Promise<T>((resolve, reject) => {
    let stop: (() => void) | null = null;
    let settled = false;
    const done = () => {
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      stop?.();
    };
    const onAbort = () => {
      done();
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      done();
      reject(new TimeoutError(ClientErrorCode.WAIT_TIMEOUT, `no ${name} event within ${timeoutMs} ms`));
    }, timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    stop = start((value) => {
      if (settled) return;
      done();
      resolve(value);
    });
    if (settled) stop();
  });
}
