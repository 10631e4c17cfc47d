package io.softstream.worker.internals;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicLong;

/** A clock that moves only when a test moves it (Kafka's MockTime, for java.time). Thread-safe. */
final class FakeClock extends Clock {
  private final AtomicLong millis;
  // How far each reading moves the clock on before it is read (0: it moves only when told).
  private final long stepOnRead;

  FakeClock() {
    this(new AtomicLong(1_700_000_000_000L), 0);
  }

  private FakeClock(AtomicLong millis, long stepOnRead) {
    this.millis = millis;
    this.stepOnRead = stepOnRead;
  }

  /** A view of this clock that moves it on by {@code step} at each of its own readings. */
  FakeClock advancingOnEachRead(Duration step) {
    return new FakeClock(millis, step.toMillis());
  }

  void advance(Duration d) {
    millis.addAndGet(d.toMillis());
  }

  @Override
  public long millis() {
    return millis.addAndGet(stepOnRead);
  }

  @Override
  public Instant instant() {
    return Instant.ofEpochMilli(millis());
  }

  @Override
  public ZoneId getZone() {
    return ZoneOffset.UTC;
  }

  @Override
  public Clock withZone(ZoneId zone) {
    return this;
  }
}
