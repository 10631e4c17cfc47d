package io.softstream.bench;

import io.softstream.model.ModelCard;
import io.softstream.model.ModelDir;
import io.softstream.model.Progress;
import io.softstream.model.generator.GeneratorDir;
import io.softstream.model.generator.GeneratorRuntime;
import io.softstream.model.generator.PixelPatches;
import io.softstream.model.generator.Sampler;
import io.softstream.model.runtime.EngineKind;
import io.softstream.model.runtime.TokenizerRuntime;
import io.softstream.model.runtime.TokenizerRuntimes;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Generation speed, 1-D tokens against the 2-D pixel-patch baseline, in one run on one machine: for
 * each step count, the time to generate a batch of images end to end (sampling with classifier-free
 * guidance, then the tokenizer's decoder for the 1-D generator, un-patchify for the 2-D one), as
 * batch latency and images/s, and the 1-D speed-up. Quality figures (class consistency, Fréchet
 * distances, measured by the trainer's {@code GeneratorEval} on the same models) are copied from
 * the two cards into the table, so one JSON object holds the comparison. With {@code record},
 * {@code speedup_1d_vs_2d} (at the default step count) is written into both cards' metrics.
 *
 * <pre>{@code
 * Map<String, Object> r = new GenerationBenchmark(GenerationBenchmark.Settings.defaults(Path.of("models")),
 *     new PrintWriter(System.out, true)).run();
 * }</pre>
 */
public final class GenerationBenchmark {
  /**
   * Benchmark settings.
   *
   * @param generator1d generator over the tokenizer's 1-D tokens
   * @param tokenizer the tokenizer whose decoder turns those tokens into pixels
   * @param generator2d the 2-D baseline (a generator over pixel patches)
   * @param batch images per batch
   * @param steps step counts to measure; the first is the headline ("equal steps")
   * @param guidance classifier-free guidance scale (doubles the batch of every step when != 1)
   * @param method integration method
   * @param repeats timed batches per model and step count (after one untimed warm-up batch)
   * @param record write {@code speedup_1d_vs_2d} and the speed figures into the two cards
   */
  public record Settings(
      Path generator1d,
      Path tokenizer,
      Path generator2d,
      int batch,
      List<Integer> steps,
      float guidance,
      Sampler.Method method,
      int repeats,
      boolean record) {
    /** Checks the values. */
    public Settings {
      steps = List.copyOf(steps);
      if (batch < 1 || repeats < 1 || steps.isEmpty() || steps.stream().anyMatch(s -> s < 1)) {
        throw new IllegalArgumentException(
            "batch, repeats and every step count must be >= 1, and steps non-empty");
      }
    }

    /**
     * The shipped models under {@code root}: gen-fmnist-16 + softvq-fmnist-16 against gen2d-fmnist,
     * batch 64, Euler at the default steps (50) then half of them, the default guidance ({@link
     * Sampler#DEFAULT_GUIDANCE}, as the CLI), 3 timed batches each, cards not written.
     */
    public static Settings defaults(Path root) {
      return new Settings(
          root.resolve("gen-fmnist-16"),
          root.resolve("softvq-fmnist-16"),
          root.resolve("gen2d-fmnist"),
          64,
          List.of(Sampler.DEFAULT_STEPS, Sampler.DEFAULT_STEPS / 2),
          Sampler.DEFAULT_GUIDANCE,
          Sampler.Method.EULER,
          3,
          false);
    }
  }

  private final Settings s;
  private final PrintWriter out;
  private Progress progress;
  private long done;

  public GenerationBenchmark(Settings settings, PrintWriter progress) {
    this.s = settings;
    this.out = progress;
  }

  /** Runs the comparison and returns the figures (JSON-ready). */
  public Map<String, Object> run() throws Exception {
    say(
        "generation benchmark: %s (+ %s decoder) vs %s, batch %d, steps %s, guidance %.1f",
        s.generator1d(), s.tokenizer(), s.generator2d(), s.batch(), s.steps(), s.guidance());
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("cores", Runtime.getRuntime().availableProcessors());
    r.put("torch_threads", System.getProperty("ai.djl.pytorch.num_threads", "engine default"));
    r.put("batch", s.batch());
    r.put("sampler", s.method().name().toLowerCase(java.util.Locale.ROOT));
    r.put("guidance_scale", s.guidance());
    int[] labels = new int[s.batch()];
    long[] seeds = new long[s.batch()];
    for (int i = 0; i < labels.length; i++) {
      labels[i] = i % 10;
      seeds[i] = Sampler.imageSeed(7, i);
    }
    // Every timed batch of both generators, warm-ups included.
    progress =
        new Progress(
            "bench: generated",
            (long) s.steps().size() * 2 * (s.repeats() + 1) * s.batch(),
            Progress.stderr());
    Map<Integer, double[]> speed1 = new LinkedHashMap<>();
    Map<Integer, double[]> speed2 = new LinkedHashMap<>();
    Map<String, Object> m1 = new LinkedHashMap<>();
    Map<String, Object> m2 = new LinkedHashMap<>();
    try (GeneratorRuntime g1 = GeneratorRuntime.open(s.generator1d());
        TokenizerRuntime tok =
            TokenizerRuntimes.open(
                s.tokenizer(), EngineKind.PYTORCH, TokenizerRuntimes.Part.DECODER);
        GeneratorRuntime g2 = GeneratorRuntime.open(s.generator2d())) {
      PixelPatches pp =
          PixelPatches.fromCard(g2.card())
              .orElseThrow(
                  () ->
                      new IllegalArgumentException(
                          s.generator2d()
                              + " is not a pixel-patch generator (no training.latent in its card)"));
      if (PixelPatches.fromCard(g1.card()).isPresent()) {
        throw new IllegalArgumentException(
            s.generator1d() + " is a pixel-patch generator; pass the 1-D token generator");
      }
      describe(
          m1,
          g1,
          "tokens "
              + g1.config().tokens()
              + "x"
              + g1.config().codeDim()
              + " of "
              + tok.card().name()
              + ", decoded by its decoder");
      describe(
          m2,
          g2,
          "pixel patches "
              + pp.patchSize()
              + "x"
              + pp.patchSize()
              + " ("
              + pp.tokens()
              + "x"
              + pp.codeDim()
              + "), un-patchified");
      for (int steps : s.steps()) {
        Sampler.Settings set = Sampler.Settings.of(s.method(), steps, s.guidance());
        speed1.put(
            steps,
            time(
                () -> {
                  float[] t = sampled(g1.sample(labels, seeds, set));
                  return tok.decode(t, labels.length);
                }));
        say(
            "1-D %s, %d steps: batch of %d in %.0f ms (sampling %.0f ms + decode %.0f ms) = %.1f images/s",
            g1.card().name(),
            steps,
            s.batch(),
            speed1.get(steps)[0],
            speed1.get(steps)[1],
            speed1.get(steps)[0] - speed1.get(steps)[1],
            s.batch() * 1000 / speed1.get(steps)[0]);
        speed2.put(
            steps,
            time(
                () -> {
                  float[] t = sampled(g2.sample(labels, seeds, set));
                  return clamp(pp.unpatchify(t, labels.length));
                }));
        say(
            "2-D %s, %d steps: batch of %d in %.0f ms (sampling %.0f ms + un-patchify %.1f ms) = %.1f images/s",
            g2.card().name(),
            steps,
            s.batch(),
            speed2.get(steps)[0],
            speed2.get(steps)[1],
            speed2.get(steps)[0] - speed2.get(steps)[1],
            s.batch() * 1000 / speed2.get(steps)[0]);
      }
    }
    List<Map<String, Object>> rows = new ArrayList<>();
    for (int steps : s.steps()) {
      Map<String, Object> row = new LinkedHashMap<>();
      row.put("steps", steps);
      row.put("latency_ms_1d", round(speed1.get(steps)[0], 1));
      row.put("sampling_ms_1d", round(speed1.get(steps)[1], 1));
      row.put("images_per_s_1d", round(s.batch() * 1000 / speed1.get(steps)[0], 2));
      row.put("latency_ms_2d", round(speed2.get(steps)[0], 1));
      row.put("sampling_ms_2d", round(speed2.get(steps)[1], 1));
      row.put("images_per_s_2d", round(s.batch() * 1000 / speed2.get(steps)[0], 2));
      row.put("speedup_1d_vs_2d", round(speed2.get(steps)[0] / speed1.get(steps)[0], 2));
      rows.add(row);
    }
    int head = s.steps().get(0);
    double speedup = round(speed2.get(head)[0] / speed1.get(head)[0], 2);
    r.put("speed", rows);
    r.put("speedup_1d_vs_2d", speedup);
    r.put("speedup_at_steps", head);
    r.put("generator_1d", m1);
    r.put("generator_2d", m2);
    Object fd1 = m1.get("frechet_generated");
    Object fd2 = m2.get("frechet_generated");
    r.put("goal", "1-D >= 3x faster at equal or better Frechet distance");
    if (fd1 instanceof Number a && fd2 instanceof Number b) {
      r.put("goal_met", speedup >= 3 && a.doubleValue() <= b.doubleValue());
    }
    say(
        "speed-up of 1-D tokens over 2-D pixel patches at %d steps: %.2fx; Frechet 1-D %s vs 2-D %s",
        head, speedup, fd1, fd2);
    if (s.record()) {
      Map<String, Object> extra = new LinkedHashMap<>();
      extra.put("speedup_1d_vs_2d", speedup);
      extra.put("speed_benchmark", r.get("speed"));
      record(s.generator1d(), extra);
      record(s.generator2d(), Map.of("speed_benchmark", r.get("speed")));
      say("recorded speedup_1d_vs_2d %.2f in %s", speedup, s.generator1d().resolve("model.json"));
    }
    return r;
  }

  /**
   * Runs the benchmark from a plain command line: {@code key=value} among {@code root} (models
   * folder, default models), {@code gen1d}, {@code tokenizer}, {@code gen2d}, {@code batch}, {@code
   * steps} (comma list), {@code guidance}, {@code sampler}, {@code repeats}, {@code record}
   * (true/false); prints progress, then the JSON.
   */
  public static void main(String[] args) throws Exception {
    Map<String, String> a = new java.util.HashMap<>();
    for (String arg : args) {
      int eq = arg.indexOf('=');
      if (eq < 0) {
        throw new IllegalArgumentException("expected key=value, got " + arg);
      }
      a.put(arg.substring(0, eq), arg.substring(eq + 1));
    }
    Settings d = Settings.defaults(Path.of(a.getOrDefault("root", "models")));
    Settings st =
        new Settings(
            Path.of(a.getOrDefault("gen1d", d.generator1d().toString())),
            Path.of(a.getOrDefault("tokenizer", d.tokenizer().toString())),
            Path.of(a.getOrDefault("gen2d", d.generator2d().toString())),
            Integer.parseInt(a.getOrDefault("batch", "" + d.batch())),
            a.containsKey("steps")
                ? java.util.Arrays.stream(a.get("steps").split(","))
                    .map(v -> Integer.parseInt(v.trim()))
                    .toList()
                : d.steps(),
            Float.parseFloat(a.getOrDefault("guidance", "" + d.guidance())),
            Sampler.Method.parse(a.getOrDefault("sampler", d.method().name())),
            Integer.parseInt(a.getOrDefault("repeats", "" + d.repeats())),
            Boolean.parseBoolean(a.getOrDefault("record", "false")));
    Map<String, Object> r = new GenerationBenchmark(st, new PrintWriter(System.out, true)).run();
    System.out.println(ModelCard.JSON.writeValueAsString(r));
  }

  private static void describe(Map<String, Object> m, GeneratorRuntime g, String latent) {
    m.put("name", g.card().name());
    m.put("latent", latent);
    m.put("pos_embed", g.config().posEmbed());
    m.put("hidden", g.config().hidden());
    m.put("depth", g.config().depth());
    Map<String, Object> t = g.card().training() == null ? Map.of() : g.card().training();
    for (String k : new String[] {"steps", "batch_size", "parameters", "seconds"}) {
      if (t.containsKey(k)) {
        m.put("training_" + k, t.get(k));
      }
    }
    Map<String, Object> q = g.card().metrics() == null ? Map.of() : g.card().metrics();
    for (String k :
        new String[] {
          "class_consistency",
          "frechet_generated",
          "frechet_reconstruction",
          "judge",
          "judge_accuracy_real",
          "generated_images",
          "steps",
          "guidance_scale"
        }) {
      if (q.containsKey(k)) {
        m.put(k.equals("steps") || k.equals("guidance_scale") ? "quality_" + k : k, q.get(k));
      }
    }
  }

  private static void record(Path dir, Map<String, Object> extra) throws Exception {
    ModelCard card = GeneratorDir.readCard(dir);
    Map<String, Object> merged =
        new LinkedHashMap<>(card.metrics() == null ? Map.of() : card.metrics());
    merged.putAll(extra);
    ModelDir.writeCard(dir, card.withMetrics(merged));
  }

  /** Generates one batch end to end; calls {@link #sampled} when its sampling part is done. */
  private interface Batch {
    float[] run();
  }

  private long batchStart;
  private double samplingMs;

  private float[] sampled(float[] tokens) {
    samplingMs = (System.nanoTime() - batchStart) / 1e6;
    return tokens;
  }

  /**
   * {@code [median batch ms, median sampling-only ms]} over {@code repeats} batches after one
   * warm-up.
   */
  private double[] time(Batch b) {
    batchStart = System.nanoTime();
    b.run();
    progress.update(done += s.batch());
    double[] total = new double[s.repeats()];
    double[] sampling = new double[s.repeats()];
    for (int i = 0; i < s.repeats(); i++) {
      batchStart = System.nanoTime();
      b.run();
      progress.update(done += s.batch());
      total[i] = (System.nanoTime() - batchStart) / 1e6;
      sampling[i] = samplingMs;
    }
    java.util.Arrays.sort(total);
    java.util.Arrays.sort(sampling);
    return new double[] {total[total.length / 2], sampling[sampling.length / 2]};
  }

  private static float[] clamp(float[] px) {
    for (int i = 0; i < px.length; i++) {
      px[i] = Math.max(-1f, Math.min(1f, px[i]));
    }
    return px;
  }

  private void say(String fmt, Object... args) {
    out.printf(fmt + "%n", args);
    out.flush();
  }

  private static double round(double v, int digits) {
    double f = Math.pow(10, digits);
    return Math.round(v * f) / f;
  }
}
