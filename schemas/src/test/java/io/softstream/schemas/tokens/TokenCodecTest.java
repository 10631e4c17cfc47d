package io.softstream.schemas.tokens;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.softstream.schemas.avro.TokenDtype;
import io.softstream.schemas.avro.TokenRecord;
import io.softstream.schemas.tokens.TokenCodec.Encoding;
import java.nio.ByteBuffer;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Round trips of every payload encoding on soft-quantized tokens (a softmax at tau 0.07 over cosine
 * similarities, as the quantizer computes them): exact byte sizes and error bounds.
 */
class TokenCodecTest {
  static final int N = 32, D = 16, G = 2, K = 512;
  static final Codebook CB = codebook(new Random(7));

  static Codebook codebook(Random r) {
    float[] raw = new float[G * K * D];
    for (int i = 0; i < raw.length; i++) {
      raw[i] = (float) r.nextGaussian();
    }
    return Codebook.normalise(G, K, D, raw);
  }

  /** Soft-quantized tokens: p = softmax(cos(z, C) / 0.07), zq = p . C. */
  static float[] softTokens(Random r) {
    float[] out = new float[N * D];
    for (int t = 0; t < N; t++) {
      float[] z = new float[D];
      int near = r.nextInt(K);
      for (int i = 0; i < D; i++) { // a latent near one codeword, as trained tokens are
        z[i] = CB.unit()[CB.row(t, N, near) + i] + 0.3f * (float) r.nextGaussian() / 4;
      }
      double[] logits = new double[K];
      double max = Double.NEGATIVE_INFINITY, norm = 0;
      for (float v : z) {
        norm += v * v;
      }
      norm = Math.sqrt(norm);
      for (int c = 0; c < K; c++) {
        double s = 0;
        for (int i = 0; i < D; i++) {
          s += z[i] / norm * CB.unit()[CB.row(t, N, c) + i];
        }
        logits[c] = s / 0.07;
        max = Math.max(max, logits[c]);
      }
      double sum = 0;
      for (int c = 0; c < K; c++) {
        logits[c] = Math.exp(logits[c] - max);
        sum += logits[c];
      }
      for (int c = 0; c < K; c++) {
        for (int i = 0; i < D; i++) {
          out[t * D + i] += (float) (logits[c] / sum) * CB.unit()[CB.row(t, N, c) + i];
        }
      }
    }
    return out;
  }

  static double rmse(float[] a, float[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += (a[i] - b[i]) * (a[i] - b[i]);
    }
    return Math.sqrt(s / a.length);
  }

  static double rms(float[] a) {
    return rmse(a, new float[a.length]);
  }

  @Test
  void everyEncodingRoundTripsWithItsExactSizeAndErrorBound() {
    float[] z = softTokens(new Random(1));
    double scale = rms(z);
    Object[][] cases = {
      // encoding, bytes, max relative RMS error
      {"fp32", 2048, 0.0},
      {"fp16", 1024, 1e-3},
      {"int8", 576, 1e-2},
      {"int8u", 512, 2e-2},
      {"topk:4", (32 * 4 * 17 + 7) / 8, 0.08},
      {"topk:2", 136, 0.15},
      {"topk:1", 68, 0.35},
      {"codes", 36, 0.6},
    };
    double previous = 0;
    for (int i = cases.length - 1; i >= 0; i--) {
      Encoding e = Encoding.parse((String) cases[i][0]);
      byte[] p = TokenCodec.encode(z, N, D, e, CB);
      assertThat(p).as(e.toString()).hasSize((int) cases[i][1]);
      assertThat(TokenCodec.payloadBytes(e, N, D, CB)).isEqualTo(p.length);
      float[] back = TokenCodec.decode(p, N, D, e, CB);
      double rel = rmse(z, back) / scale;
      assertThat(rel).as(e + " relative RMS error").isLessThanOrEqualTo((double) cases[i][2]);
      assertThat(e.toString()).isEqualTo(cases[i][0]);
      previous = rel;
    }
    assertThat(previous).isZero(); // fp32 is exact
  }

  @Test
  void codesAreTheArgmaxCodewordsBitPacked() {
    float[] z = new float[N * D];
    int[] codes = new int[N];
    Random r = new Random(3);
    for (int t = 0; t < N; t++) {
      codes[t] = r.nextInt(K);
      System.arraycopy(CB.unit(), CB.row(t, N, codes[t]), z, t * D, D);
    }
    byte[] p = TokenCodec.encode(z, N, D, Encoding.parse("codes"), CB);
    assertThat(p).hasSize(36); // 32 tokens x 9 bits
    assertThat(TokenCodec.decode(p, N, D, Encoding.parse("codes"), CB)).containsExactly(z);
    // topk:1 of an exact codeword: weight 255/255, exact too.
    byte[] p1 = TokenCodec.encode(z, N, D, Encoding.parse("topk:1"), CB);
    assertThat(rmse(TokenCodec.decode(p1, N, D, Encoding.parse("topk:1"), CB), z)).isLessThan(1e-6);
  }

  @Test
  void recordsSayWhichEncodingTheyCarryAndOldRecordsAreDense() {
    float[] z = softTokens(new Random(2));
    TokenRecord.Builder b =
        TokenRecord.newBuilder()
            .setImageId("a")
            .setModelName("m")
            .setModelVersion(1)
            .setTokenCount(N)
            .setTokenDim(D)
            .setEncodeLatencyMicros(1)
            .setSourceTopic("images")
            .setSourcePartition(0)
            .setSourceOffset(0);
    TokenRecord int8 = TokenCodec.fill(b, z, N, D, Encoding.parse("int8"), null).build();
    assertThat(int8.getEncoding()).isEqualTo("int8");
    assertThat(int8.getDtype()).isEqualTo(TokenDtype.FP32);
    assertThat(rmse(TokenCodec.decode(int8, null), z) / rms(z)).isLessThan(1e-2);

    TokenRecord old =
        TokenRecord.newBuilder(int8)
            .setEncoding(null)
            .setDtype(TokenDtype.FP16)
            .setTokens(ByteBuffer.wrap(TokenPacking.pack(z, TokenDtype.FP16)))
            .build();
    assertThat(TokenCodec.encodingOf(old)).isEqualTo(Encoding.FP16);
    assertThat(rmse(TokenCodec.decode(old, null), z) / rms(z)).isLessThan(1e-3);

    TokenRecord topk = TokenCodec.fill(b, z, N, D, Encoding.parse("topk:2"), CB).build();
    assertThatThrownBy(() -> TokenCodec.decode(topk, null))
        .hasMessageContaining("needs the model's codebook");
    TokenRecord cut =
        TokenRecord.newBuilder(topk).setTokens(ByteBuffer.wrap(new byte[135])).build();
    assertThatThrownBy(() -> TokenCodec.decode(cut, CB))
        .hasMessageContaining("TokenRecord a: payload of 135 bytes")
        .hasMessageContaining("need 136");
    assertThatThrownBy(() -> Encoding.parse("topk:0")).hasMessageContaining("topk:K");
    assertThatThrownBy(() -> Encoding.parse("bf16")).hasMessageContaining("got 'bf16'");
  }

  @Test
  void int8uIsOneByteAValueAtTheFixedScaleAndRefusesUnboundedLatents() {
    float[] z = softTokens(new Random(4));
    Encoding e = Encoding.parse("int8u");
    byte[] p = TokenCodec.encode(z, N, D, e, null);
    assertThat(p).hasSize(N * D); // half of fp16's 1024: no per-token scale
    float[] back = TokenCodec.decode(p, N, D, e, null);
    for (int i = 0; i < z.length; i++) {
      assertThat(back[i]).isEqualTo(p[i] / 127f); // value = byte / 127
      assertThat((double) Math.abs(back[i] - z[i])).isLessThanOrEqualTo(0.5 / 127 + 1e-6);
    }
    // The bounds themselves are exact: -1 and 1 are bytes -127 and 127.
    float[] ends = new float[N * D];
    ends[0] = 1f;
    ends[1] = -1f;
    byte[] q = TokenCodec.encode(ends, N, D, e, null);
    assertThat(new byte[] {q[0], q[1], q[2]}).containsExactly(127, -127, 0);

    ends[5 * D + 3] = 1.5f; // a plain autoencoder's latent can be anything
    assertThatThrownBy(() -> TokenCodec.encode(ends, N, D, e, null))
        .hasMessageContaining("int8u holds values in [-1, 1]; token 5 has 1.5")
        .hasMessageContaining("use int8");
    assertThatThrownBy(() -> TokenCodec.requireBounded(e, "none", "ae-32"))
        .hasMessageContaining("model ae-32 has quantizer 'none' (unbounded)");
    TokenCodec.requireBounded(e, "softvq", "m"); // convex combinations of unit codewords
    TokenCodec.requireBounded(e, "hardvq", "m"); // unit codewords
    TokenCodec.requireBounded(Encoding.parse("int8"), "none", "m"); // per-token scale: any range

    // A record says int8u; int8 records (per-token scale) still decode beside it.
    TokenRecord.Builder b =
        TokenRecord.newBuilder()
            .setImageId("u")
            .setModelName("m")
            .setModelVersion(1)
            .setTokenCount(N)
            .setTokenDim(D)
            .setEncodeLatencyMicros(1)
            .setSourceTopic("images")
            .setSourcePartition(0)
            .setSourceOffset(0);
    TokenRecord r = TokenCodec.fill(b, z, N, D, e, null).build();
    assertThat(r.getEncoding()).isEqualTo("int8u");
    assertThat(TokenCodec.decode(r, null)).containsExactly(back);
    TokenRecord cut = TokenRecord.newBuilder(r).setTokens(ByteBuffer.wrap(new byte[576])).build();
    assertThatThrownBy(() -> TokenCodec.decode(cut, null))
        .hasMessageContaining("payload of 576 bytes")
        .hasMessageContaining("int8u need 512");
  }
}
