// Per-key token buckets: `burst` requests at once, refilled at `perMinute`. In-memory, so the
// limit holds per isolate (one workerd process locally; one Cloudflare isolate of possibly
// many on the edge — see docs/EDGE.md). Only authenticated key ids get a bucket, so the map is
// bounded by the number of keys.
import { ApiError } from "./http.js";

export class RateLimiter {
  constructor(perMinute, burst, now = () => Date.now()) {
    this.ratePerMs = perMinute / 60000;
    this.burst = burst;
    this.now = now;
    this.buckets = new Map();
  }

  /** Takes one token for `id` or throws 429 with the seconds until one is back. */
  take(id) {
    const t = this.now();
    let bucket = this.buckets.get(id);
    if (bucket === undefined) {
      bucket = { tokens: this.burst, at: t };
      this.buckets.set(id, bucket);
    }
    bucket.tokens = Math.min(this.burst, bucket.tokens + (t - bucket.at) * this.ratePerMs);
    bucket.at = t;
    if (bucket.tokens < 1) {
      const seconds = Math.max(1, Math.ceil((1 - bucket.tokens) / this.ratePerMs / 1000));
      throw new ApiError(429, "rate_limited", "too many requests for this API key", {
        headers: { "retry-after": String(seconds) },
      });
    }
    bucket.tokens -= 1;
  }
}
