package io.softstream.model.runtime;

import ai.djl.MalformedModelException;
import java.nio.file.Path;

/**
 * {@link EngineKind#NONE}, for benchmarks only: answers at once with zero tokens and codes of the
 * model's shape, so a worker on it measures the pipeline around the engine (reading, image
 * decoding, Avro, Kafka) — the ceiling a GPU worker lives at. The input is still checked.
 */
final class NoInferenceRuntime extends AbstractTokenizerRuntime {
  NoInferenceRuntime(Path dir) throws MalformedModelException {
    super(dir);
  }

  @Override
  public EngineKind engine() {
    return EngineKind.NONE;
  }

  @Override
  public Encoded encode(float[] pixels, int batch) {
    requirePixels(pixels, batch);
    return new Encoded(
        batch,
        cfg.tokens(),
        cfg.codeDim(),
        new float[batch * cfg.tokens() * cfg.codeDim()],
        new int[batch * cfg.tokens()]);
  }

  @Override
  public float[] decode(float[] tokens, int batch) {
    requireTokens(tokens, batch);
    return new float[batch * cfg.channels() * cfg.imageSize() * cfg.imageSize()];
  }

  @Override
  public void close() {}
}
