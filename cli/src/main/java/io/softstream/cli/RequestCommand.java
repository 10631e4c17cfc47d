package io.softstream.cli;

import io.softstream.schemas.avro.GenerationRequest;
import io.softstream.topology.TopicLayout;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Sends one GenerationRequest to the generation workers and waits for its images. */
@Command(
    name = "request",
    mixinStandardHelpOptions = true,
    description = {
      "Send a GenerationRequest (a label or a prompt) to the generation workers on Kafka, wait for its "
          + "GeneratedImages (or the dead letter that rejects it) and save the images as PNG files.",
      "Example: softstream request --label 7 --count 4"
    })
public final class RequestCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin KafkaOptions kafka;
  @Mixin TopicOptions topicOptions;

  @Mixin GenerationOptions what;

  @Option(
      names = "--count",
      defaultValue = "4",
      description = "Images (default: ${DEFAULT-VALUE}).")
  int count;

  @Option(
      names = "--out",
      defaultValue = "out/generated",
      description = "Folder for the images (default: ${DEFAULT-VALUE}).")
  Path out;

  @Option(
      names = "--timeout-s",
      defaultValue = "120",
      description = "Give up after this long (default: ${DEFAULT-VALUE}).")
  int timeoutSeconds;

  @Override
  public Integer call() throws Exception {
    PrintWriter pw = spec.commandLine().getOut();
    TopicLayout topics = topicOptions.layout();
    Map<String, Object> props = new HashMap<>(kafka.clientProperties());
    ClusterCheck.require(props);
    String id = GenerationRequests.newId();
    GenerationRequest req =
        GenerationRequest.newBuilder()
            .setRequestId(id)
            .setLabel(what.label())
            .setPrompt(what.prompt())
            .setCount(count)
            .setSeed(what.seed)
            .setGuidanceScale(what.guidance)
            .setSamplingSteps(what.steps)
            .build();
    Files.createDirectories(out);
    long start = System.nanoTime();
    GenerationRequests.Outcome outcome =
        GenerationRequests.send(
            props,
            topics,
            req,
            Duration.ofSeconds(timeoutSeconds),
            md -> {
              pw.printf(
                  "sent %s (%s, count %d) to %s partition %d; waiting for the images...%n",
                  id,
                  what.label() != null
                      ? "label " + what.label()
                      : "prompt \"" + what.prompt() + "\"",
                  count,
                  md.topic(),
                  md.partition());
              pw.flush();
            },
            g -> {
              Path f = out.resolve(FileNames.imageFile(id + "-" + g.getIndex(), "image/png"));
              try {
                Files.write(f, GenerationRequests.bytes(g.getPng()));
              } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
              }
              pw.printf(
                  "  image %d, label %d, by %s + %s -> %s%n",
                  g.getIndex(), g.getLabel(), g.getGeneratorModel(), g.getDecoderModel(), f);
            });
    if (outcome.rejection() != null) {
      pw.printf("rejected: %s%n", outcome.rejection());
      return 1;
    }
    int saved = outcome.images().size();
    if (saved < count) {
      pw.printf(
          "got %d of %d images within %d s: is a generation worker running "
              + "(`./softstream generate-worker`)?%n",
          saved, count, timeoutSeconds);
      return 1;
    }
    pw.printf(
        "%d images in %d ms, saved in %s%n",
        saved, (System.nanoTime() - start) / 1_000_000, out.toAbsolutePath());
    return 0;
  }
}
