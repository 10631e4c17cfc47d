package io.softstream.trainer.generator;

import io.softstream.model.ModelCard;
import io.softstream.model.ModelDir;
import io.softstream.model.generator.GeneratorDir;
import io.softstream.model.generator.Sampler;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Trains a generator, evaluates it and writes the evaluation into its card. Arguments are {@code
 * key=value}: {@code tokenizer} (dir, required), {@code out} (dir, required), {@code judge} (the
 * held-out classifier dir, e.g. models/fmnist-judge; {@code teacher} is an alias; no evaluation
 * without it), {@code data} (default /usr/share/datasets/fashion-mnist), {@code steps} (default
 * 5000), {@code batch}, {@code hidden}, {@code depth}, {@code heads}, {@code lr}, {@code seed},
 * {@code eval_per_class} (default 1000), {@code eval_steps} (50), {@code eval_guidance} (4), {@code
 * eval_sampler} (euler), {@code eval_guidance_low} / {@code eval_guidance_high} (0 / 1), {@code
 * curve_guidance} / {@code curve_steps} (comma lists, default none), {@code curve_per_class} (200,
 * also per sweep point), {@code sweep} (sampler settings {@code method:steps:guidance[:low:high]},
 * comma-separated), {@code recon} ({@code false}: skip the reconstruction floor), {@code cache}
 * (dir: keep generated pixels, reuse them in a later run), {@code card} ({@code false}: print only,
 * leave the card and samples.png alone), {@code eval_per_class} 0 skips the headline figures,
 * {@code latent} ({@code tokens}, the default, or {@code pixels}: the 2-D baseline over {@code
 * patch}x{@code patch} pixel patches, default 4, no tokenizer needed), {@code train} ({@code
 * false}: only evaluate the generator already in {@code out}).
 *
 * <pre>
 * ./softstream train-generator latent=pixels out=models/gen2d-fmnist steps=2000
 * </pre>
 */
public final class GeneratorMain {
  private GeneratorMain() {}

  /** {@code key=value} command-line arguments as a map; anything else is refused. */
  public static Map<String, String> keyValues(String... args) {
    Map<String, String> a = new HashMap<>();
    for (String s : args) {
      int eq = s.indexOf('=');
      if (eq < 0) {
        throw new IllegalArgumentException("expected key=value, got " + s);
      }
      a.put(s.substring(0, eq), s.substring(eq + 1));
    }
    return a;
  }

  /** Java entry point; {@code softstream train-generator} is the command line. */
  public static void main(String[] args) throws Exception {
    run(keyValues(args), System.out);
  }

  /**
   * Trains and/or evaluates as the {@code key=value} settings {@code a} say (see the class
   * comment), printing progress and finally the evaluation JSON to {@code log}.
   */
  public static void run(Map<String, String> a, java.io.PrintStream log) throws Exception {
    boolean pixels = "pixels".equals(a.getOrDefault("latent", "tokens"));
    Path tok = Path.of(pixels ? a.getOrDefault("tokenizer", "none") : required(a, "tokenizer"));
    Path out = Path.of(required(a, "out"));
    Path data = Path.of(a.getOrDefault("data", "/usr/share/datasets/fashion-mnist"));
    GeneratorTrainConfig d =
        GeneratorTrainConfig.fashionMnist(
            tok, data, out, Integer.parseInt(a.getOrDefault("steps", "5000")));
    if (pixels) {
      d =
          new GeneratorTrainConfig(
              d.tokenizerDir(),
              d.dataDir(),
              d.outDir(),
              "gen2d-fmnist",
              d.hidden(),
              d.depth(),
              d.heads(),
              d.mlpRatio(),
              d.numClasses(),
              d.steps(),
              d.batchSize(),
              d.lr(),
              d.minLr(),
              d.warmupSteps(),
              d.weightDecay(),
              d.emaDecay(),
              d.gradClip(),
              d.labelDrop(),
              d.seed(),
              d.trainLimit(),
              d.encodeBatch(),
              d.logEvery());
    }
    GeneratorTrainConfig cfg =
        new GeneratorTrainConfig(
            tok,
            data,
            out,
            a.getOrDefault("name", d.name()),
            Integer.parseInt(a.getOrDefault("hidden", "" + d.hidden())),
            Integer.parseInt(a.getOrDefault("depth", "" + d.depth())),
            Integer.parseInt(a.getOrDefault("heads", "" + d.heads())),
            d.mlpRatio(),
            d.numClasses(),
            d.steps(),
            Integer.parseInt(a.getOrDefault("batch", "" + d.batchSize())),
            Float.parseFloat(a.getOrDefault("lr", "" + d.lr())),
            d.minLr(),
            d.warmupSteps(),
            d.weightDecay(),
            d.emaDecay(),
            d.gradClip(),
            d.labelDrop(),
            Long.parseLong(a.getOrDefault("seed", "0")),
            Integer.parseInt(a.getOrDefault("train_limit", "0")),
            d.encodeBatch(),
            Integer.parseInt(a.getOrDefault("log_every", "" + d.logEvery())));
    if (!"false".equals(a.getOrDefault("train", "true"))) {
      if (pixels) {
        GeneratorTrainer.runPixels(cfg, Integer.parseInt(a.getOrDefault("patch", "4")), log);
      } else {
        GeneratorTrainer.run(cfg, log);
      }
    }
    String judge = a.getOrDefault("judge", a.get("teacher"));
    if (judge != null) {
      boolean intoCard = !"false".equals(a.getOrDefault("card", "true"));
      GeneratorEval.Options o =
          new GeneratorEval.Options(
              Integer.parseInt(a.getOrDefault("eval_per_class", "1000")),
              0,
              new Sampler.Settings(
                  Sampler.Method.parse(a.getOrDefault("eval_sampler", "euler")),
                  Integer.parseInt(a.getOrDefault("eval_steps", "" + Sampler.DEFAULT_STEPS)),
                  Float.parseFloat(a.getOrDefault("eval_guidance", "" + Sampler.DEFAULT_GUIDANCE)),
                  Float.parseFloat(a.getOrDefault("eval_guidance_low", "0")),
                  Float.parseFloat(a.getOrDefault("eval_guidance_high", "1"))),
              0,
              250,
              floats(a.getOrDefault("curve_guidance", "")),
              ints(a.getOrDefault("curve_steps", "")),
              Integer.parseInt(a.getOrDefault("curve_per_class", "200")),
              sweep(a.getOrDefault("sweep", "")),
              !"false".equals(a.getOrDefault("recon", "true")),
              a.containsKey("cache") ? Path.of(a.get("cache")) : null);
      Map<String, Object> metrics =
          GeneratorEval.evaluate(
              out, tok, Path.of(judge), data, o, intoCard ? out.resolve("samples.png") : null);
      if (intoCard) {
        ModelCard card = GeneratorDir.readCard(out);
        Map<String, Object> merged = new LinkedHashMap<>(card.metrics());
        merged.putAll(metrics);
        ModelDir.writeCard(out, card.withMetrics(merged));
      }
      log.println(ModelCard.JSON.writeValueAsString(metrics));
    }
  }

  /**
   * Sampler settings from {@code method:steps:guidance[:low:high]} items separated by commas, e.g.
   * {@code heun:25:4,euler:50:3:0.2:1}.
   */
  static java.util.List<Sampler.Settings> sweep(String s) {
    if (s.isBlank()) {
      return java.util.List.of();
    }
    java.util.List<Sampler.Settings> out = new java.util.ArrayList<>();
    for (String item : s.split(",")) {
      String[] f = item.trim().split(":");
      if (f.length != 3 && f.length != 5) {
        throw new IllegalArgumentException(
            "sweep item '" + item + "' is not method:steps:guidance[:low:high]");
      }
      out.add(
          new Sampler.Settings(
              Sampler.Method.parse(f[0]),
              Integer.parseInt(f[1]),
              Float.parseFloat(f[2]),
              f.length == 5 ? Float.parseFloat(f[3]) : 0f,
              f.length == 5 ? Float.parseFloat(f[4]) : 1f));
    }
    return out;
  }

  private static java.util.List<Float> floats(String s) {
    return s.isBlank()
        ? java.util.List.of()
        : java.util.Arrays.stream(s.split(",")).map(v -> Float.parseFloat(v.trim())).toList();
  }

  private static java.util.List<Integer> ints(String s) {
    return s.isBlank()
        ? java.util.List.of()
        : java.util.Arrays.stream(s.split(",")).map(v -> Integer.parseInt(v.trim())).toList();
  }

  private static String required(Map<String, String> a, String k) {
    String v = a.get(k);
    if (v == null) {
      throw new IllegalArgumentException("missing " + k + "=...");
    }
    return v;
  }
}
