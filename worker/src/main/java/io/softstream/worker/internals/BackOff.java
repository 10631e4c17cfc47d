package io.softstream.worker.internals;

import java.time.Clock;
import java.time.Duration;

/**
 * How long to hold off after a failure: {@code initial}, doubling on each failure in a row up to
 * {@code max}, and back to {@code initial} after a success. The loop pauses its partitions for that
 * long but keeps polling, so the group membership stays alive however long the registry or broker
 * is down. Times are read from the injected clock. Loop thread only.
 */
final class BackOff {
  static final Duration INITIAL = Duration.ofMillis(100);
  static final Duration MAX = Duration.ofSeconds(5);

  private final long initialMs;
  private final long maxMs;
  private final Clock clock;
  private long delayMs;
  private long resumeAtMillis;
  private boolean waiting;

  BackOff(Duration initial, Duration max, Clock clock) {
    this.initialMs = initial.toMillis();
    this.maxMs = max.toMillis();
    this.clock = clock;
  }

  /** Starts the next, longer delay now and returns it. */
  Duration failed() {
    delayMs = delayMs == 0 ? Math.min(initialMs, maxMs) : Math.min(maxMs, delayMs * 2);
    resumeAtMillis = clock.millis() + delayMs;
    waiting = true;
    return Duration.ofMillis(delayMs);
  }

  /** The next failure starts again from {@code initial}. */
  void succeeded() {
    delayMs = 0;
  }

  /** True once, when the delay started by the last {@link #failed()} is over. */
  boolean resumeDue() {
    if (waiting && clock.millis() >= resumeAtMillis) {
      waiting = false;
      return true;
    }
    return false;
  }
}
