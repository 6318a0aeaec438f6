/**
 * Reconnection policies: a function of the attempt that returns the next delay in
 * milliseconds, or null to stop (the client then goes DISCONNECTED).
 */

import { FATAL_CLOSE_CODES } from './constants.js';

export interface ReconnectContext {
  /** 1 for the first retry after a drop, 2 for the next... */
  attempt: number;
  /** Milliseconds since the connection was lost. */
  elapsedMs: number;
  /** The close code that ended the last connection (1006 when it dropped without one). */
  closeCode: number | null;
}

export interface ReconnectPolicy {
  nextDelayMs(context: ReconnectContext): number | null;
}

export interface BackoffOptions {
  /** Delay before the first retry. */
  initialMs?: number;
  /** Growth per attempt. */
  factor?: number;
  /** Largest delay. */
  maxMs?: number;
  /** Random spread, 0..1: a delay d becomes d * (1 - jitter .. 1). */
  jitter?: number;
  /** Give up after this many attempts (Infinity: never). */
  maxAttempts?: number;
  /** Give up once this long has passed since the drop. */
  maxElapsedMs?: number;
}

/**
 * Exponential backoff with jitter and a cap; stops on close codes after which a retry
 * cannot succeed (bad subprotocol, unauthorized, protocol violation, forbidden origin,
 * expired, replaced).
 *
 * Defaults: 250 ms, x2, capped at 5 s, 20 % jitter, 10 attempts (about 30 s in all).
 */
export function exponentialBackoff(options: BackoffOptions = {}): ReconnectPolicy {
  const { initialMs = 250, factor = 2, maxMs = 5000, jitter = 0.2, maxAttempts = 10, maxElapsedMs = Infinity } = options;
  return {
    nextDelayMs({ attempt, elapsedMs, closeCode }) {
      if (closeCode != null && FATAL_CLOSE_CODES.has(closeCode)) return null;
      if (attempt > maxAttempts || elapsedMs > maxElapsedMs) return null;
      const base = Math.min(maxMs, initialMs * factor ** (attempt - 1));
      return Math.round(base * (1 - jitter * Math.random()));
    },
  };
}

/** Never reconnect. */
export const noReconnect: ReconnectPolicy = { nextDelayMs: () => null };
