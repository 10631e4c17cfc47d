package io.softstream.topology.models;

import io.softstream.schemas.avro.ModelVersion;
import java.util.Optional;

/**
 * Decides whether a candidate may become active: only if its held-out metric beats the active
 * version's, or is within {@code tolerance} of it. A candidate without the metric never passes;
 * with no active version any candidate that has the metric passes.
 *
 * @param metric metric key in {@link ModelVersion#getMetrics()}, e.g. {@code psnr}
 * @param higherIsBetter true for PSNR/accuracy, false for losses or distances
 * @param tolerance how much worse than the active version is still accepted
 */
public record PromotionGate(String metric, boolean higherIsBetter, double tolerance) {
  /** The decision and the reason, for logs and the CLI. */
  public record Decision(boolean promote, String reason) {}

  public Decision decide(ModelVersion candidate, Optional<ModelVersion> active) {
    Double c = candidate.getMetrics().get(metric);
    if (c == null) {
      return new Decision(
          false,
          "candidate "
              + candidate.getVersion()
              + " has no '"
              + metric
              + "' metric; evaluate it first");
    }
    if (active.isEmpty()) {
      return new Decision(true, "no active version; candidate " + metric + " " + c);
    }
    Double a = active.get().getMetrics().get(metric);
    if (a == null) {
      return new Decision(
          true, "active version " + active.get().getVersion() + " has no '" + metric + "' metric");
    }
    double margin = higherIsBetter ? c - a : a - c;
    boolean ok = margin >= -tolerance;
    return new Decision(
        ok,
        String.format(
            "%s %.4f vs active version %d %.4f (%s is better, tolerance %.4f): %s",
            metric,
            c,
            active.get().getVersion(),
            a,
            higherIsBetter ? "higher" : "lower",
            tolerance,
            ok ? "promoted" : "stays CANDIDATE"));
  }
}
