package io.softstream.worker.generation;

import io.softstream.model.generator.Sampler;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Range;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigException;

/**
 * The generation worker's own settings, declared once (Kafka's {@code ConfigDef}) and read from the
 * worker config's originals, so {@code WorkerConfig} stays the encode/decode contract. A bad value
 * stops the worker at start-up with Kafka's message, e.g. "Invalid value 0 for configuration
 * generation.max.count: Value must be at least 1". {@code java -cp ...
 * io.softstream.worker.generation.GenerationSettings} prints the table for the README.
 */
public final class GenerationSettings extends AbstractConfig {
  public static final String GENERATOR_DIR = "generator.dir";
  public static final String GENERATOR_NAME = "generator.name";
  public static final String GENERATOR_VERSION = "generator.version";
  public static final String GENERATOR_WATCH = "generator.watch";
  public static final String MAX_COUNT = "generation.max.count";
  public static final String SAMPLER = "generation.sampler";
  public static final String GUIDANCE_LOW = "generation.guidance.low";
  public static final String GUIDANCE_HIGH = "generation.guidance.high";
  public static final String MAX_BATCH_IMAGES = "generation.max.batch.images";
  public static final String INPUT_TOPIC = "generation.input.topic";
  public static final String CONTINUOUS_BATCHING = "generation.continuous.batching";

  /** Request limits that are not configurable: they bound the work one record can cause. */
  public static final int MAX_STEPS = 1000;

  public static final float MAX_GUIDANCE = 20f;

  private static final ConfigDef CONFIG =
      new ConfigDef()
          .define(
              GENERATOR_DIR,
              Type.STRING,
              "",
              Importance.HIGH,
              "Generator model directory served first; may be empty with generator.watch=true.")
          .define(
              GENERATOR_NAME,
              Type.STRING,
              "",
              Importance.MEDIUM,
              "Generator name written into records (and followed with generator.watch); empty = the card's name.")
          .define(
              GENERATOR_VERSION,
              Type.INT,
              1,
              Range.atLeast(1),
              Importance.MEDIUM,
              "Version of generator.dir, written into records.")
          .define(
              GENERATOR_WATCH,
              Type.BOOLEAN,
              false,
              Importance.HIGH,
              "Follow the ACTIVE GENERATOR version of generator.name and the ACTIVE DECODER version of the tokenizer "
                  + "(model.name) on the model-versions topic: start on the generator if one is announced, and hot-swap to "
                  + "each newly announced one (fetched, checksummed, warmed up) between batches, generator and decoder only "
                  + "as a pair of the same token shape.")
          .define(
              MAX_COUNT,
              Type.INT,
              64,
              Range.between(1, 4096),
              Importance.MEDIUM,
              "Largest count a request may ask for; larger requests are dead-lettered (InvalidCount).")
          .define(
              SAMPLER,
              Type.STRING,
              "euler",
              ConfigDef.CaseInsensitiveValidString.in("euler", "heun", "sde"),
              Importance.MEDIUM,
              "How the sampler integrates: euler, heun or sde.")
          .define(
              GUIDANCE_LOW,
              Type.DOUBLE,
              0.0,
              Range.between(0.0, 1.0),
              Importance.LOW,
              "Guidance applies for t >= this (at most generation.guidance.high).")
          .define(
              GUIDANCE_HIGH,
              Type.DOUBLE,
              1.0,
              Range.between(0.0, 1.0),
              Importance.LOW,
              "Guidance applies for t <= this.")
          .define(
              MAX_BATCH_IMAGES,
              Type.INT,
              256,
              Range.between(1, 65536),
              Importance.MEDIUM,
              "Most images in flight at once: each is one row of every forward pass (two while guided), "
                  + "and at most this many are decoded in one pass. A request larger than this runs alone.")
          .define(
              CONTINUOUS_BATCHING,
              Type.BOOLEAN,
              true,
              Importance.LOW,
              "Continuous batching: requests that arrive while others are mid-sampling join their forward passes "
                  + "at the next step, and each leaves when its last step is done. false = static batching: the "
                  + "requests in flight finish before the next are admitted (for comparison in bench generate).")
          .define(
              INPUT_TOPIC,
              Type.STRING,
              "",
              Importance.MEDIUM,
              "Topic to read GenerationRequests from: empty = the layout's generation-requests (with topic.prefix), "
                  + "whole requests from clients; or the full name of the generation-jobs topic (e.g. generation-jobs) "
                  + "to serve the unit jobs the generation app fans out, so several workers share one large request. "
                  + "Either way each image is written under the parent request id and its index in the parent.");

  public GenerationSettings(Map<?, ?> originals) {
    super(CONFIG, originals, false);
    if (generatorDir() == null && !getBoolean(GENERATOR_WATCH)) {
      throw new ConfigException(
          GENERATOR_DIR,
          "",
          "The generation worker needs a generator model directory, or "
              + "generator.watch=true (with generator.name) to serve the active version announced on the model-versions topic");
    }
    if (getBoolean(GENERATOR_WATCH) && generatorName().isEmpty()) {
      throw new ConfigException(
          GENERATOR_NAME, "", "generator.watch=true needs the generator.name to follow");
    }
    if (guidanceLow() > guidanceHigh()) {
      throw new ConfigException(
          GUIDANCE_LOW,
          guidanceLow(),
          "must not exceed "
              + GUIDANCE_HIGH
              + " ("
              + guidanceHigh()
              + "): guidance applies for low <= t <= high");
    }
  }

  /**
   * Reads the keys above from a worker config's originals; a bad value throws {@link
   * ConfigException}.
   */
  public static GenerationSettings from(Map<String, ?> originals) {
    return new GenerationSettings(originals);
  }

  public static ConfigDef configDef() {
    return new ConfigDef(CONFIG);
  }

  /** The generator directory, or null with none given. */
  public Path generatorDir() {
    String d = getString(GENERATOR_DIR);
    return d.isBlank() ? null : Path.of(d);
  }

  public String generatorName() {
    return getString(GENERATOR_NAME);
  }

  public int generatorVersion() {
    return getInt(GENERATOR_VERSION);
  }

  public boolean watch() {
    return getBoolean(GENERATOR_WATCH);
  }

  public int maxCount() {
    return getInt(MAX_COUNT);
  }

  public Sampler.Method method() {
    return Sampler.Method.parse(getString(SAMPLER));
  }

  public float guidanceLow() {
    return getDouble(GUIDANCE_LOW).floatValue();
  }

  public float guidanceHigh() {
    return getDouble(GUIDANCE_HIGH).floatValue();
  }

  public int maxBatchImages() {
    return getInt(MAX_BATCH_IMAGES);
  }

  public boolean continuousBatching() {
    return getBoolean(CONTINUOUS_BATCHING);
  }

  /** The topic to read requests from, or {@code whenEmpty} (the layout's generation-requests). */
  public String inputTopic(String whenEmpty) {
    String t = getString(INPUT_TOPIC).strip();
    return t.isEmpty() ? whenEmpty : t;
  }

  /** Sampler settings for a request's steps and guidance scale. */
  public Sampler.Settings sampler(int steps, float guidance) {
    return new Sampler.Settings(method(), steps, guidance, guidanceLow(), guidanceHigh());
  }

  /** Prints the settings table (Markdown) for the README. */
  public static void main(String[] args) {
    System.out.println("| key | type | default | description |\n|---|---|---|---|");
    for (ConfigDef.ConfigKey k : CONFIG.configKeys().values()) {
      System.out.println(
          "| `"
              + k.name
              + "` | "
              + k.type.name().toLowerCase(Locale.ROOT)
              + " | "
              + (k.hasDefault() ? k.defaultValue : "(required)")
              + " | "
              + k.documentation
              + " |");
    }
  }
}
