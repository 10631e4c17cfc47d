package io.softstream.cli;

import io.softstream.model.generator.Sampler;
import io.softstream.schemas.avro.DeadLetter;
import io.softstream.schemas.avro.GeneratedImage;
import io.softstream.schemas.avro.GenerationRequest;
import io.softstream.schemas.registry.SchemaRegistryClient;
import io.softstream.schemas.registry.SchemaRegistryClients;
import io.softstream.schemas.serde.AvroDeserializer;
import io.softstream.schemas.serde.AvroSerializer;
import io.softstream.topology.TopicLayout;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import picocli.CommandLine.ArgGroup;
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

  static final class Target {
    @Option(names = "--label", description = "Class label id, e.g. 7 (Sneaker).")
    Integer label;

    @Option(names = "--prompt", description = "Text naming a class, e.g. \"ankle boot\".")
    String prompt;
  }

  @ArgGroup(exclusive = true, multiplicity = "1")
  Target target;

  @Option(
      names = "--count",
      defaultValue = "4",
      description = "Images (default: ${DEFAULT-VALUE}).")
  int count;

  @Option(names = "--seed", defaultValue = "0", description = "Seed (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(
      names = "--guidance",
      defaultValue = "" + Sampler.DEFAULT_GUIDANCE,
      description = "Classifier-free guidance scale (default: ${DEFAULT-VALUE}).")
  float guidance;

  @Option(
      names = "--steps",
      defaultValue = "" + Sampler.DEFAULT_STEPS,
      description = "Sampling steps (default: ${DEFAULT-VALUE}).")
  int steps;

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
    String id = "req-" + UUID.randomUUID().toString().substring(0, 8);
    GenerationRequest req =
        GenerationRequest.newBuilder()
            .setRequestId(id)
            .setLabel(target.label)
            .setPrompt(target.prompt)
            .setCount(count)
            .setSeed(seed)
            .setGuidanceScale(guidance)
            .setSamplingSteps(steps)
            .build();
    Map<String, Object> c = new HashMap<>(props);
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    try (SchemaRegistryClient registry = SchemaRegistryClients.create(props);
        KafkaConsumer<String, byte[]> consumer =
            new KafkaConsumer<>(
                c,
                new org.apache.kafka.common.serialization.StringDeserializer(),
                new ByteArrayDeserializer());
        KafkaProducer<String, GenerationRequest> producer =
            new KafkaProducer<>(
                props, new StringSerializer(), new AvroSerializer<>(registry, props, false))) {
      // Listen from the current end before sending, so no answer can be missed.
      List<TopicPartition> parts = new ArrayList<>();
      for (String t : List.of(topics.generatedImages(), topics.deadLetters())) {
        consumer.partitionsFor(t).forEach(p -> parts.add(new TopicPartition(t, p.partition())));
      }
      consumer.assign(parts);
      consumer.seekToEnd(parts);
      parts.forEach(consumer::position);
      var md = producer.send(new ProducerRecord<>(topics.generationRequests(), id, req)).get();
      pw.printf(
          "sent %s (%s, count %d) to %s partition %d; waiting for the images...%n",
          id,
          target.label != null ? "label " + target.label : "prompt \"" + target.prompt + "\"",
          count,
          md.topic(),
          md.partition());
      pw.flush();
      AvroDeserializer<GeneratedImage> images =
          new AvroDeserializer<>(registry, GeneratedImage.class);
      AvroDeserializer<DeadLetter> dead = new AvroDeserializer<>(registry, DeadLetter.class);
      long start = System.nanoTime();
      long deadline = start + Duration.ofSeconds(timeoutSeconds).toNanos();
      int saved = 0;
      Files.createDirectories(out);
      while (saved < count && System.nanoTime() < deadline) {
        for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(300))) {
          if (r.topic().equals(topics.deadLetters())) {
            DeadLetter d = dead.deserialize(r.topic(), r.headers(), r.value());
            if (d.getOriginalKey() != null && id.equals(utf8(d.getOriginalKey()))) {
              pw.printf("rejected: %s: %s%n", d.getErrorClass(), d.getReason());
              return 1;
            }
          } else if (id.equals(r.key())) {
            GeneratedImage g = images.deserialize(r.topic(), r.headers(), r.value());
            Path f = out.resolve(FileNames.imageFile(id + "-" + g.getIndex(), "image/png"));
            ByteBuffer b = g.getPng().duplicate();
            byte[] a = new byte[b.remaining()];
            b.get(a);
            Files.write(f, a);
            saved++;
            pw.printf(
                "  image %d, label %d, by %s + %s -> %s%n",
                g.getIndex(), g.getLabel(), g.getGeneratorModel(), g.getDecoderModel(), f);
          }
        }
      }
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
    }
    return 0;
  }

  private static String utf8(ByteBuffer b) {
    ByteBuffer d = b.duplicate();
    byte[] a = new byte[d.remaining()];
    d.get(a);
    return new String(a, StandardCharsets.UTF_8);
  }
}
