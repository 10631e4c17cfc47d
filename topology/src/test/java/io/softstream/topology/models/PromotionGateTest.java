package io.softstream.topology.models;

import static org.assertj.core.api.Assertions.assertThat;

import io.softstream.schemas.avro.ModelKind;
import io.softstream.schemas.avro.ModelStatus;
import io.softstream.schemas.avro.ModelVersion;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class PromotionGateTest {
  static ModelVersion v(int version, Map<String, Double> metrics) {
    return ModelVersion.newBuilder()
        .setName("m")
        .setKind(ModelKind.ENCODER)
        .setVersion(version)
        .setArtifactLocation("x")
        .setSha256("0")
        .setSizeBytes(1)
        .setMetrics(metrics)
        .setCreatedAt(Instant.EPOCH)
        .setStatus(ModelStatus.CANDIDATE)
        .build();
  }

  @Test
  void promotesOnlyWhenBetterOrWithinTolerance() {
    PromotionGate psnr = new PromotionGate("psnr", true, 0.1);
    Optional<ModelVersion> active = Optional.of(v(1, Map.of("psnr", 19.0)));
    assertThat(psnr.decide(v(2, Map.of("psnr", 19.5)), active).promote()).isTrue();
    assertThat(psnr.decide(v(2, Map.of("psnr", 18.95)), active).promote()).isTrue();
    PromotionGate.Decision worse = psnr.decide(v(2, Map.of("psnr", 18.5)), active);
    assertThat(worse.promote()).isFalse();
    assertThat(worse.reason())
        .contains("psnr 18.5000 vs active version 1 19.0000")
        .contains("stays CANDIDATE");
    assertThat(psnr.decide(v(2, Map.of()), active).reason()).contains("has no 'psnr' metric");
    assertThat(psnr.decide(v(2, Map.of("psnr", 1.0)), Optional.empty()).promote()).isTrue();
    PromotionGate fd = new PromotionGate("fd", false, 0.0);
    assertThat(fd.decide(v(2, Map.of("fd", 3.0)), Optional.of(v(1, Map.of("fd", 4.0)))).promote())
        .isTrue();
    assertThat(fd.decide(v(2, Map.of("fd", 5.0)), Optional.of(v(1, Map.of("fd", 4.0)))).promote())
        .isFalse();
  }
}
