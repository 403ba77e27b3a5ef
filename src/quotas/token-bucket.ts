// A token bucket whose rate and size may change between two takes (an instance's share of a
// tenant's limit moves as demand moves between instances). A take of more tokens than the bucket
// holds is admitted when the bucket holds at least min(n, size) and leaves it in debt, so a batch
// larger than the burst is never refused forever while the long-run rate still holds.

export class TokenBucket {
  tokens: number;
  #size: number;
  #rate: number;
  #last: number;

  constructor(ratePerSecond: number, size: number, now: number) {
    this.#rate = ratePerSecond;
    this.#size = size;
    this.tokens = size;
    this.#last = now;
  }

  /** Refills up to now at the current rate, then applies a new rate and size (tokens capped at it). */
  reshape(ratePerSecond: number, size: number, now: number): void {
    this.#refill(now);
    this.#rate = ratePerSecond;
    this.#size = size;
    if (this.tokens > size) this.tokens = size;
  }

  #refill(now: number): void {
    const elapsed = (now - this.#last) / 1000;
    this.#last = now;
    if (elapsed > 0) this.tokens = Math.min(this.#size, this.tokens + elapsed * this.#rate);
  }

  /** Takes `n` tokens if it may; else nothing. Returns whether it did. */
  take(n: number, now: number): boolean {
    this.#refill(now);
    if (this.tokens < Math.min(n, this.#size)) return false;
    this.tokens -= n;
    return true;
  }

  /** Seconds until `n` tokens (at most the bucket size) are there. */
  secondsUntil(n: number): number {
    const missing = Math.min(n, this.#size) - this.tokens;
    return missing <= 0 || this.#rate <= 0 ? 0 : missing / this.#rate;
  }

  /** Seconds until the bucket is full again. */
  secondsUntilFull(): number {
    return this.#rate <= 0 ? 0 : Math.max(0, this.#size - this.tokens) / this.#rate;
  }

  /** Whether the bucket is full at `now`. */
  fullAt(now: number): boolean {
    this.#refill(now);
    return this.tokens >= this.#size;
  }
}
