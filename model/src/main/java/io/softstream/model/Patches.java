package io.softstream.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/**
 * Patchify / unpatchify with the MAE/timm layout.
 *
 * <p>{@code [B, C, H, W] -> [B, (H/p)*(W/p), p*p*C]}: patches in raster order (row-major over the
 * patch grid), and inside a patch the vector index is {@code (dy*p + dx)*C + c}, i.e. einsum {@code
 * nchpwq -> nhwpqc}. Unpatchify is the exact inverse.
 */
public final class Patches {
  private Patches() {}

  /** {@code [B, C, H, W] -> [B, P, p*p*C]}. */
  public static NDArray patchify(NDArray images, int p) {
    Shape s = images.getShape();
    long b = s.get(0), c = s.get(1), h = s.get(2) / p, w = s.get(3) / p;
    return images
        .reshape(b, c, h, p, w, p)
        .transpose(0, 2, 4, 3, 5, 1)
        .reshape(b, h * w, (long) p * p * c);
  }

  /** {@code [B, P, p*p*C] -> [B, C, H, W]} for a square grid. */
  public static NDArray unpatchify(NDArray patches, int p, int channels) {
    Shape s = patches.getShape();
    long b = s.get(0);
    long g = Math.round(Math.sqrt(s.get(1)));
    return patches
        .reshape(b, g, g, p, p, channels)
        .transpose(0, 5, 1, 3, 2, 4)
        .reshape(b, channels, g * p, g * p);
  }
}
