package io.softstream.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.softstream.model.TokenizerConfig;
import io.softstream.model.image.ImageRejectedException;
import io.softstream.model.image.ImageTranslator;
import io.softstream.worker.internals.PoisonRecordException;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The encode worker's translator and how its rejections become dead letters (error class and
 * reason).
 */
class ImageRejectionTest {
  final WorkerConfig config =
      new WorkerConfig(
          Map.of(
              WorkerConfig.BOOTSTRAP_SERVERS,
              "localhost:1",
              WorkerConfig.SCHEMA_REGISTRY_URL,
              "mock://x",
              WorkerConfig.MODEL_DIR,
              "unused",
              WorkerConfig.IMAGE_MAX_BYTES,
              1 << 20,
              WorkerConfig.IMAGE_MAX_PIXELS,
              10_000_000L));
  final ImageTranslator translator = config.imageTranslator(TokenizerConfig.fashionMnist(), null);

  PoisonRecordException poison(byte[] bytes) {
    try {
      translator.decodeInto(bytes, "image/png", new float[translator.floatsPerImage()], 0);
    } catch (ImageRejectedException e) {
      return PoisonRecordException.of(e);
    }
    throw new AssertionError("accepted");
  }

  @Test
  void rejectedImagesKeepTheirErrorClassesAndReasons() {
    byte[] png = TestImages.random(20, 20, "png", 2);
    assertThat(poison(Arrays.copyOf(png, png.length / 2)).errorClass())
        .isEqualTo("UndecodableImage");
    assertThat(poison("hello".getBytes()))
        .hasMessageContaining("accepted: PNG, JPEG, BMP, GIF, WebP")
        .extracting("errorClass")
        .isEqualTo("UndecodableImage");
    assertThat(poison(new byte[0])).extracting("errorClass").isEqualTo("EmptyPayload");
    assertThat(poison(new byte[2 << 20]))
        .hasMessage(
            "The image has 2097152 bytes; this worker accepts at most 1048576 (image.max.bytes).")
        .extracting("errorClass")
        .isEqualTo("OversizedPayload");
    assertThat(poison(TestImages.pngHeader(100_000, 100_000)))
        .hasMessage(
            "The png image is 100000x100000 = 10000000000 pixels; this worker accepts at most 10000000 (image.max.pixels).")
        .extracting("errorClass")
        .isEqualTo("OversizedImage");
    assertThat(poison(TestImages.zeroSizeBmp()).errorClass())
        .isIn("EmptyImage", "UndecodableImage");
    assertThatThrownBy(
            () -> translator.decodeInto(new byte[0], "", new float[translator.floatsPerImage()], 0))
        .isInstanceOf(ImageRejectedException.class);
  }

  @Test
  void theWorkerFitsByDefaultAndReadsEveryFormat() {
    assertThat(config.resize(null)).isEqualTo(ImageTranslator.Resize.FIT);
    for (String f : new String[] {"png", "jpg", "bmp", "gif"}) {
      float[] out = new float[translator.floatsPerImage()];
      translator.decodeInto(TestImages.random(40, 30, f, 1), "image/" + f, out, 0);
      for (float v : out) {
        assertThat(v).isBetween(-1f, 1f);
      }
    }
  }
}
