package io.softstream.trainer;

import io.softstream.model.runtime.TokenizerRuntime;
import io.softstream.schemas.tokens.Codebook;
import io.softstream.schemas.tokens.TokenCodec;
import io.softstream.schemas.tokens.TokenIndex;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;

/**
 * Precision@k by class of similarity search ({@link TokenIndex}: cosine, brute force) over the
 * first n labelled held-out images, each image the query against all others: with their tokens
 * (through several payload encodings), with their raw 8-bit pixels, and with JPEG files of the fp16
 * tokens' bytes (decoded). Precision@k = share of the k nearest with the query's label.
 */
public final class SimilarityEval {
  private SimilarityEval() {}

  public static Map<String, Object> run(
      TokenizerRuntime rt, Codebook cb, Dataset test, int n, int k) {
    if (test.labels() == null) {
      throw new IllegalArgumentException("similarity evaluation needs labelled images");
    }
    n = Math.min(n, test.count());
    int tok = rt.config().tokens(), dim = rt.config().codeDim(), lat = tok * dim;
    int px = test.channels() * test.size() * test.size();
    Evaluation.progress("similarity: encoding %d images", n);
    float[] latents = new float[n * lat];
    for (int i = 0; i < n; i += 250) {
      int to = Math.min(n, i + 250);
      float[] z =
          rt.encode(java.util.Arrays.copyOfRange(test.pixels(), i * px, to * px), to - i).values();
      System.arraycopy(z, 0, latents, i * lat, z.length);
    }
    Map<String, float[][]> spaces = new LinkedHashMap<>();
    for (String e : List.of("fp16", "int8", "topk:4", "topk:2", "codes")) {
      TokenCodec.Encoding enc = TokenCodec.Encoding.parse(e);
      float[] back = PayloadSweep.roundTrip(latents, n, tok, dim, enc, cb);
      spaces.put("tokens " + e, rows(back, n, lat));
    }
    float[][] raw = new float[n][];
    float[][] jpeg = new float[n][];
    int budget = TokenCodec.payloadBytes(TokenCodec.Encoding.FP16, tok, dim, cb);
    double jpegBytes = 0;
    for (int i = 0; i < n; i++) {
      int[] a = Evaluation.toBytes(test.pixels(), i * px, px);
      raw[i] = floats(a);
      byte[] file = PayloadSweep.jpeg(Evaluation.image(a, test.channels(), test.size()), budget);
      jpegBytes += file.length;
      try {
        BufferedImage back = ImageIO.read(new ByteArrayInputStream(file));
        jpeg[i] = floats(Evaluation.pixels(back, test.channels(), test.size()));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    spaces.put("raw pixels", raw);
    spaces.put("jpeg at " + budget + " bytes", jpeg);
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("model", rt.card().name());
    out.put("images", n);
    out.put("k", k);
    out.put("jpeg_mean_bytes", jpegBytes / n);
    Map<String, Object> results = new LinkedHashMap<>();
    for (Map.Entry<String, float[][]> s : spaces.entrySet()) {
      Evaluation.progress("similarity: precision@%d with %s", k, s.getKey());
      results.put(s.getKey(), precision(s.getValue(), test.labels(), n, k));
    }
    out.put("precision_at_k", results);
    return out;
  }

  /** Mean precision@k overall and per class, every image the query against all others. */
  static Map<String, Object> precision(float[][] vectors, int[] labels, int n, int k) {
    TokenIndex index = new TokenIndex();
    for (int i = 0; i < n; i++) {
      index.put(Integer.toString(i), vectors[i]);
    }
    double[] perClass = new double[10];
    int[] count = new int[10];
    double all = 0;
    for (int i = 0; i < n; i++) {
      int same = 0, seen = 0;
      for (TokenIndex.Hit h : index.nearest(vectors[i], k + 1)) {
        int j = Integer.parseInt(h.id());
        if (j == i || seen == k) {
          continue;
        }
        seen++;
        same += labels[j] == labels[i] ? 1 : 0;
      }
      double p = same / (double) k;
      all += p;
      perClass[labels[i]] += p;
      count[labels[i]]++;
    }
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("mean", all / n);
    Map<String, Object> byClass = new LinkedHashMap<>();
    for (int c = 0; c < 10; c++) {
      byClass.put(
          io.softstream.model.data.FashionMnist.LABELS.get(c), perClass[c] / Math.max(1, count[c]));
    }
    m.put("by_class", byClass);
    return m;
  }

  private static float[][] rows(float[] flat, int n, int len) {
    float[][] r = new float[n][];
    for (int i = 0; i < n; i++) {
      r[i] = java.util.Arrays.copyOfRange(flat, i * len, (i + 1) * len);
    }
    return r;
  }

  private static float[] floats(int[] a) {
    float[] f = new float[a.length];
    for (int i = 0; i < a.length; i++) {
      f[i] = a[i];
    }
    return f;
  }
}
