package io.softstream.model.generator;

import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.initializer.XavierInitializer;
import io.softstream.model.ModelCard;
import io.softstream.model.ModelDir;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Reads and writes generator directories: {@code model.json} (a {@link ModelCard} of kind {@value
 * #KIND}, {@code format_version} {@value ModelCard#FORMAT_VERSION}, config = the fields of {@link
 * GeneratorConfig} in snake_case) and {@code generator.params} (DJL block parameters, which carry
 * the block's own version byte).
 */
public final class GeneratorDir {
  /** Kind of a generator directory. */
  public static final String KIND = "generator";

  /** Parameter file name. */
  public static final String PARAMS = "generator.params";

  private GeneratorDir() {}

  /** A freshly initialised generator (engine random seed; Xavier weights, adaLN-Zero). */
  public static Generator newGenerator(GeneratorConfig cfg, NDManager manager) {
    Generator g = new Generator(cfg);
    g.setInitializer(new XavierInitializer(), Parameter.Type.WEIGHT);
    g.initialize(
        manager,
        DataType.FLOAT32,
        new Shape(1, cfg.tokens(), cfg.codeDim()),
        new Shape(1),
        new Shape(1));
    g.zeroInit();
    return g;
  }

  /** A card for a generator. */
  @SuppressWarnings("unchecked")
  public static ModelCard card(
      String name, GeneratorConfig cfg, Map<String, Object> training, Map<String, Object> metrics) {
    return new ModelCard(
        ModelCard.FORMAT_VERSION,
        name,
        KIND,
        ModelCard.JSON.convertValue(cfg, Map.class),
        training,
        metrics);
  }

  /** Writes {@code model.json} and {@code generator.params} into {@code dir}. */
  public static void save(Path dir, ModelCard card, Generator g) throws IOException {
    Files.createDirectories(dir);
    ModelDir.writeCard(dir, card);
    ModelDir.saveParams(g, dir.resolve(PARAMS));
  }

  /**
   * Reads and checks the card of a generator directory.
   *
   * @throws MalformedModelException if it is missing, of an unknown format, or not a generator
   */
  public static ModelCard readCard(Path dir) throws MalformedModelException {
    ModelCard card = ModelDir.readCard(dir);
    if (!KIND.equals(card.kind())) {
      throw new MalformedModelException(
          dir
              + " holds a "
              + card.kind()
              + ", not a "
              + KIND
              + "; pass a directory written by the generator trainer");
    }
    return card;
  }

  /** The configuration in a generator card. */
  public static GeneratorConfig config(ModelCard card) throws MalformedModelException {
    try {
      return ModelCard.JSON.convertValue(card.config(), GeneratorConfig.class);
    } catch (IllegalArgumentException e) {
      throw new MalformedModelException(
          "Invalid generator config in " + card.name() + ": " + e.getMessage(), e);
    }
  }

  /**
   * Builds the generator described by {@code dir/model.json} and loads {@code generator.params}.
   */
  public static Generator load(Path dir, NDManager manager)
      throws IOException, MalformedModelException {
    Generator g = new Generator(config(readCard(dir)));
    ModelDir.loadParams(g, dir.resolve(PARAMS), manager);
    return g;
  }
}
