package io.softstream.model.generator;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/**
 * Architecture of a token generator, plus the latent normalisation it was trained with.
 *
 * <p>The generator sees latents {@code (z - latentMean) / latentStd} of shape {@code [tokens,
 * codeDim]} and predicts the flow-matching velocity of the same shape.
 *
 * @param tokens number of latent tokens N (must match the tokenizer)
 * @param codeDim dimension of each token (must match the tokenizer)
 * @param hidden transformer width
 * @param depth number of adaLN-Zero blocks
 * @param heads attention heads; must divide {@code hidden}
 * @param mlpRatio MLP width / hidden
 * @param numClasses real classes; the embedding table has one more row, the "null" class used by
 *     classifier-free guidance
 * @param latentMean scalar mean of the training latents
 * @param latentStd scalar standard deviation of the training latents
 * @param posEmbed fixed position embedding: {@value #POS_1D} (a sequence of tokens, the default
 *     when a card omits it) or {@value #POS_2D} (a square grid of {@code sqrt(tokens)} x {@code
 *     sqrt(tokens)} positions, MAE/DiT's 2-D sine-cosine embedding; {@code hidden} must be a
 *     multiple of 4)
 */
@JsonIgnoreProperties(ignoreUnknown = false)
public record GeneratorConfig(
    int tokens,
    int codeDim,
    int hidden,
    int depth,
    int heads,
    int mlpRatio,
    int numClasses,
    float latentMean,
    float latentStd,
    String posEmbed) {
  /** Position embedding of a 1-D token sequence. */
  public static final String POS_1D = "1d";

  /** Position embedding of a square 2-D grid (pixel patches). */
  public static final String POS_2D = "2d";

  /** A 1-D generator (the form written before {@code pos_embed} existed). */
  public GeneratorConfig(
      int tokens,
      int codeDim,
      int hidden,
      int depth,
      int heads,
      int mlpRatio,
      int numClasses,
      float latentMean,
      float latentStd) {
    this(
        tokens, codeDim, hidden, depth, heads, mlpRatio, numClasses, latentMean, latentStd, POS_1D);
  }

  /** Checks every field; a bad value names the field and the rule. */
  public GeneratorConfig {
    if (posEmbed == null) {
      posEmbed = POS_1D;
    }
    if (!POS_1D.equals(posEmbed) && !POS_2D.equals(posEmbed)) {
      throw new IllegalArgumentException(
          "pos_embed must be \"1d\" or \"2d\", got \"" + posEmbed + "\"");
    }
    positive("tokens", tokens);
    positive("code_dim", codeDim);
    positive("hidden", hidden);
    positive("depth", depth);
    positive("heads", heads);
    positive("mlp_ratio", mlpRatio);
    positive("num_classes", numClasses);
    if (hidden % heads != 0) {
      throw new IllegalArgumentException("heads " + heads + " must divide hidden " + hidden);
    }
    if (hidden % 2 != 0) {
      throw new IllegalArgumentException(
          "hidden must be even for the sine-cosine position embedding, got " + hidden);
    }
    if (POS_2D.equals(posEmbed)) {
      int side = (int) Math.round(Math.sqrt(tokens));
      if (side * side != tokens) {
        throw new IllegalArgumentException(
            "pos_embed 2d needs a square number of tokens, got " + tokens);
      }
      if (hidden % 4 != 0) {
        throw new IllegalArgumentException(
            "pos_embed 2d needs hidden divisible by 4, got " + hidden);
      }
    }
    if (!(latentStd > 0) || !Float.isFinite(latentMean)) {
      throw new IllegalArgumentException(
          "latent_std must be > 0 and latent_mean finite, got mean "
              + latentMean
              + " std "
              + latentStd);
    }
  }

  private static void positive(String name, int v) {
    if (v <= 0) {
      throw new IllegalArgumentException(name + " must be > 0, got " + v);
    }
  }

  /** Label id of the "null" (unconditional) class. */
  public int nullClass() {
    return numClasses;
  }

  /** A copy with another latent normalisation (measured on the training set). */
  public GeneratorConfig withLatentStats(float mean, float std) {
    return new GeneratorConfig(
        tokens, codeDim, hidden, depth, heads, mlpRatio, numClasses, mean, std, posEmbed);
  }

  /** A copy with another position embedding. */
  public GeneratorConfig withPosEmbed(String kind) {
    return new GeneratorConfig(
        tokens, codeDim, hidden, depth, heads, mlpRatio, numClasses, latentMean, latentStd, kind);
  }

  /** Whether this generator works on a square 2-D grid of positions (not a card field). */
  @JsonIgnore
  public boolean is2d() {
    return POS_2D.equals(posEmbed);
  }

  /** A tiny configuration for tests: 4 tokens of 4, width 16, 1 block, 10 classes. */
  public static GeneratorConfig tiny() {
    return new GeneratorConfig(4, 4, 16, 1, 2, 2, 10, 0f, 1f);
  }
}
