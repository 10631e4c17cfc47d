package io.softstream.model;

import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * The progress line of a long phase (evaluation, benchmarks): "LABEL done/total images, R images/s,
 * ETA S s", at most once every {@link #EVERY_NS} and once at the end, so a long command is never
 * silent and a short one prints one line.
 */
public final class Progress {
  /** Seconds between lines: often enough to show life, rarely enough not to flood a log. */
  public static final long EVERY_NS = 3_000_000_000L;

  private final String label;
  private final long total;
  private final Consumer<String> sink;
  private final LongSupplier clock;
  private final long start;
  private long last;

  /** Lines go to {@code sink} (e.g. {@link #stderr()}: stdout may carry a JSON result). */
  public Progress(String label, long total, Consumer<String> sink) {
    this(label, total, sink, System::nanoTime);
  }

  Progress(String label, long total, Consumer<String> sink, LongSupplier clock) {
    this.label = label;
    this.total = total;
    this.sink = sink;
    this.clock = clock;
    this.start = clock.getAsLong();
    this.last = start;
  }

  /** One line per call on stderr. */
  public static Consumer<String> stderr() {
    return line -> {
      System.err.println(line);
      System.err.flush();
    };
  }

  /**
   * {@code done} of the total are through: a line if the last was long enough ago, or at the end.
   */
  public void update(long done) {
    long now = clock.getAsLong();
    if (now - last > EVERY_NS || done >= total) {
      last = now;
      double rate = done / Math.max(1e-9, (now - start) / 1e9);
      // Nothing through yet: no rate to tell the ETA from.
      String eta =
          done <= 0
              ? "?"
              : String.format(java.util.Locale.ROOT, "%.0f", Math.max(0, total - done) / rate);
      sink.accept(
          String.format(
              java.util.Locale.ROOT,
              "%s %d/%d images, %.0f images/s, ETA %s s",
              label,
              done,
              total,
              rate,
              eta));
    }
  }
}
