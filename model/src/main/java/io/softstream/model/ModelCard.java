package io.softstream.model;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.softstream.model.image.ImageTranslator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * The machine-readable card of a model directory ({@code model.json}).
 *
 * @param formatVersion layout version of the directory; readers reject versions they do not know
 * @param name model name, e.g. "softvq-fmnist-32"
 * @param kind "tokenizer" or "teacher-classifier"
 * @param config architecture; for a tokenizer the fields of {@link TokenizerConfig} in snake_case
 * @param training how it was trained (steps, batch, seconds, seed, ...)
 * @param metrics evaluation results (psnr, ssim, ...), may be empty
 * @param imageResize how serving turns an image of another shape into the model's input, as its
 *     training data were made ({@code fit}, {@code crop} or {@code pad}, see {@link
 *     ImageTranslator.Resize}); null = not stated, the worker's default (fit) applies
 */
public record ModelCard(
    int formatVersion,
    String name,
    String kind,
    Map<String, Object> config,
    Map<String, Object> training,
    Map<String, Object> metrics,
    @JsonInclude(JsonInclude.Include.NON_NULL) String imageResize) {

  /** The only {@code format_version} this build reads and writes. */
  public static final int FORMAT_VERSION = 1;

  /** Kind of a tokenizer directory. */
  public static final String KIND_TOKENIZER = "tokenizer";

  /** Kind of a teacher classifier directory. */
  public static final String KIND_TEACHER = "teacher-classifier";

  /** JSON mapper used for cards and configs: snake_case keys, unknown keys rejected. */
  public static final ObjectMapper JSON =
      new ObjectMapper()
          .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
          .enable(SerializationFeature.INDENT_OUTPUT)
          .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  /** Null maps become empty. */
  public ModelCard {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(kind, "kind");
    config = config == null ? new LinkedHashMap<>() : new LinkedHashMap<>(config);
    training = training == null ? new LinkedHashMap<>() : new LinkedHashMap<>(training);
    metrics = metrics == null ? new LinkedHashMap<>() : new LinkedHashMap<>(metrics);
    if (imageResize != null) {
      resizePolicy(imageResize);
    }
  }

  /** A card that states no resize policy. */
  public ModelCard(
      int formatVersion,
      String name,
      String kind,
      Map<String, Object> config,
      Map<String, Object> training,
      Map<String, Object> metrics) {
    this(formatVersion, name, kind, config, training, metrics, null);
  }

  /** The card's resize policy, or null when it states none. */
  public ImageTranslator.Resize resize() {
    return imageResize == null ? null : resizePolicy(imageResize);
  }

  private static ImageTranslator.Resize resizePolicy(String s) {
    try {
      return ImageTranslator.Resize.parse(s);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "image_resize '" + s + "' in model.json is not one of fit, crop, pad", e);
    }
  }

  /** A tokenizer card. */
  @SuppressWarnings("unchecked")
  public static ModelCard tokenizer(
      String name, TokenizerConfig cfg, Map<String, Object> training, Map<String, Object> metrics) {
    return new ModelCard(
        FORMAT_VERSION, name, KIND_TOKENIZER, JSON.convertValue(cfg, Map.class), training, metrics);
  }

  /** The tokenizer configuration in {@code config}. */
  public TokenizerConfig tokenizerConfig() {
    return JSON.convertValue(config, TokenizerConfig.class);
  }

  /** A copy with other metrics. */
  public ModelCard withMetrics(Map<String, Object> newMetrics) {
    return new ModelCard(formatVersion, name, kind, config, training, newMetrics, imageResize);
  }

  /** A copy with other training facts. */
  public ModelCard withTraining(Map<String, Object> newTraining) {
    return new ModelCard(formatVersion, name, kind, config, newTraining, metrics, imageResize);
  }

  /** A copy with another resize policy (null = none stated). */
  public ModelCard withImageResize(String resize) {
    return new ModelCard(formatVersion, name, kind, config, training, metrics, resize);
  }
}
