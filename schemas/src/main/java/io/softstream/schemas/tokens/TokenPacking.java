package io.softstream.schemas.tokens;

import io.softstream.schemas.avro.TokenDtype;
import io.softstream.schemas.avro.TokenRecord;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The packed layout of {@link TokenRecord#getTokens()}: {@code token_count x token_dim} values,
 * token-major, little-endian, IEEE 754 half (FP16) or single (FP32) precision, no padding. For
 * downstream consumers that read tokens, and for the workers that write them.
 */
public final class TokenPacking {
  private TokenPacking() {}

  /** Packs {@code values} as {@code dtype}, little-endian. */
  public static byte[] pack(float[] values, TokenDtype dtype) {
    ByteBuffer b =
        ByteBuffer.allocate(values.length * bytesPerValue(dtype)).order(ByteOrder.LITTLE_ENDIAN);
    for (float v : values) {
      if (dtype == TokenDtype.FP16) {
        b.putShort(toHalf(v));
      } else {
        b.putFloat(v);
      }
    }
    return b.array();
  }

  /**
   * Unpacks the tokens of a record to {@code token_count * token_dim} floats, checking the size.
   */
  public static float[] unpack(TokenRecord r) {
    ByteBuffer b = r.getTokens().duplicate().order(ByteOrder.LITTLE_ENDIAN);
    int n = r.getTokenCount() * r.getTokenDim();
    int expected = n * bytesPerValue(r.getDtype());
    if (b.remaining() != expected) {
      throw new IllegalArgumentException(
          "TokenRecord "
              + r.getImageId()
              + " has "
              + b.remaining()
              + " token bytes; "
              + r.getTokenCount()
              + " tokens x "
              + r.getTokenDim()
              + " dims of "
              + r.getDtype()
              + " need "
              + expected);
    }
    float[] out = new float[n];
    for (int i = 0; i < n; i++) {
      out[i] = r.getDtype() == TokenDtype.FP16 ? fromHalf(b.getShort()) : b.getFloat();
    }
    return out;
  }

  public static int bytesPerValue(TokenDtype dtype) {
    return dtype == TokenDtype.FP16 ? 2 : 4;
  }

  /** Float to IEEE 754 half, round to nearest even; overflow to infinity, NaN kept. */
  public static short toHalf(float f) {
    int bits = Float.floatToRawIntBits(f);
    int sign = (bits >>> 16) & 0x8000;
    int exp = (bits >>> 23) & 0xff;
    int mant = bits & 0x7fffff;
    if (exp == 0xff) { // Inf or NaN
      return (short) (sign | 0x7c00 | (mant != 0 ? 0x200 | (mant >>> 13) : 0));
    }
    int e = exp - 127 + 15;
    if (e >= 0x1f) {
      return (short) (sign | 0x7c00);
    }
    if (e <= 0) { // subnormal half or zero
      if (e < -10) {
        return (short) sign;
      }
      mant |= 0x800000;
      int shift = 14 - e;
      int half = mant >>> shift;
      int rem = mant & ((1 << shift) - 1);
      int mid = 1 << (shift - 1);
      if (rem > mid || (rem == mid && (half & 1) != 0)) {
        half++;
      }
      return (short) (sign | half);
    }
    int half = (e << 10) | (mant >>> 13);
    int rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (half & 1) != 0)) {
      half++; // may carry into the exponent, which is correct rounding
    }
    return (short) (sign | half);
  }

  /** IEEE 754 half to float (exact). */
  public static float fromHalf(short h) {
    int bits = h & 0xffff;
    int sign = (bits & 0x8000) << 16;
    int exp = (bits >>> 10) & 0x1f;
    int mant = bits & 0x3ff;
    if (exp == 0) {
      float v = mant * 0x1p-24f;
      return sign != 0 ? -v : v;
    }
    if (exp == 0x1f) {
      return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
    }
    return Float.intBitsToFloat(sign | ((exp - 15 + 127) << 23) | (mant << 13));
  }
}
