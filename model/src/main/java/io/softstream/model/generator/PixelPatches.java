package io.softstream.model.generator;

import io.softstream.model.ModelCard;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The 2-D baseline's latent: an image cut into a row-major grid of non-overlapping square pixel
 * patches, each flattened channel-major ({@code [c, p, p]}) into one token. A 32x32 grayscale image
 * with 4x4 patches is 64 tokens of 16 values; {@link #unpatchify} is the exact inverse of {@link
 * #patchify}, so this "tokenizer" has no reconstruction error and no decoder cost beyond a copy.
 *
 * <p>A generator trained on pixel patches says so in its card: {@code training.latent = {kind:
 * pixel_patches, image_size, patch_size, channels}} ({@link #toCard}, {@link #fromCard}).
 *
 * @param imageSize image side in pixels
 * @param patchSize patch side in pixels; must divide {@code imageSize}
 * @param channels channels per pixel
 */
public record PixelPatches(int imageSize, int patchSize, int channels) {
  /** Value of {@code training.latent.kind} for pixel patches. */
  public static final String KIND = "pixel_patches";

  /** Checks the geometry. */
  public PixelPatches {
    if (imageSize <= 0 || patchSize <= 0 || channels <= 0 || imageSize % patchSize != 0) {
      throw new IllegalArgumentException(
          "need positive sizes with patch_size dividing image_size, got image "
              + imageSize
              + " patch "
              + patchSize
              + " channels "
              + channels);
    }
  }

  /** Patches per side. */
  public int side() {
    return imageSize / patchSize;
  }

  /** Number of tokens (patches). */
  public int tokens() {
    return side() * side();
  }

  /** Values per token. */
  public int codeDim() {
    return channels * patchSize * patchSize;
  }

  /** {@code n} images {@code [n, c, H, W]} to tokens {@code [n, tokens, codeDim]}. */
  public float[] patchify(float[] pixels, int n) {
    return copyPatches(pixels, n, true, "pixel");
  }

  /**
   * Tokens {@code [n, tokens, codeDim]} back to images {@code [n, c, H, W]} (the inverse of {@link
   * #patchify}).
   */
  public float[] unpatchify(float[] tokens, int n) {
    return copyPatches(tokens, n, false, "token");
  }

  /** One walk over every patch row; {@code toTokens} says which side of each copy is the image. */
  private float[] copyPatches(float[] from, int n, boolean toTokens, String what) {
    int hw = imageSize * imageSize;
    int per = channels * hw;
    if (from.length < n * per) {
      throw new IllegalArgumentException(
          "expected " + n * per + " " + what + " values, got " + from.length);
    }
    float[] out = new float[n * per];
    int s = side();
    int p = patchSize;
    int o = 0;
    for (int i = 0; i < n; i++) {
      for (int r = 0; r < s; r++) {
        for (int c = 0; c < s; c++) {
          for (int ch = 0; ch < channels; ch++) {
            for (int y = 0; y < p; y++) {
              int img = i * per + ch * hw + (r * p + y) * imageSize + c * p;
              if (toTokens) {
                System.arraycopy(from, img, out, o, p);
              } else {
                System.arraycopy(from, o, out, img, p);
              }
              o += p;
            }
          }
        }
      }
    }
    return out;
  }

  /** The {@code training.latent} entry of a card. */
  public Map<String, Object> toCard() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("kind", KIND);
    m.put("image_size", imageSize);
    m.put("patch_size", patchSize);
    m.put("channels", channels);
    return m;
  }

  /**
   * The pixel-patch geometry of a generator card, or empty if the generator works on tokenizer
   * latents.
   */
  public static Optional<PixelPatches> fromCard(ModelCard card) {
    Object l = card.training() == null ? null : card.training().get("latent");
    if (!(l instanceof Map<?, ?> m) || !KIND.equals(m.get("kind"))) {
      return Optional.empty();
    }
    return Optional.of(
        new PixelPatches(num(m, "image_size"), num(m, "patch_size"), num(m, "channels")));
  }

  private static int num(Map<?, ?> m, String k) {
    Object v = m.get(k);
    if (!(v instanceof Number x)) {
      throw new IllegalArgumentException("training.latent." + k + " must be a number, got " + v);
    }
    return x.intValue();
  }
}
