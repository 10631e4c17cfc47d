package io.softstream.trainer;

import io.softstream.model.TokenizerConfig;
import io.softstream.model.runtime.TokenizerRuntime;
import io.softstream.schemas.tokens.Codebook;
import io.softstream.schemas.tokens.TokenCodec;
import io.softstream.schemas.tokens.TokenCodec.Encoding;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;

/**
 * Rate–distortion of the token payload encodings ({@link TokenCodec}) against image codecs at the
 * same bytes: for each encoding, its payload bytes per image, PSNR and SSIM of the decoded images
 * and the linear-probe accuracy of the decoded tokens (labelled data only); beside it JPEG (JDK
 * writer, highest quality whose whole file fits), WebP ({@code cwebp -size}, Debian {@code webp};
 * skipped with the reason when absent) and a bicubic thumbnail at those bytes. Codec files that
 * cannot get down to the budget are scored at their smallest, and their mean bytes are reported
 * beside their PSNR, so no baseline is credited with bytes it did not meet.
 */
public final class PayloadSweep {
  /** The encodings swept, densest first. */
  public static final List<String> ENCODINGS =
      List.of("fp32", "fp16", "int8", "int8u", "topk:8", "topk:4", "topk:2", "topk:1", "codes");

  private static final int BATCH = 250;

  private PayloadSweep() {}

  /**
   * Runs the sweep on the first {@code n} test images, the codec baselines on the first {@code
   * codecN} of them (a binary search of JPEG qualities and a cwebp process per image and budget);
   * {@code train} (labelled) for the probe.
   */
  public static Map<String, Object> run(
      TokenizerRuntime rt,
      Codebook cb,
      Dataset train,
      Dataset test,
      int n,
      int probeN,
      int codecN) {
    TokenizerConfig c = rt.config();
    n = Math.min(n, test.count());
    codecN = Math.min(codecN, n);
    int tok = c.tokens(), dim = c.codeDim(), lat = tok * dim;
    int px = test.channels() * test.size() * test.size();
    Evaluation.progress("payload sweep: encoding %d held-out images", n);
    float[] latents = encode(rt, test, n);
    float[] trainLatents = null;
    if (train != null && train.labels() != null && test.labels() != null && probeN > 0) {
      probeN = Math.min(probeN, train.count());
      Evaluation.progress("payload sweep: encoding %d probe training images", probeN);
      trainLatents = encode(rt, train, probeN);
    }
    String webpMissing = cwebpMissing();
    List<Map<String, Object>> rows = new ArrayList<>();
    for (String name : ENCODINGS) {
      Encoding e = Encoding.parse(name);
      int bytes = TokenCodec.payloadBytes(e, tok, dim, cb);
      Evaluation.progress("payload sweep: %s (%d bytes per image)", name, bytes);
      float[] back = roundTrip(latents, n, tok, dim, e, cb);
      double psnr = 0, ssim = 0;
      for (int i = 0; i < n; i += BATCH) {
        int to = Math.min(n, i + BATCH);
        float[] recon = rt.decode(java.util.Arrays.copyOfRange(back, i * lat, to * lat), to - i);
        for (int j = 0; j < to - i; j++) {
          int[] a = Evaluation.toBytes(test.pixels(), (i + j) * px, px);
          int[] b = Evaluation.toBytes(recon, j * px, px);
          psnr += Evaluation.psnr(a, b);
          ssim += Evaluation.ssim(a, b, test.channels(), test.size());
        }
      }
      Map<String, Object> row = new LinkedHashMap<>();
      row.put("encoding", name);
      row.put("bytes_per_image", bytes);
      row.put("psnr", psnr / n);
      row.put("ssim", ssim / n);
      if (trainLatents != null) {
        float[] trainBack = roundTrip(trainLatents, probeN, tok, dim, e, cb);
        row.put(
            "linear_probe_accuracy",
            Evaluation.linearProbe(trainBack, train.labels(), probeN, back, test.labels(), n));
      }
      double[] jpeg = codecAtBytes(test, codecN, bytes, false);
      row.put("jpeg_psnr", jpeg[0]);
      row.put("jpeg_bytes", jpeg[1]);
      if (webpMissing == null) {
        double[] webp = codecAtBytes(test, codecN, bytes, true);
        row.put("webp_psnr", webp[0]);
        row.put("webp_bytes", webp[1]);
      }
      row.put("bicubic_psnr", Evaluation.bicubicPsnr(test, codecN, bytes));
      rows.add(row);
    }
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("model", rt.card().name());
    r.put("images", n);
    r.put("codec_images", codecN);
    if (trainLatents != null) {
      r.put("probe_train_images", probeN);
    }
    r.put("image_bytes_raw", px);
    if (webpMissing != null) {
      r.put("webp", webpMissing);
    }
    r.put("encodings", rows);
    return r;
  }

  private static float[] encode(TokenizerRuntime rt, Dataset d, int n) {
    int px = d.channels() * d.size() * d.size();
    int lat = rt.config().tokens() * rt.config().codeDim();
    float[] out = new float[n * lat];
    for (int i = 0; i < n; i += BATCH) {
      int to = Math.min(n, i + BATCH);
      float[] z =
          rt.encode(java.util.Arrays.copyOfRange(d.pixels(), i * px, to * px), to - i).values();
      System.arraycopy(z, 0, out, i * lat, z.length);
    }
    return out;
  }

  /** Every image's tokens through the payload encoding and back. */
  static float[] roundTrip(float[] latents, int n, int tok, int dim, Encoding e, Codebook cb) {
    int lat = tok * dim;
    float[] out = new float[n * lat];
    for (int i = 0; i < n; i++) {
      float[] z = java.util.Arrays.copyOfRange(latents, i * lat, (i + 1) * lat);
      float[] back = TokenCodec.decode(TokenCodec.encode(z, tok, dim, e, cb), tok, dim, e, cb);
      System.arraycopy(back, 0, out, i * lat, lat);
    }
    return out;
  }

  /** {mean PSNR, mean file bytes} of JPEG or WebP files of at most {@code budget} bytes. */
  static double[] codecAtBytes(Dataset d, int n, int budget, boolean webp) {
    int size = d.size(), ch = d.channels(), px = ch * size * size;
    double psnr = 0, bytes = 0;
    for (int i = 0; i < n; i++) {
      int[] a = Evaluation.toBytes(d.pixels(), i * px, px);
      BufferedImage img = Evaluation.image(a, ch, size);
      byte[] best = webp ? webp(img, budget) : jpeg(img, budget);
      try {
        BufferedImage back = ImageIO.read(new ByteArrayInputStream(best));
        psnr += Evaluation.psnr(a, Evaluation.pixels(back, ch, size));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      bytes += best.length;
    }
    return new double[] {psnr / n, bytes / n};
  }

  /** The highest-quality JPEG that fits {@code budget}, else the smallest. */
  static byte[] jpeg(BufferedImage img, int budget) {
    byte[] best = Evaluation.jpeg(img, 0f);
    float lo = 0f, hi = 1f;
    for (int it = 0; it < 10; it++) {
      float q = (lo + hi) / 2;
      byte[] b = Evaluation.jpeg(img, q);
      if (b.length <= budget) {
        best = b;
        lo = q;
      } else {
        hi = q;
      }
    }
    byte[] top = Evaluation.jpeg(img, 1f);
    return top.length <= budget ? top : best;
  }

  /**
   * cwebp's best file at {@code budget} bytes ({@code -size}, several passes), else its smallest
   * (quality 0).
   */
  private static byte[] webp(BufferedImage img, int budget) {
    try {
      Path dir = Files.createTempDirectory("sweep-webp");
      try {
        Path in = dir.resolve("in.png"), out = dir.resolve("out.webp");
        ImageIO.write(img, "png", in.toFile());
        byte[] b = cwebp(in, out, "-size", Integer.toString(budget), "-pass", "6");
        if (b.length > budget) {
          byte[] small = cwebp(in, out, "-q", "0");
          b = small.length < b.length ? small : b;
        }
        return b;
      } finally {
        try (var s = Files.list(dir)) {
          for (Path p : s.toList()) {
            Files.delete(p);
          }
        }
        Files.delete(dir);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static byte[] cwebp(Path in, Path out, String... args) throws IOException {
    List<String> cmd = new ArrayList<>(List.of("cwebp", "-quiet"));
    cmd.addAll(List.of(args));
    cmd.addAll(List.of(in.toString(), "-o", out.toString()));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    byte[] log = p.getInputStream().readAllBytes();
    try {
      if (p.waitFor() != 0) {
        throw new IOException("cwebp failed: " + new String(log));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
    return Files.readAllBytes(out);
  }

  /** Null when cwebp runs, else why the WebP column is missing. */
  static String cwebpMissing() {
    try {
      Process p = new ProcessBuilder("cwebp", "-version").redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      return p.waitFor() == 0 ? null : "cwebp -version failed";
    } catch (IOException e) {
      return "skipped: cwebp not found (Debian package webp; scripts/install-deps.sh installs it)";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "interrupted";
    }
  }

  /**
   * PSNR against bytes per image (log scale) for each sweep in {@code sweeps} (one panel each): the
   * token encodings as one labelled curve, JPEG, WebP and bicubic at the same bytes.
   */
  @SuppressWarnings("unchecked")
  public static void plot(List<Map<String, Object>> sweeps, List<String> titles, Path png)
      throws IOException {
    int pw = 560, ph = 400, w = pw * sweeps.size();
    BufferedImage img = new BufferedImage(w, ph, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = img.createGraphics();
    g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
    g.setColor(Color.WHITE);
    g.fillRect(0, 0, w, ph);
    String[][] series = {
      {"psnr", "bytes_per_image", "tokens"},
      {"jpeg_psnr", "jpeg_bytes", "JPEG"},
      {"webp_psnr", "webp_bytes", "WebP"},
      {"bicubic_psnr", "bytes_per_image", "bicubic thumbnail"}
    };
    Color[] colours = {
      new Color(200, 30, 30),
      new Color(30, 90, 200),
      new Color(20, 150, 60),
      new Color(120, 120, 120)
    };
    for (int s = 0; s < sweeps.size(); s++) {
      List<Map<String, Object>> rows = (List<Map<String, Object>>) sweeps.get(s).get("encodings");
      int x0 = s * pw + 60, y0 = 40, x1 = s * pw + pw - 35, y1 = ph - 50;
      double minB = Double.MAX_VALUE, maxB = 0, minP = Double.MAX_VALUE, maxP = 0;
      for (Map<String, Object> r : rows) {
        for (String[] se : series) {
          if (r.get(se[0]) != null) {
            double b = ((Number) r.get(se[1])).doubleValue();
            double p = Math.min(60, ((Number) r.get(se[0])).doubleValue());
            minB = Math.min(minB, b);
            maxB = Math.max(maxB, b);
            minP = Math.min(minP, p);
            maxP = Math.max(maxP, p);
          }
        }
      }
      minP = Math.floor(minP / 5) * 5;
      maxP = Math.ceil(maxP / 5) * 5;
      double lb0 = Math.log10(minB) - 0.05, lb1 = Math.log10(maxB) + 0.05;
      g.setColor(Color.BLACK);
      g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 13));
      g.drawString(titles.get(s), x0, 22);
      g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
      g.drawRect(x0, y0, x1 - x0, y1 - y0);
      for (double p = minP; p <= maxP; p += 5) {
        int y = (int) (y1 - (p - minP) / (maxP - minP) * (y1 - y0));
        g.setColor(new Color(230, 230, 230));
        g.drawLine(x0 + 1, y, x1 - 1, y);
        g.setColor(Color.BLACK);
        g.drawString(String.format("%.0f", p), x0 - 25, y + 4);
      }
      for (int e = (int) Math.ceil(lb0 * 3); e <= lb1 * 3; e++) {
        double b = Math.pow(10, e / 3.0);
        int x = (int) (x0 + (Math.log10(b) - lb0) / (lb1 - lb0) * (x1 - x0));
        g.setColor(new Color(230, 230, 230));
        g.drawLine(x, y0 + 1, x, y1 - 1);
        g.setColor(Color.BLACK);
        g.drawString(String.format("%.0f", b), x - 10, y1 + 15);
      }
      g.drawString("bytes per image (log)", (x0 + x1) / 2 - 50, y1 + 32);
      g.drawString("PSNR dB (capped at 60)", x0, y0 - 5);
      for (int k = 0; k < series.length; k++) {
        g.setColor(colours[k]);
        g.setStroke(new BasicStroke(2f));
        int lx = -1, ly = -1;
        for (Map<String, Object> r : rows) {
          if (r.get(series[k][0]) == null) {
            continue;
          }
          double b = ((Number) r.get(series[k][1])).doubleValue();
          double p = Math.min(60, ((Number) r.get(series[k][0])).doubleValue());
          int x = (int) (x0 + (Math.log10(b) - lb0) / (lb1 - lb0) * (x1 - x0));
          int y = (int) (y1 - (p - minP) / (maxP - minP) * (y1 - y0));
          g.fillOval(x - 3, y - 3, 7, 7);
          if (lx >= 0) {
            g.drawLine(lx, ly, x, y);
          }
          if (k == 0) { // alternately above and below: neighbouring points are close
            g.drawString(
                (String) r.get("encoding"), x - 10, rows.indexOf(r) % 2 == 0 ? y - 6 : y + 15);
          }
          lx = x;
          ly = y;
        }
        g.fillRect(x0 + 10, y0 + 10 + 16 * k, 10, 10);
        g.drawString(series[k][2], x0 + 25, y0 + 19 + 16 * k);
      }
    }
    g.dispose();
    Files.createDirectories(png.toAbsolutePath().getParent());
    ImageIO.write(img, "png", png.toFile());
  }
}
