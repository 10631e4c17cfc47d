package io.softstream.schemas.tokens;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.softstream.schemas.avro.TokenDtype;
import io.softstream.schemas.avro.TokenRecord;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.Random;
import org.junit.jupiter.api.Test;

class TokenPackingTest {
  @Test
  void halfPrecisionMatchesKnownBitPatterns() {
    assertThat(TokenPacking.toHalf(1.0f)).isEqualTo((short) 0x3c00);
    assertThat(TokenPacking.toHalf(-2.0f)).isEqualTo((short) 0xc000);
    assertThat(TokenPacking.toHalf(65504f)).isEqualTo((short) 0x7bff);
    assertThat(TokenPacking.toHalf(1e6f)).isEqualTo((short) 0x7c00);
    assertThat(TokenPacking.toHalf(5.9604645e-8f)).isEqualTo((short) 0x0001); // smallest subnormal
    assertThat(TokenPacking.toHalf(0.333333f)).isEqualTo((short) 0x3555);
    assertThat(TokenPacking.fromHalf((short) 0x3555)).isEqualTo(0.33325195f);
    assertThat(Float.isNaN(TokenPacking.fromHalf(TokenPacking.toHalf(Float.NaN)))).isTrue();
  }

  @Test
  void everyHalfValueRoundTripsExactlyAndFloatsRoundToTheNearestHalf() {
    for (int h = 0; h < 0x10000; h++) {
      float f = TokenPacking.fromHalf((short) h);
      if (!Float.isNaN(f)) {
        assertThat(TokenPacking.toHalf(f)).isEqualTo((short) h);
      }
    }
    Random r = new Random(1);
    for (int i = 0; i < 100_000; i++) {
      float f = (float) (r.nextGaussian() * 4);
      float back = TokenPacking.fromHalf(TokenPacking.toHalf(f));
      assertThat(Math.abs(back - f))
          .isLessThanOrEqualTo(Math.max(Math.ulp(back) * 0.5f * 8192, 3e-8f));
    }
  }

  @Test
  void packsLittleEndianAndUnpacksWithASizeCheck() {
    float[] v = {1f, -2f, 0.5f, 3.25f, 0f, 7f};
    byte[] fp32 = TokenPacking.pack(v, TokenDtype.FP32);
    assertThat(fp32).hasSize(24);
    assertThat(new byte[] {fp32[0], fp32[1], fp32[2], fp32[3]})
        .containsExactly(0, 0, 0x80, 0x3f); // 1.0f LE
    byte[] fp16 = TokenPacking.pack(v, TokenDtype.FP16);
    assertThat(new byte[] {fp16[0], fp16[1]}).containsExactly(0x00, 0x3c);
    for (TokenDtype d : TokenDtype.values()) {
      TokenRecord r = record(TokenPacking.pack(v, d), d, 2, 3);
      assertThat(TokenPacking.unpack(r)).containsExactly(v);
    }
    assertThatThrownBy(() -> TokenPacking.unpack(record(new byte[10], TokenDtype.FP16, 2, 3)))
        .hasMessageContaining("has 10 token bytes; 2 tokens x 3 dims of FP16 need 12");
  }

  private static TokenRecord record(byte[] tokens, TokenDtype dtype, int n, int d) {
    return TokenRecord.newBuilder()
        .setImageId("i")
        .setModelName("m")
        .setModelVersion(1)
        .setTokenCount(n)
        .setTokenDim(d)
        .setDtype(dtype)
        .setTokens(ByteBuffer.wrap(tokens))
        .setEncodeLatencyMicros(0)
        .setSourceTopic("t")
        .setSourcePartition(0)
        .setSourceOffset(0)
        .setEventTime(Instant.EPOCH)
        .build();
  }
}
