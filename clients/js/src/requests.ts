/**
 * The client's requests awaiting their replies, across connections.
 *
 * A request is encoded once with its id and kept until its reply (or timeout, abort, or the
 * end of its session). It may wait unsent (while connecting or reconnecting), be sent on a
 * connection, and after a resume be sent again with the same id when the gateway says it
 * never got it (PROTOCOL.md, "Resume"): the id is what makes resending safe.
 */

import { encodeRequest, type Reply } from './codec.js';
import { ClientErrorCode, type GatewayError, ProtocolError, TimeoutError } from './errors.js';

/** One request awaiting its reply. */
export interface PendingRequest {
  readonly id: string;
  readonly type: string;
  /** The frame as sent (and sent again after a resume). */
  readonly text: string;
  /** Written to a connection (its reply may have been lost with it). */
  sent: boolean;
  readonly timeoutMs: number;
}

interface Entry extends PendingRequest {
  resolve: (result: Record<string, unknown>) => void;
  reject: (error: unknown) => void;
  timer: ReturnType<typeof setTimeout> | null;
  /** Removes the abort listener. */
  detach: () => void;
}

export interface AddOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Runs with the result before the promise resolves (the room model follows results here). */
  onResult?: (result: Record<string, unknown>) => void;
}

/** Requests by id, in the order they were made. */
export class Requests {
  private nextId = 1;
  private readonly entries = new Map<string, Entry>();

  /** Requests waiting for a reply (sent or not). */
  get size(): number {
    return this.entries.size;
  }

  /** Requests not written to any connection yet. */
  unsent(): PendingRequest[] {
    return [...this.entries.values()].filter((e) => !e.sent);
  }

  /** Requests written to a connection and not answered. */
  inFlight(): PendingRequest[] {
    return [...this.entries.values()].filter((e) => e.sent);
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  /** Record a new request; its promise settles with the reply, a timeout, an abort or {@link rejectWhere}. */
  add(type: string, params: Record<string, unknown>, options: AddOptions): { request: PendingRequest; promise: Promise<Record<string, unknown>> } {
    const id = `r${this.nextId++}`;
    let entry!: Entry;
    const promise = new Promise<Record<string, unknown>>((resolve, reject) => {
      entry = {
        id,
        type,
        text: encodeRequest(type, id, params),
        sent: false,
        timeoutMs: options.timeoutMs,
        resolve: (result) => {
          options.onResult?.(result);
          resolve(result);
        },
        reject,
        timer: null,
        detach: () => {},
      };
    });
    const { signal } = options;
    if (signal?.aborted) {
      entry.reject(signal.reason);
      return { request: entry, promise };
    }
    if (signal) {
      const onAbort = () => this.finish(id)?.reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      entry.detach = () => signal.removeEventListener('abort', onAbort);
    }
    this.entries.set(id, entry);
    this.arm(entry, `${type}: not sent within ${options.timeoutMs} ms`);
    return { request: entry, promise };
  }

  /** The request was written to a connection: its reply is due within its timeout from now. */
  markSent(request: PendingRequest): void {
    const entry = this.entries.get(request.id);
    if (!entry) return;
    entry.sent = true;
    this.arm(entry, `${entry.type}: no reply within ${entry.timeoutMs} ms`);
  }

  /** Settle the request a reply answers; false when no request of ours has its id. */
  settle(reply: Reply): boolean {
    const entry = reply.id === null ? undefined : this.finish(reply.id);
    if (!entry) return false;
    if (reply.ok) entry.resolve(reply.result ?? {});
    else entry.reject(new ProtocolError(reply.error!, reply.id));
    return true;
  }

  /** Reject the requests `which` selects (all by default) with `error`. */
  rejectWhere(error: GatewayError, which: (request: PendingRequest) => boolean = () => true): void {
    for (const entry of [...this.entries.values()]) {
      if (which(entry)) this.finish(entry.id)?.reject(error);
    }
  }

  private arm(entry: Entry, message: string): void {
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = setTimeout(() => {
      this.finish(entry.id)?.reject(new TimeoutError(ClientErrorCode.REQUEST_TIMEOUT, message));
    }, entry.timeoutMs);
  }

  /** Remove a request and return it (once): the caller settles it. */
  private finish(id: string): Entry | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    this.entries.delete(id);
    if (entry.timer) clearTimeout(entry.timer);
    entry.detach();
    return entry;
  }
}
