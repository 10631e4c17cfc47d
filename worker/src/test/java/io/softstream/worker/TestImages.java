package io.softstream.worker;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.softstream.model.ModelCard;
import io.softstream.model.ModelDir;
import io.softstream.model.TokenDecoder;
import io.softstream.model.TokenEncoder;
import io.softstream.model.TokenizerConfig;
import io.softstream.model.generator.Generator;
import io.softstream.model.generator.GeneratorConfig;
import io.softstream.model.generator.GeneratorDir;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import java.util.zip.CRC32;
import javax.imageio.ImageIO;

/** Generated images, poison pills and tiny random models for the worker and cli tests. */
public final class TestImages {
  private TestImages() {}

  /** A random RGB image encoded as {@code format} (png, jpg, bmp, gif). */
  public static byte[] random(int w, int h, String format, long seed) {
    Random r = new Random(seed);
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        img.setRGB(x, y, r.nextInt(0xffffff));
      }
    }
    return encode(img, format);
  }

  public static byte[] encode(BufferedImage img, String format) {
    try {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      if (!ImageIO.write(img, format, out)) {
        throw new IllegalArgumentException("no writer for " + format);
      }
      return out.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * A valid PNG signature and IHDR that claim {@code w x h} pixels, then nothing: a
   * decompression-bomb header.
   */
  public static byte[] pngHeader(int w, int h) {
    ByteBuffer ihdr =
        ByteBuffer.allocate(17)
            .put("IHDR".getBytes())
            .putInt(w)
            .putInt(h)
            .put((byte) 8)
            .put((byte) 2)
            .put((byte) 0)
            .put((byte) 0)
            .put((byte) 0);
    CRC32 crc = new CRC32();
    crc.update(ihdr.array());
    return ByteBuffer.allocate(8 + 4 + 17 + 4)
        .put(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'})
        .putInt(13)
        .put(ihdr.array())
        .putInt((int) crc.getValue())
        .array();
  }

  /** A BMP whose header says 0 x 0 pixels. */
  public static byte[] zeroSizeBmp() {
    return ByteBuffer.allocate(54)
        .order(ByteOrder.LITTLE_ENDIAN)
        .put((byte) 'B')
        .put((byte) 'M')
        .putInt(54)
        .putInt(0)
        .putInt(54)
        .putInt(40)
        .putInt(0)
        .putInt(0)
        .putShort((short) 1)
        .putShort((short) 24)
        .putInt(0)
        .putInt(0)
        .putInt(2835)
        .putInt(2835)
        .putInt(0)
        .putInt(0)
        .array();
  }

  /** Saves a randomly initialised tokenizer with {@code cfg} (seeded) and returns its directory. */
  public static Path tinyModel(Path dir, TokenizerConfig cfg, String name) throws IOException {
    return tinyModel(dir, cfg, name, 7);
  }

  /**
   * As {@link #tinyModel(Path, TokenizerConfig, String)} with another seed: other weights, same
   * shape.
   */
  public static Path tinyModel(Path dir, TokenizerConfig cfg, String name, int seed)
      throws IOException {
    Engine.getEngine("PyTorch").setRandomSeed(seed);
    try (NDManager m = NDManager.newBaseManager("PyTorch")) {
      TokenEncoder enc = ModelDir.newEncoder(cfg, m);
      TokenDecoder dec = ModelDir.newDecoder(cfg, m);
      ModelDir.saveTokenizer(
          dir, ModelCard.tokenizer(name, cfg, Map.of("steps", 0), Map.of()), enc, dec);
    }
    return dir;
  }

  /**
   * Saves a random tiny generator (4 tokens of 4, like {@link TokenizerConfig#tiny}) whose
   * zero-initialised layers are perturbed, so that labels change the samples.
   */
  public static Path tinyGenerator(Path out) throws IOException {
    return tinyGenerator(out, 3);
  }

  /**
   * As {@link #tinyGenerator(Path)} with another seed: other weights, same shape (a new generator
   * version).
   */
  public static Path tinyGenerator(Path out, int seed) throws IOException {
    return tinyGenerator(out, seed, GeneratorConfig.tiny());
  }

  /**
   * As {@link #tinyGenerator(Path, int)} with another shape (e.g. more tokens, for another
   * tokenizer).
   */
  public static Path tinyGenerator(Path out, int seed, GeneratorConfig cfg) throws IOException {
    Engine.getEngine("PyTorch").setRandomSeed(seed);
    try (NDManager m = NDManager.newBaseManager("PyTorch")) {
      Generator g = GeneratorDir.newGenerator(cfg, m);
      Random r = new Random(seed);
      g.getParameters()
          .forEach(
              p -> {
                NDArray a = p.getValue().getArray();
                float[] v = a.toFloatArray();
                for (int i = 0; i < v.length; i++) {
                  v[i] += (float) (0.1 * r.nextGaussian());
                }
                a.set(v);
              });
      GeneratorDir.save(
          out,
          GeneratorDir.card(
              "tiny-gen", cfg.withLatentStats(0.1f, 0.5f), Map.of("steps", 0), Map.of()),
          g);
    }
    return out;
  }
}
