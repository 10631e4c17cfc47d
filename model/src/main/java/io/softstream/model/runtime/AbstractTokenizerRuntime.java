package io.softstream.model.runtime;

import ai.djl.MalformedModelException;
import io.softstream.model.ModelCard;
import io.softstream.model.ModelDir;
import io.softstream.model.TokenizerConfig;
import java.nio.file.Path;

/**
 * What every engine's tokenizer runtime shares: the model folder, its card and the input checks.
 */
abstract class AbstractTokenizerRuntime implements TokenizerRuntime {
  protected final Path dir;
  protected final ModelCard card;
  protected final TokenizerConfig cfg;

  /**
   * @throws MalformedModelException if {@code model.json} is missing or invalid
   */
  protected AbstractTokenizerRuntime(Path dir) throws MalformedModelException {
    this.dir = dir;
    this.card = ModelDir.readCard(dir);
    this.cfg = card.tokenizerConfig();
  }

  @Override
  public ModelCard card() {
    return card;
  }

  /** Fails unless {@code pixels} holds {@code batch} images of the model's {@code [C, H, W]}. */
  protected void requirePixels(float[] pixels, int batch) {
    requireLength(
        pixels, (long) batch * cfg.channels() * cfg.imageSize() * cfg.imageSize(), "pixels");
  }

  /** Fails unless {@code tokens} holds {@code batch} token sets of the model's {@code [N, D]}. */
  protected void requireTokens(float[] tokens, int batch) {
    requireLength(tokens, (long) batch * cfg.tokens() * cfg.codeDim(), "tokens");
  }

  private static void requireLength(float[] a, long expected, String what) {
    if (a.length != expected) {
      throw new IllegalArgumentException(
          what + " has " + a.length + " floats; the model expects " + expected);
    }
  }
}
