package io.softstream.trainer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import io.softstream.model.Progress;
import io.softstream.model.TokenDecoder;
import io.softstream.model.TokenEncoder;
import io.softstream.model.TokenizerConfig;
import io.softstream.model.image.ImageTranslator;
import io.softstream.schemas.tokens.TokenPacking;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;

/**
 * Held-out evaluation of a tokenizer. All pixel metrics are on 8-bit images (reconstructions are
 * clamped to [-1, 1] and rounded to 0..255, as they would be displayed); per-image PSNR is capped
 * at 100 dB (identical images) and averaged over images.
 *
 * <p>Result keys: {@code psnr}, {@code ssim} (Gaussian window 11, sigma 1.5, valid region), {@code
 * psnr_fp16_tokens} (the same images decoded from tokens rounded to IEEE half precision, as an fp16
 * {@code TokenRecord} carries them), {@code token_bytes_per_image} ({@code {fp16, fp32}}: tokens *
 * code_dim * 2 or 4), {@code jpeg_psnr_at_equal_bytes} ({@code {fp16, fp32}}: JDK ImageIO baseline
 * JPEG with the highest quality whose file fits the token bytes, whole JFIF file counted), {@code
 * bicubic_psnr_at_equal_bytes} ({@code {fp16, fp32}}: area-average downscale (the model's {@link
 * ImageTranslator}) to the largest square of 8-bit pixels that fits the bytes, bicubic upscale
 * back), {@code linear_probe_accuracy} (ridge regression on standardised, flattened latent tokens
 * of training images, accuracy on held-out images; only when both sets are labelled), {@code
 * mean_colour_psnr} (each image sent as its per-channel mean, 1 byte per channel: the floor a
 * tokenizer must clear), {@code psnr_by_detail} (the held-out images bucketed by the detail the
 * mean colour leaves out, the root mean square distance of their 8-bit values from their channel's
 * mean: {@code <2.55}, {@code <5.1}, {@code <12.75}, {@code <25.5}, {@code >=25.5}, i.e. 1/2/5/10 %
 * of full scale; each bucket with {@code images}, {@code psnr} and {@code mean_colour_psnr}: shows
 * whether a model reproduces more than the mean colour where there is detail to reproduce).
 *
 * <p>Grayscale and colour: PSNR is over every value of every channel (one mean squared error per
 * image), SSIM is computed per channel and averaged over channels, the JPEG baseline writes colour
 * images as colour JPEG (JDK writer: YCbCr, its default chroma subsampling) and the bicubic
 * baseline keeps every channel (the square side is chosen so that side * side * channels fits the
 * bytes).
 */
public final class Evaluation {
  private static final int BATCH = 250;

  /** A line on stderr (stdout may carry the JSON result): evaluation takes seconds to minutes. */
  static void progress(String format, Object... args) {
    System.err.printf("evaluation: " + format + "%n", args);
    System.err.flush();
  }

  private static final double PSNR_CAP = 100;

  /**
   * How much to evaluate.
   *
   * @param testImages held-out images for psnr/ssim and probe testing
   * @param probeTrainImages training images for fitting the linear probe
   * @param codecImages held-out images for the JPEG and bicubic baselines
   * @param gridPng where to write the originals/reconstructions grid (null = none)
   */
  public record Options(int testImages, int probeTrainImages, int codecImages, Path gridPng) {}

  private Evaluation() {}

  /**
   * Runs every metric; the map serialises to one JSON object with exactly the keys listed above.
   */
  public static Map<String, Object> evaluate(
      TokenEncoder enc, TokenDecoder dec, Dataset train, Dataset test, Options o) {
    return evaluate(blocks(enc, dec), enc.config(), train, test, o);
  }

  /**
   * The same metrics through any engine: the encoder and decoder of {@code runtime} (PyTorch
   * blocks, ONNX Runtime, ...), so that every engine can be checked to give the same figures.
   * {@code train} may be null or unlabelled: then no linear probe is run.
   */
  public static Map<String, Object> evaluate(
      io.softstream.model.runtime.TokenizerRuntime runtime,
      Dataset train,
      Dataset test,
      Options o) {
    return evaluate(
        new Codec() {
          @Override
          public float[] encode(float[] pixels, int batch) {
            return runtime.encode(pixels, batch).values();
          }

          @Override
          public float[] decode(float[] tokens, int batch) {
            return runtime.decode(tokens, batch);
          }
        },
        runtime.config(),
        train,
        test,
        o);
  }

  /** Pixels to tokens and back on plain arrays, whatever runs them. */
  interface Codec {
    float[] encode(float[] pixels, int batch);

    float[] decode(float[] tokens, int batch);
  }

  static Map<String, Object> evaluate(
      Codec codec, TokenizerConfig c, Dataset train, Dataset test, Options o) {
    if (test.channels() != c.channels() || test.size() != c.imageSize()) {
      throw new IllegalArgumentException(
          "model expects "
              + c.channels()
              + "x"
              + c.imageSize()
              + "x"
              + c.imageSize()
              + " images, held-out data is "
              + test.channels()
              + "x"
              + test.size()
              + "x"
              + test.size());
    }
    int nTest = Math.min(o.testImages(), test.count());
    Coded te = run(codec, c, test, nTest, true);
    int px = test.channels() * test.size() * test.size();
    double psnr = 0, ssim = 0, meanColour = 0;
    DetailBuckets buckets = new DetailBuckets();
    for (int i = 0; i < nTest; i++) {
      int[] a = toBytes(test.pixels(), i * px, px);
      int[] b = toBytes(te.recon, i * px, px);
      double p = psnr(a, b);
      int[] colour = meanColour(a, test.channels());
      double m = psnr(a, colour);
      psnr += p;
      meanColour += m;
      buckets.add(pixelStd(a, colour), p, m);
      ssim += ssim(a, b, test.channels(), test.size());
    }
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("psnr", psnr / nTest);
    r.put("ssim", ssim / nTest);
    r.put("mean_colour_psnr", meanColour / nTest);
    r.put("psnr_by_detail", buckets.toMap());
    r.put("psnr_fp16_tokens", fp16Psnr(codec, c, test, te.latents, nTest));
    int fp16 = c.tokens() * c.codeDim() * 2, fp32 = fp16 * 2;
    r.put("token_bytes_per_image", pair(fp16, fp32));
    int nCodec = Math.min(o.codecImages(), test.count());
    progress("JPEG and bicubic baselines on %d images", nCodec);
    r.put(
        "jpeg_psnr_at_equal_bytes",
        pair(jpegPsnr(test, nCodec, fp16), jpegPsnr(test, nCodec, fp32)));
    r.put(
        "bicubic_psnr_at_equal_bytes",
        pair(bicubicPsnr(test, nCodec, fp16), bicubicPsnr(test, nCodec, fp32)));
    if (train != null && train.labels() != null && test.labels() != null) {
      int nTrain = Math.min(o.probeTrainImages(), train.count());
      progress("linear probe: tokens of %d training images", nTrain);
      Coded tr = run(codec, c, train, nTrain, false);
      r.put(
          "linear_probe_accuracy",
          linearProbe(tr.latents, train.labels(), nTrain, te.latents, test.labels(), nTest));
    }
    if (o.gridPng() != null) {
      writeGrid(test, te.recon, Math.min(16, nTest), o.gridPng());
    }
    return r;
  }

  private static Map<String, Object> pair(Object fp16, Object fp32) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("fp16", fp16);
    m.put("fp32", fp32);
    return m;
  }

  /** Mean PSNR (dB, 8-bit) of the first {@code n} images of {@code data}. */
  public static double psnr(TokenEncoder enc, TokenDecoder dec, Dataset data, int n) {
    n = Math.min(n, data.count());
    Coded coded = run(blocks(enc, dec), enc.config(), data, n, true);
    int px = data.channels() * data.size() * data.size();
    double s = 0;
    for (int i = 0; i < n; i++) {
      s += psnr(toBytes(data.pixels(), i * px, px), toBytes(coded.recon, i * px, px));
    }
    return s / n;
  }

  private record Coded(float[] latents, float[] recon) {}

  /**
   * Mean PSNR of the first {@code n} images decoded from their tokens after a round trip through
   * fp16.
   */
  private static double fp16Psnr(
      Codec codec, TokenizerConfig c, Dataset d, float[] latents, int n) {
    int lat = c.tokens() * c.codeDim(), px = d.channels() * d.size() * d.size();
    double s = 0;
    for (int i = 0; i < n; i += BATCH) {
      int to = Math.min(n, i + BATCH);
      float[] half = new float[(to - i) * lat];
      for (int k = 0; k < half.length; k++) {
        half[k] = TokenPacking.fromHalf(TokenPacking.toHalf(latents[i * lat + k]));
      }
      float[] recon = codec.decode(half, to - i);
      for (int j = 0; j < to - i; j++) {
        s += psnr(toBytes(d.pixels(), (i + j) * px, px), toBytes(recon, j * px, px));
      }
    }
    return s / n;
  }

  private static Coded run(Codec codec, TokenizerConfig c, Dataset d, int n, boolean decode) {
    int lat = c.tokens() * c.codeDim(), px = d.channels() * d.size() * d.size();
    float[] latents = new float[n * lat];
    float[] recon = decode ? new float[n * px] : null;
    Progress progress =
        new Progress(
            "evaluation: " + (decode ? "encode+decode" : "encode (probe)"), n, Progress.stderr());
    for (int i = 0; i < n; i += BATCH) {
      int to = Math.min(n, i + BATCH);
      float[] zq = codec.encode(java.util.Arrays.copyOfRange(d.pixels(), i * px, to * px), to - i);
      System.arraycopy(zq, 0, latents, i * lat, (to - i) * lat);
      if (decode) {
        System.arraycopy(codec.decode(zq, to - i), 0, recon, i * px, (to - i) * px);
      }
      progress.update(to);
    }
    return new Coded(latents, recon);
  }

  /**
   * The DJL blocks as a codec (the trainer's own path; unclamped decoder output, clamped in
   * toBytes).
   */
  private static Codec blocks(TokenEncoder enc, TokenDecoder dec) {
    return new Codec() {
      @Override
      public float[] encode(float[] pixels, int batch) {
        TokenizerConfig c = enc.config();
        try (NDManager m = NDManager.newBaseManager()) {
          NDArray x =
              m.create(
                  pixels,
                  new ai.djl.ndarray.types.Shape(
                      batch, c.channels(), c.imageSize(), c.imageSize()));
          return enc.forward(new ParameterStore(m, false), new NDList(x), false)
              .get(0)
              .toFloatArray();
        }
      }

      @Override
      public float[] decode(float[] tokens, int batch) {
        TokenizerConfig c = enc.config();
        try (NDManager m = NDManager.newBaseManager()) {
          NDArray z =
              m.create(tokens, new ai.djl.ndarray.types.Shape(batch, c.tokens(), c.codeDim()));
          return dec.forward(new ParameterStore(m, false), new NDList(z), false)
              .singletonOrThrow()
              .toFloatArray();
        }
      }
    };
  }

  static int[] toBytes(float[] v, int off, int len) {
    int[] b = new int[len];
    for (int i = 0; i < len; i++) {
      float x = Math.max(-1f, Math.min(1f, v[off + i]));
      b[i] = Math.round((x + 1f) * 127.5f);
    }
    return b;
  }

  /**
   * {@code a} (planar, {@code channels} planes) with every value replaced by its plane's rounded
   * mean.
   */
  static int[] meanColour(int[] a, int channels) {
    int plane = a.length / channels;
    int[] m = new int[a.length];
    for (int c = 0; c < channels; c++) {
      long sum = 0;
      for (int i = c * plane; i < (c + 1) * plane; i++) {
        sum += a[i];
      }
      java.util.Arrays.fill(m, c * plane, (c + 1) * plane, (int) Math.round(sum / (double) plane));
    }
    return m;
  }

  /**
   * Detail of an 8-bit planar image: the root mean square distance of its values from their
   * channel's mean ({@code m}, the image's {@link #meanColour}), i.e. what a mean colour leaves out
   * (a flat saturated colour has none).
   */
  static double pixelStd(int[] a, int[] m) {
    double sq = 0;
    for (int i = 0; i < a.length; i++) {
      sq += (a[i] - m[i]) * (double) (a[i] - m[i]);
    }
    return Math.sqrt(sq / a.length);
  }

  /**
   * Mean PSNR of the model and of the mean colour per pixel-std bucket ({@code psnr_by_detail}),
   * and the bucket's mean std: two sets' buckets hold crops of different detail within their bounds
   * (a set whose crops sit near a bucket's upper bound scores lower in it).
   */
  static final class DetailBuckets {
    static final double[] UPPER = {2.55, 5.1, 12.75, 25.5, Double.POSITIVE_INFINITY};
    static final String[] NAMES = {"std<2.55", "std<5.1", "std<12.75", "std<25.5", "std>=25.5"};
    private final int[] count = new int[UPPER.length];
    private final double[] model = new double[UPPER.length];
    private final double[] mean = new double[UPPER.length];
    private final double[] stds = new double[UPPER.length];

    void add(double std, double modelPsnr, double meanColourPsnr) {
      int k = 0;
      while (std >= UPPER[k]) {
        k++;
      }
      count[k]++;
      model[k] += modelPsnr;
      mean[k] += meanColourPsnr;
      stds[k] += std;
    }

    Map<String, Object> toMap() {
      Map<String, Object> m = new LinkedHashMap<>();
      for (int k = 0; k < UPPER.length; k++) {
        Map<String, Object> b = new LinkedHashMap<>();
        b.put("images", count[k]);
        b.put("psnr", count[k] == 0 ? null : model[k] / count[k]);
        b.put("mean_colour_psnr", count[k] == 0 ? null : mean[k] / count[k]);
        b.put("mean_std", count[k] == 0 ? null : stds[k] / count[k]);
        m.put(NAMES[k], b);
      }
      return m;
    }
  }

  static double psnr(int[] a, int[] b) {
    double se = 0;
    for (int i = 0; i < a.length; i++) {
      double d = a[i] - b[i];
      se += d * d;
    }
    if (se == 0) {
      return PSNR_CAP;
    }
    return Math.min(PSNR_CAP, 10 * Math.log10(255.0 * 255.0 / (se / a.length)));
  }

  /** Mean over channels of the SSIM of each channel plane of two planar 8-bit images. */
  static double ssim(int[] a, int[] b, int channels, int size) {
    if (channels == 1) {
      return ssim(a, b, size);
    }
    int plane = size * size;
    double s = 0;
    for (int ch = 0; ch < channels; ch++) {
      s +=
          ssim(
              java.util.Arrays.copyOfRange(a, ch * plane, (ch + 1) * plane),
              java.util.Arrays.copyOfRange(b, ch * plane, (ch + 1) * plane),
              size);
    }
    return s / channels;
  }

  /** SSIM of two square 8-bit grayscale images, Gaussian 11x11 window (sigma 1.5), valid region. */
  static double ssim(int[] a, int[] b, int size) {
    // The standard 11x11 window; images smaller than that use one window as large as the image.
    int r = Math.min(5, (size - 1) / 2), w = 2 * r + 1;
    double[] g = new double[w];
    double gs = 0;
    for (int i = 0; i < w; i++) {
      g[i] = Math.exp(-((i - r) * (i - r)) / (2 * 1.5 * 1.5));
      gs += g[i];
    }
    double c1 = Math.pow(0.01 * 255, 2), c2 = Math.pow(0.03 * 255, 2);
    double total = 0;
    int count = 0;
    for (int y = r; y < size - r; y++) {
      for (int x = r; x < size - r; x++) {
        double ma = 0, mb = 0, saa = 0, sbb = 0, sab = 0;
        for (int dy = -r; dy <= r; dy++) {
          for (int dx = -r; dx <= r; dx++) {
            double k = g[dy + r] * g[dx + r] / (gs * gs);
            double va = a[(y + dy) * size + x + dx], vb = b[(y + dy) * size + x + dx];
            ma += k * va;
            mb += k * vb;
            saa += k * va * va;
            sbb += k * vb * vb;
            sab += k * va * vb;
          }
        }
        double va = saa - ma * ma, vb = sbb - mb * mb, cov = sab - ma * mb;
        total +=
            ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
        count++;
      }
    }
    return total / count;
  }

  /**
   * Planar 8-bit pixels (1 or 3 channels) as a grayscale or RGB image, by the model's {@link
   * ImageTranslator}.
   */
  static BufferedImage image(int[] px, int channels, int size) {
    if (channels != 1 && channels != 3) {
      throw new IllegalArgumentException("images have 1 or 3 channels, not " + channels);
    }
    float[] v = new float[px.length];
    for (int i = 0; i < px.length; i++) {
      v[i] = px[i] / 127.5f - 1f;
    }
    return ImageTranslator.toImage(v, 0, channels, size);
  }

  /**
   * A {@code size x size} image's pixels as planar 8-bit values with {@code channels} channels, by
   * the model's {@link ImageTranslator}.
   */
  static int[] pixels(BufferedImage img, int channels, int size) {
    float[] v =
        new ImageTranslator(size, channels, ImageTranslator.Resize.FIT, ImageTranslator.FILE_LIMITS)
            .normalise(img);
    return toBytes(v, 0, v.length);
  }

  static double jpegPsnr(Dataset d, int n, int budget) {
    int size = d.size(), ch = d.channels(), px = ch * size * size;
    double s = 0;
    for (int i = 0; i < n; i++) {
      int[] a = toBytes(d.pixels(), i * px, px);
      BufferedImage img = image(a, ch, size);
      byte[] best = jpeg(img, 0f);
      float lo = 0f, hi = 1f;
      for (int it = 0; it < 10; it++) {
        float q = (lo + hi) / 2;
        byte[] b = jpeg(img, q);
        if (b.length <= budget) {
          best = b;
          lo = q;
        } else {
          hi = q;
        }
      }
      byte[] top = jpeg(img, 1f);
      if (top.length <= budget) {
        best = top;
      }
      try {
        BufferedImage back = ImageIO.read(new ByteArrayInputStream(best));
        s += psnr(a, pixels(back, ch, size));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return s / n;
  }

  static byte[] jpeg(BufferedImage img, float quality) {
    ImageWriter w = ImageIO.getImageWritersByFormatName("jpeg").next();
    ByteArrayOutputStream bos = new ByteArrayOutputStream();
    try (ImageOutputStream ios = ImageIO.createImageOutputStream(bos)) {
      w.setOutput(ios);
      ImageWriteParam p = w.getDefaultWriteParam();
      p.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
      p.setCompressionQuality(quality);
      w.write(null, new IIOImage(img, null, null), p);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      w.dispose();
    }
    return bos.toByteArray();
  }

  static double bicubicPsnr(Dataset d, int n, int budget) {
    int size = d.size(), ch = d.channels(), px = ch * size * size;
    int side = Math.min(size, (int) Math.floor(Math.sqrt(budget / (double) ch)));
    int type = ch == 1 ? BufferedImage.TYPE_BYTE_GRAY : BufferedImage.TYPE_INT_RGB;
    ImageTranslator down =
        side >= size
            ? null
            : new ImageTranslator(
                side, ch, ImageTranslator.Resize.CROP, ImageTranslator.FILE_LIMITS);
    double s = 0;
    for (int i = 0; i < n; i++) {
      int[] a = toBytes(d.pixels(), i * px, px);
      if (side >= size) {
        s += PSNR_CAP;
        continue;
      }
      BufferedImage small =
          ImageTranslator.toImage(down.normalise(image(a, ch, size)), 0, ch, side);
      BufferedImage up = new BufferedImage(size, size, type);
      Graphics2D g = up.createGraphics();
      g.setRenderingHint(
          RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BICUBIC);
      g.drawImage(small, 0, 0, size, size, null);
      g.dispose();
      s += psnr(a, pixels(up, ch, size));
    }
    return s / n;
  }

  /** Ridge regression to one-hot labels (lambda = 0.01 n) on standardised features plus bias. */
  static double linearProbe(
      float[] xTrain, int[] yTrain, int nTrain, float[] xTest, int[] yTest, int nTest) {
    int f = xTrain.length / nTrain, classes = 10, dim = f + 1;
    double[] mean = new double[f], std = new double[f];
    for (int i = 0; i < nTrain; i++) {
      for (int j = 0; j < f; j++) {
        mean[j] += xTrain[i * f + j];
      }
    }
    for (int j = 0; j < f; j++) {
      mean[j] /= nTrain;
    }
    for (int i = 0; i < nTrain; i++) {
      for (int j = 0; j < f; j++) {
        double v = xTrain[i * f + j] - mean[j];
        std[j] += v * v;
      }
    }
    for (int j = 0; j < f; j++) {
      std[j] = Math.sqrt(std[j] / nTrain) + 1e-6;
    }
    double[][] a = new double[dim][dim];
    double[][] rhs = new double[dim][classes];
    double[] row = new double[dim];
    for (int i = 0; i < nTrain; i++) {
      standardise(xTrain, i, f, mean, std, row);
      for (int p = 0; p < dim; p++) {
        double rp = row[p];
        for (int q = p; q < dim; q++) {
          a[p][q] += rp * row[q];
        }
        rhs[p][yTrain[i]] += rp;
      }
    }
    double lambda = 0.01 * nTrain;
    for (int p = 0; p < dim; p++) {
      for (int q = 0; q < p; q++) {
        a[p][q] = a[q][p];
      }
      if (p < f) {
        a[p][p] += lambda;
      }
    }
    double[][] w = choleskySolve(a, rhs);
    int correct = 0;
    for (int i = 0; i < nTest; i++) {
      standardise(xTest, i, f, mean, std, row);
      int best = 0;
      double bestScore = Double.NEGATIVE_INFINITY;
      for (int k = 0; k < classes; k++) {
        double sc = 0;
        for (int p = 0; p < dim; p++) {
          sc += row[p] * w[p][k];
        }
        if (sc > bestScore) {
          bestScore = sc;
          best = k;
        }
      }
      if (best == yTest[i]) {
        correct++;
      }
    }
    return correct / (double) nTest;
  }

  private static void standardise(
      float[] x, int i, int f, double[] mean, double[] std, double[] row) {
    for (int j = 0; j < f; j++) {
      row[j] = (x[i * f + j] - mean[j]) / std[j];
    }
    row[f] = 1;
  }

  private static double[][] choleskySolve(double[][] a, double[][] b) {
    int n = a.length, k = b[0].length;
    double[][] l = new double[n][n];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j <= i; j++) {
        double s = a[i][j];
        for (int t = 0; t < j; t++) {
          s -= l[i][t] * l[j][t];
        }
        l[i][j] = i == j ? Math.sqrt(Math.max(s, 1e-12)) : s / l[j][j];
      }
    }
    double[][] y = new double[n][k];
    for (int i = 0; i < n; i++) {
      for (int c = 0; c < k; c++) {
        double s = b[i][c];
        for (int t = 0; t < i; t++) {
          s -= l[i][t] * y[t][c];
        }
        y[i][c] = s / l[i][i];
      }
    }
    double[][] x = new double[n][k];
    for (int i = n - 1; i >= 0; i--) {
      for (int c = 0; c < k; c++) {
        double s = y[i][c];
        for (int t = i + 1; t < n; t++) {
          s -= l[t][i] * x[t][c];
        }
        x[i][c] = s / l[i][i];
      }
    }
    return x;
  }

  /**
   * Two rows of {@code count} images, scaled 2x: held-out originals on top, reconstructions below.
   */
  static void writeGrid(Dataset d, float[] recon, int count, Path file) {
    int size = d.size(), ch = d.channels(), px = ch * size * size, s = 2, gap = 2;
    BufferedImage grid =
        new BufferedImage(
            count * (size * s + gap) + gap,
            2 * (size * s + gap) + gap,
            ch == 1 ? BufferedImage.TYPE_BYTE_GRAY : BufferedImage.TYPE_INT_RGB);
    Graphics2D g = grid.createGraphics();
    g.setColor(java.awt.Color.WHITE);
    g.fillRect(0, 0, grid.getWidth(), grid.getHeight());
    for (int i = 0; i < count; i++) {
      g.drawImage(
          image(toBytes(d.pixels(), i * px, px), ch, size),
          gap + i * (size * s + gap),
          gap,
          size * s,
          size * s,
          null);
      g.drawImage(
          image(toBytes(recon, i * px, px), ch, size),
          gap + i * (size * s + gap),
          2 * gap + size * s,
          size * s,
          size * s,
          null);
    }
    g.dispose();
    try {
      ImageIO.write(grid, "png", file.toFile());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
