package io.softstream.schemas.tokens;

import io.softstream.schemas.avro.TokenDtype;
import io.softstream.schemas.avro.TokenRecord;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The payload encodings of {@link TokenRecord#getTokens()} (field {@code encoding}), one codec for
 * every writer and reader: the encode workers, the decode library and worker, {@code softstream
 * decode}, the evaluation's payload sweep (the Python reader mirrors it in numpy).
 *
 * <ul>
 *   <li>{@code fp32}, {@code fp16}: dense values, little-endian, {@code N*d*4} / {@code N*d*2}
 *       bytes ({@link TokenPacking}).
 *   <li>{@code int8}: per token an FP16 scale (max |value| / 127) then {@code d} signed bytes:
 *       {@code N*(d+2)} bytes.
 *   <li>{@code int8u}: one signed byte a value at the fixed scale 1/127 (value = byte / 127):
 *       {@code N*d} bytes, half of fp16. Only for latents bounded by [-1, 1], which soft and hard
 *       VQ latents are (a convex combination of unit codewords, or one of them); {@link
 *       #requireBounded} refuses a plain autoencoder, and encoding a value outside refuses too.
 *   <li>{@code topk:K}: per token (token-major) K pairs of code index ({@link Codebook#indexBits()}
 *       bits) and 8-bit weight (w = q/255), bit-packed LSB first: {@code ceil(N*K*(bits+8)/8)}
 *       bytes. The decoder rebuilds the token as {@code sum w_j * c_j} over the L2-normalised
 *       codewords of the token's codebook.
 *   <li>{@code codes}: the argmax code index per token, bit-packed: {@code ceil(N*bits/8)} bytes;
 *       decoded as that unit codeword.
 * </ul>
 *
 * <p>The shipped encoders export the quantized latent, not the posterior; {@code topk} works from
 * the latent and the codebook. Its first code is the posterior's argmax (the codeword most similar
 * to the latent: the posterior is a softmax over cosine similarities); each next one is chosen by
 * greedy matching pursuit (the codeword most similar to what the chosen ones leave unexplained),
 * and the weights are the least-squares fit of the latent over the chosen codewords, clamped to [0,
 * 1] and quantized to 8 bits. On the shipped Fashion-MNIST model this reconstructs the latent far
 * better than the K largest posterior weights (its posterior is broad: the latent's norm averages
 * 0.67, and 2 codewords by similarity leave 11% of its energy, pursuit 8%, at K = 4 6% against 2%).
 */
public final class TokenCodec {
  private TokenCodec() {}

  /** The kinds of payload. */
  public enum Kind {
    FP32,
    FP16,
    INT8,
    INT8U,
    TOPK,
    CODES
  }

  /** One encoding; {@code k} is K for {@code topk:K}, else 0. */
  public record Encoding(Kind kind, int k) {
    public static final Encoding FP16 = new Encoding(Kind.FP16, 0);
    public static final Encoding FP32 = new Encoding(Kind.FP32, 0);

    /** Parses {@code fp32|fp16|int8|int8u|topk:K|codes} (case-insensitive), with a clear error. */
    public static Encoding parse(String s) {
      String v = s == null ? "" : s.trim().toLowerCase(java.util.Locale.ROOT);
      switch (v) {
        case "fp32":
          return FP32;
        case "fp16":
          return FP16;
        case "int8":
          return new Encoding(Kind.INT8, 0);
        case "int8u":
          return new Encoding(Kind.INT8U, 0);
        case "codes":
          return new Encoding(Kind.CODES, 0);
        default:
          if (v.startsWith("topk:")) {
            try {
              int k = Integer.parseInt(v.substring(5));
              if (k >= 1 && k <= 64) {
                return new Encoding(Kind.TOPK, k);
              }
            } catch (NumberFormatException ignored) {
              // falls through to the error below
            }
          }
          throw new IllegalArgumentException(
              "token encoding must be fp32, fp16, int8, int8u, topk:K (K in 1..64) or codes, got '"
                  + s
                  + "'");
      }
    }

    /** True for fp32 and fp16: the values themselves, as records without the field carry. */
    public boolean dense() {
      return kind == Kind.FP32 || kind == Kind.FP16;
    }

    /** True when decoding needs the model's codebook. */
    public boolean needsCodebook() {
      return kind == Kind.TOPK || kind == Kind.CODES;
    }

    @Override
    public String toString() {
      return kind == Kind.TOPK ? "topk:" + k : kind.name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /** The encoding a record carries (records without the field are dense, as their dtype says). */
  public static Encoding encodingOf(TokenRecord r) {
    if (r.getEncoding() == null) {
      return r.getDtype() == TokenDtype.FP16 ? Encoding.FP16 : Encoding.FP32;
    }
    return Encoding.parse(r.getEncoding());
  }

  /** Payload bytes of {@code n} tokens of {@code d} values; {@code cb} only for topk and codes. */
  public static int payloadBytes(Encoding e, int n, int d, Codebook cb) {
    return switch (e.kind()) {
      case FP32 -> n * d * 4;
      case FP16 -> n * d * 2;
      case INT8 -> n * (d + 2);
      case INT8U -> n * d;
      case TOPK -> (n * e.k() * (need(cb, e).indexBits() + 8) + 7) / 8;
      case CODES -> (n * need(cb, e).indexBits() + 7) / 8;
    };
  }

  /** Sets dtype, tokens and encoding of {@code b} to {@code tokens} ({@code n x d}) encoded. */
  public static TokenRecord.Builder fill(
      TokenRecord.Builder b, float[] tokens, int n, int d, Encoding e, Codebook cb) {
    return b.setDtype(e.kind() == Kind.FP16 ? TokenDtype.FP16 : TokenDtype.FP32)
        .setTokens(ByteBuffer.wrap(encode(tokens, n, d, e, cb)))
        .setEncoding(e.toString());
  }

  /** Decodes a record's tokens to {@code token_count * token_dim} floats. */
  public static float[] decode(TokenRecord r, Codebook cb) {
    Encoding e = encodingOf(r);
    if (e.kind() == Kind.FP16 || e.kind() == Kind.FP32) {
      if (r.getEncoding() != null && (e.kind() == Kind.FP16) != (r.getDtype() == TokenDtype.FP16)) {
        throw new IllegalArgumentException(
            "TokenRecord " + r.getImageId() + " says encoding " + e + " but dtype " + r.getDtype());
      }
      return TokenPacking.unpack(r);
    }
    ByteBuffer b = r.getTokens().duplicate();
    byte[] payload = new byte[b.remaining()];
    b.get(payload);
    try {
      return decode(payload, r.getTokenCount(), r.getTokenDim(), e, cb);
    } catch (IllegalArgumentException ex) {
      throw new IllegalArgumentException("TokenRecord " + r.getImageId() + ": " + ex.getMessage());
    }
  }

  /** Encodes {@code n x d} token values. */
  public static byte[] encode(float[] tokens, int n, int d, Encoding e, Codebook cb) {
    if (tokens.length != n * d) {
      throw new IllegalArgumentException(tokens.length + " token values are not " + n + " x " + d);
    }
    switch (e.kind()) {
      case FP32:
        return TokenPacking.pack(tokens, TokenDtype.FP32);
      case FP16:
        return TokenPacking.pack(tokens, TokenDtype.FP16);
      case INT8:
        return int8(tokens, n, d);
      case INT8U:
        return int8u(tokens, n, d);
      default:
        break;
    }
    fits(need(cb, e), n, d);
    int bits = cb.indexBits();
    int per = e.kind() == Kind.CODES ? 1 : e.k();
    if (per > cb.size()) {
      throw new IllegalArgumentException(e + " needs at least " + per + " codewords per codebook");
    }
    Bits out = new Bits(new byte[payloadBytes(e, n, d, cb)]);
    for (int t = 0; t < n; t++) {
      // Greedy matching pursuit: the first code is the posterior's argmax (the codeword most
      // similar to the latent), each next one the codeword most similar to what the chosen ones
      // leave unexplained; weights are the least-squares fit over the chosen codewords.
      int[] chosen = new int[per];
      double[] w = new double[0];
      float[] residual = java.util.Arrays.copyOfRange(tokens, t * d, (t + 1) * d);
      for (int j = 0; j < per; j++) {
        chosen[j] = best(residual, t, n, java.util.Arrays.copyOf(chosen, j), cb);
        if (e.kind() == Kind.CODES) {
          break;
        }
        int[] sel = java.util.Arrays.copyOf(chosen, j + 1);
        w = fit(tokens, t * d, t, n, sel, cb);
        for (int i = 0; i < d; i++) {
          double v = tokens[t * d + i];
          for (int x = 0; x <= j; x++) {
            v -= w[x] * cb.unit()[cb.row(t, n, sel[x]) + i];
          }
          residual[i] = (float) v;
        }
      }
      for (int j = 0; j < per; j++) {
        out.put(chosen[j], bits);
        if (e.kind() == Kind.TOPK) {
          out.put((int) Math.round(Math.min(1, Math.max(0, w[j])) * 255), 8);
        }
      }
    }
    return out.bytes;
  }

  /** Decodes an {@code n x d} payload. */
  public static float[] decode(byte[] payload, int n, int d, Encoding e, Codebook cb) {
    int expected =
        e.needsCodebook()
            ? payloadBytes(e, n, d, fits(need(cb, e), n, d))
            : payloadBytes(e, n, d, cb);
    if (payload.length != expected) {
      throw new IllegalArgumentException(
          "payload of "
              + payload.length
              + " bytes; "
              + n
              + " tokens x "
              + d
              + " dims in "
              + e
              + " need "
              + expected);
    }
    float[] out = new float[n * d];
    ByteBuffer le = ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN);
    switch (e.kind()) {
      case FP32:
        le.asFloatBuffer().get(out);
        return out;
      case FP16:
        for (int i = 0; i < out.length; i++) {
          out[i] = TokenPacking.fromHalf(le.getShort());
        }
        return out;
      case INT8:
        for (int t = 0; t < n; t++) {
          float scale = TokenPacking.fromHalf(le.getShort());
          for (int i = 0; i < d; i++) {
            out[t * d + i] = le.get() * scale;
          }
        }
        return out;
      case INT8U:
        for (int i = 0; i < out.length; i++) {
          out[i] = le.get() / 127f;
        }
        return out;
      default:
        break;
    }
    Bits in = new Bits(payload);
    int bits = cb.indexBits();
    int per = e.kind() == Kind.CODES ? 1 : e.k();
    for (int t = 0; t < n; t++) {
      for (int j = 0; j < per; j++) {
        int code = in.get(bits);
        if (code >= cb.size()) {
          throw new IllegalArgumentException(
              "code index " + code + " of token " + t + " outside a codebook of " + cb.size());
        }
        float w = e.kind() == Kind.CODES ? 1f : in.get(8) / 255f;
        int row = cb.row(t, n, code);
        for (int i = 0; i < d; i++) {
          out[t * d + i] += w * cb.unit()[row + i];
        }
      }
    }
    return out;
  }

  private static byte[] int8(float[] v, int n, int d) {
    ByteBuffer b = ByteBuffer.allocate(n * (d + 2)).order(ByteOrder.LITTLE_ENDIAN);
    for (int t = 0; t < n; t++) {
      float max = 0;
      for (int i = 0; i < d; i++) {
        max = Math.max(max, Math.abs(v[t * d + i]));
      }
      short half = TokenPacking.toHalf(max / 127f);
      float scale = TokenPacking.fromHalf(half);
      b.putShort(half);
      for (int i = 0; i < d; i++) {
        int q = scale > 0 ? Math.round(v[t * d + i] / scale) : 0;
        b.put((byte) Math.max(-127, Math.min(127, q)));
      }
    }
    return b.array();
  }

  /**
   * Refuses {@code int8u} for a model whose latent is not bounded by [-1, 1]: only soft VQ (a
   * convex combination of L2-normalised codewords) and hard VQ (one of them) are; a plain
   * autoencoder ({@code none}) is not. Other encodings pass.
   *
   * @param quantizer the model card's quantizer: softvq, hardvq or none
   */
  public static void requireBounded(Encoding e, String quantizer, String model) {
    if (e.kind() == Kind.INT8U && !"softvq".equals(quantizer) && !"hardvq".equals(quantizer)) {
      throw new IllegalArgumentException(
          "encoding int8u needs a latent bounded by [-1, 1] (soft or hard VQ); model "
              + model
              + " has quantizer '"
              + quantizer
              + "' (unbounded): use int8 (per-token scale)");
    }
  }

  private static byte[] int8u(float[] v, int n, int d) {
    byte[] out = new byte[n * d];
    for (int i = 0; i < out.length; i++) {
      // A convex combination of unit vectors can exceed 1 only by float rounding.
      if (!(Math.abs(v[i]) <= 1 + 1e-4f)) {
        throw new IllegalArgumentException(
            "int8u holds values in [-1, 1]; token "
                + i / d
                + " has "
                + v[i]
                + " (not a soft/hard VQ latent?): use int8 (per-token scale)");
      }
      out[i] = (byte) Math.max(-127, Math.min(127, Math.round(v[i] * 127)));
    }
    return out;
  }

  /** The codeword of token {@code t}'s codebook most similar to {@code r}, not in {@code skip}. */
  private static int best(float[] r, int t, int n, int[] skip, Codebook cb) {
    int best = -1;
    float bestScore = Float.NEGATIVE_INFINITY;
    outer:
    for (int c = 0; c < cb.size(); c++) {
      for (int x : skip) {
        if (x == c) {
          continue outer;
        }
      }
      int row = cb.row(t, n, c);
      float s = 0;
      for (int i = 0; i < cb.dim(); i++) {
        s += r[i] * cb.unit()[row + i];
      }
      if (s > bestScore) {
        bestScore = s;
        best = c;
      }
    }
    return best;
  }

  /** Least-squares weights of token {@code t} over codewords {@code top} (normal equations). */
  private static double[] fit(float[] z, int off, int t, int n, int[] top, Codebook cb) {
    int k = top.length, d = cb.dim();
    double[][] a = new double[k][k + 1];
    for (int i = 0; i < k; i++) {
      int ri = cb.row(t, n, top[i]);
      for (int j = 0; j < k; j++) {
        int rj = cb.row(t, n, top[j]);
        double s = 0;
        for (int x = 0; x < d; x++) {
          s += cb.unit()[ri + x] * cb.unit()[rj + x];
        }
        a[i][j] = s + (i == j ? 1e-6 : 0); // ridge: near-parallel codewords stay solvable
      }
      double s = 0;
      for (int x = 0; x < d; x++) {
        s += cb.unit()[ri + x] * z[off + x];
      }
      a[i][k] = s;
    }
    for (int c = 0; c < k; c++) { // Gaussian elimination with partial pivoting
      int p = c;
      for (int r = c + 1; r < k; r++) {
        if (Math.abs(a[r][c]) > Math.abs(a[p][c])) {
          p = r;
        }
      }
      double[] tmp = a[c];
      a[c] = a[p];
      a[p] = tmp;
      for (int r = c + 1; r < k; r++) {
        double f = a[r][c] / a[c][c];
        for (int x = c; x <= k; x++) {
          a[r][x] -= f * a[c][x];
        }
      }
    }
    double[] w = new double[k];
    for (int r = k - 1; r >= 0; r--) {
      double s = a[r][k];
      for (int x = r + 1; x < k; x++) {
        s -= a[r][x] * w[x];
      }
      w[r] = s / a[r][r];
      if (!Double.isFinite(w[r])) {
        w[r] = 0;
      }
    }
    return w;
  }

  private static Codebook need(Codebook cb, Encoding e) {
    if (cb == null) {
      throw new IllegalArgumentException(
          "encoding " + e + " needs the model's codebook (its encoder.onnx)");
    }
    return cb;
  }

  private static Codebook fits(Codebook cb, int n, int d) {
    if (cb.dim() != d || n % cb.groups() != 0) {
      throw new IllegalArgumentException(
          n
              + " tokens x "
              + d
              + " dims do not fit a codebook of "
              + cb.groups()
              + " x "
              + cb.size()
              + " x "
              + cb.dim());
    }
    return cb;
  }

  /** LSB-first bit packing. */
  private static final class Bits {
    final byte[] bytes;
    long pos;

    Bits(byte[] bytes) {
      this.bytes = bytes;
    }

    void put(int v, int n) {
      for (int i = 0; i < n; i++, pos++) {
        if (((v >>> i) & 1) != 0) {
          bytes[(int) (pos >>> 3)] |= (byte) (1 << (pos & 7));
        }
      }
    }

    int get(int n) {
      int v = 0;
      for (int i = 0; i < n; i++, pos++) {
        v |= ((bytes[(int) (pos >>> 3)] >>> (pos & 7)) & 1) << i;
      }
      return v;
    }
  }
}
