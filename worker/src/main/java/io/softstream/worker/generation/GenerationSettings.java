package io.softstream.worker.generation;

import io.softstream.model.generator.Sampler;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import org.apache.kafka.common.config.ConfigException;

/**
 * The generation worker's own settings, read from the worker config's originals (so {@code
 * WorkerConfig} stays the encode/decode contract). Keys:
 *
 * <ul>
 *   <li>{@value #GENERATOR_DIR} (required): generator model directory
 *   <li>{@value #GENERATOR_NAME}: name written into records; empty = the card's name
 *   <li>{@value #GENERATOR_VERSION} (default 1): version written into records
 *   <li>{@value #MAX_COUNT} (default 64): largest {@code count} a request may ask for
 *   <li>{@value #SAMPLER} (default euler): euler, heun or sde
 *   <li>{@value #GUIDANCE_LOW} / {@value #GUIDANCE_HIGH} (default 0 / 1): the t interval where guidance applies
 *   <li>{@value #MAX_BATCH_IMAGES} (default 256): most images sampled and decoded in one pass
 * </ul>
 *
 * @param generatorDir generator directory
 * @param generatorName name override, empty for the card's
 * @param generatorVersion version of the generator
 * @param maxCount largest count per request
 * @param method sampler
 * @param guidanceLow guidance interval start
 * @param guidanceHigh guidance interval end
 * @param maxBatchImages most images per forward pass
 */
public record GenerationSettings(Path generatorDir, String generatorName, int generatorVersion, int maxCount,
    Sampler.Method method, float guidanceLow, float guidanceHigh, int maxBatchImages) {
  public static final String GENERATOR_DIR = "generator.dir";
  public static final String GENERATOR_NAME = "generator.name";
  public static final String GENERATOR_VERSION = "generator.version";
  public static final String MAX_COUNT = "generation.max.count";
  public static final String SAMPLER = "generation.sampler";
  public static final String GUIDANCE_LOW = "generation.guidance.low";
  public static final String GUIDANCE_HIGH = "generation.guidance.high";
  public static final String MAX_BATCH_IMAGES = "generation.max.batch.images";
  /** Request limits that are not configurable: they bound the work one record can cause. */
  public static final int MAX_STEPS = 1000;
  public static final float MAX_GUIDANCE = 20f;

  /** Reads the keys above; a bad value throws {@link ConfigException} naming the key and the rule. */
  public static GenerationSettings from(Map<String, ?> originals) {
    Object dir = originals.get(GENERATOR_DIR);
    if (dir == null || dir.toString().isBlank()) {
      throw new ConfigException(GENERATOR_DIR, dir, "the generation worker needs a generator model directory");
    }
    Object name = originals.get(GENERATOR_NAME);
    int version = integer(originals, GENERATOR_VERSION, 1, 1, Integer.MAX_VALUE);
    int max = integer(originals, MAX_COUNT, 64, 1, 4096);
    int batch = integer(originals, MAX_BATCH_IMAGES, 256, 1, 65536);
    Object s = originals.get(SAMPLER);
    Sampler.Method method;
    try {
      method = s == null ? Sampler.Method.EULER : Sampler.Method.parse(s.toString());
    } catch (IllegalArgumentException e) {
      throw new ConfigException(SAMPLER, s, "must be one of euler, heun, sde");
    }
    float lo = real(originals, GUIDANCE_LOW, 0f);
    float hi = real(originals, GUIDANCE_HIGH, 1f);
    if (!(lo >= 0 && lo <= hi && hi <= 1)) {
      throw new ConfigException(GUIDANCE_LOW + "/" + GUIDANCE_HIGH, lo + "/" + hi, "need 0 <= low <= high <= 1");
    }
    return new GenerationSettings(Path.of(dir.toString()), name == null ? "" : name.toString(), version, max, method, lo,
        hi, batch);
  }

  /** Sampler settings for a request's steps and guidance scale. */
  public Sampler.Settings sampler(int steps, float guidance) {
    return new Sampler.Settings(method, steps, guidance, guidanceLow, guidanceHigh);
  }

  private static int integer(Map<String, ?> m, String key, int def, int min, int max) {
    Object v = m.get(key);
    if (v == null) {
      return def;
    }
    try {
      int i = v instanceof Number n ? n.intValue() : Integer.parseInt(v.toString().trim());
      if (i < min || i > max) {
        throw new ConfigException(key, v, "must be in [" + min + ", " + max + "]");
      }
      return i;
    } catch (NumberFormatException e) {
      throw new ConfigException(key, v, "must be an integer");
    }
  }

  private static float real(Map<String, ?> m, String key, float def) {
    Object v = m.get(key);
    if (v == null) {
      return def;
    }
    try {
      return v instanceof Number n ? n.floatValue() : Float.parseFloat(v.toString().trim().toLowerCase(Locale.ROOT));
    } catch (NumberFormatException e) {
      throw new ConfigException(key, v, "must be a number");
    }
  }
}
