package io.softstream.model.runtime;

import ai.djl.MalformedModelException;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import io.softstream.model.ModelDir;
import io.softstream.model.TokenDecoder;
import io.softstream.model.TokenEncoder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/**
 * The tokenizer as DJL blocks on the PyTorch engine: the same code the trainer runs. Encoder and
 * decoder load lazily, so an encode worker never reads decoder weights.
 */
final class DjlBlockRuntime extends AbstractTokenizerRuntime {
  private final NDManager manager;
  private TokenEncoder encoder;
  private TokenDecoder decoder;

  DjlBlockRuntime(Path dir) throws MalformedModelException {
    super(dir);
    this.manager = NDManager.newBaseManager(Engine.getEngine("PyTorch").getEngineName());
  }

  @Override
  public EngineKind engine() {
    return EngineKind.PYTORCH;
  }

  /** Loads the encoder now (workers warm up before reporting ready). */
  DjlBlockRuntime loadEncoder() {
    if (encoder == null) {
      try {
        encoder = ModelDir.loadEncoder(dir, manager);
      } catch (IOException e) {
        throw new UncheckedIOException("Could not read the encoder of " + dir, e);
      } catch (MalformedModelException e) {
        throw new IllegalStateException("Invalid encoder in " + dir + ": " + e.getMessage(), e);
      }
    }
    return this;
  }

  DjlBlockRuntime loadDecoder() {
    if (decoder == null) {
      try {
        decoder = ModelDir.loadDecoder(dir, manager);
      } catch (IOException e) {
        throw new UncheckedIOException("Could not read the decoder of " + dir, e);
      } catch (MalformedModelException e) {
        throw new IllegalStateException("Invalid decoder in " + dir + ": " + e.getMessage(), e);
      }
    }
    return this;
  }

  @Override
  public Encoded encode(float[] pixels, int batch) {
    loadEncoder();
    requirePixels(pixels, batch);
    int c = cfg.channels();
    int s = cfg.imageSize();
    try (NDManager m = manager.newSubManager()) {
      NDArray x = m.create(pixels, new Shape(batch, c, s, s));
      NDList out = encoder.forward(new ParameterStore(m, false), new NDList(x), false);
      float[] values = out.get(0).toType(DataType.FLOAT32, false).toFloatArray();
      int[] codes = out.get(2).toType(DataType.INT32, false).toIntArray();
      return new Encoded(batch, cfg.tokens(), cfg.codeDim(), values, codes);
    }
  }

  @Override
  public float[] decode(float[] tokens, int batch) {
    loadDecoder();
    requireTokens(tokens, batch);
    try (NDManager m = manager.newSubManager()) {
      NDArray z = m.create(tokens, new Shape(batch, cfg.tokens(), cfg.codeDim()));
      NDArray y =
          decoder.forward(new ParameterStore(m, false), new NDList(z), false).singletonOrThrow();
      return y.clip(-1f, 1f).toFloatArray();
    }
  }

  private static void requireLength(float[] a, long expected, String what) {
    if (a.length != expected) {
      throw new IllegalArgumentException(
          what + " has " + a.length + " floats; the model expects " + expected);
    }
  }

  @Override
  public void close() {
    manager.close();
  }
}
