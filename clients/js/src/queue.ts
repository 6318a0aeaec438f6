/**
 * {@link AsyncQueue}: a bounded queue read as an async iterator, for streams of events and
 * audio frames. Policy: when full the oldest item is dropped (and counted), so a slow reader
 * never makes the client hold unbounded memory; live audio and events are about now.
 */

export class AsyncQueue<T> implements AsyncIterableIterator<T> {
  private readonly items: T[] = [];
  private wake: (() => void) | null = null;
  private ended = false;
  /** Items dropped because the reader fell `capacity` behind. */
  dropped = 0;

  /** `onClose` runs once when the queue ends (the reader stopped, or {@link end} was called). */
  constructor(
    private readonly capacity: number,
    private readonly onClose: () => void = () => {},
  ) {}

  push(item: T): void {
    if (this.ended) return;
    this.items.push(item);
    if (this.items.length > this.capacity) {
      this.items.shift();
      this.dropped += 1;
    }
    this.wake?.();
  }

  /** No more items: the reader gets those already queued, then the iteration ends. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.onClose();
    this.wake?.();
  }

  async next(): Promise<IteratorResult<T>> {
    while (!this.items.length && !this.ended) {
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = null;
    }
    if (this.items.length) return { value: this.items.shift()!, done: false };
    return { value: undefined, done: true };
  }

  /** The reader stopped (`break` out of `for await`): end and drop what is left. */
  async return(): Promise<IteratorResult<T>> {
    this.items.length = 0;
    this.end();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
