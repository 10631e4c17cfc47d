package io.softstream.trainer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/**
 * HOG-style fixed patch features, the alignment target when no trained teacher fits the data
 * (photos). Per cell of {@code cell x cell} pixels: a histogram of unsigned gradient orientation
 * (0..180 degrees, {@code bins} bins, linear vote between the two nearest bin centres) weighted by
 * gradient magnitude (central differences, channels averaged), then L2-normalised. Cells are in
 * raster order, like the patches, so token i matches the i-th consecutive group of cells.
 */
final class HogFeatures {
  private HogFeatures() {}

  /** {@code images [B, C, H, W]} -> {@code [B, (H/cell)*(W/cell), bins]}. */
  static NDArray compute(NDArray images, int cell, int bins, NDManager manager) {
    Shape s = images.getShape();
    int b = (int) s.get(0), c = (int) s.get(1), h = (int) s.get(2), w = (int) s.get(3);
    float[] px = images.toFloatArray();
    int gh = h / cell, gw = w / cell;
    float[] out = new float[b * gh * gw * bins];
    for (int n = 0; n < b; n++) {
      float[] gray = new float[h * w];
      for (int ch = 0; ch < c; ch++) {
        for (int i = 0; i < h * w; i++) {
          gray[i] += px[(n * c + ch) * h * w + i] / c;
        }
      }
      for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
          float gx = gray[y * w + Math.min(w - 1, x + 1)] - gray[y * w + Math.max(0, x - 1)];
          float gy = gray[Math.min(h - 1, y + 1) * w + x] - gray[Math.max(0, y - 1) * w + x];
          double mag = Math.sqrt(gx * gx + gy * gy);
          if (mag == 0) {
            continue;
          }
          double ang = Math.toDegrees(Math.atan2(gy, gx));
          if (ang < 0) {
            ang += 180;
          }
          double pos = ang / (180.0 / bins) - 0.5;
          int lo = (int) Math.floor(pos);
          double frac = pos - lo;
          int base = ((n * gh + y / cell) * gw + x / cell) * bins;
          out[base + Math.floorMod(lo, bins)] += (float) (mag * (1 - frac));
          out[base + Math.floorMod(lo + 1, bins)] += (float) (mag * frac);
        }
      }
    }
    for (int i = 0; i < b * gh * gw; i++) {
      double norm = 1e-6;
      for (int k = 0; k < bins; k++) {
        norm += out[i * bins + k] * out[i * bins + k];
      }
      norm = Math.sqrt(norm);
      for (int k = 0; k < bins; k++) {
        out[i * bins + k] /= (float) norm;
      }
    }
    return manager.create(out, new Shape(b, (long) gh * gw, bins));
  }
}
