package io.softstream.schemas.tokens;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * Nearest stored images by cosine similarity of their flattened token vectors (brute force: one dot
 * product per stored image, which answers thousands of images in milliseconds). Adding an id again
 * replaces its vector, as a newer record on the tokens topic does. Not thread-safe.
 *
 * <pre>{@code
 * TokenIndex index = new TokenIndex();
 * index.put("img-1", TokenCodec.decode(record, codebook));
 * List<TokenIndex.Hit> hits = index.nearest(queryTokens, 10);
 * }</pre>
 */
public final class TokenIndex {
  /** One answer: a stored id and its cosine similarity to the query. */
  public record Hit(String id, double cosine) {}

  private final Map<String, float[]> unit = new LinkedHashMap<>();
  private int dim = -1;

  /** Stores (or replaces) the vector of {@code id}; all vectors must have one length. */
  public void put(String id, float[] vector) {
    if (dim >= 0 && vector.length != dim) {
      throw new IllegalArgumentException(
          "vector of " + id + " has " + vector.length + " values; the index holds " + dim);
    }
    dim = vector.length;
    unit.put(id, normalised(vector));
  }

  /** Removes {@code id} if stored. */
  public void remove(String id) {
    unit.remove(id);
  }

  public int size() {
    return unit.size();
  }

  /**
   * The {@code k} stored vectors most similar to {@code query}, most similar first (ties by id).
   */
  public List<Hit> nearest(float[] query, int k) {
    if (dim >= 0 && query.length != dim) {
      throw new IllegalArgumentException(
          "query has " + query.length + " values; the index holds vectors of " + dim);
    }
    float[] q = normalised(query);
    Comparator<Hit> worstFirst =
        Comparator.comparingDouble(Hit::cosine).thenComparing(Hit::id, Comparator.reverseOrder());
    PriorityQueue<Hit> best = new PriorityQueue<>(worstFirst);
    for (Map.Entry<String, float[]> e : unit.entrySet()) {
      Hit h = new Hit(e.getKey(), dot(q, e.getValue()));
      if (best.size() < k) {
        best.add(h);
      } else if (k > 0 && worstFirst.compare(h, best.peek()) > 0) {
        best.poll();
        best.add(h);
      }
    }
    List<Hit> out = new ArrayList<>(best);
    out.sort(worstFirst.reversed());
    return out;
  }

  static double dot(float[] a, float[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += a[i] * b[i];
    }
    return s;
  }

  static float[] normalised(float[] v) {
    double n = Math.sqrt(dot(v, v));
    float[] out = new float[v.length];
    if (n > 0) {
      for (int i = 0; i < v.length; i++) {
        out[i] = (float) (v[i] / n);
      }
    }
    return out;
  }
}
