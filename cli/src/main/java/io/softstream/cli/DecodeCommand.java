package io.softstream.cli;

import io.softstream.model.runtime.EngineKind;
import io.softstream.schemas.avro.TokenRecord;
import io.softstream.worker.TokenDecoding;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Reads token records from a topic and writes the decoded images as PNG files: tokens back to
 * pixels for a person.
 */
@Command(
    name = "decode",
    mixinStandardHelpOptions = true,
    description =
        "Read TokenRecords from a topic (from the beginning, committed records only), decode those of the "
            + "model version given, and write <image-id>.png files.")
public final class DecodeCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin KafkaOptions kafka;

  @Option(
      names = "--topic",
      defaultValue = "tokens",
      description = "Token topic (default: ${DEFAULT-VALUE}).")
  String topic;

  @Option(names = "--image-id", description = "Decode only this image id (repeatable).")
  List<String> imageIds = new ArrayList<>();

  @Option(
      names = "--max",
      defaultValue = "16",
      description = "Stop after this many images (default: ${DEFAULT-VALUE}).")
  int max;

  @Option(
      names = "--out",
      defaultValue = "out/decoded",
      description = "Output folder (default: ${DEFAULT-VALUE}).")
  Path out;

  @Option(
      names = "--model",
      description = "Tokenizer directory (default: the shipped Fashion-MNIST model).")
  Path model;

  @Option(
      names = "--model-version",
      defaultValue = "1",
      description = "Version the records must carry (default: ${DEFAULT-VALUE}).")
  int version;

  @Option(
      names = "--engine",
      defaultValue = "auto",
      description = "auto|onnxruntime|pytorch|tensorrt (default: ${DEFAULT-VALUE}).")
  String engine;

  @Option(
      names = "--timeout-s",
      defaultValue = "20",
      description = "Give up waiting for records after this (default: ${DEFAULT-VALUE}).")
  int timeoutSeconds;

  @Override
  public Integer call() throws Exception {
    PrintWriter pw = spec.commandLine().getOut();
    ClusterCheck.require(kafka.clientProperties());
    Path dir = model != null ? model : ShippedModels.fashionMnist();
    Files.createDirectories(out);
    int written = 0;
    int skipped = 0;
    try (TokenDecoding decoding = TokenDecoding.open(dir, EngineKind.parse(engine), version);
        TopicToEnd<TokenRecord> in =
            TopicToEnd.open(kafka.clientProperties(), topic, TokenRecord.class)) {
      long deadline = System.nanoTime() + Duration.ofSeconds(timeoutSeconds).toNanos();
      while (written < max && System.nanoTime() < deadline && !in.atEnd()) {
        List<TokenRecord> batch = new ArrayList<>();
        for (TokenRecord t : in.poll()) {
          if (!imageIds.isEmpty() && !imageIds.contains(t.getImageId())) {
            continue;
          }
          if (!t.getModelName().equals(decoding.modelName()) || t.getModelVersion() != version) {
            skipped++;
            continue;
          }
          if (written + batch.size() < max) {
            batch.add(t);
          }
        }
        if (!batch.isEmpty()) {
          var images = decoding.decode(batch);
          for (int i = 0; i < batch.size(); i++) {
            Path f =
                out.resolve(FileNames.imageFile(batch.get(i).getImageId().toString(), "image/png"));
            Files.write(f, TokenDecoding.png(images.get(i)));
            written++;
          }
        }
      }
      pw.printf(
          "decoded %d images of %s:%d into %s%s%n",
          written,
          decoding.modelName(),
          version,
          out.toAbsolutePath(),
          skipped > 0 ? " (" + skipped + " records of other model versions skipped)" : "");
    }
    return written > 0 ? 0 : 1;
  }
}
