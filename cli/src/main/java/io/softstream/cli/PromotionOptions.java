package io.softstream.cli;

import io.softstream.topology.models.PromotionGate;
import picocli.CommandLine.Option;

/**
 * The promotion gate of a newly published version, shared by {@code models publish} and {@code
 * train --publish}.
 */
public final class PromotionOptions {
  @Option(
      names = "--promote-if-better",
      description =
          "With publishing: make the new version ACTIVE only if its held-out "
              + "--gate-metric beats the active version's, or is within --gate-tolerance of it; otherwise it stays CANDIDATE and "
              + "this says why.")
  boolean promoteIfBetter;

  @Option(
      names = "--gate-metric",
      defaultValue = "psnr",
      description = "Held-out metric of the gate (default: ${DEFAULT-VALUE}).")
  String gateMetric;

  @Option(
      names = "--gate-tolerance",
      defaultValue = "0.1",
      description = "Accepted shortfall, e.g. dB of PSNR (default: ${DEFAULT-VALUE}).")
  double gateTolerance;

  /** The gate, or null without {@code --promote-if-better}. */
  PromotionGate gate() {
    if (!promoteIfBetter) {
      return null;
    }
    // Distances (fd*) and losses are better when lower; every other metric (psnr, accuracy) when
    // higher.
    return new PromotionGate(
        gateMetric, !gateMetric.startsWith("fd") && !gateMetric.contains("loss"), gateTolerance);
  }
}
