package io.softstream.worker;

import io.softstream.model.TokenizerConfig;
import io.softstream.model.image.ImageTranslator;
import io.softstream.model.onnx.OnnxCodebook;
import io.softstream.model.runtime.EngineKind;
import io.softstream.model.runtime.TokenizerRuntime;
import io.softstream.model.runtime.TokenizerRuntimes;
import io.softstream.schemas.avro.TokenRecord;
import io.softstream.schemas.tokens.Codebook;
import io.softstream.schemas.tokens.TokenCodec;
import io.softstream.worker.internals.PoisonRecordException;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;

/**
 * Tokens back to images with one tokenizer version: the library call behind the decode worker and
 * {@code softstream decode}, for downstream services that hold {@code TokenRecord}s.
 *
 * <pre>{@code
 * try (TokenDecoding d = TokenDecoding.open(Path.of("models/softvq-fmnist-32"), EngineKind.AUTO, 1)) {
 *   List<BufferedImage> images = d.decode(records);
 * }
 * }</pre>
 */
public final class TokenDecoding implements AutoCloseable {
  private final TokenizerRuntime runtime;
  private final String modelName;
  private final int modelVersion;
  private final Path dir;
  private Codebook codebook; // read on the first topk/codes record

  private TokenDecoding(TokenizerRuntime runtime, String modelName, int modelVersion, Path dir) {
    this.runtime = runtime;
    this.modelName = modelName;
    this.modelVersion = modelVersion;
    this.dir = dir;
  }

  /**
   * Opens the decoder of the model in {@code dir}, which is version {@code version} of its name.
   */
  public static TokenDecoding open(Path dir, EngineKind engine, int version) {
    TokenizerRuntime r = TokenizerRuntimes.open(dir, engine, TokenizerRuntimes.Part.DECODER);
    return new TokenDecoding(r, r.card().name(), version, dir);
  }

  /**
   * Opens with an explicit model name (when records carry a name other than the card's) and engine
   * threads.
   */
  public static TokenDecoding open(
      Path dir, EngineKind engine, String name, int version, int engineThreads) {
    TokenizerRuntime r =
        TokenizerRuntimes.open(
            dir,
            engine,
            TokenizerRuntimes.Part.DECODER,
            new TokenizerRuntimes.Options(engineThreads));
    return new TokenDecoding(r, name.isEmpty() ? r.card().name() : name, version, dir);
  }

  public String modelName() {
    return modelName;
  }

  public int modelVersion() {
    return modelVersion;
  }

  public TokenizerConfig config() {
    return runtime.config();
  }

  /**
   * Checks that {@code r} was produced by this model version with its token shape.
   *
   * @throws PoisonRecordException UnknownModelVersion or TokenShapeMismatch, naming what is served
   */
  public void check(TokenRecord r) {
    if (!r.getModelName().equals(modelName) || r.getModelVersion() != modelVersion) {
      throw new PoisonRecordException(
          "UnknownModelVersion",
          "Tokens of image "
              + r.getImageId()
              + " come from "
              + r.getModelName()
              + ":"
              + r.getModelVersion()
              + "; this decoder serves "
              + modelName
              + ":"
              + modelVersion
              + ".");
    }
    TokenizerConfig c = runtime.config();
    if (r.getTokenCount() != c.tokens() || r.getTokenDim() != c.codeDim()) {
      throw new PoisonRecordException(
          "TokenShapeMismatch",
          "Tokens of image "
              + r.getImageId()
              + " are "
              + r.getTokenCount()
              + "x"
              + r.getTokenDim()
              + "; "
              + modelName
              + ":"
              + modelVersion
              + " needs "
              + c.tokens()
              + "x"
              + c.codeDim()
              + ".");
    }
  }

  /** Decodes records (all checked with {@link #check}) to images, in order. */
  public List<BufferedImage> decode(List<TokenRecord> records) {
    TokenizerConfig c = runtime.config();
    int per = c.tokens() * c.codeDim();
    float[] tokens = new float[records.size() * per];
    for (int i = 0; i < records.size(); i++) {
      check(records.get(i));
      try {
        System.arraycopy(tokens(records.get(i)), 0, tokens, i * per, per);
      } catch (IllegalArgumentException e) {
        throw new PoisonRecordException("TokenShapeMismatch", e.getMessage(), e);
      }
    }
    float[] px = runtime.decode(tokens, records.size());
    int pixels = c.channels() * c.imageSize() * c.imageSize();
    List<BufferedImage> out = new ArrayList<>(records.size());
    for (int i = 0; i < records.size(); i++) {
      out.add(ImageTranslator.toImage(px, i * pixels, c.channels(), c.imageSize()));
    }
    return out;
  }

  /**
   * The token values of a checked record, whatever its payload encoding ({@link TokenCodec}).
   *
   * @throws IllegalArgumentException the payload does not fit its encoding and shape
   */
  public float[] tokens(TokenRecord r) {
    TokenCodec.Encoding e = TokenCodec.encodingOf(r);
    if (e.needsCodebook() && codebook == null) {
      codebook = OnnxCodebook.normalised(dir, runtime.config());
    }
    return TokenCodec.decode(r, codebook);
  }

  /** One forward pass on zeros: allocations and JIT happen before the first real record. */
  public void warmUp() {
    TokenizerConfig c = runtime.config();
    float[] px = runtime.decode(new float[c.tokens() * c.codeDim()], 1);
    for (float v : px) {
      if (!Float.isFinite(v)) {
        throw new IllegalStateException(
            "Decoder " + modelName + ":" + modelVersion + " produced non-finite pixels on warm-up");
      }
    }
  }

  /** PNG bytes of an image. */
  public static byte[] png(BufferedImage img) {
    try {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      // In-memory stream: ImageIO.write(img, fmt, OutputStream) may cache through a temporary file.
      try (javax.imageio.stream.ImageOutputStream ios =
          new javax.imageio.stream.MemoryCacheImageOutputStream(out)) {
        ImageIO.write(img, "png", ios);
      }
      return out.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void close() {
    runtime.close();
  }
}
