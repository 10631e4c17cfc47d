package io.softstream.cli;

import io.softstream.model.generator.GeneratorDir;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Runs the whole system on the embedded default: a real KRaft broker (child JVM), the schema
 * registry, the topics, the Kafka Streams apps (ingest gate with token cache, generation, stats),
 * two encode workers, a decode worker and a generation worker, the photo tokenizer's encode and
 * decode worker on the photos' own topics, then a stream of real images (and a few poison pills)
 * through the ingest gate, photos to the photo workers, a re-sent share answered from the token
 * cache, and a few generation requests (labels, prompts and one bad request) fanned out by the
 * generation app, printing throughput, latency, dead letters, cache hits, per-request results and
 * completions and the stats app's table. This class resolves the options; {@link DemoScenario}
 * tells the story.
 */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    description = {
      "Start an embedded Kafka broker and schema registry, the Kafka Streams apps (ingest gate with token cache, "
          + "generation, stats), two encode workers, a decode worker and a generation worker, and an encode and a "
          + "decode worker of the photo tokenizer on their own topics; stream real images (Fashion-MNIST through the "
          + "ingest gate with a few poison pills, wallpaper photos from Debian packages to the photo workers), "
          + "re-send a share of them so the token cache answers them, and send generation requests (labels, prompts and "
          + "one bad request) through the generation app; print what flowed, throughput, latency, dead letters, cache "
          + "hits, per-request results and completions and the stats table; save originals next to reconstructions and "
          + "the generated images as PNG files."
    })
public final class DemoCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(
      names = "--data-dir",
      defaultValue = "data/demo",
      description =
          "Where the broker keeps its data and the demo writes its images; reused across runs (default: ${DEFAULT-VALUE}).")
  Path dataDir;

  @Option(names = "--fresh", description = "Delete the data directory first.")
  boolean fresh;

  @Option(
      names = "--fashion-images",
      defaultValue = "240",
      description = "Fashion-MNIST test images to stream (default: ${DEFAULT-VALUE}).")
  int fashionImages;

  @Option(
      names = "--photos",
      defaultValue = "8",
      description = "256x256 photo crops to stream (default: ${DEFAULT-VALUE}).")
  int photos;

  @Option(
      names = "--model",
      description =
          "Tokenizer model directory (default: models/softvq-fmnist-32, swapped halfway to the stronger softvq-fmnist-32-next).")
  Path model;

  @Option(
      names = "--warm-up",
      defaultValue = "40",
      description =
          "Fashion-MNIST images sent through the gate and the encoders before the stream, not counted: a fresh "
              + "process's first seconds run slower (JIT), and the stream's figures should be the pipeline's "
              + "(default: ${DEFAULT-VALUE}; 0: none).")
  int warmUp;

  @Option(
      names = "--photo-model",
      paramLabel = "DIR",
      description =
          "Tokenizer for the photos, which go to their own topics (photos.images -> photos.tokens -> "
              + "photos.reconstructions) with their own encode and decode worker (default: the shipped "
              + "models/softvq-photo-64-next, our strongest photo tokenizer; 'none': photos go through the "
              + "ingest gate to --model).")
  String photoModel;

  @Option(
      names = "--engine",
      defaultValue = "auto",
      description = "auto|onnxruntime|pytorch|tensorrt (default: ${DEFAULT-VALUE}).")
  String engine;

  @Option(
      names = "--next-model",
      description =
          "Model published as the next version halfway through the stream (default: the shipped "
              + "models/softvq-fmnist-32-next when --model is the shipped tokenizer, else the same model again).")
  Path nextModel;

  @Option(
      names = "--registry-port",
      defaultValue = "0",
      description = "Schema registry port; 0 picks a free one (default: ${DEFAULT-VALUE}).")
  int registryPort;

  @Option(
      names = "--generator",
      paramLabel = "DIR",
      description =
          "Generator for the generation requests (default: the shipped models/"
              + GeneratorOptions.SHIPPED
              + ", decoded by the shipped tokenizer it was trained on; a generator whose card names no shipped tokenizer "
              + "is decoded by --model if the token shapes fit, otherwise generation is skipped).")
  Path generator;

  @Option(
      names = "--generate-count",
      defaultValue = "4",
      description = "Images per generation request, 1..16 (default: ${DEFAULT-VALUE}).")
  int generateCount;

  @Option(
      names = "--no-generation",
      description = "Run no generation worker and send no generation requests.")
  boolean noGeneration;

  @Option(
      names = "--resend-share",
      defaultValue = "0.2",
      description =
          "Share of the images re-sent under new ids once they are tokenized, so the ingest gate's token cache "
              + "answers them, 0..1 (default: ${DEFAULT-VALUE}).")
  double resendShare;

  @Option(names = "--keep-running", description = "Keep everything up after the demo until Ctrl-C.")
  boolean keepRunning;

  @Option(
      names = "--dashboard-port",
      defaultValue = "8088",
      description =
          "Port of the live dashboard on 127.0.0.1 (taken: any free one; -1: no dashboard; "
              + "default: ${DEFAULT-VALUE}).")
  int dashboardPort;

  @Override
  public Integer call() throws Exception {
    if (generateCount < 1 || generateCount > 16) {
      throw new picocli.CommandLine.ParameterException(
          spec.commandLine(), "--generate-count " + generateCount + " is outside 1..16");
    }
    if (warmUp < 0) {
      throw new picocli.CommandLine.ParameterException(
          spec.commandLine(), "--warm-up " + warmUp + " is negative");
    }
    if (!(resendShare >= 0 && resendShare <= 1)) {
      throw new picocli.CommandLine.ParameterException(
          spec.commandLine(), "--resend-share " + resendShare + " is outside 0..1");
    }
    if (fresh) {
      deleteRecursively(dataDir);
    }
    // The demo starts on the first shipped run so that it can show the swap to the stronger one.
    Path modelDir = model != null ? model : ShippedModels.fashionMnistFirst();
    // The warm-up images are the test images after the streamed ones: one read of the split.
    List<SampleImages.Sample> fashion = SampleImages.fashionMnist(fashionImages + warmUp);
    int streamed = Math.min(fashionImages, fashion.size());
    List<SampleImages.Sample> samples = new ArrayList<>(fashion.subList(0, streamed));
    samples.addAll(SampleImages.photos(photos, 7));
    List<SampleImages.Sample> warmUpSamples = fashion.subList(streamed, fashion.size());
    Path generatorDir = noGeneration ? null : generator != null ? generator : shippedGenerator();
    Path generationTokenizer =
        generatorDir == null ? null : generationTokenizer(generatorDir, modelDir);
    if (generationTokenizer == null) {
      generatorDir = null;
    }
    String skipReason =
        noGeneration ? "--no-generation" : "no generator for this tokenizer; pass --generator DIR";
    return new DemoScenario(
            new DemoScenario.Setup(
                dataDir,
                registryPort,
                modelDir,
                nextModelFor(modelDir),
                photos == 0 || "none".equals(photoModel)
                    ? null
                    : photoModel != null ? Path.of(photoModel) : ShippedModels.photo(),
                warmUpSamples,
                engine,
                samples,
                fashionImages,
                photos,
                generatorDir,
                generationTokenizer,
                generateCount,
                skipReason,
                resendShare,
                keepRunning,
                dashboardPort),
            spec.commandLine().getOut())
        .run();
  }

  /**
   * What the demo publishes halfway: {@code --next-model}; else, for the shipped tokenizer, its
   * retrained next version (same architecture, trained at lr 2e-3: 24.6 dB against 19.0 dB) if it
   * is there; else the same model.
   */
  private Path nextModelFor(Path modelDir) {
    if (nextModel != null) {
      return nextModel;
    }
    Path next = ShippedModels.root().resolve("models").resolve(ShippedModels.DEFAULT_FMNIST);
    return model == null && Files.isDirectory(next) ? next : modelDir;
  }

  /** The shipped generator, or null (generation skipped, said so) when it is not there. */
  private static Path shippedGenerator() {
    Path shipped = ShippedModels.root().resolve("models").resolve(GeneratorOptions.SHIPPED);
    return Files.isDirectory(shipped) ? shipped : null;
  }

  /**
   * The tokenizer that decodes {@code generator}'s tokens: the shipped one named in its card, else
   * the demo's {@code tokenizer} if it has the generator's token shape; null (generation skipped)
   * otherwise.
   */
  private static Path generationTokenizer(Path generator, Path tokenizer) throws Exception {
    Path named = GeneratorOptions.trainedOn(generator);
    if (named != null) {
      return named;
    }
    var gc = GeneratorDir.config(GeneratorDir.readCard(generator));
    var tc = io.softstream.model.ModelDir.readCard(tokenizer).tokenizerConfig();
    return gc.tokens() == tc.tokens() && gc.codeDim() == tc.codeDim() ? tokenizer : null;
  }

  static void deleteRecursively(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
