package io.softstream.worker.generation;

import io.softstream.model.TokenizerConfig;
import io.softstream.model.generator.GeneratorConfig;
import io.softstream.model.generator.GeneratorRuntime;
import io.softstream.model.generator.Sampler;
import io.softstream.model.image.ImageTranslator;
import io.softstream.model.runtime.EngineKind;
import io.softstream.model.runtime.TokenizerRuntime;
import io.softstream.model.runtime.TokenizerRuntimes;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Labels to images: a generator samples tokens, the matching tokenizer decoder turns them into
 * pixels. The library call behind the generation worker and {@code softstream generate}. Not
 * thread-safe.
 *
 * <pre>{@code
 * try (ImageGeneration g = ImageGeneration.open(genDir, tokenizerDir, EngineKind.AUTO, 0)) {
 *   List<ImageGeneration.Image> imgs = g.generate(new int[] {9, 9}, new long[] {1, 2},
 *       Sampler.Settings.of(Sampler.Method.EULER, 50, 4f), 256);
 * }
 * }</pre>
 */
public final class ImageGeneration implements AutoCloseable {
  /** One generated image and the tokens it was decoded from ({@code N * d} floats). */
  public record Image(BufferedImage image, float[] tokens) {}

  private final GeneratorRuntime generator;
  private final TokenizerRuntime decoder;
  private final boolean owned;

  private ImageGeneration(GeneratorRuntime generator, TokenizerRuntime decoder, boolean owned) {
    this.generator = generator;
    this.decoder = decoder;
    this.owned = owned;
  }

  /**
   * Pairs a generator and a decoder opened (and closed) by the caller, e.g. versions hot-swapped
   * separately.
   *
   * @throws IllegalArgumentException if the decoder does not decode the tokens the generator makes
   */
  public static ImageGeneration of(
      GeneratorRuntime generator,
      String generatorName,
      TokenizerRuntime decoder,
      String decoderName) {
    mismatch(generator.config(), generatorName, decoder.config(), decoderName)
        .ifPresent(
            m -> {
              throw new IllegalArgumentException(m);
            });
    return new ImageGeneration(generator, decoder, false);
  }

  /**
   * Why this decoder cannot decode this generator's tokens (count or dimension differ), if it
   * cannot.
   */
  public static Optional<String> mismatch(
      GeneratorConfig g, String generatorName, TokenizerConfig d, String decoderName) {
    if (g.tokens() == d.tokens() && g.codeDim() == d.codeDim()) {
      return Optional.empty();
    }
    return Optional.of(
        "Generator "
            + generatorName
            + " makes "
            + g.tokens()
            + "x"
            + g.codeDim()
            + " tokens but tokenizer "
            + decoderName
            + " decodes "
            + d.tokens()
            + "x"
            + d.codeDim()
            + "; use the tokenizer the generator was trained on (its model.json training.tokenizer)");
  }

  /**
   * Opens a generator and the decoder of the tokenizer it was trained on.
   *
   * @throws IllegalArgumentException if either directory is invalid or their token shapes differ
   */
  public static ImageGeneration open(
      Path generatorDir, Path tokenizerDir, EngineKind engine, int engineThreads) {
    GeneratorRuntime g = GeneratorRuntime.open(generatorDir);
    TokenizerRuntime d = null;
    try {
      d =
          TokenizerRuntimes.open(
              tokenizerDir,
              engine,
              TokenizerRuntimes.Part.DECODER,
              new TokenizerRuntimes.Options(engineThreads));
      mismatch(g.config(), generatorDir.toString(), d.config(), tokenizerDir.toString())
          .ifPresent(
              m -> {
                throw new IllegalArgumentException(m);
              });
      return new ImageGeneration(g, d, true);
    } catch (RuntimeException e) {
      if (d != null) {
        d.close();
      }
      g.close();
      throw e;
    }
  }

  public GeneratorRuntime generator() {
    return generator;
  }

  public TokenizerRuntime decoder() {
    return decoder;
  }

  /** Number of classes the generator knows (labels {@code 0..n-1}). */
  public int numClasses() {
    return generator.config().numClasses();
  }

  /**
   * Generates one image per label, in order, sampling and decoding at most {@code maxBatch} at a
   * time.
   *
   * @param seeds one seed per image, e.g. {@code Sampler.imageSeed(requestSeed, index)}
   */
  public List<Image> generate(int[] labels, long[] seeds, Sampler.Settings settings, int maxBatch) {
    TokenizerConfig c = decoder.config();
    int per = c.tokens() * c.codeDim();
    int pixels = c.channels() * c.imageSize() * c.imageSize();
    List<Image> out = new ArrayList<>(labels.length);
    for (int from = 0; from < labels.length; from += maxBatch) {
      int n = Math.min(maxBatch, labels.length - from);
      int[] l = java.util.Arrays.copyOfRange(labels, from, from + n);
      long[] s = java.util.Arrays.copyOfRange(seeds, from, from + n);
      float[] tokens = generator.sample(l, s, settings);
      float[] px = decoder.decode(tokens, n);
      for (int i = 0; i < n; i++) {
        out.add(
            new Image(
                ImageTranslator.toImage(px, i * pixels, c.channels(), c.imageSize()),
                java.util.Arrays.copyOfRange(tokens, i * per, (i + 1) * per)));
      }
    }
    return out;
  }

  /** A square-ish grid of equally sized images, {@code columns} wide, with a 2-pixel gap. */
  public static BufferedImage grid(List<BufferedImage> images, int columns) {
    int w = images.get(0).getWidth();
    int h = images.get(0).getHeight();
    int cols = Math.max(1, Math.min(columns, images.size()));
    int rows = (images.size() + cols - 1) / cols;
    int gap = 2;
    BufferedImage g =
        new BufferedImage(
            cols * (w + gap) + gap, rows * (h + gap) + gap, BufferedImage.TYPE_INT_RGB);
    var gr = g.createGraphics();
    try {
      gr.setColor(java.awt.Color.DARK_GRAY);
      gr.fillRect(0, 0, g.getWidth(), g.getHeight());
      for (int i = 0; i < images.size(); i++) {
        gr.drawImage(
            images.get(i), gap + (i % cols) * (w + gap), gap + (i / cols) * (h + gap), null);
      }
    } finally {
      gr.dispose();
    }
    return g;
  }

  /**
   * Closes both models if {@link #open} opened them; a pair made with {@link #of} leaves them to
   * the caller.
   */
  @Override
  public void close() {
    if (owned) {
      decoder.close();
      generator.close();
    }
  }
}
